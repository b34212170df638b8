"""A real MEC inference service (`python -m nser_mec`) as a child process, and windows for it."""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import httpx
import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from nser.v1 import mec_inference_pb2 as pb
from nser.v1 import mec_inference_pb2_grpc as pb_grpc
from nser_shared.features import DEFAULT_FEATURE_CONFIG
from nser_shared.processes import MecChild
from nser_shared.windows import DeviceKind, PayloadDtype, encode_window


class MecProcess(MecChild):
    """`MecChild` plus a channel and stub for the test to call it with."""

    def __init__(self, redis_url: str, log_path: Path, *extra: str) -> None:
        super().__init__(redis_url, log_path, ["--threads", "1", *extra])
        self.channel = grpc.insecure_channel(self.address)
        self.stub = self.stub_for(self.channel)

    @staticmethod
    def stub_for(channel: grpc.Channel) -> pb_grpc.MecInferenceStub:
        return pb_grpc.MecInferenceStub(channel)

    def health(self, channel: grpc.Channel | None = None, service: str = "") -> int:
        return super().health(channel or self.channel, service)

    def wait_serving(self) -> MecProcess:
        self.start()
        return self

    def terminate(self) -> int:
        code = self.stop(timeout_s=30.0)
        self.channel.close()
        assert code is not None
        return code


def feature_window(
    sequence: int = 0,
    *,
    dtype: PayloadDtype = PayloadDtype.FLOAT32,
    model: str = "",
    device_id: str = "phone-0001",
    seed: int = 0,
) -> pb.FeatureWindow:
    rng = np.random.default_rng(seed)
    features = rng.uniform(-1.0, 1.0, DEFAULT_FEATURE_CONFIG.shape).astype(np.float32)
    return encode_window(
        features,
        config=DEFAULT_FEATURE_CONFIG,
        dtype=dtype,
        device_id=device_id,
        device_kind=DeviceKind.PHONE,
        nr_cell_id="00066c001",
        sequence=sequence,
        captured_at=time.time() - 0.01,
        model=model,
    )


def metric_value(process: MecProcess, name: str, **labels: str) -> float:
    """The current value of sample `name` with `labels` on the server's /metrics (0 if absent)."""
    text = httpx.get(f"http://127.0.0.1:{process.metrics_port}/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0
