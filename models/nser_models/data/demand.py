"""DEMAND noise recordings (Thiemann et al. 2013): `<ENV>/ch01.wav ... ch16.wav`."""

# The paper's five noise categories -> DEMAND environment folders. Cafe could also be SCAFE
# (48 kHz only); pass another mapping to the loader to use it.
PAPER_NOISE_ENVIRONMENTS: dict[str, str] = {
    "bus": "TBUS",
    "metro": "TMETRO",
    "cafe": "PCAFETER",
    "kitchen": "DKITCHEN",
    "office": "OOFFICE",
}
