"""A real MEC inference service (`python -m nser_mec`) as a child process, and windows for it."""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import httpx
import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from nser.oip.v2 import open_inference_pb2 as oip
from nser.v1 import mec_inference_pb2 as pb
from nser.v1 import mec_inference_pb2_grpc as pb_grpc
from nser_mec.oip import to_infer_request
from nser_shared.frontend.features import DEFAULT_FEATURE_CONFIG
from nser_shared.security.dev_pki import PkiLayout
from nser_shared.wire.windows import DeviceKind, PayloadDtype, encode_window
from nser_up.processes import MecChild, client_ssl_context, grpc_channel


class MecProcess(MecChild):
    """`MecChild` plus a channel and stub for the test to call it with: plaintext (the server
    runs --insecure) unless `pki` is given (then mutual TLS, and the channel presents the
    services' certificate: it may probe health, not classify; devices need their own)."""

    def __init__(
        self, redis_url: str, log_path: Path, *extra: str, pki: PkiLayout | None = None
    ) -> None:
        super().__init__(redis_url, log_path, ["--threads", "1", *extra], pki=pki)
        self.channel = grpc_channel(self.address, pki)
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
    verify = True if process.pki is None else client_ssl_context(process.pki.ca_cert)
    text = httpx.get(process.metrics_url, timeout=5, verify=verify).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def infer_request(window: pb.FeatureWindow, **changes: object) -> oip.ModelInferRequest:
    """The OIP request carrying the same window as the nser.v1 `window`, with request
    parameters changed (a string value) or removed (None)."""
    request = to_infer_request(window, request_id="req-1")
    p = request.parameters
    for name, value in changes.items():
        if value is None:
            del p[name]
        else:
            p[name].string_param = str(value)
    return request
