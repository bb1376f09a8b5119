"""Placement kernels: rendering only the region, and boxes/keypoints following the same map."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from detmix.functional.placement import (
    Placement,
    identity_placement,
    letterbox_placement,
    paste_all,
    place_bboxes,
    place_keypoints,
    render,
)
from tests.functional.kernel_checks import check_box_kernel

pytestmark = pytest.mark.filterwarnings("error")


def reference_place(box: np.ndarray, placement: Placement) -> tuple[list[float], float]:
    """Per-box reference: map each corner with plain floats, clip to the region, ratio of areas."""
    sx = placement.scaled_hw[1] / placement.src_hw[1]
    sy = placement.scaled_hw[0] / placement.src_hw[0]
    x0, y0 = box[0] * sx + placement.offset_xy[0], box[1] * sy + placement.offset_xy[1]
    x1, y1 = box[2] * sx + placement.offset_xy[0], box[3] * sy + placement.offset_xy[1]
    rx0, ry0, rx1, ry1 = placement.region_xyxy
    cx0, cy0, cx1, cy1 = min(max(x0, rx0), rx1), min(max(y0, ry0), ry1), min(max(x1, rx0), rx1), min(max(y1, ry0), ry1)
    whole = (x1 - x0) * (y1 - y0)
    return [cx0, cy0, cx1, cy1], (cx1 - cx0) * (cy1 - cy0) / whole


def test_place_bboxes_matches_the_per_box_reference() -> None:
    rng = np.random.default_rng(0)
    placement = Placement((100, 80), (150, 120), (-30, 10), (0, 10, 90, 160))
    xy0 = rng.uniform(0, 60, (40, 2))
    boxes = np.column_stack([xy0, xy0 + rng.uniform(1, 30, (40, 2)), np.arange(40)]).astype(np.float32)
    out, visibility = check_box_kernel(lambda b: place_bboxes(b, placement), boxes), place_bboxes(boxes, placement)[1]
    for box, got, vis in zip(boxes, out, visibility):
        expected, expected_vis = reference_place(box.astype(np.float64), placement)
        np.testing.assert_allclose(got[:4], expected, rtol=1e-5, atol=1e-4)
        assert vis == pytest.approx(expected_vis, abs=1e-5)


def test_letterbox_placement_fits_and_centres() -> None:
    placement = letterbox_placement((100, 200), (300, 300))
    assert placement.scaled_hw == (150, 300)
    assert placement.offset_xy == (0, 75)
    assert placement.region_xyxy == (0, 75, 300, 225)


def test_render_identity_returns_the_source_itself_and_letterbox_a_new_canvas() -> None:
    src = np.full((20, 30, 3), 7, np.uint8)
    assert render(src, identity_placement((20, 30)), (20, 30), 0, cv2.INTER_LINEAR) is src
    out = render(src, letterbox_placement((20, 30), (40, 40)), (40, 40), 114, cv2.INTER_NEAREST)
    assert out.shape == (40, 40, 3)
    assert (out[:6] == 114).all() and (out[7:33] == 7).all() and (out[34:] == 114).all()


def test_paste_at_scale_one_is_an_exact_copy_of_the_visible_part() -> None:
    src = np.arange(12 * 10, dtype=np.uint8).reshape(12, 10)
    placement = Placement((12, 10), (12, 10), (-3, 4), (0, 4, 7, 16))
    out = paste_all([src], [placement], (16, 16), 255, cv2.INTER_LINEAR)
    np.testing.assert_array_equal(out[4:16, 0:7], src[:, 3:10])
    assert (out[:4] == 255).all() and (out[:, 7:] == 255).all()


def test_paste_renders_a_region_as_the_full_resize_would() -> None:
    rng = np.random.default_rng(1)
    src = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    full = cv2.resize(src, (96, 72), interpolation=cv2.INTER_LINEAR)
    placement = Placement((48, 64), (72, 96), (-20, -10), (0, 0, 50, 40))
    out = paste_all([src], [placement], (40, 50), 0, cv2.INTER_LINEAR)
    assert np.abs(out.astype(int) - full[10:50, 20:70]).max() <= 1


@pytest.mark.parametrize("channels", [None, 1, 5])
def test_paste_keeps_channel_layout(channels: int | None) -> None:
    shape = (30, 40) if channels is None else (30, 40, channels)
    src = np.ones(shape, np.float32)
    out = paste_all([src], [letterbox_placement((30, 40), (50, 50))], (50, 50), 0.5, cv2.INTER_LINEAR)
    assert out.shape == (50, 50, *shape[2:]) and out.dtype == np.float32


def test_place_keypoints_moves_scales_and_reports_visibility() -> None:
    placement = Placement((10, 10), (20, 20), (5, 0), (5, 0, 15, 20))
    keypoints = np.array([[1.0, 1.0, 0, 0.3, 2.0, 9], [6.0, 1.0, 0, 0, 1.0, 8]])
    out, visible = place_keypoints(keypoints, placement)
    np.testing.assert_allclose(out, [[7, 2, 0, 0.3, 4, 9], [17, 2, 0, 0, 2, 8]])
    np.testing.assert_array_equal(visible, [True, False])
    assert keypoints[0, 0] == 1.0


@pytest.mark.parametrize("interpolation", [cv2.INTER_NEAREST, cv2.INTER_LINEAR, cv2.INTER_CUBIC])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.uint16])
@pytest.mark.parametrize("channels", [None, 1, 3, 5])
def test_resize_and_warp_paths_render_the_same_region(
    monkeypatch: pytest.MonkeyPatch,
    interpolation: int,
    dtype: type,
    channels: int | None,
) -> None:
    """A large region goes through cv2.resize, a small one through cv2.warpAffine: same map, same pixels."""
    from detmix.functional import placement as module

    rng = np.random.default_rng(3)
    shape = (37, 53) if channels is None else (37, 53, channels)
    src = rng.integers(0, 256, shape).astype(dtype)
    placement = Placement((37, 53), (61, 90), (-7, 5), (0, 5, 83, 66))
    rendered = {}
    for name, advantage in (("resize", 10**9), ("warp", 0)):
        monkeypatch.setattr(module, "RESIZE_ADVANTAGE", advantage)
        rendered[name] = paste_all([src], [placement], (70, 90), 0, interpolation).astype(np.float64)
    difference = np.abs(rendered["resize"] - rendered["warp"])
    assert difference.max() <= (0 if interpolation == cv2.INTER_NEAREST else 1.0), difference.max()
    assert rendered["resize"].shape == (70, 90, *shape[2:])


@pytest.mark.parametrize(("src_side", "scaled_side"), [(2, 5), (2, 7), (36, 43), (40, 90), (64, 48), (9, 9 * 3)])
def test_nearest_takes_the_source_pixel_under_each_centre_whatever_the_region(src_side: int, scaled_side: int) -> None:
    """Centres on a pixel boundary (even sides) go to the pixel starting there, for a whole region or a window of it.

    OpenCV's nearest resize and warp break such ties differently, so an image rendered over a
    large region and its masks over small windows would take different source pixels.
    """
    from fractions import Fraction

    src = np.arange(src_side * src_side, dtype=np.uint16).reshape(src_side, src_side)  # a dtype cv2.resize takes
    expected_index = [min(src_side - 1, int(Fraction(2 * i + 1, 2) * Fraction(src_side, scaled_side))) for i in range(scaled_side)]
    expected = src[np.ix_(expected_index, expected_index)]
    placement = Placement((src_side, src_side), (scaled_side, scaled_side), (0, 0), (0, 0, scaled_side, scaled_side))
    whole = paste_all([src], [placement], (scaled_side, scaled_side), 0, cv2.INTER_NEAREST)
    np.testing.assert_array_equal(whole, expected)
    window = (scaled_side // 3, scaled_side // 4, scaled_side // 3 + 2, scaled_side // 4 + 3)
    part = paste_all([src], [placement.restricted_to(window)], (scaled_side, scaled_side), 0, cv2.INTER_NEAREST)
    x0, y0, x1, y1 = window
    np.testing.assert_array_equal(part[y0:y1, x0:x1], expected[y0:y1, x0:x1])
