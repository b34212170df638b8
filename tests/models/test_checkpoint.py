from pathlib import Path

import pytest
import torch

from nser_models.architectures import ModelArgs, build_model
from nser_models.checkpoint import (
    Checkpoint,
    load_checkpoint,
    save_checkpoint,
    verify_manifest,
    write_manifest,
)
from nser_shared.errors import CheckpointError, FeatureConfigMismatchError
from nser_shared.frontend.features import DEFAULT_FEATURE_CONFIG
from nser_shared.wire.labels import Task


def _student_checkpoint() -> Checkpoint:
    torch.manual_seed(0)
    model = build_model("student")
    return Checkpoint(
        model_name="student",
        model_args=ModelArgs(),
        task=Task.DETECTION,
        feature_config=DEFAULT_FEATURE_CONFIG,
        state_dict=model.state_dict(),
        train_config={"lr": 0.001},
        metrics={"test": {"accuracy": 50.0}},
        dataset_fingerprint="abc",
    )


def test_checkpoint_round_trip_rebuilds_the_same_network(tmp_path: Path) -> None:
    ckpt = _student_checkpoint()
    path = tmp_path / "detection-student.pt"
    save_checkpoint(path, ckpt)
    loaded = load_checkpoint(path)
    assert loaded.model_name == "student"
    assert loaded.task is Task.DETECTION
    assert loaded.classes == ("non_scream", "scream")
    assert loaded.feature_config.id == DEFAULT_FEATURE_CONFIG.id
    assert loaded.train_config == {"lr": 0.001}
    x = torch.rand(2, 1, 128, 188) * 2 - 1
    original = build_model("student")
    original.load_state_dict(ckpt.state_dict)
    # float16 storage: outputs agree to float16 precision
    torch.testing.assert_close(loaded.build()(x), original.eval()(x), atol=2e-2, rtol=2e-2)


def test_loading_with_another_feature_config_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    save_checkpoint(path, _student_checkpoint())
    other = DEFAULT_FEATURE_CONFIG.with_denoise(True)
    with pytest.raises(FeatureConfigMismatchError, match=DEFAULT_FEATURE_CONFIG.id):
        load_checkpoint(path, expected_features=other)


def test_loading_a_foreign_file_fails_clearly(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(junk)
    torch.save({"format": "something-else"}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a nser-checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")


def test_manifest_detects_a_changed_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "detection-student.pt"
    save_checkpoint(path, _student_checkpoint())
    entries = write_manifest(tmp_path)
    assert entries[0]["file"] == path.name
    assert verify_manifest(tmp_path)[0]["sha256"] == entries[0]["sha256"]
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(CheckpointError, match="sha256"):
        verify_manifest(tmp_path)
