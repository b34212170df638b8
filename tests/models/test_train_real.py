"""Real-audio training and evaluation: the ranking metrics on hand-computed cases, package
folds, the hash check, device-like windows, and a tiny end-to-end `nser train-real`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from nser_models.data.clips import ClipRecord
from nser_models.data.real_windows import WindowRecipe, device_windows, padded_and_noisy_windows
from nser_models.metrics import recall_at_false_alarm, roc_auc
from nser_models.train_real import (
    MODELS,
    RealRecipe,
    assert_disjoint,
    detection_metrics,
    package_folds,
    speaker_slice,
    training_sets,
    valence_metrics,
)
from nser_shared.errors import DatasetError, NserError
from nser_shared.frontend.audio import write_audio
from nser_shared.frontend.features import DEFAULT_FEATURE_CONFIG
from nser_shared.wire.labels import Task, Valence


def test_auc_by_hand() -> None:
    # Positives 0.9 and 0.7 against negatives 0.8, 0.6, 0.5: 0.9 beats 3, 0.7 beats 2 of 6 pairs.
    assert roc_auc([0.9, 0.8, 0.7, 0.6, 0.5], [True, False, True, False, False]) == pytest.approx(
        5 / 6
    )
    assert roc_auc([0.5, 0.5], [True, False]) == pytest.approx(0.5)  # a tie counts half
    assert roc_auc([0.1, 0.9], [True, False]) == 0.0
    with pytest.raises(ValueError, match="positive and one negative"):
        roc_auc([0.1], [True])


def test_recall_at_false_alarm_by_hand() -> None:
    negatives = [i / 20 for i in range(20)]  # 0.00 .. 0.95
    positives = [0.97, 0.9, 0.5]
    scores = negatives + positives
    labels = [False] * 20 + [True] * 3
    # 1 %: no negative may pass, the threshold sits at 0.95: only 0.97 is above it.
    assert recall_at_false_alarm(scores, labels, 0.01) == pytest.approx(1 / 3)
    # 5 %: one negative (0.95) may pass; 0.90 is a negative too, so 0.9 does not pass.
    assert recall_at_false_alarm(scores, labels, 0.05) == pytest.approx(1 / 3)
    # 10 %: 0.95 and 0.90 may pass; the threshold is 0.85: 0.97 and 0.9 are found.
    assert recall_at_false_alarm(scores, labels, 0.10) == pytest.approx(2 / 3)
    assert recall_at_false_alarm(scores, labels, 1.0) == 1.0


def record(tmp_path: Path, clip_id: str, source: str, emotion: str, **kw: object) -> ClipRecord:
    path = tmp_path / f"{clip_id}.wav"
    if not path.exists():
        rng = np.random.default_rng(abs(hash(clip_id)) % 2**32)
        write_audio(path, (0.2 * rng.standard_normal(16000)).astype(np.float32), 16000)
    fields: dict[str, object] = {
        "clip_id": clip_id,
        "path": path,
        "dataset": "real",
        "speaker": f"{source}/{kw.pop('speaker', 'default')}",
        "emotion": emotion,
        "valence": Valence.NEGATIVE if emotion.startswith("scream") else Valence.NEUTRAL,
        "is_scream": emotion.startswith("scream"),
        "sample_rate": 16000,
        "source": source,
    }
    fields.update(kw)
    return ClipRecord(**fields)  # type: ignore[arg-type]


def test_folds_share_out_cries_and_laughs_and_keep_packages_whole(tmp_path: Path) -> None:
    records = []
    for package, cries, laughs, speech in (
        ("a", 8, 0, 10),
        ("b", 6, 1, 4),
        ("c", 2, 2, 3),
        ("d", 0, 1, 9),
        ("e", 0, 0, 5),
    ):
        records += [record(tmp_path, f"{package}{i}", package, "scream:pain") for i in range(cries)]
        records += [
            record(
                tmp_path, f"{package}l{i}", package, "vocalisation:laugh", valence=Valence.POSITIVE
            )
            for i in range(laughs)
        ]
        records += [record(tmp_path, f"{package}s{i}", package, "speech:x") for i in range(speech)]
    folds = package_folds(records, 2)
    assert sorted(p for f in folds for p in f) == ["a", "b", "c", "d", "e"]
    assert folds == package_folds(list(reversed(records)), 2)  # order does not matter
    for fold in folds:
        held = [r for r in records if r.source in fold]
        assert any(r.is_scream for r in held)
        assert any(r.valence is Valence.POSITIVE for r in held)
    with pytest.raises(DatasetError, match="--folds must be in"):
        package_folds(records, 6)


def test_hash_check_finds_the_same_audio_under_two_names(tmp_path: Path) -> None:
    a = record(tmp_path, "x1", "a", "scream:pain")
    b = record(tmp_path, "x2", "b", "speech:x")
    assert assert_disjoint({"train": [a], "test": [b]}) == 2
    copy = record(tmp_path, "x3", "c", "speech:x")
    copy.path.write_bytes(a.path.read_bytes())
    with pytest.raises(
        DatasetError, match=r"x3 .* in the test split and, with the same bytes, in the train"
    ):
        assert_disjoint({"train": [a], "test": [b, copy]})


def test_speaker_slice_holds_out_whole_speakers(tmp_path: Path) -> None:
    records = [
        record(tmp_path, f"s{i}-{j}", "a", "speech:x", speaker=f"v{i}")
        for i in range(6)
        for j in range(3)
    ] + [record(tmp_path, "solo", "b", "speech:x")]
    rest, held = speaker_slice(records, 0.34, seed=0)
    assert {r.speaker for r in rest}.isdisjoint({r.speaker for r in held})
    assert len({r.speaker for r in held}) == 2
    assert "b/default" in {r.speaker for r in rest}  # a one-speaker package stays in training


def test_device_windows_are_3s_bounded_deterministic_and_hold_the_sound(tmp_path: Path) -> None:
    cry = record(tmp_path, "cry", "a", "scream:pain")
    bed = record(tmp_path, "bed", "a", "background:rain")
    recipe = WindowRecipe(silence_probability=1.0, seed=3)  # the sound alone: easy to find
    windows = device_windows([(cry, 1), (bed, 0)], {1: 3, 0: 1}, [bed], [bed], recipe, split=0)
    assert [label for _, label, _ in windows] == [1, 1, 1, 0]
    for _, _, audio in windows:
        assert audio.shape == (48000,)
        assert np.abs(audio).max() <= 1.0
        active = np.flatnonzero(np.abs(audio) > 1e-4)
        assert len(active) >= 0.5 * 16000 * 0.9  # at least min_overlap_s of the sound
    again = device_windows([(cry, 1), (bed, 0)], {1: 3, 0: 1}, [bed], [bed], recipe, split=0)
    assert all(np.array_equal(a, b) for (_, _, a), (_, _, b) in zip(windows, again, strict=True))
    tests = padded_and_noisy_windows([(cry, 1)], [bed], snr_db=20.0, seed=0)
    padded = tests["padded"][0][2]
    assert np.count_nonzero(padded[16000:]) == 0  # a 1 s clip, padded with zeros
    assert np.count_nonzero(tests["noisy"][0][2]) > 40000  # in ambience throughout


def test_tts_clips_join_the_training_windows_and_change_no_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the feature cache is relative to the working directory
    real = [record(tmp_path, f"c{i}", "a", "scream:pain", speaker=f"v{i}") for i in range(3)]
    real += [record(tmp_path, f"s{i}", "a", "speech:x", speaker=f"v{i}") for i in range(3)]
    real += [record(tmp_path, "bed", "a", "background:rain")]
    tts = [
        record(tmp_path, f"t{i}", "espeak-ng", "speech:tts", dataset="tts", speaker=f"t{i}")
        for i in range(2)
    ]
    recipe = RealRecipe(synthetic_clips=0, windows_per_scream=1, windows_per_other=2)
    synthetic: dict[str, list[ClipRecord]] = {"train": []}
    alone = training_sets(Task.DETECTION, real, synthetic, recipe, DEFAULT_FEATURE_CONFIG)
    spoken = RealRecipe(synthetic_clips=0, windows_per_scream=1, windows_per_other=2, tts_clips=2)
    both = training_sets(Task.DETECTION, real, synthetic, spoken, DEFAULT_FEATURE_CONFIG, tts)
    n = len(alone.train)
    assert len(both.train) == n + 2 * 2  # windows_per_other windows of each spoken line
    assert [r.clip_id for r in both.train.records[n:]] == ["t0", "t0", "t1", "t1"]
    assert both.train.labels[n:].tolist() == [0] * 4
    assert torch.equal(both.train.features[:n], alone.train.features)  # the real windows as before
    assert torch.equal(both.val.features, alone.val.features)  # validation stays recorded audio
    with pytest.raises(NserError, match="names 0 espeak-ng clips, given 2"):
        training_sets(Task.DETECTION, real, synthetic, recipe, DEFAULT_FEATURE_CONFIG, tts)


def test_detection_and_valence_metrics_split_the_negatives(tmp_path: Path) -> None:
    cry = record(tmp_path, "c", "a", "scream:pain")
    speech = record(tmp_path, "s", "a", "speech:x")
    rain = record(tmp_path, "r", "a", "background:rain")
    laugh = record(tmp_path, "l", "a", "vocalisation:laugh", valence=Valence.POSITIVE)
    m = detection_metrics([cry, speech, rain, laugh], [0.9, 0.2, 0.95, 0.1])
    assert m["vs_speech"]["auc"] == 1.0
    assert m["vs_other"]["auc"] == 0.5  # above the laugh, below the rain
    assert m["vs_other"]["negatives"] == 2
    v = valence_metrics([cry, laugh], [0.8, 0.3])
    assert (v["auc"], v["accuracy"], v["cries"], v["laughs"]) == (1.0, 1.0, 1, 1)


@pytest.mark.slow
def test_train_real_end_to_end_on_a_tiny_corpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from nser_cli import main
    from nser_models.checkpoint import load_checkpoint, verify_manifest
    from nser_models.data.clips import write_manifest

    monkeypatch.chdir(tmp_path)  # the feature cache is relative to the working directory
    synthetic = tmp_path / "corpus"
    assert (
        main(
            [
                "corpus",
                "--out",
                str(synthetic),
                "--speakers",
                "3",
                "--clips-per-speaker",
                "12",
                "--noise-seconds",
                "4",
            ]
        )
        == 0
    )
    records = []
    for package in ("a", "b", "c"):
        records += [
            record(tmp_path / "real", f"{package}c{i}", package, "scream:pain", speaker=f"v{i}")
            for i in range(3)
        ]
        records += [
            record(tmp_path / "real", f"{package}s{i}", package, "speech:x", speaker=f"v{i}")
            for i in range(4)
        ]
        records += [record(tmp_path / "real", f"{package}b", package, "background:rain")]
    write_manifest(tmp_path / "real" / "manifest.csv", records)
    out = tmp_path / "cv"
    args = [
        "train-real",
        "--real",
        str(tmp_path / "real"),
        "--synthetic",
        str(synthetic),
        "--out",
        str(out),
        "--task",
        "detection",
        "--folds",
        "2",
        "--quick",
        "--threads",
        "1",
    ]
    assert main(args) == 0
    report = (out / "real-audio.md").read_text()
    for student in ("student", "pooled-student"):  # side by side, each against the targets
        assert f"| {student} | both |" in report
        assert f"| {student} AUC, cries vs speech >= 0.95 |" in report
    assert not list(out.glob("fold-*"))  # fold models and kept folds removed after the report
    # What hearing real audio cost on the synthetic test speakers, trained and starting models.
    accuracy = json.loads((out / "real-audio.json").read_text())["tasks"]["detection"]["folds"][0][
        "synthetic_test_accuracy"
    ]
    assert set(accuracy) == {*MODELS, *(f"{m} (start)" for m in MODELS)}
    assert all(0.0 <= value <= 100.0 for value in accuracy.values())
    assert "Accuracy on the synthetic test speakers" in report
    _a_stopped_run_resumes_where_it_stopped(args, out, monkeypatch)
    assert main([*args, "--folds", "9"]) == 1  # the last --folds wins
    assert "--folds must be in [2, 3]" in capsys.readouterr().err
    assert main([*args, "--device", "tpu"]) == 1
    assert "--device must be cpu or a CUDA device" in capsys.readouterr().err
    assert main([*args, "--synthetic-clips", "-1"]) == 1
    assert "--synthetic-clips must be >= 0" in capsys.readouterr().err
    assert main([*args, "--tts", str(tmp_path / "no-tts")]) == 1
    assert "manifest not found" in capsys.readouterr().err

    shipped = tmp_path / "shipped"
    assert main([*args, "--skip-folds", "--ship", str(shipped)]) == 0
    assert load_checkpoint(shipped / "detection-student.pt").train_config["source"] == (
        "real+synthetic"
    )
    teacher_config = load_checkpoint(shipped / "detection-teacher.pt").train_config
    assert teacher_config["device"] == "cpu"
    # The recipe's short time masks reached the training loop and are on record.
    assert teacher_config["augmentation"]["time_mask_frames"] == 6
    assert verify_manifest(shipped)
    _a_stopped_ship_resumes_at_the_model_it_was_training([*args, "--skip-folds"], shipped)
    # The students can learn from YAMNet's probe beside the ResNet teacher (detection only).
    # The probe is scored on the held-out windows beside the models it teaches.
    both, both_cv = tmp_path / "both", tmp_path / "both-cv"
    with_yamnet = [
        *args,
        "--out",
        str(both_cv),
        "--student-teachers",
        "both",
        "--precision",
        "bf16",
    ]
    assert main([*with_yamnet, "--ship", str(both)]) == 0
    assert "| yamnet-probe | both |" in (both_cv / "real-audio.md").read_text()
    student_config = load_checkpoint(both / "detection-student.pt").train_config
    assert (student_config["loss"], student_config["recipe"]["student_teachers"]) == (
        "distillation",
        "both",
    )
    assert (student_config["precision"], student_config["recipe"]["precision"]) == ("bf16", "bf16")
    # At their defaults the later fields are recorded as before they existed.
    assert {"student_teachers", "precision"}.isdisjoint(teacher_config["recipe"])
    # Embeddings cached: per fold train, val and two test conditions, then the ship's train, val.
    assert len(list((tmp_path / ".cache/features").glob("yamnet-*.pt"))) == 2 * 4 + 2
    assert main([*args, "--task", "type", "--student-teachers", "yamnet"]) == 1
    assert "the YAMNet teacher is for detection only" in capsys.readouterr().err
    # Checkpoints that heard every package cannot start a fold: each would hear its test set.
    assert main([*args, "--init", str(shipped)]) == 1
    assert "was trained on real audio" in capsys.readouterr().err


def _a_stopped_run_resumes_where_it_stopped(
    args: list[str], out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped in its second fold, the run keeps the first; run again, it trains only the
    second and writes the report an uninterrupted run wrote."""
    from nser_cli import main
    from nser_models import train_real

    uninterrupted = json.loads((out / "real-audio.json").read_text())
    trained: list[str] = []
    real_train_models = train_real.train_models

    def stopped_in_fold_1(*a: Any, **k: Any) -> Any:
        trained.append(str(a[4]))  # the fold's folder
        if len(trained) == 2:
            raise DatasetError("stopped")
        return real_train_models(*a, **k)

    monkeypatch.setattr(train_real, "train_models", stopped_in_fold_1)
    assert main(args) == 1
    assert [p.name for p in out.glob("fold-*.json")] == ["fold-0-detection.json"]
    # The report was rewritten after the fold that was done, and says it is partial.
    assert "**Partial: folds done of 2 (detection 1).**" in (out / "real-audio.md").read_text()
    partial = json.loads((out / "real-audio.json").read_text())
    assert len(partial["tasks"]["detection"]["folds"]) == 1
    trained.clear()

    def counted(*a: Any, **k: Any) -> Any:
        trained.append(str(a[4]))
        return real_train_models(*a, **k)

    monkeypatch.setattr(train_real, "train_models", counted)
    assert main(args) == 0
    assert [Path(t).name for t in trained] == ["fold-1"]
    assert json.loads((out / "real-audio.json").read_text()) == uninterrupted
    assert "Partial" not in (out / "real-audio.md").read_text()
    assert not list(out.glob("fold-*"))


def _a_stopped_ship_resumes_at_the_model_it_was_training(args: list[str], shipped: Path) -> None:
    """Run again over a ship stopped after its teacher (the students' files gone), the teacher
    and MobileNetV3-small are kept and only the students train; another seed trains them all."""
    from nser_cli import main

    def written() -> dict[str, int]:  # a kept file is not written again
        return {p.name: p.stat().st_mtime_ns for p in shipped.glob("detection-*.pt")}

    before = written()
    for student in ("detection-student.pt", "detection-pooled-student.pt"):
        (shipped / student).unlink()
    assert main([*args, "--ship", str(shipped)]) == 0
    after = written()
    assert after.keys() == before.keys()
    kept = {name for name in after if after[name] == before[name]}
    assert kept == {"detection-teacher.pt", "detection-mobilenetv3s.pt"}
    assert main([*args, "--ship", str(shipped), "--seed", "1"]) == 0
    assert not {name for name, mtime in written().items() if mtime == after[name]}
