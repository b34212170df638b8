"""A real MEC inference service (`python -m nser_mec`) as a child process, and windows for it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import httpx
import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from nser.v1 import mec_inference_pb2 as pb
from nser.v1 import mec_inference_pb2_grpc as pb_grpc
from nser_shared.features import DEFAULT_FEATURE_CONFIG
from nser_shared.windows import DeviceKind, PayloadDtype, encode_window
from support.processes import free_port


class MecProcess:
    def __init__(self, redis_url: str, log_path: Path, *extra: str) -> None:
        self.port = free_port()
        self.metrics_port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.log_path = log_path
        args = [sys.executable, "-m", "nser_mec", "--port", str(self.port),
                "--metrics-port", str(self.metrics_port), "--redis-url", redis_url,
                "--threads", "1", *extra]  # fmt: skip
        self.log = log_path.open("wb")
        self.process = subprocess.Popen(
            args,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.channel = grpc.insecure_channel(self.address)
        self.stub = self.stub_for(self.channel)

    @staticmethod
    def stub_for(channel: grpc.Channel) -> pb_grpc.MecInferenceStub:
        return pb_grpc.MecInferenceStub(channel)

    def health(self, service: str = "") -> int:
        stub = health_pb2_grpc.HealthStub(self.channel)
        return int(stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2).status)

    def wait_serving(self, timeout_s: float = 90.0) -> MecProcess:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nser_mec exited early:\n{self.log_path.read_text()}")
            try:
                if self.health() == health_pb2.HealthCheckResponse.SERVING:
                    return self
            except grpc.RpcError:
                pass
            time.sleep(0.1)
        raise TimeoutError(
            f"nser_mec not SERVING after {timeout_s} s:\n{self.log_path.read_text()}"
        )

    def terminate(self, timeout_s: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout_s)
        self.channel.close()
        self.log.close()
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
