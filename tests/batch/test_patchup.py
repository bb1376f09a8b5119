"""PatchUp: block masks, hard and soft mixing, and targets weighted by what the features received."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

from detmix.batch import PatchUp  # noqa: E402
from tests.batch.helpers import check_untouched, global_rngs_untouched, images, mix_reference, targets_reference  # noqa: E402

SHAPE = (6, 4, 12, 10)
CLASSES = 3
LABELS = torch.tensor([0, 1, 2, 1, 0, 2])


def seeded(mode: str = "hard", seed: int = 0, **kwargs) -> PatchUp:
    return PatchUp(block_size=3, gamma=0.5, mode=mode, generator=torch.Generator().manual_seed(seed), **kwargs)


@pytest.mark.parametrize("mode", ["hard", "soft"])
def test_features_and_targets_follow_the_recorded_mask(mode: str) -> None:
    patchup = seeded(mode)
    x = images(SHAPE)
    mixed, targets = check_untouched(lambda x, labels: patchup(x, labels, CLASSES), x, LABELS)
    draw = patchup.last
    keep, index = draw.mask, draw.index
    assert keep.shape == SHAPE[1:] and keep.dtype == torch.bool and 0 < keep.double().mean() < 1
    changed = 1 - keep.double().mean().item()
    inside = x.double()[index] if mode == "hard" else mix_reference(x, index, draw.blend)
    torch.testing.assert_close(mixed.double(), torch.where(keep, x.double(), inside), atol=1e-6, rtol=0)
    own_share = 1 - changed if mode == "hard" else 1 - (1 - draw.blend) * changed
    assert draw.lam == pytest.approx(own_share, abs=1e-12)
    assert (draw.blend is None) == (mode == "hard")
    torch.testing.assert_close(targets.double(), targets_reference(LABELS, CLASSES, index, own_share), atol=1e-6, rtol=0)
    torch.testing.assert_close(targets.sum(1), torch.ones(len(LABELS)))


def test_holes_are_unions_of_whole_blocks() -> None:
    patchup = seeded()
    for _ in range(5):
        patchup(images(SHAPE), LABELS, CLASSES)
        holes = (~patchup.last.mask).float()[None]
        corners = F.avg_pool2d(holes, 3, stride=1) == 1  # windows made only of holes
        covered = F.max_pool2d(F.pad(corners.float(), (2, 2, 2, 2)), 3, stride=1) > 0
        assert torch.equal(covered, holes > 0), "every hole must lie in a whole 3x3 block"


def test_gamma_is_the_share_of_features_in_blocks_of_size_one() -> None:
    patchup = PatchUp(block_size=1, gamma=0.3, generator=torch.Generator().manual_seed(1))
    patchup(images((2, 16, 32, 32)), LABELS[:2], CLASSES)
    assert 1 - patchup.last.mask.double().mean().item() == pytest.approx(0.3, abs=0.02)


def test_gradients_flow_to_the_features() -> None:
    x = images(SHAPE).requires_grad_()
    mixed, _ = seeded("soft")(x, LABELS, CLASSES)
    mixed.sum().backward()
    torch.testing.assert_close(x.grad, torch.ones_like(x))  # every feature is given out once in total


def test_seeded_patchup_replays_and_global_rngs_stay_put() -> None:
    x = images(SHAPE)
    with global_rngs_untouched():
        a, b = (seeded("soft", 5)(x, LABELS, CLASSES) for _ in range(2))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"block_size": 0}, ValueError, "expected block_size >= 1, got 0"),
        ({"block_size": 2.5}, TypeError, "expected block_size as an int, got float 2.5"),
        ({"gamma": 0.0}, ValueError, r"expected gamma in \(0, 1\], got 0.0"),
        ({"gamma": 1.5}, ValueError, r"expected gamma in \(0, 1\], got 1.5"),
        ({"mode": "medium"}, ValueError, "expected mode 'hard' or 'soft', got 'medium'"),
        ({"alpha": -1}, ValueError, "expected alpha > 0, got -1"),
    ],
)
def test_construction_errors(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=f"PatchUp: {match}"):
        PatchUp(**kwargs)


@pytest.mark.parametrize(
    ("features", "labels", "num_classes", "error", "match"),
    [
        (images((6, 4, 2, 10)), LABELS, CLASSES, ValueError, r"block_size 3 exceeds the feature map's 2x10"),
        (images(SHAPE, torch.uint8), LABELS, CLASSES, TypeError, "expected features of a float dtype, got torch.uint8"),
        (images(SHAPE[1:]), LABELS, CLASSES, ValueError, r"expected features of shape \(B, C, H, W\), got shape \(4, 12, 10\)"),
        (images(SHAPE), LABELS[:4], CLASSES, ValueError, r"expected 6 labels \(one per image\), got 4"),
        (images(SHAPE), LABELS, None, ValueError, "num_classes is required"),
    ],
)
def test_call_errors(features: torch.Tensor, labels: torch.Tensor, num_classes: int | None, error: type, match: str) -> None:
    with pytest.raises(error, match=f"PatchUp: {match}"):
        seeded()(features, labels, num_classes)
