"""The images' HEALTHCHECK: exit 0 when the service on this container's loopback is ready.

    python /opt/nser/healthcheck.py grpc 50051 [CERT KEY CA]      # grpc.health.v1 says SERVING
    python /opt/nser/healthcheck.py http 8081 /readyz [CERT]      # 2xx from the path

With TLS files (the service's own settings, empty when it runs --insecure): the MEC is probed
over mutual TLS, presenting the services' certificate (it names no device, so it may probe but
not classify) and verifying the MEC against CA; an HTTP service over HTTPS, trusting exactly its
own certificate CERT. The MEC's health turns SERVING only once its models are loaded; the REST
services' /readyz answers 503 until their Redis consumer runs. Standard library only for http
(the decision and analytics images have no grpc), so grpc is imported only when asked for.
"""

from __future__ import annotations

import ssl
import sys
import urllib.error
import urllib.request
from pathlib import Path

TIMEOUT_S = 3.0
HOST = "127.0.0.1"  # in the services' certificate as an IP SAN


def grpc_serving(port: int, tls: tuple[str, str, str] | None = None) -> bool:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    if tls is None:
        channel = grpc.insecure_channel(f"{HOST}:{port}")
    else:
        cert, key, ca = (Path(p).read_bytes() for p in tls)
        credentials = grpc.ssl_channel_credentials(ca, private_key=key, certificate_chain=cert)
        channel = grpc.secure_channel(f"{HOST}:{port}", credentials)
    with channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=TIMEOUT_S)
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def http_ready(port: int, path: str, cert: str = "") -> bool:
    context = None
    if cert:  # trust exactly the service's own certificate (a partial chain ends there)
        context = ssl.create_default_context(cafile=cert)
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    scheme = "https" if cert else "http"
    try:
        with urllib.request.urlopen(
            f"{scheme}://{HOST}:{port}{path}", timeout=TIMEOUT_S, context=context
        ) as reply:
            return bool(200 <= reply.status < 300)
    except (urllib.error.URLError, OSError):  # HTTPError (a 503) is a URLError
        return False


def main(argv: list[str]) -> int:
    if argv[:1] == ["grpc"] and len(argv) in (2, 5):
        tls = (argv[2], argv[3], argv[4]) if len(argv) == 5 and all(argv[2:]) else None
        return 0 if grpc_serving(int(argv[1]), tls) else 1
    if argv[:1] == ["http"] and len(argv) in (3, 4) and argv[2].startswith("/"):
        return 0 if http_ready(int(argv[1]), argv[2], argv[3] if len(argv) == 4 else "") else 1
    sys.stderr.write("usage: healthcheck.py grpc PORT [CERT KEY CA] | http PORT /PATH [CERT]\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
