"""docker/healthcheck.py, the images' HEALTHCHECK, against real servers on loopback: a gRPC
health service and a tiny HTTP server, each ready or not."""

from __future__ import annotations

import importlib.util
import ssl
import threading
from collections.abc import Iterator
from concurrent import futures
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import ModuleType

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from nser_shared.security.dev_pki import PkiLayout

SCRIPT = Path(__file__).resolve().parents[2] / "docker" / "healthcheck.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nser_image_healthcheck", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


healthcheck = _load()


@pytest.fixture
def grpc_health() -> Iterator[tuple[int, health.HealthServicer]]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield port, servicer
    finally:
        server.stop(grace=None)


class _Ready(BaseHTTPRequestHandler):
    ready = True

    def do_GET(self) -> None:
        ok = self.path == "/readyz" and self.ready
        self.send_response(200 if ok else 503)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_ready() -> Iterator[tuple[int, type[_Ready]]]:
    handler = type("Handler", (_Ready,), {"ready": True})
    server = HTTPServer(("127.0.0.1", 0), handler)
    # A short poll interval: shutdown() waits for the serving loop's next poll.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield server.server_port, handler
    finally:
        server.shutdown()
        server.server_close()


def test_grpc_check_passes_only_while_serving(
    grpc_health: tuple[int, health.HealthServicer],
) -> None:
    port, servicer = grpc_health
    servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    assert healthcheck.main(["grpc", str(port)]) == 1
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    assert healthcheck.main(["grpc", str(port)]) == 0


def test_http_check_passes_only_on_a_2xx(http_ready: tuple[int, type[_Ready]]) -> None:
    port, handler = http_ready
    assert healthcheck.main(["http", str(port), "/readyz"]) == 0
    handler.ready = False
    assert healthcheck.main(["http", str(port), "/readyz"]) == 1


def test_checks_fail_when_nothing_listens() -> None:
    with HTTPServer(("127.0.0.1", 0), _Ready) as spare:  # a port that was free a moment ago
        free = spare.server_port
    assert healthcheck.main(["http", str(free), "/readyz"]) == 1
    assert healthcheck.main(["grpc", str(free)]) == 1


def test_bad_arguments_print_usage() -> None:
    assert healthcheck.main(["tcp", "1"]) == 2
    assert healthcheck.main(["http", "8081", "readyz"]) == 2


# --- with TLS: the files the images' HEALTHCHECK passes from the service's settings ------------


def test_grpc_check_speaks_mutual_tls_with_the_services_certificate(dev_pki: PkiLayout) -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    credentials = grpc.ssl_server_credentials(
        [(dev_pki.server_key.read_bytes(), dev_pki.server_cert.read_bytes())],
        root_certificates=dev_pki.ca_cert.read_bytes(),
        require_client_auth=True,
    )
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    try:
        servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        files = [str(dev_pki.server_cert), str(dev_pki.server_key), str(dev_pki.ca_cert)]
        assert healthcheck.main(["grpc", str(port), *files]) == 0
        assert healthcheck.main(["grpc", str(port)]) == 1  # plaintext: the handshake fails
        assert healthcheck.main(["grpc", str(port), "", "", ""]) == 1  # --insecure settings
    finally:
        server.stop(grace=None)


def test_http_check_speaks_https_trusting_the_services_own_certificate(
    http_ready: tuple[int, type[_Ready]], dev_pki: PkiLayout
) -> None:
    handler = type("Handler", (_Ready,), {"ready": True})
    server = HTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(dev_pki.server_cert, dev_pki.server_key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    # A short poll interval: shutdown() waits for the serving loop's next poll.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        port = str(server.server_port)
        assert healthcheck.main(["http", port, "/readyz", str(dev_pki.server_cert)]) == 0
        handler.ready = False
        assert healthcheck.main(["http", port, "/readyz", str(dev_pki.server_cert)]) == 1
        handler.ready = True
        # Another certificate is not trusted, and plaintext does not reach an HTTPS server.
        other = str(dev_pki.device_cert("phone-0001"))
        assert healthcheck.main(["http", port, "/readyz", other]) == 1
        plain_port, _ = http_ready
        assert healthcheck.main(["http", str(plain_port), "/readyz", ""]) == 0
    finally:
        server.shutdown()
        server.server_close()
