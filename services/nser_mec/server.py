"""Wires the MEC inference service together and runs it until SIGTERM / SIGINT.

Start-up: metrics port and gRPC port open first, with health NOT_SERVING (probes get an answer
while the models load; Classify answers UNAVAILABLE); then the models load off the event loop,
the batcher and the publisher start, and health turns SERVING.
Shutdown: health turns NOT_SERVING, the gRPC server refuses new calls and gives the calls in
flight `grace_seconds` to finish (their windows still go through the batcher), then batching
stops and the publisher gets the same grace to hand what is queued to Redis (a call in flight
is answered only once its result is in the stream).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import start_http_server

from nser_mec import oip
from nser_mec.core import ServingCore
from nser_mec.grpc_common import DeviceIdentity
from nser_mec.metrics import MecMetrics
from nser_mec.servicer import SERVICE, MecInferenceServicer, add_to_server
from nser_mec.settings import SETTINGS, MecSettings
from nser_shared.security.tls import server_tls

log = logging.getLogger(__name__)

SERVICE_NAME = SERVICE  # nser.v1.MecInference, for health and reflection


class MecServer:
    def __init__(self, settings: MecSettings) -> None:
        self.settings = settings
        # Refuses to go on without TLS files unless settings.insecure (then warns once).
        self.tls = server_tls(
            "nser_mec",
            settings,
            SETTINGS,
            plaintext="gRPC and /metrics are plaintext and devices are not authenticated",
        )
        self.metrics = MecMetrics()
        self.core = ServingCore(settings, self.metrics)
        identity = DeviceIdentity(self.tls is not None, self.metrics)
        self.servicer = MecInferenceServicer(self.core, self.metrics, identity)
        self.oip_servicer = oip.OipServicer(self.core, self.metrics, identity)
        self.health = health.aio.HealthServicer()
        self.grpc_server: grpc.aio.Server | None = None
        self.metrics_server: Any = None
        self.port = settings.port
        self.metrics_port = settings.metrics_port

    async def _set_health(self, status: int) -> None:
        for name in ("", SERVICE_NAME):
            await self.health.set(name, status)

    async def start(self) -> None:
        """Open the ports, load the models, start serving. Returns once SERVING."""
        s = self.settings
        tls = self.tls
        self.metrics_server, _ = start_http_server(
            s.metrics_port,
            addr=s.host,
            registry=self.metrics.registry,
            certfile=None if tls is None else str(tls.cert_path),  # HTTPS, no client certificate
            keyfile=None if tls is None else str(tls.key_path),
        )
        self.metrics_port = self.metrics_server.server_port
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", s.max_message_bytes),
                ("grpc.so_reuseport", 0),
            ]
        )
        add_to_server(self.servicer, server)
        oip.add_to_server(self.oip_servicer, server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, oip.SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME), server
        )
        address = f"{s.host}:{s.port}"
        if tls is None:
            self.port = server.add_insecure_port(address)
        else:  # mutual TLS: every caller presents a certificate signed by the client CA
            credentials = grpc.ssl_server_credentials(
                [(tls.key, tls.cert)], root_certificates=tls.client_ca, require_client_auth=True
            )
            self.port = server.add_secure_port(address, credentials)
        await self._set_health(health_pb2.HealthCheckResponse.NOT_SERVING)
        await server.start()
        self.grpc_server = server
        log.info(
            "gRPC%s on %s:%d, metrics on :%d; loading models",
            " (mutual TLS)" if tls else " (plaintext)",
            s.host,
            self.port,
            self.metrics_port,
        )

        models = await self.core.load()
        await self._set_health(health_pb2.HealthCheckResponse.SERVING)
        log.info("serving %s on %s", ", ".join(models), s.backend.value)

    async def stop(self) -> None:
        """Drain in-flight calls, then stop batching and flush the publisher."""
        grace = self.settings.grace_seconds
        await self.health.enter_graceful_shutdown()
        if self.grpc_server is not None:
            await self.grpc_server.stop(grace)
        await self.core.stop(grace)
        if self.metrics_server is not None:
            self.metrics_server.shutdown()
            self.metrics_server.server_close()
        log.info("stopped")

    async def serve_forever(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await self.start()
            await stop.wait()
            log.info(
                "stopping: draining in-flight requests (grace %.1f s)", self.settings.grace_seconds
            )
        finally:
            await self.stop()
