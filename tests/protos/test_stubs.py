"""The committed gRPC stubs match the protos, and the feature message cannot carry audio."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.timestamp_pb2 import Timestamp

from nser.v1 import mec_inference_pb2 as pb
from nser_shared.frontend.features import DEFAULT_FEATURE_CONFIG
from nser_shared.wire.labels import Task

REPO = Path(__file__).resolve().parents[2]
GEN_SCRIPT = REPO / "scripts" / "gen_protos.sh"
COMMITTED = REPO / "protos" / "generated"
AUDIO_WORDS = ("audio", "wave", "pcm", "sample", "raw", "signal", "sound")


def _generate(script: Path, out: Path) -> dict[str, bytes]:
    """Run the one regeneration command into `out`; return {relative path: bytes}."""
    env = {**os.environ, "NSER_PYTHON": sys.executable}
    done = subprocess.run(["bash", str(script), str(out)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{script.name} failed:\n{done.stderr}"
    return _stub_files(out)


def _stub_files(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted((root / "nser").rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def _stale(committed: dict[str, bytes], fresh: dict[str, bytes]) -> list[str]:
    return sorted(
        name for name in committed.keys() | fresh.keys() if committed.get(name) != fresh.get(name)
    )


def _bytes_fields(message: Descriptor, prefix: str, seen: set[str]) -> list[str]:
    """Every bytes field reachable from `message`, nested messages and map entries included."""
    if message.full_name in seen:
        return []
    seen.add(message.full_name)
    found = []
    for field in message.fields:
        name = f"{prefix}.{field.name}"
        if field.type == FieldDescriptor.TYPE_BYTES:
            found.append(name)
        elif field.message_type is not None:
            found += _bytes_fields(field.message_type, name, seen)
    return found


def test_committed_stubs_match_a_fresh_generation(tmp_path: Path) -> None:
    fresh = _generate(GEN_SCRIPT, tmp_path / "generated")
    stale = _stale(_stub_files(COMMITTED), fresh)
    assert not stale, (
        f"committed stubs differ from the protos in {stale}: run `bash scripts/gen_protos.sh` "
        "with the locked grpcio-tools and commit protos/generated/"
    )


def test_stale_check_catches_a_proto_edited_without_regenerating(tmp_path: Path) -> None:
    # Same script and protos in a scratch checkout; edit the copy, never the real file.
    shutil.copytree(REPO / "protos" / "nser", tmp_path / "repo" / "protos" / "nser")
    script = tmp_path / "repo" / "scripts" / "gen_protos.sh"
    script.parent.mkdir()
    shutil.copy2(GEN_SCRIPT, script)
    proto = tmp_path / "repo" / "protos" / "nser" / "v1" / "mec_inference.proto"
    last_field = "  string model = 12;\n"
    text = proto.read_text()
    assert last_field in text
    proto.write_text(text.replace(last_field, last_field + "  bool added = 13;\n"))

    fresh = _generate(script, tmp_path / "generated")

    assert "nser/v1/mec_inference_pb2.py" in _stale(_stub_files(COMMITTED), fresh)


def test_feature_window_has_no_field_that_could_carry_audio() -> None:
    names = [field.name for field in pb.FeatureWindow.DESCRIPTOR.fields]
    assert [n for n in names if any(word in n.lower() for word in AUDIO_WORDS)] == []
    assert _bytes_fields(pb.FeatureWindow.DESCRIPTOR, "FeatureWindow", set()) == [
        "FeatureWindow.tensor"
    ]


def test_feature_window_round_trips_through_the_wire_format() -> None:
    shape = DEFAULT_FEATURE_CONFIG.shape  # (1, 128, 188)
    values = np.linspace(-1.0, 1.0, num=int(np.prod(shape)), dtype="<f4").reshape(shape)
    window = pb.FeatureWindow(
        device_id="phone-0007",
        device_kind=pb.DEVICE_KIND_PHONE,
        nr_cell_id="00066c001",
        sequence=2**40 + 3,
        captured_at=Timestamp(seconds=1_750_000_000, nanos=123_456_000),
        sent_at=Timestamp(seconds=1_750_000_000, nanos=140_000_000),
        feature_config_id=DEFAULT_FEATURE_CONFIG.id,
        shape=shape,
        dtype=pb.TENSOR_DTYPE_FLOAT32,
        tensor=values.tobytes(),
        model="student",
    )

    decoded = pb.FeatureWindow.FromString(window.SerializeToString())

    assert decoded == window
    assert tuple(decoded.shape) == shape
    np.testing.assert_array_equal(
        np.frombuffer(decoded.tensor, dtype="<f4").reshape(tuple(decoded.shape)), values
    )


def test_classification_has_one_result_per_task_and_type_only_when_set() -> None:
    fields = pb.Classification.DESCRIPTOR.fields_by_name
    for task in Task:
        assert fields[task.value].message_type is pb.TaskResult.DESCRIPTOR

    result = pb.Classification(
        detection=pb.TaskResult(
            classes=["non_scream", "scream"], probabilities=[0.9, 0.1], label="non_scream"
        )
    )
    decoded = pb.Classification.FromString(result.SerializeToString())

    assert decoded.HasField("detection")
    assert not decoded.HasField("type")
