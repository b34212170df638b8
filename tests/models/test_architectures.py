"""The model registry (nser_models.architectures) and `nser models` (nser_models.summary)."""

import pytest
import torch
import torchvision

from nser_cli import main
from nser_models.architectures import (
    MODEL_REGISTRY,
    ModelArgs,
    build_model,
    build_pooled_student,
    build_student,
    count_parameters,
    float32_size_mb,
    model_spec,
)
from nser_shared.errors import UnknownModelError

PAPER_MODELS = ["student", "teacher", "mobilenetv3s"]
MODEL_NAMES = [*PAPER_MODELS, "pooled-student"]
EMBEDDING_DIMS = {"student": 64, "pooled-student": 64, "teacher": 512, "mobilenetv3s": 1024}
PARAMETER_COUNTS = {
    "student": 957_950,
    "pooled-student": 122_474,
    "teacher": 11_171_266,
    "mobilenetv3s": 1_519_618,
}
PAPER_COUNTS = {"student": 712_778, "teacher": 11_177_616, "mobilenetv3s": 1_519_906}


def mel_batch(batch: int) -> torch.Tensor:
    return torch.randn(batch, 1, 128, 188, generator=torch.Generator().manual_seed(batch))


def test_the_registry_holds_the_papers_three_models_and_the_pooled_student() -> None:
    assert sorted(MODEL_REGISTRY) == sorted(MODEL_NAMES)
    assert [n for n in MODEL_REGISTRY if model_spec(n).paper is None] == ["pooled-student"]
    assert [n for n in MODEL_REGISTRY if model_spec(n).distilled] == ["student", "pooled-student"]


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("batch", [1, 3])
def test_model_maps_a_mel_batch_to_logits_and_embeddings(name: str, batch: int) -> None:
    torch.manual_seed(0)
    model = build_model(name, ModelArgs(n_classes=5)).eval()
    x = mel_batch(batch)  # (B, 1, 128, 188)
    with torch.no_grad():
        logits = model(x)
        embedding = model.embed(x)
        via_head = model.head(embedding)
    assert logits.shape == (batch, 5)
    assert embedding.shape == (batch, EMBEDDING_DIMS[name])
    torch.testing.assert_close(via_head, logits, rtol=0.0, atol=0.0)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_model_has_the_documented_parameter_count(name: str) -> None:
    assert count_parameters(build_model(name)) == PARAMETER_COUNTS[name]


@pytest.mark.parametrize("name", PAPER_MODELS)
def test_registry_records_the_papers_parameter_count(name: str) -> None:
    paper = model_spec(name).paper
    assert paper is not None
    assert paper.params == PAPER_COUNTS[name]


def test_student_built_the_papers_way_reproduces_its_712778_parameters() -> None:
    # A 3-channel 126 x 142 input shrinks to 12 x 14 after three valid-conv + pool blocks, so
    # the conv stack flattens to 32 x 168 = 5,376: the count in the paper's Table IV.
    model = build_student(ModelArgs(in_channels=3, n_mels=126, n_frames=142))
    conv_stack = model.backbone[0]
    with torch.no_grad():
        flat = conv_stack(torch.zeros(1, 3, 126, 142))
    assert flat.shape == (1, 32 * 12 * 14)
    assert count_parameters(model) == PAPER_COUNTS["student"]


def test_student_on_the_true_mel_flattens_to_32x12x19() -> None:
    model = build_student(ModelArgs())
    with torch.no_grad():
        flat = model.backbone[0](torch.zeros(1, 1, 128, 188))
    assert flat.shape == (1, 32 * 12 * 19)
    assert PARAMETER_COUNTS["student"] - PAPER_COUNTS["student"] == (7_296 - 5_376) * 128 - 2 * (
        6 * 7 * 7
    )


def test_pooled_student_sees_what_sounded_not_where_in_the_window() -> None:
    # The paper's convolutions (with batch norm), then the mean and maximum over time of each
    # of 32 channels x 12 bands: 768 values, whatever the window's length.
    model = build_pooled_student(ModelArgs()).eval()
    with torch.no_grad():
        pooled = model.backbone[0](torch.zeros(1, 1, 128, 188))
        assert pooled.shape == (1, 32 * 12 * 2)
        # A sound moved along the window (away from the edges the convolutions trim) gives
        # the same logits: the flattened paper student would give others.
        x = torch.full((1, 1, 128, 188), -1.0)
        x[..., 40:80, 30:60] = 0.8
        moved = torch.roll(x, shifts=88, dims=3)  # 8 frames: the pools' stride
        torch.testing.assert_close(model(x), model(moved), rtol=0.0, atol=1e-5)
        paper = build_student(ModelArgs()).eval()
        assert not torch.allclose(paper(x), paper(moved), atol=1e-5)


def test_teacher_differs_from_torchvision_resnet18_only_by_the_one_channel_stem() -> None:
    reference = count_parameters(torchvision.models.resnet18(num_classes=2))
    assert reference == 11_177_538
    assert reference - PARAMETER_COUNTS["teacher"] == 2 * 64 * 7 * 7


def test_mobilenet_differs_from_torchvision_only_by_the_one_channel_stem() -> None:
    reference = count_parameters(torchvision.models.mobilenet_v3_small(num_classes=2))
    assert reference == 1_519_906 == PAPER_COUNTS["mobilenetv3s"]
    assert reference - PARAMETER_COUNTS["mobilenetv3s"] == 2 * 16 * 3 * 3


def test_unknown_model_name_raises_listing_the_registered_names() -> None:
    with pytest.raises(UnknownModelError, match="'resnet50'") as info:
        build_model("resnet50")
    for name in MODEL_NAMES:
        assert name in str(info.value)


def test_unknown_model_error_is_a_key_error_with_an_unquoted_message() -> None:
    with pytest.raises(KeyError) as info:
        model_spec("nope")
    assert str(info.value).startswith("unknown model 'nope'")


def test_float32_size_is_four_bytes_per_parameter_in_mib() -> None:
    model = build_model("student")
    assert float32_size_mb(model) == PARAMETER_COUNTS["student"] * 4 / 2**20


# --- `nser models` --------------------------------------------------------------------------


def test_nser_models_prints_every_model_beside_the_papers_count(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    for name in MODEL_NAMES:
        params, paper = rows[name][:2]
        assert params == f"{PARAMETER_COUNTS[name]:,}"
        assert paper == (f"{PAPER_COUNTS[name]:,}" if name in PAPER_COUNTS else "-")
    assert "shipped checkpoints: " in out
    assert "match their sha256" in out


def test_nser_without_a_command_prints_usage_and_returns_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([]) == 2
    assert "usage: nser" in capsys.readouterr().out


def test_nser_help_returns_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "models" in capsys.readouterr().out


def test_nser_with_an_unknown_command_returns_2_and_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["nope"]) == 2
    assert "unknown command 'nope'" in capsys.readouterr().err
