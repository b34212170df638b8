"""Reading and writing audio files (WAV and whatever libsndfile reads).

torchaudio 2.9+ delegates file I/O to torchcodec; soundfile (libsndfile) is smaller, needs no
FFmpeg, and reads every format the data sets use. `read_samples` and `write_audio` need no
PyTorch (the devices' image has none); `read_audio` hands the samples to training as a tensor.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import soundfile

from nser_shared.errors import InvalidAudioError

if TYPE_CHECKING:
    from torch import Tensor


def read_samples(path: Path) -> tuple[npt.NDArray[np.float32], int]:
    """Return (samples (channels, samples) float32 in [-1, 1], sample rate)."""
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)  # (samples, ch)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as exc:
        raise InvalidAudioError(f"cannot read audio file {path}: {exc}") from exc
    return np.ascontiguousarray(data.T), int(rate)


def read_audio(path: Path) -> tuple[Tensor, int]:
    """`read_samples` as a torch tensor (channels, samples)."""
    import torch  # here, not above: only training and evaluation read audio as tensors

    samples, rate = read_samples(path)
    return torch.from_numpy(samples), rate


def audio_sample_rate(path: Path) -> int:
    """Sample rate from the file header only (no decoding): cheap on thousands of files."""
    try:
        return int(soundfile.info(str(path)).samplerate)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as exc:
        raise InvalidAudioError(f"cannot read audio header of {path}: {exc}") from exc


def write_audio(path: Path, waveform: Tensor | np.ndarray, sample_rate: int) -> None:
    """Write mono or (channels, samples) audio as 16-bit PCM WAV, clipping to [-1, 1]."""
    data = np.asarray(waveform)  # a CPU tensor converts without a copy
    data = np.clip(data, -1.0, 1.0)
    if data.ndim == 2:
        data = data.T  # soundfile wants (samples, channels)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), data, sample_rate, subtype="PCM_16")
