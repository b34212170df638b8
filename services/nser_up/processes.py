"""Child processes on loopback: a private `redis-server` and the MEC inference service.

Used wherever nser starts parts of the network itself (benchmarks, the tests, `nser up`): each
child gets a free port, its output goes to a log file, and it is stopped with SIGTERM (then
SIGKILL) so that nothing is left behind.
"""

from __future__ import annotations

import ctypes
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from nser_shared.errors import ChildProcessError

# Children start by fork and exec (`_die_with_parent` runs between the two). gRPC's fork
# handlers exist for processes that go on using gRPC after a fork; ours exec at once, and those
# handlers hung a fork here while another thread used gRPC (grpc/grpc#22624). gRPC documents
# turning them off for fork-then-exec; it reads the variable when it initialises, so it is set
# before gRPC is imported (tests/conftest.py does the same for the test run).
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")

import grpc
import httpx
import redis
from grpc_health.v1 import health_pb2, health_pb2_grpc

from nser_shared.security.dev_pki import PkiLayout
from nser_shared.security.redis_url import redact_url, with_password

# Ports for children are drawn below the kernel's ephemeral range. A port the kernel picks
# (bind to port 0) comes from that range, which is also where every outgoing connection's
# source port comes from: between the pick and the child's bind, a client connection of the
# parent could take it ("Address already in use", seen in CI). Below the range only listeners
# compete, and each pick is checked free and never handed out twice by this process.
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST_PORT = 10_000
_given_ports: set[int] = set()
_port_rng = random.Random()


def _ephemeral_low() -> int | None:
    try:
        low = int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return low if low > _LOWEST_PORT + 1000 else None


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A loopback port free now, for a child to listen on."""
    low = _ephemeral_low()
    if low is not None:
        for _ in range(100):
            port = _port_rng.randrange(_LOWEST_PORT, low)
            if port not in _given_ports and _bindable(port):
                _given_ports.add(port)
                return port
    with socket.socket() as sock:  # no ephemeral range known (not Linux): the kernel's pick
        sock.bind(("127.0.0.1", 0))
        picked: int = sock.getsockname()[1]
        return picked


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout_s} s waiting for {what}")


# Loaded in the parent: the child, between fork and exec, must not import or load anything.
_LIBC = ctypes.CDLL(None) if sys.platform == "linux" else None
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the parent dies, even by SIGKILL, so that a
    killed `nser up` or test run never leaves services behind (Linux prctl PR_SET_PDEATHSIG)."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))


class Child:
    """One child process with its output in `log_path`, run `nice` steps below this one's
    CPU priority (0: the same)."""

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        *,
        nice: int = 0,
    ) -> None:
        self.name = name
        self.args = list(args)
        self.log_path = log_path
        self.env = dict(env or {})  # added to this process's environment (secrets go here)
        self.nice = nice
        self.process: subprocess.Popen[bytes] | None = None

    def _before_exec(self) -> None:
        _die_with_parent()
        if self.nice:
            os.nice(self.nice)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.args,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
                preexec_fn=self._before_exec,
            )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise ChildProcessError(
                f"{self.name} exited with code {self.process.returncode}; log tail:\n{tail}"
            )

    def stop(self, timeout_s: float = 15.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout_s`; the exit code (None if never started)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def tls_args(pki: PkiLayout | None, *, client_ca: bool = False) -> list[str]:
    """A service's options for its TLS files from `pki` (with `client_ca`, the CA its clients'
    certificates must be signed by: the MEC's mTLS), or `--insecure` when `pki` is None."""
    if pki is None:
        return ["--insecure"]
    args = ["--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key)]
    return args + (["--tls-client-ca", str(pki.ca_cert)] if client_ca else [])


def client_ssl_context(ca: Path) -> ssl.SSLContext:
    """Verifies servers against the CA in `ca` (an HTTPS client's `verify`)."""
    return ssl.create_default_context(cafile=str(ca))


def grpc_channel(address: str, pki: PkiLayout | None) -> grpc.Channel:
    """A channel to a MEC: plaintext without `pki`; else TLS verified against the dev CA, with
    the services' certificate as the client's (it names no device: probes, not devices)."""
    if pki is None:
        return grpc.insecure_channel(address)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=pki.ca_cert.read_bytes(),
        private_key=pki.server_key.read_bytes(),
        certificate_chain=pki.server_cert.read_bytes(),
    )
    return grpc.secure_channel(address, credentials)


AppendFsync = Literal["always", "everysec"]


class RedisChild(Child):
    """A private `redis-server` on a loopback port, its files in `workdir`.

    With `appendfsync`, an append-only file lets it restart with its data: "always" fsyncs
    before Redis answers a write, so what it acknowledged survives a power cut; "everysec"
    writes it to the kernel before answering (a kill -9 of Redis loses nothing) and fsyncs once
    a second (a power cut can cost the last second or two). Without it, Redis keeps nothing.
    With a `password`, clients must AUTH with it (`requirepass`; `url` carries it, so never log
    `url`: `safe_url` is the one to show)."""

    def __init__(
        self,
        port: int,
        workdir: Path,
        *,
        appendfsync: AppendFsync | None = None,
        password: str | None = None,
    ) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ChildProcessError(
                "redis-server is not installed (Debian: apt-get install redis-server; "
                "scripts/system_packages.sh does it)"
            )
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--dir", str(workdir)]  # fmt: skip
        if appendfsync is None:
            args += ["--appendonly", "no"]
        else:
            args += ["--appendonly", "yes", "--appendfsync", appendfsync]
        # The password goes in a config file (0600), not on the command line where ps shows it.
        self.config = workdir / f"redis-{port}.conf"
        if password is not None:
            args.insert(1, str(self.config))  # redis-server [CONFIG_FILE] [options]
        super().__init__("redis-server", args, workdir / f"redis-{port}.log")
        self.port = port
        self.password = password
        self.url = f"redis://127.0.0.1:{port}/0"
        if password is not None:
            self.url = with_password(self.url, password)
        self.safe_url = redact_url(self.url)

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, password=self.password, socket_timeout=5.0)

    def start(self, timeout_s: float = 10.0) -> None:
        if self.password is not None:
            self.config.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(f"requirepass {self.password}\n")
        super().start()
        client = self.client()

        def pings() -> bool:
            self.check_alive()
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait_until(pings, timeout_s, f"redis-server on port {self.port}")


class MecChild(Child):
    """The MEC inference service (`python -m nser_mec`) on free loopback ports: with mutual TLS
    from `pki` (a dev PKI, nser_shared.security.dev_pki), or plaintext (`--insecure`) when `pki`
    is None."""

    def __init__(
        self,
        redis_url: str,
        log_path: Path,
        extra_args: Sequence[str] = (),
        *,
        pki: PkiLayout | None,
    ) -> None:
        self.port = free_port()
        self.metrics_port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.pki = pki
        scheme = "http" if pki is None else "https"
        self.metrics_url = f"{scheme}://127.0.0.1:{self.metrics_port}/metrics"
        # The Redis URL goes in the environment, not the command line (it may hold a password).
        args = [sys.executable, "-m", "nser_mec", "--port", str(self.port),
                "--metrics-port", str(self.metrics_port), *tls_args(pki, client_ca=True),
                *extra_args]  # fmt: skip
        super().__init__("nser_mec", args, log_path, {"REDIS_URL": redis_url})

    def health(self, channel: grpc.Channel, service: str = "") -> int:
        stub = health_pb2_grpc.HealthStub(channel)
        request = health_pb2.HealthCheckRequest(service=service)
        return int(stub.Check(request, timeout=2).status)

    def start(self, timeout_s: float = 120.0) -> None:
        """Start and wait until the service reports SERVING (its models are loaded)."""
        super().start()
        with grpc_channel(self.address, self.pki) as channel:

            def serving() -> bool:
                self.check_alive()
                try:
                    return bool(self.health(channel) == health_pb2.HealthCheckResponse.SERVING)
                except grpc.RpcError:
                    return False

            wait_until(serving, timeout_s, f"nser_mec SERVING on {self.address}")


class HttpServiceChild(Child):
    """A Python HTTP service (`python -m MODULE ...`) that is ready when `ready_path` says 200;
    over HTTPS, verified against `ca`, when `ca` is given (the TLS options are in `args`)."""

    def __init__(
        self,
        module: str,
        args: Sequence[str],
        log_path: Path,
        port: int,
        ca: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        super().__init__(module, [sys.executable, "-m", module, *args], log_path, env)
        self.url = f"{'http' if ca is None else 'https'}://127.0.0.1:{port}"
        self.verify: ssl.SSLContext | bool = True if ca is None else client_ssl_context(ca)

    def start(self, timeout_s: float = 60.0, ready_path: str = "/readyz") -> None:
        super().start()

        def ready() -> bool:
            self.check_alive()
            try:
                reply = httpx.get(self.url + ready_path, timeout=2, verify=self.verify)
                return reply.status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout_s, f"{self.name} ready at {self.url}")
