"""MixUp, CutMix and FMix: outputs recomputed from ``last``, soft targets, seeding and the RNG contract."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

from detmix.batch import CutMix, FMix, MixUp, mixed_cross_entropy, mixers  # noqa: E402
from tests.batch.helpers import DEVICES, check_untouched, global_rngs_untouched, images, mix_reference, targets_reference  # noqa: E402

SHAPE = (8, 3, 20, 24)
CLASSES = 5
LABELS = torch.tensor([0, 1, 2, 3, 4, 0, 1, 2])
MIXERS = {
    "MixUp": lambda **kw: MixUp(alpha=0.4, **kw),
    "MixUp per sample": lambda **kw: MixUp(alpha=0.4, per_sample=True, **kw),
    "CutMix": lambda **kw: CutMix(**kw),
    "FMix": lambda **kw: FMix(**kw),
}


def seeded(name: str, seed: int = 0, **kwargs) -> MixUp | CutMix | FMix:
    return MIXERS[name](num_classes=CLASSES, generator=torch.Generator().manual_seed(seed), **kwargs)


def recompute(x: torch.Tensor, mixer: MixUp | CutMix | FMix) -> torch.Tensor:
    """The mixed batch rebuilt in float64 from ``mixer.last`` alone, the slow way."""
    draw, x64 = mixer.last, x.double().cpu()
    index = draw.index.cpu()
    if draw.box is not None:
        x_min, y_min, x_max, y_max = draw.box
        inside = torch.zeros(x.shape[2:], dtype=torch.bool)
        inside[y_min:y_max, x_min:x_max] = True
        return torch.where(inside, x64[index], x64)
    if draw.mask is not None:
        return torch.where(draw.mask.cpu(), x64, x64[index])
    return mix_reference(x, index, draw.lam)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", MIXERS)
def test_output_is_the_recorded_draw_applied_and_inputs_are_untouched(name: str, device: str) -> None:
    mixer = seeded(name)
    x, labels = images(SHAPE, device=device), LABELS.to(device)
    mixed, targets = check_untouched(mixer, x, labels)
    assert mixed.shape == x.shape and mixed.dtype == x.dtype and mixed.device == x.device
    assert sorted(mixer.last.index.tolist()) == list(range(SHAPE[0])), "partners must be a permutation"
    torch.testing.assert_close(mixed.double().cpu(), recompute(x, mixer), atol=1e-6, rtol=0)
    expected = targets_reference(LABELS, CLASSES, mixer.last.index, mixer.last.lam)
    torch.testing.assert_close(targets.double().cpu(), expected, atol=1e-6, rtol=0)
    assert targets.device == labels.device


@pytest.mark.parametrize("name", MIXERS)
def test_uint8_images_stay_uint8(name: str) -> None:
    mixer = seeded(name)
    x = images(SHAPE, torch.uint8)
    mixed, _ = check_untouched(mixer, x, LABELS)
    assert mixed.dtype == torch.uint8
    assert (mixed.double() - recompute(x, mixer)).abs().max() <= 0.5 + 1e-4


@pytest.mark.parametrize("name", MIXERS)
def test_seeded_generator_replays_and_global_rngs_stay_put(name: str) -> None:
    x = images(SHAPE)
    with global_rngs_untouched():
        first = [seeded(name, 3)(x, LABELS) for _ in range(2)]
        other = seeded(name, 4)(x, LABELS)
    assert torch.equal(first[0][0], first[1][0]) and torch.equal(first[0][1], first[1][1])
    assert not torch.equal(first[0][0], other[0]), "another seed should draw another mix"


@pytest.mark.parametrize("name", MIXERS)
def test_unseeded_mixers_draw_from_their_own_generator(name: str) -> None:
    x = images(SHAPE)
    with global_rngs_untouched():
        first, second = (MIXERS[name](num_classes=CLASSES)(x, LABELS)[0] for _ in range(2))
    assert not torch.equal(first, second), "two unseeded mixers should not share a seed"


@pytest.mark.parametrize("name", MIXERS)
def test_soft_targets_sum_to_one_and_smoothing_matches_cross_entropy(name: str) -> None:
    eps = 0.1
    mixer = seeded(name, label_smoothing=eps)
    _, targets = mixer(images(SHAPE), LABELS)
    torch.testing.assert_close(targets.sum(1), torch.ones(SHAPE[0]))
    lam, index = mixer.last.lam, mixer.last.index
    torch.testing.assert_close(targets.double(), targets_reference(LABELS, CLASSES, index, lam, eps), atol=1e-6, rtol=0)
    logits = torch.randn((SHAPE[0], CLASSES), generator=torch.Generator().manual_seed(1))
    if not isinstance(lam, torch.Tensor):  # the two-term loss people write with nn.CrossEntropyLoss
        two_terms = lam * F.cross_entropy(logits, LABELS, label_smoothing=eps) + (1 - lam) * F.cross_entropy(logits, LABELS[index], label_smoothing=eps)
        torch.testing.assert_close(mixed_cross_entropy(logits, targets), two_terms)


@pytest.mark.parametrize("name", MIXERS)
def test_float_targets_are_mixed_as_given(name: str) -> None:
    soft = torch.softmax(torch.randn((SHAPE[0], 7), generator=torch.Generator().manual_seed(2)), dim=1).double()
    mixer = MIXERS[name](generator=torch.Generator().manual_seed(0))
    _, targets = check_untouched(mixer, images(SHAPE), soft)
    assert targets.dtype == torch.float64
    torch.testing.assert_close(targets, mix_reference(soft, mixer.last.index, mixer.last.lam))


def test_cutmix_lam_is_the_share_left_after_clipping(monkeypatch: pytest.MonkeyPatch) -> None:
    """With every draw lam = 0.75, boxes near the border are clipped and their lam recomputed."""
    monkeypatch.setattr(mixers, "sample_beta", lambda alpha, generator: 0.75)
    mixer = seeded("CutMix")
    x = images((2, 1, 12, 16))
    clipped = 0
    for _ in range(100):
        _, targets = mixer(x, LABELS[:2])
        x_min, y_min, x_max, y_max = mixer.last.box
        assert 0 <= x_min <= x_max <= 16 and 0 <= y_min <= y_max <= 12
        area = (x_max - x_min) * (y_max - y_min)
        assert mixer.last.lam == 1 - area / (12 * 16)
        torch.testing.assert_close(targets.double(), targets_reference(LABELS[:2], CLASSES, mixer.last.index, mixer.last.lam))
        clipped += area < 6 * 8  # the unclipped box is 6x8
    assert 0 < clipped < 100


def test_fmix_mask_mean_is_lam_and_the_mask_is_smooth() -> None:
    mixer = FMix(alpha=1.0, decay_power=3.0, num_classes=CLASSES, generator=torch.Generator().manual_seed(5))
    x = images((8, 1, 64, 64))
    edges_fmix, edges_random = [], []
    for _ in range(10):
        mixer(x, LABELS)
        mask = mixer.last.mask
        assert mask.shape == (64, 64) and mask.double().mean().item() == mixer.last.lam
        random_mask = torch.zeros(64 * 64, dtype=torch.bool)
        random_mask[torch.randperm(64 * 64, generator=torch.Generator().manual_seed(len(edges_fmix)))[: int(mask.sum())]] = True
        for store, m in ((edges_fmix, mask), (edges_random, random_mask.reshape(64, 64))):
            store.append(int((m[1:] != m[:-1]).sum() + (m[:, 1:] != m[:, :-1]).sum()))
    assert sum(edges_fmix) < 0.1 * sum(edges_random), (edges_fmix, edges_random)


def test_fmix_decay_power_sets_smoothness() -> None:
    def edges(decay_power: float) -> int:
        mixer = FMix(decay_power=decay_power, num_classes=CLASSES, generator=torch.Generator().manual_seed(6))
        total = 0
        for _ in range(5):
            mixer(images((2, 1, 48, 48)), LABELS[:2])
            m = mixer.last.mask
            total += int((m[1:] != m[:-1]).sum() + (m[:, 1:] != m[:, :-1]).sum())
        return total

    assert edges(4.0) < edges(1.0)


def test_per_sample_mixup_draws_one_lam_per_sample() -> None:
    mixer = seeded("MixUp per sample")
    mixer(images(SHAPE), LABELS)
    lam = mixer.last.lam
    assert isinstance(lam, torch.Tensor) and lam.shape == (SHAPE[0],) and len(set(lam.tolist())) == SHAPE[0]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", MIXERS)
def test_cuda_gives_the_cpu_result_for_the_same_seed(name: str) -> None:
    x = images(SHAPE)
    cpu = seeded(name, 7)(x, LABELS)
    cuda = seeded(name, 7)(x.cuda(), LABELS.cuda())
    for a, b in zip(cpu, cuda):
        torch.testing.assert_close(b.cpu(), a, atol=1e-6, rtol=0)
