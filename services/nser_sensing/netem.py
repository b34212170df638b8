"""`python -m nser_sensing.netem`: give this container's uplink a link profile with `tc netem`,
then become the sensing client (the entry point of the sensing containers).

    python -m nser_sensing.netem --profile urllc -- python -m nser_sensing --profile ideal ...
    python -m nser_sensing.netem --check     # health check: is the profile's qdisc in place?

The profile comes from `nser_shared.links.LINK_PROFILES` (the one definition; `--profile`, else
$NSER_LINK_PROFILE, else urllc) and is applied to the egress of `--device` (eth0), so the kernel
delays, rate-limits and drops every packet the device sends, TCP retransmissions included. The
client must then run with `--profile ideal`, or it would sleep the same delay a second time.
netem shapes what leaves an interface: the uplink is emulated, the downlink is not.

Needs `tc` (iproute2) and CAP_NET_ADMIN (compose: `cap_add: [NET_ADMIN]`). A profile with no
delay (ideal) needs neither: there is nothing to apply.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Sequence

from nser_sensing.errors import NetemError
from nser_shared.errors import NserError
from nser_shared.links import DEFAULT_LINK_PROFILE, LINK_PROFILES, LinkProfile, link_profile

log = logging.getLogger(__name__)
PROFILE_ENV = "NSER_LINK_PROFILE"
DEFAULT_DEVICE = "eth0"

Runner = Callable[[list[str]], subprocess.CompletedProcess[str]]


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def qdisc_argv(profile: LinkProfile, device: str = DEFAULT_DEVICE) -> list[str] | None:
    """The `tc` command that gives `device`'s egress the profile; None when there is nothing to
    apply: a profile without delay, jitter and loss (ideal). tc refuses netem's delay
    distribution without a delay, so a profile with loss but no delay cannot be applied."""
    if profile.one_way_ms == 0 and profile.jitter_ms == 0:
        if profile.loss == 0:
            return None
        raise NetemError(f"profile {profile.name!r} has loss but no delay: netem cannot apply it")
    return ["tc", "qdisc", "replace", "dev", device, "root", "netem", *profile.netem_args()]


def show_argv(device: str = DEFAULT_DEVICE) -> list[str]:
    return ["tc", "qdisc", "show", "dev", device]


def _explain(argv: list[str], stderr: str) -> str:
    text = stderr.strip()
    hint = ""
    if "Operation not permitted" in text:
        hint = " (the container needs CAP_NET_ADMIN: cap_add: [NET_ADMIN])"
    elif "qdisc kind is unknown" in text:
        hint = " (the host kernel has no netem: modprobe sch_netem on the host)"
    elif "Cannot find device" in text:
        hint = " (choose the interface with --device)"
    return f"`{' '.join(argv)}` failed{hint}: {text or 'no message'}"


def _tc(argv: list[str], run: Runner) -> subprocess.CompletedProcess[str]:
    try:
        return run(argv)
    except FileNotFoundError as exc:
        raise NetemError("tc is not installed: the sensing image needs iproute2") from exc
    except PermissionError as exc:  # file capabilities that the container may not grant
        raise NetemError(
            f"cannot run tc ({exc}): the container needs CAP_NET_ADMIN (cap_add: [NET_ADMIN])"
        ) from exc


def apply(profile: LinkProfile, device: str = DEFAULT_DEVICE, run: Runner = _run) -> bool:
    """Give `device`'s egress the profile; False when there was nothing to apply."""
    argv = qdisc_argv(profile, device)
    if argv is None:
        log.info("link profile %s: nothing to apply on %s", profile.name, device)
        return False
    done = _tc(argv, run)
    if done.returncode != 0:
        raise NetemError(_explain(argv, done.stderr))
    log.info("link profile %s on %s: netem %s", profile.name, device, " ".join(argv[7:]))
    return True


def check(profile: LinkProfile, device: str = DEFAULT_DEVICE, run: Runner = _run) -> None:
    """NetemError unless `device` has the netem qdisc the profile needs (if it needs one)."""
    if qdisc_argv(profile, device) is None:
        return
    argv = show_argv(device)
    done = _tc(argv, run)
    if done.returncode != 0:
        raise NetemError(_explain(argv, done.stderr))
    if " netem " not in f" {done.stdout} ":
        raise NetemError(f"no netem qdisc on {device} for profile {profile.name!r}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m nser_sensing.netem",
        usage="%(prog)s [--profile NAME] [--device DEV] (--check | -- COMMAND [ARGS...])",
        description="Apply a link profile to this container's egress with tc netem, then exec "
        "COMMAND.",
    )
    parser.add_argument(
        "--profile",
        default=os.environ.get(PROFILE_ENV) or DEFAULT_LINK_PROFILE,
        help=f"{', '.join(LINK_PROFILES)} (default: ${PROFILE_ENV} or {DEFAULT_LINK_PROFILE})",
    )
    parser.add_argument("--device", default=DEFAULT_DEVICE, help="interface to shape (eth0)")
    parser.add_argument("--check", action="store_true", help="only check the qdisc is in place")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    split = args_in.index("--") if "--" in args_in else len(args_in)
    parser = _parser()
    args = parser.parse_args(args_in[:split])
    command = args_in[split + 1 :]
    if args.check == bool(command):
        parser.error("give either --check or -- COMMAND")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        profile = link_profile(args.profile)
        if args.check:
            check(profile, args.device)
            return 0
        apply(profile, args.device)
    except NserError as exc:
        sys.stderr.write(f"netem: error: {exc}\n")
        return 1
    try:
        os.execvp(command[0], command)  # replaces this process: signals go to the client
    except OSError as exc:
        sys.stderr.write(f"netem: error: cannot run {command[0]!r}: {exc}\n")
        return 127


if __name__ == "__main__":
    sys.exit(main())
