"""MixUp kernels: the blend, the mask rule and lambda sampling."""

from __future__ import annotations

import numpy as np
import pytest

from detmix.functional.mixup import LAMBDA_EPS, mixup_bboxes, mixup_image, mixup_mask, sample_mixup_lambda

pytestmark = pytest.mark.filterwarnings("error")


def test_lambda_one_is_the_identity() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 256, (2, 20, 30, 3), dtype=np.uint8)
    np.testing.assert_array_equal(mixup_image(a, b, 1.0), a)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("channels", [None, 1, 3, 6])
def test_blend_is_exact_and_keeps_dtype_and_shape(dtype: type, channels: int | None) -> None:
    rng = np.random.default_rng(1)
    shape = (17, 23) if channels is None else (17, 23, channels)
    a, b = rng.integers(0, 256, (2, *shape)).astype(dtype)
    originals = a.copy(), b.copy()
    out = mixup_image(a, b, 0.3)
    expected = 0.3 * a.astype(np.float64) + 0.7 * b
    assert out.dtype == dtype and out.shape == shape
    np.testing.assert_allclose(out, np.round(expected) if dtype == np.uint8 else expected, atol=1 if dtype == np.uint8 else 1e-3)
    np.testing.assert_array_equal(a, originals[0])
    np.testing.assert_array_equal(b, originals[1])


def test_mask_keeps_both_label_sets_heavier_image_wins_overlaps() -> None:
    primary = np.array([[1, 1, 0, 0]], np.uint8)
    other = np.array([[2, 0, 2, 0]], np.uint8)
    np.testing.assert_array_equal(mixup_mask(primary, other, 0.6), [[1, 1, 2, 0]])
    np.testing.assert_array_equal(mixup_mask(primary, other, 0.4), [[2, 1, 2, 0]])


def test_lambda_stays_strictly_inside_the_unit_interval() -> None:
    rng = np.random.default_rng(2)
    draws = np.array([sample_mixup_lambda(rng, 0.01, 0.01) for _ in range(500)])
    assert draws.min() >= LAMBDA_EPS and draws.max() <= 1 - LAMBDA_EPS


def test_mixup_bboxes_moves_the_other_and_writes_weights() -> None:
    from detmix.functional.placement import letterbox_placement
    from tests.functional.kernel_checks import check_box_kernel

    primary = np.array([[0, 0, 10, 10, 7, 1.0], [5, 5, 20, 20, 8, 1.0]])
    other = np.array([[10, 5, 30, 25, 9, 1.0]])
    placement = letterbox_placement((50, 100), (200, 200))
    out = check_box_kernel(lambda b: mixup_bboxes(b, other, placement, (200, 200), 0.5), primary)
    np.testing.assert_allclose(out[2, :4], [20, 60, 60, 100])
    weighted, visibility = mixup_bboxes(primary, other, placement, (200, 200), 0.3, weight_column=-1)
    np.testing.assert_allclose(weighted[:, -1], [0.3, 0.3, 0.7])
    np.testing.assert_allclose(weighted[:, 4], [7, 8, 9])
    np.testing.assert_allclose(visibility, 1.0)
    assert primary[0, -1] == 1.0
