"""Training-time augmentation on mel batches (paper, section IV-C): time stretch/contraction,
low-amplitude Gaussian noise, random time and frequency masking.

Applied to the normalised mel tensors rather than the audio so features are computed once per
clip; a stretch of the mel time axis is the spectrogram view of a tempo change.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor


@dataclass(frozen=True)
class AugmentConfig:
    stretch_range: tuple[float, float] = (0.8, 1.25)  # < 1 contracts, > 1 stretches
    noise_std: float = 0.03  # in normalised units (the mel spans [-1, 1])
    time_masks: int = 2
    time_mask_frames: int = 20
    freq_masks: int = 2
    freq_mask_bands: int = 12


def augment_batch(batch: Tensor, config: AugmentConfig, generator: torch.Generator) -> Tensor:
    """(B, 1, F, T) -> augmented copy of the same shape, values kept in [-1, 1]."""
    out = torch.stack([_stretch(x, config, generator) for x in batch])
    out = out + config.noise_std * torch.randn(out.shape, generator=generator)
    _mask(out, dim=3, count=config.time_masks, width=config.time_mask_frames, generator=generator)
    _mask(out, dim=2, count=config.freq_masks, width=config.freq_mask_bands, generator=generator)
    return out.clamp_(-1.0, 1.0)


def _stretch(x: Tensor, config: AugmentConfig, generator: torch.Generator) -> Tensor:
    """(1, F, T): resample the time axis by a random factor, then cut or pad (with -1) to T."""
    low, high = config.stretch_range
    factor = low + (high - low) * float(torch.rand((), generator=generator))
    frames = x.shape[-1]
    new_frames = max(1, round(frames * factor))
    y = F.interpolate(x.unsqueeze(0), size=(x.shape[1], new_frames), mode="bilinear")[0]
    if new_frames >= frames:
        return y[..., :frames]
    return F.pad(y, (0, frames - new_frames), value=-1.0)


def _mask(batch: Tensor, dim: int, count: int, width: int, generator: torch.Generator) -> None:
    """Set `count` random spans of up to `width` along `dim` to 0 (the mid level), in place."""
    size = batch.shape[dim]
    for i in range(batch.shape[0]):
        for _ in range(count):
            w = int(torch.randint(0, width + 1, (), generator=generator))
            start = int(torch.randint(0, max(1, size - w), (), generator=generator))
            batch[i].narrow(dim - 1, start, w).zero_()
