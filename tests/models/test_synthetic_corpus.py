"""The synthetic vocalisation corpus, its noise and the mixing rule (a tiny corpus: seconds)."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from nser_cli import main as nser_main
from nser_models.data.clips import ClipRecord, read_manifest, task_label
from nser_models.data.demand import PAPER_NOISE_ENVIRONMENTS
from nser_models.data.mixtures import mix_at_snr
from nser_models.data.synthetic import MANIFEST_NAME, CorpusConfig, generate_corpus, noise_path
from nser_shared.errors import DatasetError, InvalidAudioError
from nser_shared.sound.noise import NOISE_SAMPLE_RATE, generate_noise, noise_categories
from nser_shared.sound.voices import (
    MAX_CLIP_SECONDS,
    MIN_CLIP_SECONDS,
    SYNTHESISERS,
    VOCAL_CLASSES,
)
from nser_shared.wire.labels import TASK_CLASSES, Task, Valence

TINY = CorpusConfig(seed=3, speakers=3, clips_per_speaker=12, noise_seconds=2.0)


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[ClipRecord]]:
    out = tmp_path_factory.mktemp("corpus")
    return out, generate_corpus(out, TINY, workers=1)


def corpus_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def measured_snr_db(clean: torch.Tensor, mixed: torch.Tensor) -> float:
    noise = mixed.double() - clean.double()
    return 10.0 * math.log10(float(clean.double().pow(2).mean()) / float(noise.pow(2).mean()))


def test_same_seed_gives_identical_bytes_whatever_the_workers(
    tiny_corpus: tuple[Path, list[ClipRecord]], tmp_path: Path
) -> None:
    root, _ = tiny_corpus
    generate_corpus(tmp_path, TINY, workers=2)
    assert corpus_bytes(tmp_path) == corpus_bytes(root)


def test_another_seed_gives_other_audio(
    tiny_corpus: tuple[Path, list[ClipRecord]], tmp_path: Path
) -> None:
    root, _ = tiny_corpus
    other = CorpusConfig(seed=4, speakers=1, clips_per_speaker=12, noise_seconds=1.0)
    for record in generate_corpus(tmp_path, other, workers=1):
        assert record.path.read_bytes() != (root / record.path.relative_to(tmp_path)).read_bytes()


def test_every_class_has_a_synthesiser() -> None:
    assert set(SYNTHESISERS) == set(VOCAL_CLASSES)
    assert set(noise_categories()) >= set(PAPER_NOISE_ENVIRONMENTS)


def test_labels_and_counts(tiny_corpus: tuple[Path, list[ClipRecord]]) -> None:
    _, records = tiny_corpus
    assert len(records) == TINY.speakers * TINY.clips_per_speaker
    assert sum(r.is_scream for r in records) == len(records) // 2
    screams = [r for r in records if r.is_scream]
    assert Counter(r.valence for r in screams) == {
        Valence.NEGATIVE: len(screams) // 2,
        Valence.POSITIVE: len(screams) // 2,
    }
    for record in records:
        assert (record.is_scream, record.valence) == (
            VOCAL_CLASSES[record.emotion].is_scream,
            VOCAL_CLASSES[record.emotion].valence,
        )
        assert record.dataset == "synthetic"
        assert record.clip_id.startswith(f"syn-{record.speaker}-")
        # The type task takes screams, laughs (positive) and cries (negative); the other
        # non-screams take no part in it.
        type_label = task_label(record, Task.TYPE)
        if record.is_scream or record.emotion in {"laugh", "cry"}:
            assert type_label == TASK_CLASSES[Task.TYPE].index(record.valence.value)
        else:
            assert type_label is None
    assert {r.valence for r in records if r.emotion == "laugh"} == {Valence.POSITIVE}
    assert {r.valence for r in records if r.emotion == "cry"} == {Valence.NEGATIVE}
    by_speaker: dict[str, set[str]] = {}
    for record in records:
        by_speaker.setdefault(record.speaker, set()).add(record.emotion)
    assert sorted(by_speaker) == ["s000", "s001", "s002"]
    assert all(emotions == set(VOCAL_CLASSES) for emotions in by_speaker.values())


def test_clips_are_mixed_rate_wavs_of_plausible_length(
    tiny_corpus: tuple[Path, list[ClipRecord]],
) -> None:
    root, records = tiny_corpus
    assert {r.sample_rate for r in records} == {16000, 44100}
    for record in records:
        assert record.path == root / "clips" / record.speaker / f"{record.clip_id}.wav"
        audio, rate = soundfile.read(record.path)
        assert rate == record.sample_rate
        assert MIN_CLIP_SECONDS - 0.01 <= len(audio) / rate <= MAX_CLIP_SECONDS + 0.01
        peak_db = 20.0 * math.log10(float(np.max(np.abs(audio))))
        assert -35.0 < peak_db < -1.0


def test_manifest_round_trips(tiny_corpus: tuple[Path, list[ClipRecord]]) -> None:
    root, records = tiny_corpus
    assert read_manifest(root / MANIFEST_NAME) == records


def test_noise_is_written_in_the_demand_layout(tiny_corpus: tuple[Path, list[ClipRecord]]) -> None:
    root, _ = tiny_corpus
    for environment in PAPER_NOISE_ENVIRONMENTS.values():
        path = noise_path(root, environment)
        assert path == root / "noise" / environment / "ch01.wav"
        audio, rate = soundfile.read(path)
        assert rate == NOISE_SAMPLE_RATE
        assert len(audio) == round(TINY.noise_seconds * NOISE_SAMPLE_RATE)
        assert float(np.std(audio)) > 1e-3


def test_noise_is_deterministic_and_categories_differ() -> None:
    bus = generate_noise("bus", 1.0, NOISE_SAMPLE_RATE, seed=1)
    assert bus.dtype == np.float32
    assert np.array_equal(bus, generate_noise("bus", 1.0, NOISE_SAMPLE_RATE, seed=1))
    assert not np.array_equal(bus, generate_noise("bus", 1.0, NOISE_SAMPLE_RATE, seed=2))
    assert not np.array_equal(bus, generate_noise("cafe", 1.0, NOISE_SAMPLE_RATE, seed=1))


def test_generate_noise_rejects_unknown_category() -> None:
    with pytest.raises(DatasetError, match="unknown noise category"):
        generate_noise("jungle", 1.0, NOISE_SAMPLE_RATE, seed=0)


@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 10.0, 20.0])
@pytest.mark.parametrize("noise_seconds", [0.5, 4.0])  # shorter than the clip: tiled
def test_mix_at_snr_gives_the_requested_snr(snr_db: float, noise_seconds: float) -> None:
    rng = np.random.default_rng(0)
    clean = torch.from_numpy(0.1 * rng.standard_normal(24000).astype(np.float32))
    noise = torch.from_numpy(generate_noise("office", noise_seconds, NOISE_SAMPLE_RATE, seed=0))
    for generator in (torch.Generator().manual_seed(0), np.random.default_rng(0)):
        mixed = mix_at_snr(clean, noise, snr_db, generator)
        assert mixed.shape == clean.shape
        assert mixed.dtype == clean.dtype
        assert measured_snr_db(clean, mixed) == pytest.approx(snr_db, abs=0.1)


def test_mix_at_snr_picks_a_seeded_random_chunk() -> None:
    clean = torch.ones(1600)
    noise = torch.arange(16000, dtype=torch.float32) + 1.0
    first = mix_at_snr(clean, noise, 0.0, torch.Generator().manual_seed(1))
    again = mix_at_snr(clean, noise, 0.0, torch.Generator().manual_seed(1))
    other = mix_at_snr(clean, noise, 0.0, torch.Generator().manual_seed(2))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_mix_at_snr_keeps_a_silent_clip_practically_silent() -> None:
    noise = torch.from_numpy(generate_noise("metro", 1.0, NOISE_SAMPLE_RATE, seed=0))
    mixed = mix_at_snr(torch.zeros(8000), noise, 10.0, np.random.default_rng(0))
    assert bool(torch.isfinite(mixed).all())
    assert float(mixed.abs().max()) < 1e-4


def test_mix_at_snr_rejects_bad_audio() -> None:
    generator = np.random.default_rng(0)
    with pytest.raises(InvalidAudioError, match="1-D"):
        mix_at_snr(torch.zeros(2, 100), torch.ones(100), 0.0, generator)
    with pytest.raises(InvalidAudioError, match="silent"):
        mix_at_snr(torch.ones(100), torch.zeros(100), 0.0, generator)


@pytest.mark.parametrize(
    "overrides",
    [{"speakers": 0}, {"clips_per_speaker": 5}, {"noise_seconds": 0.0}, {"seed": -1}],
)
def test_corpus_config_rejects_bad_sizes(overrides: dict[str, float]) -> None:
    with pytest.raises(DatasetError):
        CorpusConfig(**overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "options",
    [
        ["--speakers", "0"],
        ["--clips-per-speaker", "-3"],
        ["--noise-seconds", "0"],
        ["--workers", "-1"],
    ],
)
def test_cli_refuses_bad_arguments(
    options: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert nser_main(["corpus", "--out", str(tmp_path / "out"), *options]) != 0
    assert "error:" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_cli_refuses_malformed_numbers(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        nser_main(["corpus", "--out", str(tmp_path), "--speakers", "many"])
    assert exit_info.value.code != 0


def test_cli_refuses_a_non_empty_directory_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    assert nser_main(["corpus", "--out", str(tmp_path)]) != 0
    assert "--force" in capsys.readouterr().err
    assert not (tmp_path / MANIFEST_NAME).exists()


def test_cli_writes_a_corpus_and_prints_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    options = ["--speakers", "1", "--noise-seconds", "0.5", "--workers", "1", "--force"]
    assert nser_main(["corpus", "--out", str(tmp_path), *options]) == 0
    assert len(read_manifest(tmp_path / MANIFEST_NAME)) == 40
    assert (tmp_path / "keep.txt").read_text() == "mine"
    printed = capsys.readouterr().out
    assert "wrote 40 clips from 1 speakers" in printed
    assert "44100" in printed
