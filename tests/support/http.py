"""Real HTTP servers on loopback for tests: an ASGI app under uvicorn in a thread, and a webhook
receiver that records what it is sent and can be told to fail."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import uvicorn

from support.processes import free_port, wait_until


class UvicornThread:
    """`app` under uvicorn on loopback. `propagate_logs`: uvicorn's loggers, its access log
    included, log to the root logger at DEBUG (so `caplog` sees every line)."""

    def __init__(self, app: Any, propagate_logs: bool = False) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = (
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None,
                           log_level="debug", access_log=True)
            if propagate_logs
            else uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> UvicornThread:
        self.thread.start()
        wait_until(lambda: self.server.started, 30.0, f"uvicorn on {self.url}")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


class WebhookReceiver:
    """Records POSTs by path; answers 503 to the first `fail_first[path]` requests to a path."""

    def __init__(self, fail_first: dict[str, int] | None = None) -> None:
        self.received: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.headers: dict[str, list[dict[str, str]]] = defaultdict(list)
        self.bodies: dict[str, list[bytes]] = defaultdict(list)
        self.failures_left = dict(fail_first or {})
        self.attempts: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.attempts[self.path] += 1
                    failing = receiver.failures_left.get(self.path, 0) > 0
                    if failing:
                        receiver.failures_left[self.path] -= 1
                    else:
                        receiver.received[self.path].append(json.loads(body))
                        receiver.headers[self.path].append(dict(self.headers))
                        receiver.bodies[self.path].append(body)
                self.send_response(503 if failing else 204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        # A short poll interval (as nwdaf_support's receiver): shutdown() waits for the serving
        # loop's next poll, half a second by default, at the end of every test that uses one.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, path: str, count: int, timeout_s: float = 15.0) -> list[dict[str, Any]]:
        wait_until(lambda: len(self.received[path]) >= count, timeout_s, f"{count} POSTs to {path}")
        time.sleep(0.05)
        return list(self.received[path])
