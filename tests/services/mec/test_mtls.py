"""Mutual TLS on the MEC (a real `python -m nser_mec` with the session's dev PKI): a device is
served only over TLS, with a certificate from the dev CA that names the device its windows
claim; and the service refuses to start without TLS files unless told --insecure."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from support.mec import MecProcess, feature_window, infer_request, metric_value
from support.pki import device_credentials
from support.processes import RedisChild

from nser.oip.v2 import open_inference_pb2_grpc as oip_grpc
from nser.v1 import mec_inference_pb2_grpc as pb_grpc
from nser_sensing.client import ClientConfig, run_sensing
from nser_sensing.devices import Device, WindowFramer, build_devices
from nser_sensing.errors import MecUnreachableError
from nser_sensing.transport import INSECURE, Transport
from nser_shared.errors import ConfigurationError
from nser_shared.security.dev_pki import PkiLayout

REFUSED = "nser_mec_identity_refused_total"


@pytest.fixture(scope="module")
def secure_mec(
    module_redis: RedisChild, tmp_path_factory: pytest.TempPathFactory, dev_pki: PkiLayout
) -> Iterator[MecProcess]:
    log = tmp_path_factory.mktemp("mec") / "mec.log"
    server = MecProcess(module_redis.url, log, pki=dev_pki).wait_serving()
    yield server
    server.terminate()


def _stub(mec: MecProcess, credentials: grpc.ChannelCredentials) -> pb_grpc.MecInferenceStub:
    return pb_grpc.MecInferenceStub(grpc.secure_channel(mec.address, credentials))


def test_a_device_with_its_own_certificate_is_served(
    secure_mec: MecProcess, dev_pki: PkiLayout
) -> None:
    stub = _stub(secure_mec, device_credentials(dev_pki, "phone-0001"))
    answer = stub.Classify(feature_window(device_id="phone-0001"), timeout=30)
    assert answer.device_id == "phone-0001"
    answers = list(stub.ClassifyStream(iter([feature_window(i, device_id="phone-0001")
                                             for i in range(3)]), timeout=30))  # fmt: skip
    assert sorted(a.sequence for a in answers) == [0, 1, 2]


def test_a_window_for_another_device_is_permission_denied_naming_both(
    secure_mec: MecProcess, dev_pki: PkiLayout
) -> None:
    before = metric_value(secure_mec, REFUSED, reason="device_id_mismatch")
    stub = _stub(secure_mec, device_credentials(dev_pki, "phone-0001"))
    with pytest.raises(grpc.RpcError) as unary:
        stub.Classify(feature_window(device_id="phone-0002"), timeout=30)
    assert unary.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "'phone-0002'" in unary.value.details()
    assert "'phone-0001'" in unary.value.details()
    # On a stream, the impostor's window is refused on its own and the device's are answered.
    windows = [feature_window(i, device_id=f"phone-000{1 + i % 2}") for i in range(3)]
    answers = {a.sequence: a for a in stub.ClassifyStream(iter(windows), timeout=30)}
    assert sorted(answers) == [0, 1, 2]
    assert answers[1].error.code == grpc.StatusCode.PERMISSION_DENIED.value[0]
    assert "'phone-0002'" in answers[1].error.message
    assert answers[0].detection.label
    assert answers[2].detection.label
    assert metric_value(secure_mec, REFUSED, reason="device_id_mismatch") == before + 2


def test_the_open_inference_protocol_checks_the_same_identity(
    secure_mec: MecProcess, dev_pki: PkiLayout
) -> None:
    channel = grpc.secure_channel(secure_mec.address, device_credentials(dev_pki, "phone-0001"))
    stub = oip_grpc.GRPCInferenceServiceStub(channel)
    assert stub.ModelInfer(infer_request(feature_window(4, device_id="phone-0001")), timeout=30)
    with pytest.raises(grpc.RpcError) as impostor:
        stub.ModelInfer(infer_request(feature_window(5, device_id="phone-0002")), timeout=30)
    assert impostor.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "'phone-0001'" in (impostor.value.details() or "")


def test_the_services_certificate_may_probe_health_but_not_classify(
    secure_mec: MecProcess,
) -> None:
    assert secure_mec.health() == 1  # SERVING, over mutual TLS with the services' certificate
    with pytest.raises(grpc.RpcError) as caught:
        secure_mec.stub.Classify(feature_window(device_id="phone-0001"), timeout=30)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "names no device" in caught.value.details()


@pytest.mark.parametrize("client", ["no certificate", "foreign CA", "plaintext"])
def test_a_client_without_a_dev_ca_certificate_never_gets_through_the_handshake(
    secure_mec: MecProcess, dev_pki: PkiLayout, foreign_pki: PkiLayout, client: str
) -> None:
    if client == "plaintext":
        channel = grpc.insecure_channel(secure_mec.address)
    elif client == "no certificate":
        credentials = grpc.ssl_channel_credentials(dev_pki.ca_cert.read_bytes())
        channel = grpc.secure_channel(secure_mec.address, credentials)
    else:  # same device id, signed by another CA (trusting ours, so only the server refuses)
        credentials = device_credentials(foreign_pki, "phone-0001", ca=dev_pki.ca_cert)
        channel = grpc.secure_channel(secure_mec.address, credentials)
    with channel, pytest.raises(grpc.RpcError) as caught:
        pb_grpc.MecInferenceStub(channel).Classify(
            feature_window(device_id="phone-0001"), timeout=5
        )
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_device_refuses_a_server_certificate_from_another_ca(
    secure_mec: MecProcess, dev_pki: PkiLayout, foreign_pki: PkiLayout
) -> None:
    credentials = device_credentials(dev_pki, "phone-0001", ca=foreign_pki.ca_cert)
    with pytest.raises(grpc.RpcError) as caught:
        _stub(secure_mec, credentials).Classify(feature_window(device_id="phone-0001"), timeout=5)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_metrics_are_served_over_https_only(secure_mec: MecProcess, dev_pki: PkiLayout) -> None:
    assert secure_mec.metrics_url.startswith("https://")
    assert metric_value(secure_mec, "nser_mec_published_total") >= 0
    with pytest.raises(httpx.HTTPError):
        httpx.get(secure_mec.metrics_url.replace("https", "http"), timeout=5)


def _serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`nser serve` that stops before loading anything (bad settings) or at once (port taken)."""
    argv = [sys.executable, "-m", "nser_mec", "--port", "0", "--metrics-port", "0", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=tmp_path)


def test_the_service_refuses_to_start_without_tls_files_or_insecure(tmp_path: Path) -> None:
    done = _serve(tmp_path)
    assert done.returncode == 1
    for needed in ("--tls-cert", "NSER_MEC_TLS_CERT", "--tls-client-ca", "nser credentials",
                   "--insecure"):  # fmt: skip
        assert needed in done.stderr, needed


def test_missing_tls_files_are_named(tmp_path: Path, dev_pki: PkiLayout) -> None:
    missing = tmp_path / "nope.pem"
    done = _serve(tmp_path, "--tls-cert", str(missing), "--tls-key", str(dev_pki.server_key),
                  "--tls-client-ca", str(dev_pki.ca_cert))  # fmt: skip
    assert done.returncode == 1
    assert f"{missing} does not exist" in done.stderr


def test_insecure_logs_that_traffic_is_plaintext(module_redis: RedisChild, tmp_path: Path) -> None:
    server = MecProcess(module_redis.url, tmp_path / "mec.log").wait_serving()  # --insecure
    try:
        answer = server.stub.Classify(feature_window(device_id="phone-0001"), timeout=30)
        assert answer.device_id == "phone-0001"
    finally:
        server.terminate()
    log = (tmp_path / "mec.log").read_text()
    warnings = [line for line in log.splitlines() if "WARNING" in line and "--insecure" in line]
    assert len(warnings) == 1
    assert "plaintext" in warnings[0]


# --- the sensing client: one channel and one certificate per device -----------------------------


def _fleet(count: int) -> list[Device]:
    return build_devices(count, scene="party", seconds=4.0, profiles=("ideal",))


def test_the_sensing_client_runs_each_device_with_its_own_certificate(
    secure_mec: MecProcess, dev_pki: PkiLayout
) -> None:
    transport = Transport(tls_ca=str(dev_pki.ca_cert), device_certs=str(dev_pki.devices))
    config = ClientConfig(secure_mec.address, transport, realtime=False)
    report = run_sensing(_fleet(3), WindowFramer(), config)
    totals = report.totals()
    assert totals["windows_sent"] == totals["answers"] == 6
    assert totals["errors"] == {}
    assert report.settings["transport"] == "mutual TLS"


def test_the_sensing_client_refuses_to_run_without_tls_or_a_device_certificate(
    secure_mec: MecProcess, dev_pki: PkiLayout, tmp_path: Path
) -> None:
    with pytest.raises(ConfigurationError, match=r"--tls-ca \(NSER_SENSE_TLS_CA\).*--insecure"):
        run_sensing(_fleet(1), WindowFramer(), ClientConfig(secure_mec.address))
    transport = Transport(tls_ca=str(dev_pki.ca_cert), device_certs=str(tmp_path))
    with pytest.raises(ConfigurationError, match="certificate of device phone-0000"):
        run_sensing(_fleet(1), WindowFramer(), ClientConfig(secure_mec.address, transport))


def test_an_insecure_sensing_client_cannot_reach_a_tls_mec(secure_mec: MecProcess) -> None:
    config = ClientConfig(secure_mec.address, INSECURE, connect_timeout_s=2.0)
    with pytest.raises(MecUnreachableError, match="not --insecure"):
        run_sensing(_fleet(1), WindowFramer(), config)
