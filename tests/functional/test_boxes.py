"""Box math against plainly correct per-box references (rasterised on an integer grid)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detmix import boxes as B
from tests.functional.kernel_checks import check_box_kernel

pytestmark = pytest.mark.filterwarnings("error")

coords = st.integers(0, 24)


@st.composite
def int_box(draw: st.DrawFn) -> tuple[int, int, int, int]:
    x0, y0 = draw(coords), draw(coords)
    return x0, y0, draw(st.integers(x0 + 1, 25)), draw(st.integers(y0 + 1, 25))


def raster(box: tuple[int, int, int, int]) -> np.ndarray:
    grid = np.zeros((25, 25), dtype=bool)
    x0, y0, x1, y1 = box
    grid[y0:y1, x0:x1] = True
    return grid


@settings(max_examples=300, deadline=None)
@given(box=int_box(), rect=int_box())
def test_subtract_rect_is_the_tight_box_of_what_is_left(box: tuple, rect: tuple) -> None:
    left = raster(box) & ~raster(rect)
    tight, fraction = B.subtract_rect(np.array([box], dtype=np.float64), rect)
    assert fraction[0] == pytest.approx(left.sum() / raster(box).sum())
    if left.any():
        ys, xs = np.nonzero(left)
        np.testing.assert_array_equal(tight[0], [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])


@settings(max_examples=200, deadline=None)
@given(box=int_box(), region=int_box())
def test_clip_and_visible_fraction_match_the_raster(box: tuple, region: tuple) -> None:
    whole = np.array([box], dtype=np.float64)
    clipped = B.clip_boxes(whole, region)
    inside = raster(box) & raster(region)
    assert B.box_areas(clipped)[0] == inside.sum()
    assert B.visible_fraction(clipped, whole)[0] == pytest.approx(inside.sum() / raster(box).sum())


def test_scale_offset_boxes_keeps_extra_columns_and_input() -> None:
    boxes = np.array([[1, 2, 3, 4, 7, 8], [0, 0, 10, 10, 9, 9]], dtype=np.float32)
    out = check_box_kernel(lambda b: (B.scale_offset_boxes(b, (2.0, 0.5), (1, -1)),), boxes)
    np.testing.assert_allclose(out[:, :4], [[3, 0, 7, 1], [1, -1, 21, 4]])


def test_subtract_rect_passes_labels_and_handles_empty() -> None:
    boxes = np.array([[0, 0, 10, 10, 5], [20, 20, 30, 30, 6]], dtype=np.float64)
    out = check_box_kernel(lambda b: B.subtract_rect(b, (0, 0, 4, 12)), boxes)
    np.testing.assert_array_equal(out[0, :4], [4, 0, 10, 10])
    np.testing.assert_array_equal(out[1, :4], [20, 20, 30, 30])


def test_visible_fraction_of_an_empty_box_is_zero() -> None:
    degenerate = np.array([[5, 5, 5, 9]], dtype=np.float64)
    assert B.visible_fraction(degenerate, degenerate)[0] == 0


def test_points_in_region_is_half_open() -> None:
    points = np.array([[0, 0], [9.99, 4], [10, 4], [-0.01, 3]])
    np.testing.assert_array_equal(B.points_in_region(points, (0, 0, 10, 5)), [True, True, False, False])
