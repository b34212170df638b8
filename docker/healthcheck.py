"""The images' HEALTHCHECK: exit 0 when the service on this container's loopback is ready.

    python /opt/nser/healthcheck.py grpc 50051           # grpc.health.v1 says SERVING
    python /opt/nser/healthcheck.py http 8081 /readyz    # 2xx from the path

The MEC's health turns SERVING only once its models are loaded; the REST services' /readyz
answers 503 until their Redis consumer runs. Standard library only for http (the decision and
analytics images have no grpc), so grpc is imported only when asked for.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

TIMEOUT_S = 3.0


def grpc_serving(port: int, host: str = "127.0.0.1") -> bool:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(f"{host}:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=TIMEOUT_S)
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def http_ready(port: int, path: str, host: str = "127.0.0.1") -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=TIMEOUT_S) as reply:
            return bool(200 <= reply.status < 300)
    except (urllib.error.URLError, OSError):  # HTTPError (a 503) is a URLError
        return False


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "grpc":
        return 0 if grpc_serving(int(argv[1])) else 1
    if len(argv) == 3 and argv[0] == "http" and argv[2].startswith("/"):
        return 0 if http_ready(int(argv[1]), argv[2]) else 1
    sys.stderr.write("usage: healthcheck.py grpc PORT | http PORT /PATH\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
