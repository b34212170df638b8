"""The network of child processes `nser up` runs, started in dependency order, each waited on
until healthy, supervised while it runs (a service that dies is restarted: supervisor.py), and
always stopped, in reverse order. A device group that dies is not restarted (its devices would
replay their scene from the start); the summary says so.

Redis keeps its data in the run folder's `redis/` (an append-only file, fsync before every
answer), so a restarted Redis has the stream and the alerts back, and the alert history of a run
can be read after it ends.

Secure by default: a development PKI (nser_shared.security.dev_pki) in the run folder's
`credentials/` (or `--credentials DIR`) gives the MEC mutual TLS with one certificate per device,
the decision and analytics services HTTPS and API tokens, Prometheus an HTTPS scrape, and the
private Redis a password. `insecure` runs everything plaintext, as each service's warning says."""

from __future__ import annotations

import logging
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from nser_models.served import SERVED_MODEL
from nser_shared.errors import ChildProcessError
from nser_shared.frontend.features import WINDOW_HOP_S
from nser_shared.security.credential_files import read_secret
from nser_shared.security.dev_pki import PkiLayout, create_dev_pki
from nser_shared.security.tokens import TOKENS_FILE, Role, read_token, token_file_name
from nser_shared.wire.device_ids import fleet_device_ids
from nser_up.processes import (
    Child,
    HttpServiceChild,
    MecChild,
    RedisChild,
    client_ssl_context,
    free_port,
    tls_args,
)
from nser_up.prometheus import PrometheusChild, scrape_config
from nser_up.scenarios import split_devices
from nser_up.supervisor import Supervisor

log = logging.getLogger(__name__)
DEVICE_CONNECT_TIMEOUT_S = 60.0
# The simulated devices stand for phones and watches elsewhere: on this one host they run below
# the network's services in CPU priority, so that a loaded run does not starve a restarting MEC
# of the CPU its own machine would have (under chaos, a MEC's kill -9 recovery took 29 s, not 6).
DEVICE_NICE = 10
# Decision webhooks and NWDAF notifications go out signed, with the one key (webhook.secret).
SIGNING_KEY_OPTION = {
    "nser_decision": "--webhook-secret-file",
    "nser_nwdaf": "--notify-secret-file",
}


@dataclass(frozen=True)
class UpConfig:
    out: Path
    devices: int = 20
    cells: int = 4
    scenario: str = "evening"
    duration_s: float = 60.0
    profile: str = "urllc"  # the devices' radio link to the MEC host
    placement: str = "edge"  # edge: the MEC beside the base station; cloud: a distant cloud
    dtype: str = "int8"
    redis_url: str | None = None  # an external Redis; None: start a private one
    prometheus: bool = True  # start Prometheus when the binary is installed
    seed: int = 0
    insecure: bool = False  # plaintext everywhere, no API tokens, no Redis password
    credentials: Path | None = None  # a `nser credentials` folder; None: out/credentials
    soak_interval_s: float = 0.0  # > 0: sample memory, throughput and latency (soak.py)
    soak_warmup_s: float = 60.0
    decision_replicas: int = 1  # sharing the decision group's work
    hop_s: float = WINDOW_HOP_S  # seconds between a device's windows
    sent_logs: bool = False  # devices log each settled window to sent-<scene>.jsonl
    scene_loop_s: float | None = None  # devices play this much of their scene in a loop

    def sent_log(self, scene: str) -> Path:
        return self.out / f"sent-{scene}.jsonl"

    def device_ids(self) -> list[str]:
        """Every device of the scenario, as the sensing processes will name them."""
        return [
            device_id
            for _, first, count in split_devices(self.scenario, self.devices)
            for device_id in fleet_device_ids(first, count)
        ]

    @property
    def link_profile(self) -> str:
        return "cloud" if self.placement == "cloud" else self.profile


class Network:
    def __init__(self, config: UpConfig, before_each_start: Callable[[], None]) -> None:
        self.config = config
        self.before_each_start = before_each_start  # raises to abandon the start-up
        self.logs = config.out / "logs"
        self.children: list[Child] = []
        self.redis: RedisChild | None = None
        self.redis_url = config.redis_url or ""
        self.mec: MecChild | None = None
        self.decision: HttpServiceChild | None = None  # the first replica: its REST API is read
        self.decisions: list[HttpServiceChild] = []
        self.nwdaf: HttpServiceChild | None = None
        self.sensing: list[tuple[str, Child]] = []  # (scene, child)
        self.prometheus: PrometheusChild | None = None
        self.pki: PkiLayout | None = None
        self.supervisor = Supervisor()
        if not config.insecure:  # keeps an existing CA, adds what is missing (devices)
            folder = config.credentials or config.out / "credentials"
            self.pki = create_dev_pki(folder, config.device_ids()).layout
        self.http = self._reader_client()

    def _reader_client(self) -> httpx.Client:
        """Reads /metrics and the REST APIs: with the dev CA and the reader token when secure."""
        if self.pki is None:
            return httpx.Client(timeout=10.0)
        token = read_token(self.pki.root / token_file_name(Role.READER))
        return httpx.Client(
            timeout=10.0,
            verify=client_ssl_context(self.pki.ca_cert),
            headers={"Authorization": f"Bearer {token}"},
        )

    def _start(self, child: Child, *, supervised: bool = True) -> None:
        self.before_each_start()
        self.children.append(child)
        log.info("starting %s", child.name)
        child.start()
        if supervised:
            self.supervisor.watch(child)

    def start_services(self) -> None:
        """Redis, MEC, analytics, decision, Prometheus: each healthy before the next."""
        pki = self.pki
        if not self.redis_url:
            password = None if pki is None else read_secret(pki.redis_password, "Redis password")
            self.redis = RedisChild(
                free_port(), self.config.out / "redis", appendfsync="always", password=password
            )
            self.redis_url = self.redis.url
            self._start(self.redis)
        self.mec = MecChild(
            self.redis_url, self.logs / "mec.log", ["--models", SERVED_MODEL], pki=pki
        )
        self._start(self.mec)
        self.nwdaf = self._http_service("nser_nwdaf", "nwdaf")
        for replica in range(1, self.config.decision_replicas + 1):
            suffix = "" if replica == 1 else f"-{replica}"
            consumer = ["--consumer", f"decision-{replica}"]
            self.decisions.append(self._http_service("nser_decision", "decision", consumer, suffix))
        self.decision = self.decisions[0]
        binary = shutil.which("prometheus")
        if self.config.prometheus and binary is None:
            log.warning(
                "prometheus is not installed: running without it (metrics stay on /metrics)"
            )
        elif self.config.prometheus and binary is not None:
            targets = {"mec": [f"127.0.0.1:{self.mec.metrics_port}"],
                       "decision": [self.decision.url.split("://")[1]],
                       "nwdaf": [self.nwdaf.url.split("://")[1]]}  # fmt: skip
            ca_file = None if pki is None else str(pki.ca_cert.resolve())
            self.prometheus = PrometheusChild(
                binary, scrape_config(targets, interval_s=1, ca_file=ca_file), self.logs, pki
            )
            self._start(self.prometheus)

    def endpoints(self) -> str:
        """Where a user reaches the running network, and the files to do it with."""
        lines = ["endpoints:"]
        if self.mec is not None:
            lines.append(f"  MEC (gRPC)        {self.mec.address}   metrics {self.mec.metrics_url}")
        if self.decision is not None:
            lines.append(
                f"  decision (REST)   {self.decision.url}/v1/alerts   docs {self.decision.url}/docs"
            )
        if self.nwdaf is not None:
            lines.append(f"  analytics (REST)  {self.nwdaf.url}   docs {self.nwdaf.url}/docs")
        if self.prometheus is not None:
            lines.append(f"  Prometheus        {self.prometheus.url}")
        if self.pki is not None:
            root = self.pki.root
            lines.append(f"  CA certificate    {self.pki.ca_cert}")
            lines.append(
                f"  API tokens        {root / 'reader.token'} (read), {root / 'operator.token'}"
            )
        else:
            lines.append("  insecure: plaintext, no API tokens")
        return "\n".join(lines)

    def _http_service(
        self, module: str, name: str, extra_args: list[str] | None = None, suffix: str = ""
    ) -> HttpServiceChild:
        """`module` on a free port; `suffix` tells replicas apart (log file, child name)."""
        port = free_port()
        args = ["--port", str(port), *tls_args(self.pki), *(extra_args or [])]
        if self.pki is not None:
            args += ["--tokens-file", str(self.pki.root / TOKENS_FILE)]
            args += [SIGNING_KEY_OPTION[module], str(self.pki.webhook_secret)]
        if module == "nser_nwdaf":  # a local network: a subscriber's receiver runs here too
            args += ["--notify-allowed-hosts", "127.0.0.1,localhost,::1"]
        ca = None if self.pki is None else self.pki.ca_cert
        # REDIS_URL in the environment, not on the command line: it may hold the password.
        env = {"REDIS_URL": self.redis_url}
        child = HttpServiceChild(module, args, self.logs / f"{name}{suffix}.log", port, ca, env)
        child.name = module + suffix
        self._start(child)
        return child

    def start_devices(self) -> None:
        assert self.mec is not None
        c = self.config
        for scene, first, count in split_devices(c.scenario, c.devices):
            args = [sys.executable, "-m", "nser_sensing", "--target", self.mec.address,
                    "--scene", scene, "--devices", str(count), "--first-device", str(first),
                    "--cells", str(c.cells), "--profile", c.link_profile, "--dtype", c.dtype,
                    "--duration", f"{c.duration_s:g}", "--seed", str(c.seed),
                    "--hop", f"{c.hop_s:g}", "--out", str(c.out / f"sense-{scene}.json"),
                    # a MEC being restarted as they start up is waited for, not fatal
                    "--connect-timeout", f"{DEVICE_CONNECT_TIMEOUT_S:g}",
                    *self._device_tls()]  # fmt: skip
            if c.sent_logs:
                args += ["--sent-log", str(c.sent_log(scene))]
            if c.scene_loop_s is not None:
                args += ["--loop", f"{c.scene_loop_s:g}"]
            child = Child(
                f"sensing ({scene})", args, self.logs / f"sense-{scene}.log", nice=DEVICE_NICE
            )
            self.sensing.append((scene, child))
            self._start(child, supervised=False)

    def _device_tls(self) -> list[str]:
        if self.pki is None:
            return ["--insecure"]
        return ["--tls-ca", str(self.pki.ca_cert), "--device-certs", str(self.pki.devices)]

    def check(self) -> None:
        """Restart the services that died (CrashLoopError if one keeps dying)."""
        self.supervisor.poll()

    def device_failures(self) -> dict[str, int]:
        """Scene -> exit code of each device group that died (a finished one exits 0)."""
        return {
            scene: code
            for scene, child in self.sensing
            if child.process is not None and (code := child.process.poll()) not in (None, 0)
        }

    def pids(self) -> dict[str, int]:
        """Name -> pid of every running child (for the soak report's memory figures)."""
        return {c.name: c.process.pid for c in self.children if c.process is not None}

    def devices_done(self) -> bool:
        return bool(self.sensing) and all(not s.alive() for _, s in self.sensing)

    def stop(self) -> None:
        """Stop every child, newest first; never raises."""
        for child in reversed(self.children):
            try:
                code = child.stop()
                log.info("stopped %s (exit %s)", child.name, code)
            except (OSError, ChildProcessError) as exc:
                log.error("could not stop %s: %s", child.name, exc)
        self.http.close()
