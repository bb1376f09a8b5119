"""CutMix kernels: the rectangle, the paste, and boxes/keypoints of both images."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from detmix.functional.cutmix import cutmix_bboxes, cutmix_image, cutmix_keypoints, sample_cut_rect
from detmix.functional.placement import identity_placement, letterbox_placement
from tests.functional.kernel_checks import check_box_kernel

pytestmark = pytest.mark.filterwarnings("error")


def test_empty_patch_is_the_identity() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 256, (2, 20, 30, 3), dtype=np.uint8)
    out = cutmix_image(a, b, identity_placement((20, 30)), sample_cut_rect(rng, (20, 30), 1.0), 114, cv2.INTER_LINEAR)
    np.testing.assert_array_equal(out, a)
    assert out is not a


def test_rect_area_follows_lambda_when_inside() -> None:
    rng = np.random.default_rng(3)
    for lam in (0.1, 0.5, 0.9):
        areas = []
        for _ in range(200):
            x0, y0, x1, y1 = sample_cut_rect(rng, (400, 600), lam)
            assert 0 <= x0 <= x1 <= 600 and 0 <= y0 <= y1 <= 400
            areas.append((x1 - x0) * (y1 - y0))
        assert max(areas) == pytest.approx((1 - lam) * 400 * 600, rel=0.02)


def test_paste_shows_the_letterboxed_other_inside_the_rect_only() -> None:
    primary = np.zeros((40, 40), np.uint8)
    other = np.full((20, 40), 9, np.uint8)
    out = cutmix_image(primary, other, letterbox_placement((20, 40), (40, 40)), (0, 0, 40, 20), 114, cv2.INTER_NEAREST)
    assert (out[:10] == 114).all() and (out[10:20] == 9).all() and (out[20:] == 0).all()


def test_boxes_of_both_images() -> None:
    primary = np.array([[0, 0, 10, 10, 1], [30, 30, 40, 40, 2]], dtype=np.float64)
    other = np.array([[0, 0, 20, 20, 3], [25, 25, 35, 35, 4]], dtype=np.float64)
    placement = identity_placement((40, 40))
    rect = (0, 0, 20, 5)
    out = check_box_kernel(lambda b: cutmix_bboxes(b, other, placement, rect), primary)
    visibility = cutmix_bboxes(primary, other, placement, rect)[1]
    np.testing.assert_array_equal(out[:, :4], [[0, 5, 10, 10], [30, 30, 40, 40], [0, 0, 20, 5], [20, 5, 20, 5]])
    np.testing.assert_allclose(visibility, [0.5, 1.0, 0.25, 0.0])


def test_keypoints_under_the_patch_and_outside_it_are_hidden() -> None:
    primary = np.array([[2.0, 2.0, 0, 0, 1], [30.0, 30.0, 0, 0, 1]])
    other = np.array([[3.0, 3.0, 0, 0, 1], [35.0, 35.0, 0, 0, 1]])
    _, visible = cutmix_keypoints(primary, other, identity_placement((40, 40)), (0, 0, 10, 10))
    np.testing.assert_array_equal(visible, [False, True, True, False])
