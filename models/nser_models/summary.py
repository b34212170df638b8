"""`nser models`: parameter counts and float32 sizes beside the paper's (Table IV), and the
shipped checkpoints checked against their manifest."""

import argparse

from nser_models.architectures import (
    MODEL_REGISTRY,
    ModelArgs,
    count_parameters,
    float32_size_mb,
)
from nser_models.checkpoint import SHIPPED_DIR, verify_manifest
from nser_shared.errors import NserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n-classes", type=int, default=2, help="classes of the output layer")


def paper_cells(row: dict[str, object]) -> tuple[str, str]:
    """A model_table row's paper parameters and MiB as printed; "-" for a model beyond the paper."""
    params, size_mb = row["paper_params"], row["paper_size_mb"]
    return (
        f"{params:,}" if params is not None else "-",
        f"{size_mb:.3f}" if size_mb is not None else "-",
    )


def model_table(n_classes: int = 2) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for spec in MODEL_REGISTRY.values():
        model = spec.build(ModelArgs(n_classes=n_classes))
        rows.append(
            {
                "model": spec.name,
                "role": spec.role,
                "params": count_parameters(model),
                "size_mb": round(float32_size_mb(model), 3),
                "paper_params": spec.paper.params if spec.paper else None,
                "paper_size_mb": spec.paper.size_mb if spec.paper else None,
                "note": spec.paper.note if spec.paper else f"not in the paper: the {spec.role}",
            }
        )
    return rows


def run(args: argparse.Namespace) -> int:
    if args.n_classes < 2:
        raise NserError("--n-classes must be at least 2")
    rows = model_table(args.n_classes)
    print(f"{'model':<16}{'params':>12}{'paper':>12}{'MiB':>9}{'paper MiB':>11}")
    for r in rows:
        paper_params, paper_mb = paper_cells(r)
        print(
            f"{r['model']:<16}{r['params']:>12,}{paper_params:>12}"
            f"{r['size_mb']:>9.3f}{paper_mb:>11}"
        )
    print()
    for r in rows:
        print(f"{r['model']}: {r['note']}")
    shipped = verify_manifest(SHIPPED_DIR)
    print(f"\nshipped checkpoints: {len(shipped)} files in {SHIPPED_DIR.name}/ match their sha256")
    return 0
