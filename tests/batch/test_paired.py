"""PairedMixUp: one lam per sample and one permutation for both halves, so pairs stay pairs."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

from detmix.batch import PairedMixUp  # noqa: E402
from tests.batch.helpers import check_untouched, global_rngs_untouched, images, mix_reference  # noqa: E402


def seeded(seed: int = 0) -> PairedMixUp:
    return PairedMixUp(alpha=1.2, generator=torch.Generator().manual_seed(seed))


def test_each_half_is_mixed_with_the_recorded_per_sample_lam_and_shared_permutation() -> None:
    paired = seeded()
    clean, noisy = images((5, 3, 8, 8)), images((5, 3, 8, 8), seed=1)
    clean_mixed, noisy_mixed = check_untouched(paired, clean, noisy)
    lam, index = paired.last.lam, paired.last.index
    assert lam.shape == (5,) and len(set(lam.tolist())) == 5
    torch.testing.assert_close(clean_mixed.double(), mix_reference(clean, index, lam), atol=1e-6, rtol=0)
    torch.testing.assert_close(noisy_mixed.double(), mix_reference(noisy, index, lam), atol=1e-6, rtol=0)


def test_a_linear_degradation_of_the_mixed_clean_batch_is_the_mixed_noisy_batch() -> None:
    """Denoising (fixed noise added) and super-resolution (2x average pooling, another size) pairs."""
    clean = images((6, 3, 16, 16))
    noise = images((6, 3, 16, 16), seed=2) * 0.1
    for degrade in (lambda x: x + noise, lambda x: F.avg_pool2d(x, 2)):
        paired = seeded(3)
        clean_mixed, noisy_mixed = paired(clean, degrade(clean))
        if noisy_mixed.shape == clean.shape:  # the fixed noise moves with its image
            noise_mixed = mix_reference(noise, paired.last.index, paired.last.lam).float()
            torch.testing.assert_close(noisy_mixed, clean_mixed + noise_mixed, atol=1e-6, rtol=0)
        else:
            torch.testing.assert_close(noisy_mixed, degrade(clean_mixed), atol=1e-6, rtol=0)


def test_uint8_and_float_halves_mix_alike() -> None:
    clean = images((4, 1, 6, 6), torch.uint8)
    paired = seeded(4)
    clean_mixed, noisy_mixed = paired(clean, clean.float())
    assert clean_mixed.dtype == torch.uint8 and noisy_mixed.dtype == torch.float32
    assert (clean_mixed.float() - noisy_mixed).abs().max() <= 0.5 + 1e-4


def test_seeded_pairs_replay_and_global_rngs_stay_put() -> None:
    clean, noisy = images((4, 3, 5, 5)), images((4, 3, 5, 5), seed=1)
    with global_rngs_untouched():
        a, b = seeded(5)(clean, noisy), seeded(5)(clean, noisy)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


@pytest.mark.parametrize(
    ("clean", "noisy", "error", "match"),
    [
        (images((4, 3, 5, 5)), images((3, 3, 5, 5)), ValueError, "expected clean and noisy to hold as many samples, got 4 and 3"),
        (images((3, 5, 5)), images((3, 3, 5, 5)), ValueError, r"expected clean of shape \(B, C, H, W\), got shape \(3, 5, 5\)"),
        (images((3, 3, 5, 5)), [1, 2], TypeError, "expected noisy as a torch.Tensor, got list"),
        (images((3, 3, 5, 5)).long(), images((3, 3, 5, 5)), TypeError, "expected clean of a float or uint8 dtype, got torch.int64"),
        (images((0, 3, 5, 5)), images((0, 3, 5, 5)), ValueError, r"expected a non-empty clean batch, got shape \(0, 3, 5, 5\)"),
    ],
)
def test_call_errors(clean: torch.Tensor, noisy: object, error: type, match: str) -> None:
    with pytest.raises(error, match=f"PairedMixUp: {match}"):
        seeded()(clean, noisy)


@pytest.mark.parametrize(("alpha", "error", "match"), [(0, ValueError, "expected alpha > 0, got 0"), (True, TypeError, "expected alpha as a real number, got bool True")])
def test_construction_errors(alpha: object, error: type, match: str) -> None:
    with pytest.raises(error, match=f"PairedMixUp: {match}"):
        PairedMixUp(alpha=alpha)
