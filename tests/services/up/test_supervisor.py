"""The supervisor of `nser up` on real child processes, with a clock the test moves."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

from nser_up.errors import CrashLoopError
from nser_up.processes import Child
from nser_up.supervisor import BACKOFF_MAX_S, BACKOFF_START_S, CRASH_LOOP_RESTARTS, Supervisor


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _child(tmp_path: Path, code: str, name: str = "service") -> Child:
    return Child(name, [sys.executable, "-c", code], tmp_path / f"{name}.log")


def test_a_killed_service_is_restarted_after_its_backoff(tmp_path: Path) -> None:
    clock = Clock()
    supervisor = Supervisor(clock)
    child = _child(tmp_path, "import time; print('up', flush=True); time.sleep(60)")
    child.start()
    supervisor.watch(child)
    try:
        assert child.process is not None
        first = child.process.pid
        child.process.send_signal(signal.SIGKILL)
        child.process.wait()
        clock.now += 1.0
        supervisor.poll()  # noticed: down until its backoff is over
        assert supervisor.down() == ["service"]
        assert child.process.pid == first
        clock.now += BACKOFF_START_S
        supervisor.poll()
        assert child.alive()
        assert child.process.pid != first
        assert supervisor.down() == []
        assert supervisor.restarts() == {
            "service": [{"at_s": 1.0, "exit_code": -9, "injected": False, "recovered_at_s": 1.5}]
        }
    finally:
        child.stop()


def test_a_service_that_keeps_dying_ends_in_a_crash_loop_naming_it(tmp_path: Path) -> None:
    clock = Clock()
    supervisor = Supervisor(clock)
    code = "import sys; print('loading'); print(); print('fatal: no models here'); sys.exit(3)"
    child = _child(tmp_path, code, "nser_mec")
    child.start()
    supervisor.watch(child)

    def die_and_restart() -> None:
        assert child.process is not None
        child.process.wait()
        clock.now += 1.0
        supervisor.poll()  # its death noted
        clock.now += BACKOFF_MAX_S
        supervisor.poll()  # restarted: five deaths in well under a minute

    for _ in range(CRASH_LOOP_RESTARTS - 1):
        die_and_restart()
    with pytest.raises(CrashLoopError) as caught:
        die_and_restart()
    message = str(caught.value)
    assert f"nser_mec is in a crash loop: it died {CRASH_LOOP_RESTARTS} times" in message
    assert "last exit code 3" in message
    assert message.endswith("loading\nfatal: no models here")  # its last non-blank log lines


def test_deaths_far_apart_are_no_crash_loop(tmp_path: Path) -> None:
    clock = Clock()
    supervisor = Supervisor(clock)
    child = _child(tmp_path, "import sys; sys.exit(1)")
    child.start()
    supervisor.watch(child)
    for _ in range(2 * CRASH_LOOP_RESTARTS):
        assert child.process is not None
        child.process.wait()
        clock.now += 30.0  # two deaths a minute: fewer than a crash loop's
        supervisor.poll()
        clock.now += 30.0
        supervisor.poll()
    assert len(supervisor.restarts()["service"]) == 2 * CRASH_LOOP_RESTARTS


def test_kills_announced_as_injected_never_make_a_crash_loop(tmp_path: Path) -> None:
    clock = Clock()
    supervisor = Supervisor(clock)
    child = _child(tmp_path, "import time; time.sleep(60)")
    child.start()
    supervisor.watch(child)
    try:
        for _ in range(2 * CRASH_LOOP_RESTARTS):  # all within a minute
            assert child.process is not None
            supervisor.killing(child)
            child.process.send_signal(signal.SIGKILL)
            child.process.wait()
            clock.now += 1.0
            supervisor.poll()
            clock.now += BACKOFF_START_S
            supervisor.poll()
            assert child.alive()
        crashes = supervisor.restarts()["service"]
        assert [c["injected"] for c in crashes] == 2 * CRASH_LOOP_RESTARTS * [True]
    finally:
        child.stop()
