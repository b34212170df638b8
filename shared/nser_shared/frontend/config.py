"""What determines the features, without the code that computes them: `FeatureConfig` (and its
`id`, carried by every checkpoint and feature message), `DenoiseConfig`, and the limits on input
audio. Free of torch, so that a server which only checks a window's configuration (the MEC
serving ONNX files) need not install it; `features.py` computes the features.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, replace
from functools import cached_property
from typing import Any

from nser_shared.errors import FeatureConfigMismatchError

# Input rates the front end accepts; everything is resampled to FeatureConfig.sample_rate.
SUPPORTED_SAMPLE_RATES: frozenset[int] = frozenset(
    {8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000}
)
MAX_CHANNELS = 16


def _coerce_floats(config: object) -> None:
    """Store float fields as floats, so `clip_seconds=3` and `3.0` give the same `id`."""
    for f in fields(config):  # type: ignore[arg-type]
        if f.type == "float":
            object.__setattr__(config, f.name, float(getattr(config, f.name)))


@dataclass(frozen=True)
class DenoiseConfig:
    """Noise mitigation before the mel filterbank (see the module docstring)."""

    highpass_hz: float = 100.0
    gate_quantile: float = 0.2
    gate_threshold_db: float = 12.0
    gate_reduction_db: float = 24.0
    gate_slope_db: float = 2.0

    def __post_init__(self) -> None:
        _coerce_floats(self)


# A device sends one window every WINDOW_HOP_S seconds: a 3 s window (FeatureConfig.clip_seconds)
# overlaps the next by two seconds, so a sound is heard in up to three windows.
WINDOW_HOP_S = 1.0


@dataclass(frozen=True)
class FeatureConfig:
    """Everything that determines the features. Defaults are the paper's."""

    sample_rate: int = 16000
    clip_seconds: float = 3.0
    n_fft: int = 1024
    win_length: int = 1024
    hop_length: int = 256
    f_min: float = 0.0
    f_max: float = 8000.0
    n_mels: int = 128
    top_db: float = 80.0
    denoise: DenoiseConfig | None = field(default=None)

    def __post_init__(self) -> None:
        _coerce_floats(self)

    @property
    def n_samples(self) -> int:
        return round(self.sample_rate * self.clip_seconds)

    @property
    def n_frames(self) -> int:
        return self.n_samples // self.hop_length + 1  # torch.stft with center=True

    @property
    def shape(self) -> tuple[int, int, int]:
        """Shape of one feature window: (channels, mel bands, frames)."""
        return (1, self.n_mels, self.n_frames)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureConfig:
        values = dict(data)
        denoise = values.pop("denoise", None)
        try:
            return cls(**values, denoise=DenoiseConfig(**denoise) if denoise else None)
        except TypeError as exc:
            raise FeatureConfigMismatchError(f"not a valid feature configuration: {exc}") from exc

    @cached_property
    def id(self) -> str:
        """Stable identifier: a hash of the canonical JSON of every field."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return "mel-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]

    def with_denoise(self, enabled: bool) -> FeatureConfig:
        """This configuration with the default noise mitigation switched on or off."""
        return replace(self, denoise=DenoiseConfig() if enabled else None)


DEFAULT_FEATURE_CONFIG = FeatureConfig()


def require_same_config(expected: FeatureConfig, actual_id: str, what: str) -> None:
    """Raise FeatureConfigMismatchError unless `actual_id` is `expected.id`."""
    if actual_id != expected.id:
        raise FeatureConfigMismatchError(
            f"{what} was made with feature config {actual_id}, expected {expected.id}"
        )
