"""The MEC serving `nser export`'s ONNX files (the lean image, NSER_MEC_ONNX_DIR): the same
answers and model version as serving the checkpoints, and a clear error for a folder that is not
what its manifest says."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
from support.mec import MecProcess, feature_window
from support.processes import RedisChild

from nser_mec.checkpoints import load_checkpoints
from nser_mec.onnx_models import load_onnx
from nser_mec.runners import BackendName, OpenVinoRunner
from nser_mec.settings import MecSettings
from nser_models import export
from nser_models.checkpoint import SHIPPED_DIR
from nser_models.served import SERVED_MODEL
from nser_shared.errors import ConfigurationError, FeatureConfigMismatchError, UnknownModelError
from nser_shared.frontend.config import DEFAULT_FEATURE_CONFIG
from nser_shared.wire.labels import Task


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("onnx")
    args = argparse.Namespace(
        models=SERVED_MODEL, tasks="detection,type", checkpoints=SHIPPED_DIR, out=out
    )
    assert export.run(args) == 0
    return out


def test_onnx_files_answer_as_the_checkpoints_with_the_same_version(onnx_dir: Path) -> None:
    from_files = load_onnx(onnx_dir, [SERVED_MODEL], threads=1, cascade=False)
    from_checkpoints = load_checkpoints(
        [SERVED_MODEL], BackendName.ONNXRUNTIME, threads=1, cascade=False
    )
    windows = np.random.default_rng(0).uniform(-1, 1, (5, *DEFAULT_FEATURE_CONFIG.shape))
    batch = windows.astype(np.float32)
    a = from_files.classify(from_files.resolve(""), batch)
    b = from_checkpoints.classify(from_checkpoints.resolve(""), batch)
    assert from_files.resolve("").version == from_checkpoints.resolve("").version
    for x, y in zip(a, b, strict=True):
        assert x.detection.label == y.detection.label
        for task_x, task_y in ((x.detection, y.detection), (x.type, y.type)):
            assert task_x is not None
            assert task_y is not None
            for name, p in task_x.probabilities.items():
                assert p == pytest.approx(task_y.probabilities[name], abs=1e-5)


def test_openvino_answers_as_onnx_runtime(onnx_dir: Path) -> None:
    """OpenVINO runs the same graphs in bfloat16 on CPUs that compute it natively (this
    project's Xeons): its probabilities stay within a few thousandths of ONNX Runtime's."""
    on_ort = load_onnx(onnx_dir, [SERVED_MODEL], threads=1, cascade=False)
    on_ov = load_onnx(
        onnx_dir, [SERVED_MODEL], threads=1, cascade=False, backend=BackendName.OPENVINO
    )
    runner = on_ov.resolve("").runners[Task.DETECTION]
    assert isinstance(runner, OpenVinoRunner)
    assert runner.precision in ("bf16", "f32")
    rng = np.random.default_rng(1)
    for size in (1, 3, 8):  # the batch size varies from call to call
        batch = rng.uniform(-1, 1, (size, *DEFAULT_FEATURE_CONFIG.shape)).astype(np.float32)
        a = on_ort.classify(on_ort.resolve(""), batch)
        b = on_ov.classify(on_ov.resolve(""), batch)
        for x, y in zip(a, b, strict=True):
            for task_x, task_y in ((x.detection, y.detection), (x.type, y.type)):
                assert task_x is not None
                assert task_y is not None
                for name, p in task_x.probabilities.items():
                    assert p == pytest.approx(task_y.probabilities[name], abs=0.03)
    assert on_ov.resolve("").version == on_ort.resolve("").version


def _copy(onnx_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "onnx"
    out.mkdir()
    for path in onnx_dir.iterdir():
        (out / path.name).write_bytes(path.read_bytes())
    return out


def test_a_missing_manifest_says_how_to_make_the_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="nser export --out"):
        load_onnx(tmp_path, [SERVED_MODEL], threads=1)


def test_a_graph_that_is_not_the_one_its_manifest_names_is_refused(
    onnx_dir: Path, tmp_path: Path
) -> None:
    folder = _copy(onnx_dir, tmp_path)
    graph = folder / f"type-{SERVED_MODEL}.onnx"
    graph.write_bytes(graph.read_bytes() + b"\0")
    with pytest.raises(ConfigurationError, match="sha256 differs"):
        load_onnx(folder, [SERVED_MODEL], threads=1)


def test_a_model_the_folder_lacks_is_named(onnx_dir: Path) -> None:
    with pytest.raises(UnknownModelError, match="nser export --models teacher"):
        load_onnx(onnx_dir, ["teacher"], threads=1)


def test_graphs_for_other_features_are_refused(onnx_dir: Path, tmp_path: Path) -> None:
    folder = _copy(onnx_dir, tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest[0]["feature_config_id"] = "mel-000000000000"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(FeatureConfigMismatchError, match="mel-000000000000"):
        load_onnx(folder, [SERVED_MODEL], threads=1)


def test_a_malformed_manifest_is_a_configuration_error(onnx_dir: Path, tmp_path: Path) -> None:
    folder = _copy(onnx_dir, tmp_path)
    (folder / "manifest.json").write_text('[{"file": "x.onnx"}]')
    with pytest.raises(ConfigurationError, match="needs the fields"):
        load_onnx(folder, [SERVED_MODEL], threads=1)


def test_onnx_files_need_the_onnxruntime_backend() -> None:
    with pytest.raises(ConfigurationError, match="backend onnxruntime or openvino"):
        MecSettings(onnx_dir="/some/folder", backend=BackendName.EAGER)


@pytest.mark.parametrize("backend", [BackendName.ONNXRUNTIME, BackendName.OPENVINO])
def test_a_mec_serving_onnx_files_classifies_over_grpc(
    onnx_dir: Path, module_redis: RedisChild, tmp_path: Path, backend: BackendName
) -> None:
    server = MecProcess(
        module_redis.url, tmp_path / "mec.log", "--onnx-dir", str(onnx_dir), "--backend", backend
    )
    server.wait_serving()
    try:
        answer = server.stub.Classify(feature_window(), timeout=10)
    finally:
        server.terminate()
    assert answer.model == SERVED_MODEL
    expected = load_onnx(onnx_dir, [SERVED_MODEL], threads=1).resolve("").version
    assert answer.model_version == expected
    assert "loaded" in (tmp_path / "mec.log").read_text()
