"""A REST service's memory against idle keep-alive TLS connections that the server closes, once
on the event loop the services run on (uvloop) and once on asyncio's own.

A scraper that reads `/metrics` every few seconds keeps its connection alive, and uvicorn closes
it after 5 s idle; on Python 3.11's asyncio TLS transport each such close kept memory, which is
what made the decision service grow all through a soak (docs/soak.md). This starts a real
`redis-server` and the decision service over HTTPS, opens `--clients` keep-alive clients that
each read `/metrics` every 6.5 s (so every connection is closed by the server while idle), and
samples the service's resident memory; then it prints, for each loop, the growth per closed
connection. The result table is Markdown on stdout (and `--out`'s file when given).

    python -m nser_loadtest.tls_idle_close [--clients 20] [--seconds 120] [--out FILE]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx

from nser_shared.security.dev_pki import create_dev_pki
from nser_shared.security.tokens import TOKENS_FILE, Role, read_token, token_file_name
from nser_up.processes import HttpServiceChild, RedisChild, client_ssl_context, free_port

READ_EVERY_S = 6.5  # longer than uvicorn's keep-alive timeout (5 s): the server closes first
LOOPS = ("uvloop", "asyncio")
# The decision service as `python -m nser_decision` runs it, with asyncio's own loop in uvloop's
# place (serve() asks uvloop for its loop when it runs).
ASYNCIO_ENTRY = (
    "import asyncio, sys, uvloop; uvloop.new_event_loop = asyncio.new_event_loop; "
    "from nser_decision import cli; from nser_shared.command import run_command; "
    "sys.exit(run_command('nser decision', cli))"
)


def _rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def measure(loop: str, clients: int, seconds: float, folder: Path) -> dict[str, float]:
    """Growth of the service's memory while `clients` idle connections are closed again and
    again; the first read of every client is the baseline."""
    pki = create_dev_pki(folder / "pki", []).layout
    redis = RedisChild(free_port(), folder)
    port = free_port()
    args = ["--port", str(port), "--redis-url", redis.url,
            "--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key),
            "--tokens-file", str(pki.root / TOKENS_FILE)]  # fmt: skip
    service = HttpServiceChild("nser_decision", args, folder / f"{loop}.log", port, pki.ca_cert)
    if loop == "asyncio":
        service.args[1:3] = ["-c", ASYNCIO_ENTRY]
    token = read_token(pki.root / token_file_name(Role.READER))
    context = client_ssl_context(pki.ca_cert)
    readers = [
        httpx.Client(verify=context, headers={"Authorization": f"Bearer {token}"}, timeout=10.0)
        for _ in range(clients)
    ]
    try:
        redis.start()
        service.start()
        assert service.process is not None
        closes, start_mib = 0, 0.0
        began = time.monotonic()
        while True:
            for reader in readers:
                reader.get(f"{service.url}/metrics").raise_for_status()
            if closes == 0:
                start_mib = _rss_mib(service.process.pid)
            if time.monotonic() - began >= seconds:
                break
            time.sleep(READ_EVERY_S)
            closes += clients  # each reader's connection was closed by the server meanwhile
        end_mib = _rss_mib(service.process.pid)
    finally:
        for reader in readers:
            reader.close()
        service.stop()
        redis.stop()
    return {
        "closed": closes,
        "start_mib": start_mib,
        "end_mib": end_mib,
        "kib_per_close": (end_mib - start_mib) * 1024 / max(closes, 1),
    }


def table(results: dict[str, dict[str, float]]) -> str:
    lines = [
        "| event loop | idle connections closed | RSS at start MiB | RSS at end MiB "
        "| KiB kept per close |",
        "|---|---:|---:|---:|---:|",
    ]
    for loop, r in results.items():
        lines.append(
            f"| {loop} | {r['closed']:.0f} | {r['start_mib']:.1f} | {r['end_mib']:.1f} | "
            f"{r['kib_per_close']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nser_loadtest.tls_idle_close",
                                     description=__doc__.split("\n\n")[0])  # fmt: skip
    parser.add_argument("--clients", type=int, default=20, help="keep-alive clients (default 20)")
    parser.add_argument("--seconds", type=float, default=120.0, help="per loop (default 120)")
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.seconds < READ_EVERY_S:
        parser.error(f"--clients must be >= 1 and --seconds >= {READ_EVERY_S}")
    results = {}
    for loop in LOOPS:
        with tempfile.TemporaryDirectory() as folder:
            results[loop] = measure(loop, args.clients, args.seconds, Path(folder))
    text = table(results)
    text += (
        f"\n{args.clients} clients, each reading /metrics every {READ_EVERY_S} s, for "
        f"{args.seconds:.0f} s per loop; Python {sys.version.split()[0]}.\n"
    )
    sys.stdout.write(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
