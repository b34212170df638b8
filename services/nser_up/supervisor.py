"""Keeps `nser up`'s services running, as compose's `restart: on-failure` would: a service that
dies is started again after a backoff (doubling from `BACKOFF_START_S` to `BACKOFF_MAX_S`), the
run goes on, and every restart is recorded for the live view and the summary. A service that
dies `CRASH_LOOP_RESTARTS` times within `CRASH_LOOP_WINDOW_S` is in a crash loop: the run ends
with a `CrashLoopError` naming it, its exit code and its last log lines.

A restarted service keeps its ports, so its clients reconnect without being told: the devices'
channels to the MEC, the services' connections to Redis (whose append-only file brings its data
back), Prometheus's scrapes."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from nser_shared.errors import ChildProcessError
from nser_up.errors import CrashLoopError
from nser_up.processes import Child

BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 8.0
CRASH_LOOP_RESTARTS = 5
CRASH_LOOP_WINDOW_S = 60.0
LOG_TAIL_LINES = 20


@dataclass
class Crash:
    at_s: float  # seconds into the run, when its death was noticed
    exit_code: int | None
    injected: bool = False  # killed on purpose (nser chaos): no sign of a crash loop
    recovered_at_s: float | None = None  # when it was healthy again


@dataclass
class Watched:
    child: Child
    crashes: list[Crash] = field(default_factory=list)
    restart_at: float | None = None  # monotonic time of the next start, while it is down
    restarts: int = 0
    injected: int = 0  # kills announced by `killing`, not yet seen


def last_log_lines(child: Child, lines: int = LOG_TAIL_LINES) -> str:
    """The last `lines` non-blank lines of `child`'s log."""
    try:
        text = child.log_path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join([line for line in text.splitlines() if line.strip()][-lines:])


class Supervisor:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.started = clock()
        self.watched: list[Watched] = []

    def watch(self, child: Child) -> None:
        self.watched.append(Watched(child))

    def poll(self) -> None:
        """Record each watched child that died since the last poll and restart those whose
        backoff is over; CrashLoopError if one died too often."""
        now = self.clock()
        for w in self.watched:
            process = w.child.process
            if w.restart_at is None and process is not None and process.poll() is not None:
                self._crashed(w, process.returncode, now)
            if w.restart_at is not None and now >= w.restart_at:
                self._restart(w)

    def killing(self, child: Child) -> None:
        """`child` is about to be killed on purpose: restart it, but do not count the death
        towards a crash loop."""
        next(w for w in self.watched if w.child is child).injected += 1

    def _crashed(self, w: Watched, exit_code: int | None, now: float) -> None:
        injected = w.injected > 0
        w.injected -= injected
        w.crashes.append(Crash(round(now - self.started, 1), exit_code, injected))
        recent = [
            c
            for c in w.crashes
            if c.at_s >= now - self.started - CRASH_LOOP_WINDOW_S and not c.injected
        ]
        if len(recent) >= CRASH_LOOP_RESTARTS:
            raise CrashLoopError(
                f"{w.child.name} is in a crash loop: it died {len(recent)} times within "
                f"{CRASH_LOOP_WINDOW_S:.0f} s (last exit code {exit_code}); its log "
                f"({w.child.log_path}) ends:\n{last_log_lines(w.child)}"
            )
        backoff = min(BACKOFF_START_S * 2 ** max(len(recent) - 1, 0), BACKOFF_MAX_S)
        w.restart_at = now + backoff

    def _restart(self, w: Watched) -> None:
        """Start it again and wait until it is healthy; a failed start counts as a crash."""
        w.restart_at = None
        w.restarts += 1
        try:
            w.child.start()
            w.crashes[-1].recovered_at_s = round(self.clock() - self.started, 1)
        except (ChildProcessError, TimeoutError, OSError):
            process = w.child.process
            if process is not None and process.poll() is None:  # up but never healthy
                process.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=10)
            self._crashed(w, None if process is None else process.returncode, self.clock())

    def restarts(self) -> dict[str, list[dict[str, float | int | None]]]:
        """Service -> its crashes (seconds into the run when noticed and when it was healthy
        again, exit code), for those that had any."""
        return {
            w.child.name: [
                {
                    "at_s": c.at_s,
                    "exit_code": c.exit_code,
                    "injected": c.injected,
                    "recovered_at_s": c.recovered_at_s,
                }
                for c in w.crashes
            ]
            for w in self.watched
            if w.crashes
        }

    def down(self) -> list[str]:
        """The services dead right now, waiting for their restart."""
        return [w.child.name for w in self.watched if w.restart_at is not None]
