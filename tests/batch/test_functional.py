"""detmix.batch.functional: the pure kernels against float64 references, on every path they take."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from detmix.batch import functional as bf  # noqa: E402
from tests.batch.helpers import DEVICES, check_untouched, images, mix_reference  # noqa: E402

#: Small samples take the gather-then-blend path; 3x96x96 float32 (108 KiB) the per-sample view path.
SHAPES = [(6, 3, 8, 10), (3, 3, 96, 96)]
INDEX = {6: torch.tensor([3, 0, 5, 1, 2, 4]), 3: torch.tensor([2, 0, 1])}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
def test_mix_images_is_lerp_against_the_partners(shape: tuple[int, ...], dtype: torch.dtype, device: str) -> None:
    x, index = images(shape, dtype, device), INDEX[shape[0]].to(device)
    (out,) = check_untouched(lambda x: (bf.mix_images(x, index, 0.3),), x)
    assert out.dtype == dtype and out.shape == x.shape and out.device == x.device
    tolerance = {torch.float16: 2e-3, torch.bfloat16: 1e-2}.get(dtype, 1e-6)
    torch.testing.assert_close(out.double().cpu(), mix_reference(x, index, 0.3), atol=tolerance, rtol=0)


@pytest.mark.parametrize("shape", SHAPES)
def test_mix_images_per_sample_and_per_position_weights(shape: tuple[int, ...]) -> None:
    x, index = images(shape), INDEX[shape[0]]
    lam = torch.linspace(0, 1, shape[0], dtype=torch.float64)
    torch.testing.assert_close(bf.mix_images(x, index, lam).double(), mix_reference(x, index, lam), atol=1e-6, rtol=0)
    weight = images(shape[1:], seed=1)  # one weight per position, shared by the batch
    expected = weight.double() * x.double() + (1 - weight.double()) * x.double()[index]
    torch.testing.assert_close(bf.mix_images(x, index, weight).double(), expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize("shape", SHAPES)
def test_mix_images_uint8_rounds_to_nearest_without_a_whole_batch_float_copy(shape: tuple[int, ...], monkeypatch: pytest.MonkeyPatch) -> None:
    x, index = images(shape, torch.uint8), INDEX[shape[0]]
    exact = mix_reference(x, index, 0.37)
    out = bf.mix_images(x, index, 0.37)
    assert out.dtype == torch.uint8
    assert (out.double() - exact).abs().max() <= 0.5 + 1e-4
    monkeypatch.setattr(bf, "TEMP_BYTES", 1)  # one sample per chunk: the same result
    assert torch.equal(bf.mix_images(x, index, 0.37), out)


def test_mix_images_with_lam_one_and_zero_is_the_sample_and_its_partner() -> None:
    for shape in SHAPES:
        x, index = images(shape), INDEX[shape[0]]
        assert torch.equal(bf.mix_images(x, index, 1.0), x)
        assert torch.equal(bf.mix_images(x, index, 0.0), x[index])


def test_mix_images_is_differentiable_for_features_that_require_grad() -> None:
    x = images((4, 2, 3, 3)).requires_grad_()
    index = torch.tensor([1, 0, 3, 2])
    bf.mix_images(x, index, 0.25).sum().backward()
    assert torch.allclose(x.grad, torch.ones_like(x))  # each sample gives 0.25 to itself and 0.75 to its partner


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_select_images_copies_own_values_where_kept_and_the_partners_elsewhere(shape: tuple[int, ...], dtype: torch.dtype, device: str) -> None:
    x, index = images(shape, dtype, device), INDEX[shape[0]].to(device)
    keep = images(shape[2:], seed=2, device=device) < 0.5
    (out,) = check_untouched(lambda x: (bf.select_images(x, index, keep),), x)
    expected = x.clone()
    for i, j in enumerate(index.tolist()):
        expected[i][:, ~keep] = x[j][:, ~keep]
    assert torch.equal(out, expected)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_cutmix_images_fills_only_the_box_from_the_partners(shape: tuple[int, ...], dtype: torch.dtype, device: str) -> None:
    x, index = images(shape, dtype, device), INDEX[shape[0]].to(device)
    box = (2, 1, 7, 5)  # x_min, y_min, x_max, y_max
    (out,) = check_untouched(lambda x: (bf.cutmix_images(x, index, box),), x)
    expected = x.clone()
    for i, j in enumerate(index.tolist()):
        expected[i, :, 1:5, 2:7] = x[j, :, 1:5, 2:7]
    assert torch.equal(out, expected)
    assert torch.equal(bf.cutmix_images(x, index, (3, 3, 3, 6)), x), "an empty box leaves the batch as it is"


def test_cutmix_images_is_differentiable() -> None:
    x = images((2, 1, 4, 4)).requires_grad_()
    bf.cutmix_images(x, torch.tensor([1, 0]), (0, 0, 2, 2)).sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


@pytest.mark.parametrize(
    ("lam", "centre_yx", "box", "clipped_lam"),
    [
        (0.75, (16, 16), (8, 8, 24, 24), 0.75),  # 16x16 of 32x32, inside: lam as drawn
        (0.75, (0, 0), (0, 0, 8, 8), 1 - 64 / 1024),  # clipped to a quarter of the box
        (0.75, (31, 20), (12, 23, 28, 32), 1 - 16 * 9 / 1024),  # clipped at the bottom
        (1.0, (5, 5), (5, 5, 5, 5), 1.0),  # no box
        (0.0, (16, 16), (0, 0, 32, 32), 0.0),  # the whole image
    ],
)
def test_cutmix_box_recomputes_lam_from_the_clipped_box(lam: float, centre_yx: tuple[int, int], box: tuple[int, ...], clipped_lam: float) -> None:
    assert bf.cutmix_box((32, 32), lam, centre_yx) == (box, pytest.approx(clipped_lam, abs=1e-12))


@pytest.mark.parametrize("lam", [0.0, 0.1234, 0.5, 0.999, 1.0])
def test_top_k_mask_mean_is_the_returned_lam_exactly(lam: float) -> None:
    noise = torch.randn((37, 53), generator=torch.Generator().manual_seed(1))
    mask, exact = bf.top_k_mask(noise, lam)
    assert mask.dtype == torch.bool and mask.shape == noise.shape
    assert mask.sum().item() == math.floor(lam * noise.numel() + 0.5) and mask.double().mean().item() == exact
    if 0 < exact < 1:
        assert noise[mask].min() > noise[~mask].max(), "the mask must hold the largest values"


def test_fourier_amplitudes_fall_with_frequency() -> None:
    amplitudes = bf.fourier_amplitudes((32, 20), 3.0)
    assert amplitudes.shape == (32, 11)
    assert amplitudes[0, 0] == amplitudes.max() and amplitudes[0, 1] > amplitudes[0, 5] > amplitudes[16, 10]
    torch.testing.assert_close(amplitudes[1, 0], torch.tensor(1.0))  # relative to the floor 1 / max(H, W): the peak is 1
    torch.testing.assert_close(amplitudes[0, 5], torch.tensor(((5 / 20) * 32) ** -3.0))


@pytest.mark.parametrize("image_hw", [(224, 224), (32, 32)])
def test_fmix_with_a_large_decay_power_still_draws_a_blob(image_hw: tuple[int, int]) -> None:
    """max(H, W) ** 40 overflows float32: the noise must stay finite and the mask one smooth region, not bands of rows."""
    from detmix.batch.sampling import sample_fourier_noise

    noise = sample_fourier_noise(image_hw, 40.0, torch.Generator().manual_seed(0))
    assert torch.isfinite(noise).all() and noise.std() > 0
    mask, _ = bf.top_k_mask(noise, 0.5)
    changes = int((mask[1:] != mask[:-1]).sum()) + int((mask[:, 1:] != mask[:, :-1]).sum())
    assert changes <= 4 * max(image_hw)  # one smooth region's outline, not noise or arbitrary picks


def test_beta_with_a_tiny_alpha_lands_near_0_or_1() -> None:
    """Beta(1e-3, 1e-3) puts about 0.4% of its mass inside (0.01, 0.99); underflowing gamma draws made lam exactly 0.5."""
    from detmix.batch.sampling import sample_beta

    lam = sample_beta(1e-3, torch.Generator().manual_seed(0), size=4000)
    assert float(((lam > 0.01) & (lam < 0.99)).double().mean()) < 0.02
    assert not (lam == 0.5).any()
    assert 0.4 < float((lam > 0.5).double().mean()) < 0.6


def test_block_keep_mask_is_the_union_of_squares_at_the_seeds() -> None:
    seeds = torch.rand((3, 6, 5), generator=torch.Generator().manual_seed(4)) < 0.1
    block = 3
    expected = torch.ones((3, 8, 7), dtype=torch.bool)
    for c, y, x in seeds.nonzero().tolist():
        expected[c, y : y + block, x : x + block] = False
    assert torch.equal(bf.block_keep_mask(seeds, block), expected)
