"""Every error of MixUp, CutMix, FMix and mixed_cross_entropy: raised early, naming the argument."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from detmix.batch import CutMix, FMix, MixUp, mixed_cross_entropy  # noqa: E402
from tests.batch.helpers import images  # noqa: E402

X = images((4, 3, 6, 6))
LABELS = torch.tensor([0, 1, 2, 1])


@pytest.mark.parametrize("mixer", [MixUp, CutMix, FMix])
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"alpha": 0.0}, ValueError, "expected alpha > 0, got 0.0"),
        ({"alpha": -0.5}, ValueError, "expected alpha > 0, got -0.5"),
        ({"alpha": float("nan")}, ValueError, "expected a finite alpha, got nan"),
        ({"alpha": "1"}, TypeError, "expected alpha as a real number, got str '1'"),
        ({"num_classes": 0}, ValueError, "expected num_classes >= 1, got 0"),
        ({"num_classes": 3.0}, TypeError, "expected num_classes as an int, got float 3.0"),
        ({"label_smoothing": 1.0}, ValueError, r"expected label_smoothing in \[0, 1\), got 1.0"),
        ({"label_smoothing": -0.1}, ValueError, r"expected label_smoothing in \[0, 1\), got -0.1"),
        ({"generator": 1}, TypeError, "expected generator as a torch.Generator or None, got int"),
    ],
)
def test_construction_errors(mixer: type, kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=f"{mixer.__name__}: {match}"):
        mixer(**kwargs)


def test_other_construction_errors() -> None:
    with pytest.raises(ValueError, match="FMix: expected decay_power > 0, got 0"):
        FMix(decay_power=0)
    with pytest.raises(TypeError, match="MixUp: expected per_sample as a bool, got int 1"):
        MixUp(per_sample=1)


@pytest.mark.parametrize("mixer", [MixUp, CutMix, FMix])
@pytest.mark.parametrize(
    ("images", "labels", "num_classes", "error", "match"),
    [
        (X.numpy(), LABELS, 3, TypeError, "expected images as a torch.Tensor, got ndarray"),
        (X[0], LABELS, 3, ValueError, r"expected images of shape \(B, C, H, W\), got shape \(3, 6, 6\)"),
        (X[None], LABELS, 3, ValueError, r"expected images of shape \(B, C, H, W\), got shape \(1, 4, 3, 6, 6\)"),
        (X.int(), LABELS, 3, TypeError, "expected images of a float or uint8 dtype, got torch.int32"),
        (X[:0], LABELS[:0], 3, ValueError, r"expected a non-empty images batch, got shape \(0, 3, 6, 6\)"),
        (X, LABELS.tolist(), 3, TypeError, "expected labels as a torch.Tensor, got list"),
        (X, LABELS, None, ValueError, r"num_classes is required when labels are class indices \(shape \(4,\)\)"),
        (X, LABELS[:3], 3, ValueError, r"expected 4 labels \(one per image\), got 3"),
        (X, LABELS[:, None, None], 3, ValueError, r"expected labels of shape \(B,\) class indices or \(B, K\) targets, got shape \(4, 1, 1\)"),
        (X, LABELS.float(), 3, TypeError, "expected class indices of an integer dtype, got torch.float32"),
        (X, LABELS.bool(), 3, TypeError, "expected class indices of an integer dtype, got torch.bool"),
        (X, torch.tensor([0, 1, 3, 1]), 3, ValueError, r"expected labels in \[0, 3\), got 3 at position 2"),
        (X, torch.tensor([0, -1, 2, 1]), 3, ValueError, r"expected labels in \[0, 3\), got -1 at position 1"),
        (X, torch.eye(4, 3, dtype=torch.long), 3, TypeError, r"expected \(B, K\) targets of a float dtype, got torch.int64"),
        (X, torch.eye(4, 5), 3, ValueError, r"expected targets with num_classes=3 columns, got shape \(4, 5\)"),
        (X, torch.ones(4, 0), None, ValueError, r"expected targets with at least one column, got shape \(4, 0\)"),
    ],
)
def test_call_errors_come_before_any_draw(mixer: type, images: object, labels: object, num_classes: int | None, error: type, match: str) -> None:
    generator = torch.Generator().manual_seed(0)
    state = generator.get_state()
    with pytest.raises(error, match=f"{mixer.__name__}: {match}"):
        mixer(num_classes=num_classes, generator=generator)(images, labels)
    assert torch.equal(generator.get_state(), state), "a failed call must not draw"


@pytest.mark.parametrize(
    ("logits", "targets", "kwargs", "error", "match"),
    [
        (torch.zeros(4, 3), torch.zeros(4, 2), {}, ValueError, r"expected logits and soft_targets of one \(B, K\) shape, got \(4, 3\) and \(4, 2\)"),
        (torch.zeros(4), torch.zeros(4), {}, ValueError, r"expected logits and soft_targets of one \(B, K\) shape, got \(4,\) and \(4,\)"),
        (torch.zeros(4, 3), LABELS, {}, TypeError, "expected soft_targets as a float tensor, got torch.int64"),
        ([0.0], torch.zeros(4, 3), {}, TypeError, "expected logits as a float tensor, got list"),
        (torch.zeros(4, 3), torch.zeros(4, 3), {"reduction": "max"}, ValueError, "expected reduction 'mean', 'sum' or 'none', got 'max'"),
    ],
)
def test_mixed_cross_entropy_errors(logits: object, targets: object, kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=f"mixed_cross_entropy: {match}"):
        mixed_cross_entropy(logits, targets, **kwargs)


def test_mixed_cross_entropy_reductions() -> None:
    logits = torch.randn((4, 3), generator=torch.Generator().manual_seed(0))
    targets = torch.softmax(torch.randn((4, 3), generator=torch.Generator().manual_seed(1)), 1)
    per_sample = mixed_cross_entropy(logits, targets, reduction="none")
    torch.testing.assert_close(per_sample, torch.nn.functional.cross_entropy(logits, targets, reduction="none"))
    torch.testing.assert_close(mixed_cross_entropy(logits, targets, reduction="sum"), per_sample.sum())
    torch.testing.assert_close(mixed_cross_entropy(logits, targets), per_sample.mean())


def test_mixed_cross_entropy_names_a_device_mismatch() -> None:
    with pytest.raises(ValueError, match="mixed_cross_entropy: logits on meta but soft_targets on cpu .*move the labels"):
        mixed_cross_entropy(torch.zeros(2, 3, device="meta"), torch.zeros(2, 3))
