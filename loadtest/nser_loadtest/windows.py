"""Real feature windows for load: synthetic vocalisations through the shared front end."""

from __future__ import annotations

import time

import torch

from nser.v1 import mec_inference_pb2 as pb
from nser_shared.frontend.features import DEFAULT_FEATURE_CONFIG, FeatureConfig, MelFrontEnd
from nser_shared.sound.voices import VOCAL_CLASSES, make_speaker, synthesise_clip
from nser_shared.wire.windows import DeviceKind, PayloadDtype, encode_window


def corpus_windows(
    count: int,
    dtype: PayloadDtype = PayloadDtype.FLOAT32,
    config: FeatureConfig = DEFAULT_FEATURE_CONFIG,
    seed: int = 7,
) -> list[pb.FeatureWindow]:
    """`count` windows of different speakers and classes (every class in turn)."""
    front_end = MelFrontEnd(config)
    emotions = list(VOCAL_CLASSES)
    windows = []
    for index in range(count):
        speaker = make_speaker(seed, index)
        audio, sr = synthesise_clip(seed, speaker, index, index, emotions[index % len(emotions)], 0)
        features = front_end(torch.from_numpy(audio), sr).numpy()  # (1, 128, 188)
        windows.append(
            encode_window(
                features,
                config=config,
                dtype=dtype,
                device_id=f"loadgen-{index:04d}",
                device_kind=DeviceKind.PHONE,
                nr_cell_id="00066c001",
                sequence=index,
                captured_at=time.time(),
            )
        )
    return windows
