"""Reading and writing audio files (WAV and whatever libsndfile reads).

torchaudio 2.9+ delegates file I/O to torchcodec; soundfile (libsndfile) is smaller, needs no
FFmpeg, and reads every format the data sets use.
"""

from pathlib import Path

import numpy as np
import soundfile
import torch
from torch import Tensor

from nser_shared.errors import InvalidAudioError


def read_audio(path: Path) -> tuple[Tensor, int]:
    """Return (waveform (channels, samples) float32 in [-1, 1], sample rate)."""
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)  # (samples, ch)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as exc:
        raise InvalidAudioError(f"cannot read audio file {path}: {exc}") from exc
    return torch.from_numpy(np.ascontiguousarray(data.T)), int(rate)


def audio_sample_rate(path: Path) -> int:
    """Sample rate from the file header only (no decoding): cheap on thousands of files."""
    try:
        return int(soundfile.info(str(path)).samplerate)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as exc:
        raise InvalidAudioError(f"cannot read audio header of {path}: {exc}") from exc


def write_audio(path: Path, waveform: Tensor | np.ndarray, sample_rate: int) -> None:
    """Write mono or (channels, samples) audio as 16-bit PCM WAV, clipping to [-1, 1]."""
    data = waveform.numpy() if isinstance(waveform, Tensor) else np.asarray(waveform)
    data = np.clip(data, -1.0, 1.0)
    if data.ndim == 2:
        data = data.T  # soundfile wants (samples, channels)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), data, sample_rate, subtype="PCM_16")
