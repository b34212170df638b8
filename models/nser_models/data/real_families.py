"""The labelling rules of the real-audio corpus: which Debian packages, which files in them, and
what each family of files is.

Labels are a listening proxy by file name: a game's `pain2.ogg` is a pain cry, `haha.ogg` a
laugh, `coms/attack.ogg` a spoken line. Each `Family` below is one such rule, with the reason it
holds. `nser corpus real --write-table` applies them to the unpacked packages and writes the
per-file table (real_clips.csv) that `nser corpus real` builds from;
tests/models/test_real_corpus.py spot-checks the table's loudness, duration and pitch per class.

Only the packages in `PACKAGES` may be used: the project's independent held-out evaluation is
drawn from other packages, and any overlap would make it worthless.

Classes (the four of the corpus):
- scream: a human cry of distress, pain or dying (negative valence). The detection positives.
- vocalisation: another non-speech human sound; here laughs, giggles and cheers (positive).
- speech: spoken words (neutral), including announcers and processed or synthesised voices.
- background: anything else a microphone hears: weather, water, machines, crowds without
  words, animals, interface tones (neutral).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

from nser_shared.wire.labels import Valence


class SoundClass(StrEnum):
    SCREAM = "scream"
    VOCALISATION = "vocalisation"
    SPEECH = "speech"
    BACKGROUND = "background"


@dataclass(frozen=True)
class Package:
    name: str
    version: str  # the version the table was made from; `apt-get download name=version`
    licence: str  # of the package's sounds, from its debian/copyright


PACKAGES: dict[str, Package] = {
    p.name: p
    for p in (
        Package("0ad-data", "0.0.26-1", "CC-BY-SA-3.0"),
        Package("blobwars-data", "2.00-2", "GPL-2+ / CC-BY-SA-3.0"),
        Package("nexuiz-data", "2.5.2-12", "GPL-2+"),
        Package("openarena-data", "0.8.5split-14", "GPL-2+"),
        Package("pingus-data", "0.7.6-5.1", "GPL-2+"),
        Package("redeclipse-data", "1.6.0-1", "CC-BY-SA-3.0+"),
        Package("scorched3d-data", "44+dfsg-8", "GPL-2+"),
        Package("sound-icons", "0.1-8", "GPL-2+"),
        Package("tuxpaint-data", "1:0.9.28-sdl2-1", "GPL-2+"),
        Package("warmux-data", "1:11.04.1+repack2-4", "GPL-2+"),
        Package("warzone2100-data", "4.3.3-3", "GPL-2+ / CC0-1.0"),
    )
}
# Packages of the allowed list that add nothing yet, and why:
#   freedoom        sounds are lumps inside a Doom WAD (DMX format): no reader here yet
#   teeworlds-data  WavPack files, which libsndfile cannot decode
#   neverball-data, supertux-data, lugaru-data: no human cries or speech named clearly enough
#     (Tux and Lugaru's rabbits are animals; their sounds are left out rather than guessed)
# Archives inside packages are read as zip files; a member path is `archive!member`.
ARCHIVE_SUFFIXES = (".pk3", ".zip", ".wz")
AUDIO_SUFFIXES = (".wav", ".ogg", ".flac")


@dataclass(frozen=True)
class Family:
    """Files of `package` whose path (relative to the package root, `archive!member` inside
    archives) matches `pattern` in full. The speaker is the pattern's `speaker` group when it
    has one (a character's folder, say), else `speaker`."""

    package: str
    pattern: str
    sound_class: SoundClass
    emotion: str  # the family's name: pain, death, laugh, command, rain, ...
    why: str
    speaker: str = "default"

    @cached_property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.pattern)

    @property
    def valence(self) -> Valence:
        return VALENCE[self.sound_class] if self.emotion not in POSITIVE else Valence.POSITIVE


POSITIVE = frozenset({"laugh", "giggle", "cheer", "joy"})
VALENCE = {
    SoundClass.SCREAM: Valence.NEGATIVE,
    SoundClass.VOCALISATION: Valence.NEUTRAL,
    SoundClass.SPEECH: Valence.NEUTRAL,
    SoundClass.BACKGROUND: Valence.NEUTRAL,
}

_0AD = r"usr/share/games/0ad/mods/public/public\.zip!audio/"
_BLOB = r"usr/share/games/blobwars/sound/"
_NEX = r"usr/share/games/nexuiz/data/data\.pk3!sound/"
_OA = r"usr/share/games/openarena/"
_RE = r"usr/share/games/redeclipse/data/sounds/"
_S3D = r"usr/share/games/scorched3d/data/globalmods/(?:none|apoc)/data/wav/misc/"
_WZ = r"usr/share/games/warzone2100/base\.wz!audio/"
_WMX = r"usr/share/games/warmux/sound/default/voices/"
S, V, SP, B = SoundClass.SCREAM, SoundClass.VOCALISATION, SoundClass.SPEECH, SoundClass.BACKGROUND

FAMILIES: tuple[Family, ...] = (
    # 0 A.D.: recorded unit voices in four languages, death cries, ambience.
    Family(
        "0ad-data",
        _0AD + r"actor/human/death/(?:(?P<speaker>female|male)_)?death_\d+\.ogg",
        S,
        "death",
        "human death cries of the units, by gender where the name says it",
        speaker="unknown",
    ),
    Family(
        "0ad-data",
        _0AD + r"voice/(?P<speaker>\w+/civ/civ_(?:fe)?male)_\w+\.ogg",
        SP,
        "command",
        "units' spoken acknowledgements (Greek, Latin, Persian, Meroitic)",
    ),
    Family(
        "0ad-data",
        _0AD + r"ambient/(?:dayscape|water|weather|building)/\w+\.ogg",
        B,
        "ambience",
        "field recordings of weather, water, farms, ports and markets",
    ),
    Family(
        "0ad-data",
        _0AD + r"actor/fauna/(?:death|animal)/\w+\.ogg",
        B,
        "animal",
        "animal calls and deaths: not human",
    ),
    # Blob Wars: Bob's and Galdov's cries, a cheer, weather.
    Family(
        "blobwars-data",
        _BLOB + r"(?:death[123]|galdovPain|galdovDie)",
        S,
        "death",
        "the hero's and the villain's pain and death cries",
    ),
    Family("blobwars-data", _BLOB + r"cheer", V, "cheer", "a cheer on winning"),
    Family(
        "blobwars-data",
        _BLOB + r"(?:rain|blizzard2?|fireCrackle|floodedTunnel)",
        B,
        "ambience",
        "weather, fire and water loops",
    ),
    # Nexuiz: nine player characters, each with pain/death cries and spoken team commands.
    Family(
        "nexuiz-data",
        _NEX + r"player/(?P<speaker>[\w-]+)/player/(?:death\d|pain\d+)\.ogg",
        S,
        "pain",
        "each character's pain (by damage) and death cries",
    ),
    Family(
        "nexuiz-data",
        _NEX + r"player/(?P<speaker>[\w-]+)/coms/(?:ideas/)?"
        r"(?!taunt)\w+\.ogg",
        SP,
        "command",
        "each character's spoken team commands (taunts left out: unclear)",
    ),
    Family(
        "nexuiz-data",
        _NEX + r"announcer/(?P<speaker>male|robotic)/\w+\.ogg",
        SP,
        "announcer",
        "the match announcer, natural and robotic",
    ),
    Family("nexuiz-data", _NEX + r"ambient/\w+\.ogg", B, "ambience", "machines, wind, water"),
    # OpenArena: Sarge's cries; the mission pack's spoken (partly synthesised) bot voices.
    Family(
        "openarena-data",
        _OA + r"baseoa/pak0\.pk3!sound/player/(?P<speaker>\w+)/"
        r"(?:death\d|pain\d+_\d)\.wav",
        S,
        "pain",
        "the player model's pain and death cries",
    ),
    Family(
        "openarena-data",
        _OA + r"missionpack/mp-pak0\.pk3!sound/voices/(?P<speaker>\w+)/"
        r"\w+\.ogg",
        SP,
        "command",
        "bot voice lines (festivoxmale is Festival text-to-speech)",
    ),
    # Pingus: the penguins' exclamations.
    Family(
        "pingus-data",
        r"usr/share/games/pingus/data/sounds/yipee\.wav",
        V,
        "joy",
        "a penguin's cry of joy",
    ),
    Family(
        "pingus-data",
        r"usr/share/games/pingus/data/sounds/(?:ohno|goodidea|letsgo)\.wav",
        SP,
        "exclamation",
        "short spoken phrases",
    ),
    # Red Eclipse: one player voice (cries, laughs, call-outs), an announcer, ambience.
    Family(
        "redeclipse-data",
        _RE + r"player/(?:death|pain)\d?\.ogg",
        S,
        "pain",
        "the player's pain and death cries",
        speaker="player",
    ),
    Family(
        "redeclipse-data", _RE + r"voice/argh2?\.ogg", S, "pain", "a cry of pain", speaker="player"
    ),
    Family("redeclipse-data", _RE + r"voice/haha2?\.ogg", V, "laugh", "a laugh", speaker="player"),
    Family(
        "redeclipse-data",
        _RE + r"voice/(?:boom|damnit|gogogo|hangon|luckyshot|niceshot|no|"
        r"noproblem|sorry|suckit|thanks|yes)2?\.ogg",
        SP,
        "callout",
        "the player's spoken call-outs",
        speaker="player",
    ),
    Family(
        "redeclipse-data",
        _RE + r"announcer/\w+\.ogg",
        SP,
        "announcer",
        "the match announcer",
        speaker="announcer",
    ),
    Family(
        "redeclipse-data",
        _RE + r"ambience/(?:morph/)?(?:\w*wind\w*|\w*rain|river|creek|"
        r"forest\d|cycadas|nightcrickets|distant_cars|machine\d*|hum|fire|cavedrip|"
        r"waterfall\w*|water|ambient\d+)\.ogg",
        B,
        "ambience",
        "wind, rain, water, insects, traffic and machine loops",
    ),
    # Scorched 3D: screams, a cheering crowd, city and nature sounds.
    Family(
        "scorched3d-data",
        _S3D + r"(?:scream\d|screaming)\.wav",
        S,
        "scream",
        "people screaming as a tank falls on them",
    ),
    Family("scorched3d-data", _S3D + r"cheeringloop\.wav", V, "cheer", "a crowd cheering"),
    Family(
        "scorched3d-data",
        _S3D + r"(?:citysounds|factoryloop1|rain|oceanwaves|birds\d|"
        r"birdchirp\d|frogs|thunder\d?|policecar|firetruck|helicopter|carhorn\d)\.wav",
        B,
        "ambience",
        "city, factory, sirens, weather and birds",
    ),
    Family(
        "scorched3d-data",
        _S3D + r"(?:cows|dog\d?|sheep|rooster|moo|wolf|gull\d)\.wav",
        B,
        "animal",
        "animal calls: not human",
    ),
    # sound-icons: short instrument and interface tones.
    Family(
        "sound-icons",
        r"usr/share/sounds/sound-icons/[\w-]+\.wav",
        B,
        "tone",
        "interface tones and instrument notes",
    ),
    # Tux Paint: a giggle, spoken prompts, interface sounds.
    Family(
        "tuxpaint-data", r"usr/share/tuxpaint/sounds/giggle\.wav", V, "giggle", "a child's giggle"
    ),
    Family(
        "tuxpaint-data",
        r"usr/share/tuxpaint/sounds/(?:areyousure|youcannot)\.wav",
        SP,
        "prompt",
        "spoken prompts",
    ),
    Family(
        "tuxpaint-data",
        r"usr/share/tuxpaint/sounds/(?:bubble|eraser\d|fill|paint\d|"
        r"stamp|keyclick|typewriterbell|harp|scroll|save)\.wav",
        B,
        "tone",
        "drawing and interface sounds",
    ),
    # Warmux: the default team's voice, hurt at three levels, dying, happy.
    Family(
        "warmux-data",
        _WMX + r"(?:death\d|injured_(?:high|medium)\d)\.ogg",
        S,
        "pain",
        "a team member hurt badly or dying",
    ),
    Family("warmux-data", _WMX + r"happy1\.ogg", V, "joy", "a team member's happy cry"),
    # Warzone 2100: the mission commander's and the console's recorded speech.
    Family(
        "warzone2100-data",
        _WZ + r"(?:memressp/(?P<speaker>\w+)|tutorial)/\w+\.ogg",
        SP,
        "briefing",
        "recorded mission, research and tutorial speech",
        speaker="tutorial",
    ),
)
