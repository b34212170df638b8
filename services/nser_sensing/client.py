"""The devices' gRPC client: runs a fleet of simulated devices against the MEC over one shared
`grpc.aio` channel and gathers what they measured into a `SenseReport`.

    devices = build_devices(20, scene="assault", seconds=30.0)
    report = run_sensing(devices, WindowFramer(hop_s=1.0), ClientConfig("127.0.0.1:50051"))

What one device does with each window (link delays, retries, pacing) is in `session.py`; the
stream variant is in `streaming.py`.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from dataclasses import dataclass

import grpc.aio

from nser.v1 import mec_inference_pb2_grpc as pb_grpc
from nser_sensing.devices import Device, WindowFramer
from nser_sensing.metrics import SenseReport
from nser_sensing.session import DeviceSession
from nser_shared.errors import NserError
from nser_shared.windows import PayloadDtype, payload_bytes

TARGET_ENV = "NSER_MEC_ADDR"
FALLBACK_TARGET = "127.0.0.1:50051"
_TARGET = re.compile(r"(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})")


class MecUnreachableError(NserError):
    """The MEC inference service could not be reached within the connect timeout."""


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
    dtype: PayloadDtype = PayloadDtype.FLOAT32
    model: str = ""  # empty: the server's default model
    stream: bool = False  # ClassifyStream per device instead of unary Classify
    realtime: bool = True  # pace windows at the hop rate; False: as fast as answers come
    max_attempts: int = 5  # sends per window, the first included
    backoff_s: float = 0.05  # first retry waits about this long, then doubles
    backoff_max_s: float = 2.0
    rpc_timeout_s: float = 30.0
    connect_timeout_s: float = 5.0
    seed: int = 0  # link delays and jitter are drawn from (seed, device id)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise NserError(f"max_attempts must be >= 1, got {self.max_attempts}")
        if self.connect_timeout_s <= 0 or self.rpc_timeout_s <= 0:
            raise NserError("connect and RPC timeouts must be > 0 seconds")


async def connect(target: str, timeout_s: float) -> grpc.aio.Channel:
    """An open channel to `target`, or MecUnreachableError once `timeout_s` of retries ran out."""
    channel = grpc.aio.insecure_channel(target)
    try:
        await asyncio.wait_for(channel.channel_ready(), timeout_s)
    except TimeoutError:
        await channel.close()
        raise MecUnreachableError(
            f"cannot reach the MEC inference service at {target} within {timeout_s:g} s "
            f"(is `nser serve` running? set --target or {TARGET_ENV})"
        ) from None
    return channel


def check_reachable(target: str, timeout_s: float) -> None:
    """Fail fast, before any work, with MecUnreachableError if `target` cannot be reached."""

    async def probe() -> None:
        await (await connect(target, timeout_s)).close()

    asyncio.run(probe())


async def run_fleet(
    devices: list[Device], framer: WindowFramer, config: ClientConfig
) -> SenseReport:
    """Run every device against `config.target` over one channel; the report of the run."""
    channel = await connect(config.target, config.connect_timeout_s)
    started = time.perf_counter()
    try:
        stub = pb_grpc.MecInferenceStub(channel)
        sessions = [DeviceSession(d, stub, framer, config) for d in devices]
        metrics = await asyncio.gather(*(s.run() for s in sessions))
    finally:
        await channel.close()
    settings = {
        "target": config.target,
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
    return SenseReport(settings, list(metrics), time.perf_counter() - started)


def run_sensing(devices: list[Device], framer: WindowFramer, config: ClientConfig) -> SenseReport:
    """`run_fleet` from synchronous code (a CLI, a test)."""
    return asyncio.run(run_fleet(devices, framer, config))
