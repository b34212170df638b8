"""The devices' gRPC client: runs a fleet of simulated devices against the MEC and gathers what
they measured into a `SenseReport`. With mutual TLS (the default) every device has its own
`grpc.aio` channel presenting its own certificate (transport.py); with `--insecure`, all share one
plaintext channel.

    devices = build_devices(20, scene="assault", seconds=30.0)
    transport = Transport(tls_ca="creds/ca.pem", device_certs="creds/devices")
    report = run_sensing(devices, WindowFramer(), ClientConfig("127.0.0.1:50051", transport))

What one device does with each window (link delays, retries, pacing) is in `session.py`; the
stream variant is in `streaming.py`.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc.aio

from nser.v1 import mec_inference_pb2_grpc as pb_grpc
from nser_sensing.devices import Device, WindowFramer
from nser_sensing.errors import MecUnreachableError
from nser_sensing.metrics import SenseReport
from nser_sensing.sentlog import SentLog, records_by_device
from nser_sensing.session import DeviceSession
from nser_sensing.transport import Transport
from nser_shared.errors import NserError
from nser_shared.wire.windows import PayloadDtype, payload_bytes

TARGET_ENV = "NSER_MEC_ADDR"
FALLBACK_TARGET = "127.0.0.1:50051"
_TARGET = re.compile(r"(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})")


def default_target() -> str:
    return os.environ.get(TARGET_ENV) or FALLBACK_TARGET


def parse_target(value: str) -> str:
    """`value` if it is HOST:PORT with a port in 1-65535, else NserError naming the problem."""
    match = _TARGET.fullmatch(value)
    if match is None or not 1 <= int(match.group(1)) <= 65535:
        raise NserError(f"target {value!r} is not HOST:PORT (e.g. 127.0.0.1:50051)")
    return value


@dataclass(frozen=True)
class ClientConfig:
    target: str = FALLBACK_TARGET
    transport: Transport = field(default_factory=Transport)  # no TLS files: refused unless insecure
    dtype: PayloadDtype = PayloadDtype.FLOAT32
    model: str = ""  # empty: the server's default model
    stream: bool = False  # ClassifyStream per device instead of unary Classify
    realtime: bool = True  # pace windows at the hop rate; False: as fast as answers come
    # Sends per window, the first included: with the backoff below (jittered down to half), a
    # window is retried for about 9-18 s, long enough to outlast a MEC restart (its models load
    # in seconds, more on a busy host) and short enough for an alert to still matter.
    max_attempts: int = 10
    backoff_s: float = 0.05  # first retry waits about this long, then doubles
    backoff_max_s: float = 4.0
    rpc_timeout_s: float = 30.0
    connect_timeout_s: float = 5.0
    seed: int = 0  # link delays and jitter are drawn from (seed, device id)
    # Append one JSON line per settled window here (sentlog.py); None: a temporary file.
    sent_log: Path | None = None

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise NserError(f"max_attempts must be >= 1, got {self.max_attempts}")
        if self.connect_timeout_s <= 0 or self.rpc_timeout_s <= 0:
            raise NserError("connect and RPC timeouts must be > 0 seconds")


# While the MEC is unreachable the channel fails calls at once and tries to reconnect with its
# own backoff, which grows to 2 minutes by default; capped at 2 s, a device is back within about
# 2 s of a restarted MEC, inside the retries of its waiting windows.
CHANNEL_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.min_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 2000),
)


async def connect(
    target: str, timeout_s: float, credentials: grpc.ChannelCredentials | None = None
) -> grpc.aio.Channel:
    """An open channel to `target` (TLS with `credentials`, else plaintext), or
    MecUnreachableError once `timeout_s` of retries ran out."""
    if credentials is None:
        channel = grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS)
    else:
        channel = grpc.aio.secure_channel(target, credentials, options=CHANNEL_OPTIONS)
    try:
        await asyncio.wait_for(channel.channel_ready(), timeout_s)
    except TimeoutError:
        await channel.close()
        tls = (
            "; with TLS: does the MEC serve TLS, is its certificate signed by --tls-ca, does it "
            "trust the device certificates?"
            if credentials is not None
            else "; a MEC that serves TLS needs --tls-ca and --device-certs, not --insecure"
        )
        raise MecUnreachableError(
            f"cannot reach the MEC inference service at {target} within {timeout_s:g} s "
            f"(is `nser serve` running? set --target or {TARGET_ENV}{tls})"
        ) from None
    return channel


def _credentials(transport: Transport, device_id: str) -> grpc.ChannelCredentials | None:
    return None if transport.insecure else transport.credentials(device_id)


def check_reachable(config: ClientConfig, device_id: str) -> None:
    """Fail fast, before any work, with MecUnreachableError if `config.target` cannot be reached
    (over TLS: as `device_id`, so a certificate the MEC refuses fails here too)."""

    async def probe() -> None:
        credentials = _credentials(config.transport, device_id)
        await (await connect(config.target, config.connect_timeout_s, credentials)).close()

    asyncio.run(probe())


async def open_channels(devices: list[Device], config: ClientConfig) -> list[grpc.aio.Channel]:
    """One channel per device (each with its own certificate), connected concurrently; with an
    insecure transport, one channel shared by all."""
    config.transport.check([d.device_id for d in devices])
    config.transport.warn_if_insecure()
    if config.transport.insecure:
        channel = await connect(config.target, config.connect_timeout_s)
        return [channel] * len(devices)
    opening = [
        connect(config.target, config.connect_timeout_s, config.transport.credentials(d.device_id))
        for d in devices
    ]
    opened = await asyncio.gather(*opening, return_exceptions=True)
    channels = [c for c in opened if isinstance(c, grpc.aio.Channel)]
    failure = next((c for c in opened if isinstance(c, BaseException)), None)
    if failure is not None:
        await asyncio.gather(*(c.close() for c in channels))
        raise failure
    return channels


async def run_fleet(
    devices: list[Device], framer: WindowFramer, config: ClientConfig
) -> SenseReport:
    """Run every device against `config.target`; the report of the run."""
    if config.sent_log is not None:
        return await _run_fleet(devices, framer, config, config.sent_log)
    with tempfile.TemporaryDirectory(prefix="nser-sense-") as scratch:
        return await _run_fleet(devices, framer, config, Path(scratch) / "sent.jsonl")


async def _run_fleet(
    devices: list[Device], framer: WindowFramer, config: ClientConfig, log_path: Path
) -> SenseReport:
    sent_log = SentLog(log_path)
    try:
        channels = await open_channels(devices, config)
        started = time.perf_counter()
        try:
            sessions = [
                DeviceSession(d, pb_grpc.MecInferenceStub(c), framer, config, sent_log)
                for d, c in zip(devices, channels, strict=True)
            ]
            metrics = await asyncio.gather(*(s.run() for s in sessions))
        finally:
            await asyncio.gather(*(c.close() for c in {id(c): c for c in channels}.values()))
        wall_s = time.perf_counter() - started
    finally:
        sent_log.close()
    records = records_by_device(log_path, since=sent_log.start)
    for device in metrics:
        device.requests = records.get(device.device_id, [])
    settings = {
        "target": config.target,
        "transport": "plaintext" if config.transport.insecure else "mutual TLS",
        "mode": "realtime" if config.realtime else "fast",
        "rpc": "ClassifyStream" if config.stream else "Classify",
        "dtype": config.dtype.value,
        "model": config.model or "(server default)",
        "hop_s": framer.hop_s,
        "energy_gate_dbfs": framer.gate_dbfs,
        "feature_config_id": framer.config.id,
        "tensor_bytes": payload_bytes(framer.config, config.dtype),
        "max_attempts": config.max_attempts,
        "seed": config.seed,
    }
    return SenseReport(settings, list(metrics), wall_s)


def run_sensing(devices: list[Device], framer: WindowFramer, config: ClientConfig) -> SenseReport:
    """`run_fleet` from synchronous code (a CLI, a test)."""
    return asyncio.run(run_fleet(devices, framer, config))
