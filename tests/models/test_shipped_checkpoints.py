"""The checkpoints committed in models/checkpoints load, match their manifest and classify."""

from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
import torch

from nser_models.architectures import MODEL_REGISTRY
from nser_models.checkpoint import SHIPPED_DIR, load_checkpoint, shipped_checkpoint, verify_manifest
from nser_models.data.clips import read_manifest, task_records
from nser_models.data.synthetic import CorpusConfig, generate_corpus
from nser_models.featureset import FeatureSet, build_feature_set
from nser_models.metrics import predict_logits
from nser_shared.frontend.features import DEFAULT_FEATURE_CONFIG
from nser_shared.wire.labels import Task


@pytest.fixture(scope="module")
def unseen_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Another seed: speakers and clips the shipped models have never seen.
    out = tmp_path_factory.mktemp("unseen")
    generate_corpus(
        out, CorpusConfig(seed=101, speakers=4, clips_per_speaker=24, noise_seconds=2.0)
    )
    return out


@pytest.fixture(scope="module")
def unseen_features(unseen_corpus: Path) -> Callable[[Task], FeatureSet]:
    """The features of a task's unseen clips, computed once for the three models of the task
    (each model only reads them)."""

    @cache
    def features(task: Task) -> FeatureSet:
        labelled = task_records(read_manifest(unseen_corpus / "manifest.csv"), task)
        return build_feature_set(labelled, DEFAULT_FEATURE_CONFIG, cache_dir=None)

    return features


def test_manifest_lists_every_shipped_checkpoint_with_its_hash() -> None:
    entries = verify_manifest(SHIPPED_DIR)
    listed = {(e["task"], e["model"]) for e in entries}
    assert listed == {(t.value, m) for t in Task for m in MODEL_REGISTRY}
    assert sum(e["bytes"] for e in entries) < 60 * 2**20


@pytest.mark.parametrize("task", list(Task))
@pytest.mark.parametrize("model_name", list(MODEL_REGISTRY))
def test_shipped_checkpoint_classifies_unseen_clips_better_than_chance(
    task: Task, model_name: str, unseen_features: Callable[[Task], FeatureSet]
) -> None:
    ckpt = load_checkpoint(shipped_checkpoint(task, model_name), DEFAULT_FEATURE_CONFIG)
    assert ckpt.model_name == model_name
    assert ckpt.task is task
    data = unseen_features(task)
    logits = predict_logits(ckpt.build(), data.features)
    probabilities = logits.softmax(dim=1)
    assert probabilities.shape == (len(data), 2)
    assert torch.allclose(probabilities.sum(dim=1), torch.ones(len(data)))
    accuracy = float((logits.argmax(1) == data.labels).float().mean())
    # Unseen speakers of the same corpus: within 12 points of the accuracy the checkpoint
    # records on its own test split (64 to 96 clips here, so about two and a half standard
    # errors; measured 3-6 points apart). A broken, mislabelled or swapped checkpoint is not.
    recorded = ckpt.metrics["test"]["accuracy"] / 100
    assert accuracy >= recorded - 0.12, f"{accuracy:.3f} on unseen clips, {recorded:.3f} recorded"
