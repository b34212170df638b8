"""free_port: ports for children come from below the kernel's ephemeral range, where outgoing
connections cannot take them between the pick and the child's bind."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from nser_up import processes
from nser_up.processes import free_port

RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


@pytest.mark.skipif(not RANGE.exists(), reason="no Linux ephemeral port range to stay out of")
def test_ports_are_free_distinct_and_below_the_ephemeral_range() -> None:
    low = int(RANGE.read_text().split()[0])
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    assert all(port < low for port in ports)
    for port in ports[:20]:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # still free: raises if not


class _Draws:
    """Stands in for the port generator: draws the given ports in turn."""

    def __init__(self, *ports: int) -> None:
        self.ports = list(ports)

    def randrange(self, start: int, stop: int) -> int:
        return self.ports.pop(0)


@pytest.mark.skipif(not RANGE.exists(), reason="no Linux ephemeral port range to stay out of")
def test_a_port_with_a_listener_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", free_port()))
        listener.listen()
        held = listener.getsockname()[1]
        processes._given_ports.discard(held)  # as if another process had picked it
        spare = free_port()
        processes._given_ports.discard(spare)
        monkeypatch.setattr(processes, "_port_rng", _Draws(held, spare))
        assert free_port() == spare
