"""`nser`: the one console command. Each subcommand lives in its own module, imported only when
it runs, with two functions: `add_arguments(parser)` and `run(args) -> exit code`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from typing import NamedTuple

from nser_shared.errors import NserError


class Command(NamedTuple):
    module: str
    summary: str


COMMANDS: dict[str, Command] = {
    "corpus": Command("nser_models.data.corpus_cli", "write the synthetic vocalisation corpus"),
    "train": Command("nser_models.train", "train teacher, baseline and student for a task"),
    "train-real": Command(
        "nser_models.train_real", "train on real recordings; package-disjoint cross-validation"
    ),
    "evaluate": Command("nser_models.evaluate", "write the paper's tables and figures"),
    "models": Command("nser_models.summary", "print the model registry beside the paper"),
    "classify": Command("nser_models.classify", "classify audio files with the shipped models"),
    "up": Command("nser_up.cli", "run the whole simulated 5G MEC network (the main job)"),
    "alerts": Command("nser_up.alerts_cli", "the alert history of a finished `nser up` run"),
    "chaos": Command("nser_up.chaos", "kill services under load; reconcile what was acknowledged"),
    "serve": Command("nser_mec.cli", "run the MEC inference service (gRPC, metrics)"),
    "sense": Command("nser_sensing.cli", "simulate sensing devices sending feature windows"),
    "decision": Command("nser_decision.cli", "run the decision service (alerts, REST)"),
    "nwdaf": Command("nser_nwdaf.cli", "run the NWDAF-like analytics service (REST)"),
    "payloads": Command("nser_sensing.payload_report", "accuracy and bytes per payload dtype"),
    "scene-accuracy": Command("nser_sensing.scene_accuracy", "each model on scene windows"),
    "loadtest": Command("nser_loadtest.cli", "load test: latency and throughput per model"),
    "bench-serving": Command("nser_loadtest.bench_serving", "student vs teacher serving latency"),
    "credentials": Command(
        "nser_up.credentials_cli", "dev CA, TLS certificates, Redis password, API tokens"
    ),
}


class ShowDefaults(argparse.HelpFormatter):
    """Each option's help ends with its default, unless it has none or its help names it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if not action.option_strings or "default" in text:
            return text
        if any(action.default is nothing for nothing in (None, False, argparse.SUPPRESS)):
            return text  # a flag, or an option whose absence means "none"
        return text + " (default: %(default)s)"


def usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [f"  {name:<{width}}  {cmd.summary}" for name, cmd in COMMANDS.items()]
    return (
        "usage: nser <command> [options]\n\ncommands:\n"
        + "\n".join(lines)
        + ("\n\nrun 'nser <command> --help' for a command's options")
    )


def build_parser(name: str) -> argparse.ArgumentParser:
    """The parser of `nser <name>`: its module's options, each with its default in --help."""
    parser = argparse.ArgumentParser(
        prog=f"nser {name}", description=COMMANDS[name].summary, formatter_class=ShowDefaults
    )
    importlib.import_module(COMMANDS[name].module).add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"nser: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name].module)
    parsed = build_parser(name).parse_args(rest)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    try:
        code: int = module.run(parsed)
    except NserError as exc:
        print(f"nser {name}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"nser {name}: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
