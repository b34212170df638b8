"""DEMAND noise recordings (Thiemann et al. 2013): `<ENV>/ch01.wav ... ch16.wav`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from nser_shared.errors import DatasetError
from nser_shared.frontend.audio import read_audio

# The paper's five noise categories -> DEMAND environment folders. Cafe could also be SCAFE
# (48 kHz only); pass another mapping to the loader to use it.
PAPER_NOISE_ENVIRONMENTS: dict[str, str] = {
    "bus": "TBUS",
    "metro": "TMETRO",
    "cafe": "PCAFETER",
    "kitchen": "DKITCHEN",
    "office": "OOFFICE",
}


def load_demand_noise(
    root: Path,
    environments: Mapping[str, str] = PAPER_NOISE_ENVIRONMENTS,
    channel: str = "ch01",
) -> dict[str, tuple[torch.Tensor, int]]:
    """Category -> (mono waveform (samples,) float32, sample rate), one microphone `channel`.

    Reads `<root>/<ENV>/<channel>.wav` (the unpacked layout, and the synthetic corpus's
    `<corpus>/noise`), else `<root>/<ENV>_16k/<ENV>/...` or `<root>/<ENV>_48k/<ENV>/...` as the
    zip releases unpack. Raises DatasetError naming every category whose file is missing.
    """
    if not root.is_dir():
        raise DatasetError(f"DEMAND folder not found: {root}")
    found: dict[str, Path] = {}
    missing: list[str] = []
    for category, env in environments.items():
        path = _channel_file(root, env, channel)
        if path is None:
            missing.append(f"{category} ({env})")
        else:
            found[category] = path
    if missing:
        raise DatasetError(f"DEMAND {channel}.wav missing under {root} for: {', '.join(missing)}")
    noises: dict[str, tuple[torch.Tensor, int]] = {}
    for category, path in found.items():
        waveform, rate = read_audio(path)  # (channels, samples); DEMAND files are mono
        noises[category] = (waveform.mean(dim=0), rate)
    return noises


def _channel_file(root: Path, env: str, channel: str) -> Path | None:
    # Prefer 16 kHz over 48 kHz: the front end works at 16 kHz, so less to resample.
    for folder in (root / env, root / f"{env}_16k" / env, root / f"{env}_48k" / env):
        path = folder / f"{channel}.wav"
        if path.is_file():
            return path
    return None
