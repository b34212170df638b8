"""`nser`: the one console command, on the top floor because it names every command's module.
Each subcommand lives in its own module, imported only when it runs, with two functions:
`add_arguments(parser)` and `run(args) -> exit code` (nser_shared.command runs them).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import NamedTuple, cast

from nser_shared.command import CommandModule, run_command


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
    "export": Command("nser_models.export", "the shipped checkpoints as ONNX files"),
    "up": Command("nser_up.cli", "run the whole simulated 5G MEC network (the main job)"),
    "alerts": Command("nser_up.alerts_cli", "the alert history of a finished `nser up` run"),
    "chaos": Command("nser_up.chaos", "kill services under load; reconcile what was acknowledged"),
    "compose-run": Command("nser_up.compose_run", "the network under docker compose, checked"),
    "serve": Command("nser_mec.cli", "run the MEC inference service (gRPC, metrics)"),
    "sense": Command("nser_sensing.cli", "simulate sensing devices sending feature windows"),
    "decision": Command("nser_decision.cli", "run the decision service (alerts, REST)"),
    "nwdaf": Command("nser_nwdaf.cli", "run the NWDAF-like analytics service (REST)"),
    "payloads": Command("nser_loadtest.payloads", "accuracy and bytes per payload dtype"),
    "scene-accuracy": Command("nser_loadtest.scene_accuracy", "each model on scene windows"),
    "loadtest": Command("nser_loadtest.cli", "load test: latency and throughput per model"),
    "bench-serving": Command("nser_loadtest.bench_serving", "student vs teacher serving latency"),
    "bench-peer": Command(
        "nser_loadtest.bench_peer", "the MEC beside KServe, one load, one protocol"
    ),
    "profile-mec": Command("nser_loadtest.profile_mec", "where the MEC's CPU goes, by py-spy"),
    "credentials": Command(
        "nser_up.credentials_cli", "dev CA, TLS certificates, Redis password, API tokens"
    ),
}


def usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [f"  {name:<{width}}  {cmd.summary}" for name, cmd in COMMANDS.items()]
    return (
        "usage: nser <command> [options]\n\ncommands:\n"
        + "\n".join(lines)
        + ("\n\nrun 'nser <command> --help' for a command's options")
    )


def command_module(name: str) -> CommandModule:
    return cast(CommandModule, importlib.import_module(COMMANDS[name].module))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"nser: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    return run_command(f"nser {name}", command_module(name), rest, COMMANDS[name].summary)
