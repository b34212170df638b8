"""A tiny end-to-end round trip: corpus -> nser train --quick -> nser evaluate."""

import json
from pathlib import Path

import pytest
import torch

from nser_cli import main
from nser_models.architectures import MODEL_REGISTRY
from nser_models.checkpoint import load_checkpoint
from nser_models.data.synthetic import CorpusConfig, generate_corpus
from nser_shared.wire.labels import Task


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    generate_corpus(out, CorpusConfig(seed=3, speakers=8, clips_per_speaker=12, noise_seconds=5.0))
    return out


@pytest.mark.slow
def test_quick_train_then_evaluate_round_trip(corpus: Path, tmp_path: Path) -> None:
    ckpts = tmp_path / "ckpt"
    data = f"synthetic:{corpus}"
    assert main(["train", "--data", data, "--out", str(ckpts), "--quick", "--threads", "2"]) == 0
    for task in Task:
        for model in MODEL_REGISTRY:
            ckpt = load_checkpoint(ckpts / f"{task.value}-{model}.pt")
            assert ckpt.metrics["epochs_run"] >= 1
            assert 0.0 <= ckpt.metrics["test"]["accuracy"] <= 100.0
            test_speakers = set(ckpt.train_config["speakers"]["test"])
            assert test_speakers.isdisjoint(ckpt.train_config["speakers"]["train"])
    for student in ("student", "pooled-student"):
        assert load_checkpoint(ckpts / f"detection-{student}.pt").train_config["loss"] == (
            "distillation"
        )
    assert load_checkpoint(ckpts / "detection-teacher.pt").train_config["loss"] == "cross_entropy"

    out = tmp_path / "report"
    args = [
        "evaluate",
        "--data",
        data,
        "--checkpoints",
        str(ckpts),
        "--out",
        str(out),
        "--snrs",
        "5",
        "--latency-runs",
        "3",
    ]
    assert main(args) == 0
    report = json.loads((out / "report.json").read_text())
    for task in Task:
        section = report["tasks"][task.value]
        assert set(section["clean"]) == set(MODEL_REGISTRY)
        assert all(section["data"]["trained_on_this_data"].values())
        assert section["linear_reference"]["n"] == section["data"]["sizes"]["test"]
        assert set(section["per_noise"]["5"]) == {"bus", "metro", "cafe", "kitchen", "office"}
        counts = sum(sum(row) for row in section["clean"]["student"]["confusion"])
        assert counts == section["data"]["sizes"]["test"]
    assert set(report["latency"]["models"]) == set(MODEL_REGISTRY)
    for name in ("report.md", "tsne.png", "latency.png", "noise.png"):
        assert (out / name).stat().st_size > 0
    assert "Table I" in (out / "report.md").read_text()


@pytest.mark.slow
def test_fine_tuning_on_scene_mixtures_starts_from_the_given_checkpoints(
    corpus: Path, tmp_path: Path
) -> None:
    data = f"synthetic:{corpus}"
    base, tuned = tmp_path / "base", tmp_path / "tuned"
    common = ["--data", data, "--task", "type", "--models", "mobilenetv3s", "--quick"]
    assert main(["train", *common, "--out", str(base), "--threads", "2"]) == 0
    args = [*common, "--out", str(tuned), "--init", str(base), "--scene-mix", "1"]
    assert main(["train", *args, "--threads", "2", "--precision", "bf16"]) == 0
    start = load_checkpoint(base / "type-mobilenetv3s.pt")
    ckpt = load_checkpoint(tuned / "type-mobilenetv3s.pt")
    assert ckpt.train_config["scene_mix"] == 1
    assert start.train_config["scene_mix"] == 0
    # Trained under bfloat16 autocast, kept in float32, and on record.
    assert (ckpt.train_config["precision"], start.train_config["precision"]) == ("bf16", "fp32")
    assert all(v.dtype != torch.bfloat16 for v in ckpt.state_dict.values())
    init = ckpt.train_config["init"]
    assert init["file"] == str(base / "type-mobilenetv3s.pt")
    assert init["train_config"]["scene_mix"] == 0
    # Twice the training clips: each clip and one scene-like window of it; same held-out test.
    assert ckpt.metrics["sizes"]["train"] == 2 * start.metrics["sizes"]["train"]
    assert ckpt.metrics["sizes"]["test"] == start.metrics["sizes"]["test"]
    assert ckpt.dataset_fingerprint == start.dataset_fingerprint


def test_train_refuses_bad_arguments(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = f"synthetic:{corpus}"
    assert main(["train", "--data", data, "--out", str(tmp_path), "--epochs", "0"]) == 1
    assert "--epochs must be positive" in capsys.readouterr().err
    assert main(["train", "--data", data, "--out", str(tmp_path), "--models", "vgg"]) == 1
    assert "unknown models" in capsys.readouterr().err
    assert main(["train", "--data", "synthetic:/nonexistent", "--out", str(tmp_path)]) == 1
    assert "error" in capsys.readouterr().err
    # a student without a teacher to learn from
    assert (
        main(["train", "--data", data, "--out", str(tmp_path), "--models", "student", "--quick"])
        == 1
    )
    assert "needs a trained teacher" in capsys.readouterr().err
    assert main(["train", "--data", data, "--out", str(tmp_path), "--scene-mix", "-1"]) == 1
    assert "--scene-mix must be >= 0" in capsys.readouterr().err
    assert main(["train", "--data", data, "--out", str(tmp_path), "--init", "/nonexistent"]) == 1
    assert "--init folder not found" in capsys.readouterr().err
    for device, message in [
        ("tpu", "--device must be cpu or a CUDA device"),
        ("mps", "--device must be cpu or a CUDA device"),
        *([] if torch.cuda.is_available() else [("cuda", "this machine has no CUDA device")]),
    ]:
        assert main(["train", "--data", data, "--out", str(tmp_path), "--device", device]) == 1
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse's choices
        main(["train", "--data", data, "--out", str(tmp_path), "--precision", "fp8"])
    assert "invalid choice: 'fp8'" in capsys.readouterr().err


def test_evaluate_refuses_missing_checkpoints(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "evaluate",
        "--data",
        f"synthetic:{corpus}",
        "--checkpoints",
        str(tmp_path / "none"),
        "--out",
        str(tmp_path / "r"),
    ]
    assert main(args) == 1
    assert "checkpoint folder not found" in capsys.readouterr().err
    assert (
        main(
            [
                "evaluate",
                "--data",
                f"synthetic:{corpus}",
                "--out",
                str(tmp_path / "r"),
                "--snrs",
                "loud",
            ]
        )
        == 1
    )
    assert "--snrs" in capsys.readouterr().err
