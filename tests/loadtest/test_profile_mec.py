"""`nser profile-mec`: py-spy attached to a real MEC under real load; the stacks' buckets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nser_cli import main
from nser_loadtest.profile_mec import BUCKETS, WAITING, bucket_of


def test_stacks_fall_in_the_first_bucket_that_matches() -> None:
    root = "thread (1): inference_0;_worker (concurrent/futures/thread.py:83)"
    forward = f"{root};InferenceEngine.classify (nser_mec/engine.py:81)"
    assert bucket_of(forward + ";OnnxRuntimeRunner.run (nser_mec/runners.py:62)") == (
        "model forward passes"
    )
    assert bucket_of(forward + ";softmax (nser_mec/engine.py:39)") == "inference thread, other"
    assert bucket_of("thread (1): inference_0;_worker (concurrent/futures/thread.py:81)") == (
        WAITING
    )
    loop = "thread (2): MainThread;run (asyncio/runners.py:118)"
    assert bucket_of(loop + ";EpollSelector.select (selectors.py:468)") == WAITING
    assert bucket_of(loop + ";_publish_some (nser_mec/publisher.py:110)") == "Redis publication"
    assert bucket_of(loop + ";_check_tensor (nser_shared/wire/windows.py:195)") == (
        "window decoding and checks"
    )
    assert bucket_of(loop + ";Handle._run (asyncio/events.py:80)") == (
        "gRPC and asyncio, event loop"
    )
    assert bucket_of("thread (3): Thread-2 (_poll_wrapper);Thread.run (threading.py:982)") == (
        "other threads"
    )


@pytest.mark.slow
def test_a_short_profile_of_a_served_mec_adds_up(tmp_path: Path) -> None:
    out = tmp_path / "profile"
    args = ["profile-mec", "--backends", "onnxruntime", "--seconds", "2", "--rate", "100"]
    assert main([*args, "--out", str(out)]) == 0
    (profile,) = json.loads((out / "report.json").read_text())["profiles"]
    assert set(profile["shares"]) == {name for name, _ in BUCKETS}
    assert sum(profile["shares"].values()) == pytest.approx(1.0)
    assert profile["shares"]["model forward passes"] > 0  # it classified while sampled
    assert profile["load"]["ok"] == profile["load"]["sent"]
    assert "| model forward passes |" in (out / "report.md").read_text()
    assert "| server CPU per window, ms |" in (out / "table.md").read_text()


def test_bad_arguments_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile-mec", "--backends", "tensorrt", "--out", "unused"]) == 1
    assert "backends: onnxruntime" in capsys.readouterr().err
    assert main(["profile-mec", "--seconds", "0.5", "--out", "unused"]) == 1
    assert "--seconds >= 1" in capsys.readouterr().err
