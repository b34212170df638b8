"""The stock Open Inference Protocol client, tritonclient, works unchanged against a real MEC:
health, metadata, a window classified with the device's metadata in the request's parameters,
and a bad request refused. It runs in a virtual environment of its own (tritonclient_probe.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from support.mec import MecProcess, feature_window

TRITONCLIENT = "tritonclient[grpc]==2.73.0"
PROBE = Path(__file__).with_name("tritonclient_probe.py")


@pytest.fixture(scope="module")
def tritonclient_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("tritonclient") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         TRITONCLIENT],
        check=True, timeout=600,
    )  # fmt: skip
    return python


def test_tritonclient_classifies_a_window(
    mec: MecProcess, tritonclient_python: Path, tmp_path: Path
) -> None:
    window = feature_window(11, device_id="assistant-0003")
    native = mec.stub.Classify(window, timeout=30)
    features = np.frombuffer(window.tensor, dtype="<f4")
    now_us = round(time.time() * 1e6)
    request = {
        "model": "student",
        "shape": [1, *window.shape],
        "features": features.tolist(),
        "parameters": {
            "device_id": "assistant-0003",
            "device_kind": "assistant",
            "nr_cell_id": window.nr_cell_id,
            "sequence": 12,
            "captured_at_us": now_us - 20_000,
            "sent_at_us": now_us - 10_000,
            "feature_config_id": window.feature_config_id,
        },
    }
    (tmp_path / "request.json").write_text(json.dumps(request))
    done = subprocess.run(
        [str(tritonclient_python), str(PROBE), mec.address, str(tmp_path / "request.json")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert (seen["live"], seen["ready"], seen["model_ready"]) == (True, True, True)
    assert seen["inputs"] == ["features", "features", "features"]  # FP32, FP16, INT8
    assert seen["id"] == "probe-1"
    assert seen["result_id"]
    assert seen["result_id"] != native.result_id  # another sequence: another result
    np.testing.assert_allclose(seen["detection"], [native.detection.probabilities], atol=1e-6)
    status, message = seen["refused"]
    assert "INVALID_ARGUMENT" in status
    assert "device_kind" in message
