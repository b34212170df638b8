"""`nser credentials`: a development CA, the services' certificate, one certificate per sensing
device, the Redis password and the REST API tokens, in one directory (nser_shared.security.dev_pki).

    nser credentials --out creds --devices phone-0000,watch-0001
    nser credentials --out creds --fleet 0:5,1000:5,2000:10      # compose's device groups
    nser credentials --out creds --fleet 0:20 --force            # a new CA, everything re-issued
    nser credentials --out creds --rotate-tokens                 # new API tokens, old ones 1 h

Run it again with more devices and it adds their certificates, signed by the CA already there;
the CA is replaced only with --force. Certificates and API tokens are valid for 30 days.
`--rotate-tokens` issues new API tokens and keeps the old ones valid for `--rotate-grace-hours`;
the running services pick the new table up within a second (no restart).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from nser_shared.errors import ConfigurationError
from nser_shared.security.dev_pki import VALIDITY, check_device_ids, create_dev_pki
from nser_shared.security.tokens import TOKENS_FILE, Role, token_file_name, write_dev_tokens
from nser_shared.settings import parse_names
from nser_shared.wire.device_ids import DeviceKind, fleet_device_ids

KINDS: dict[str, tuple[DeviceKind, ...]] = {
    "mixed": tuple(DeviceKind),
    **{k.value: (k,) for k in DeviceKind},
}


def parse_fleet(text: str) -> list[tuple[int, int]]:
    """`FIRST:COUNT[,FIRST:COUNT...]` as (first index, count) pairs."""
    groups = []
    try:
        parts = parse_names(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    for part in parts:
        first, sep, count = part.partition(":")
        try:
            pair = (int(first), int(count))
        except ValueError:
            pair = (-1, -1)
        if not sep or pair[0] < 0 or pair[1] < 1:
            raise argparse.ArgumentTypeError(
                f"{part!r} is not FIRST:COUNT (index >= 0, count >= 1), e.g. 0:20"
            )
        groups.append(pair)
    return groups


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="directory to write (or extend)")
    parser.add_argument("--devices", type=parse_names, help="device ids, comma-separated")
    parser.add_argument(
        "--fleet",
        type=parse_fleet,
        help="simulated device groups FIRST:COUNT,... as `nser sense --first-device FIRST "
        "--devices COUNT` numbers them",
    )
    parser.add_argument(
        "--kind",
        choices=tuple(KINDS),
        default="mixed",
        help="device kind of --fleet, as `nser sense --kind` (default: mixed)",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace an existing CA and re-issue everything"
    )
    parser.add_argument(
        "--rotate-tokens",
        action="store_true",
        help="issue new API tokens; the old ones stay valid for --rotate-grace-hours",
    )
    parser.add_argument(
        "--rotate-grace-hours",
        type=float,
        default=1.0,
        help="how long the replaced API tokens stay valid",
    )


def device_ids(args: argparse.Namespace) -> list[str]:
    ids = list(args.devices or [])
    for first, count in args.fleet or []:
        ids += fleet_device_ids(first, count, KINDS[args.kind])
    return check_device_ids(ids)


def rotate_tokens(out: Path, grace_hours: float) -> int:
    if not (math.isfinite(grace_hours) and grace_hours >= 0):
        raise ConfigurationError(f"--rotate-grace-hours must be >= 0, got {grace_hours}")
    if not (out / TOKENS_FILE).is_file():
        raise ConfigurationError(f"{out} holds no {TOKENS_FILE} to rotate (run without options)")
    write_dev_tokens(out, rotate_after_s=grace_hours * 3600)
    print(
        f"{out}: new API tokens in {', '.join(token_file_name(r) for r in Role)}; the old ones "
        f"stay valid for {grace_hours:g} h. Running services reload {TOKENS_FILE} by themselves."
    )
    return 0


def run(args: argparse.Namespace) -> int:
    if args.out.exists() and not args.out.is_dir():
        raise ConfigurationError(f"--out {args.out} exists and is not a directory")
    if args.rotate_tokens:
        return rotate_tokens(args.out, args.rotate_grace_hours)
    ids = device_ids(args)
    report = create_dev_pki(args.out, ids, force=args.force)
    ca = "kept the existing CA" if report.ca_kept else "created a new CA"
    print(f"{args.out}: {ca}; wrote {len(report.written)} files")
    for path in report.written:
        print(f"  {path}")
    if report.ca_kept and not report.written:
        print("nothing was missing (use --force to replace the CA and every certificate)")
    print(
        f"certificates and API tokens are valid for {VALIDITY.days} days; ca.key is the "
        "development CA's private key: keep the directory private"
    )
    return 0
