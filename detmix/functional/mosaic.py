"""Mosaic geometry: four sources around a centre point, YOLOv5/YOLOv8 layout.

The primary fills the top-left quadrant with its bottom-right corner at the centre; the three
extras fill top-right, bottom-left and bottom-right, each touching the centre with its nearest
corner. Every source is scaled so its long side equals the output's long side times the mosaic's
zoom (aspect kept) and
shows only the part its quadrant covers. Rendering and box math are the shared placement kernels.

A random zoom and shift of the whole mosaic (the scale/translate a YOLO recipe applies after its
mosaic) is folded into the same placements: each source is scaled once, straight to its final
size, and the centre moves with the zoom, so no second warp or larger canvas is ever made.
"""

from __future__ import annotations

import random

from detmix.functional.placement import Placement, scaled_size

#: For each quadrant (top-left, top-right, bottom-left, bottom-right): which side of the centre
#: the source extends to along x and y (-1: before the centre, +1: after it).
QUADRANT_SIDES_XY = ((-1, -1), (1, -1), (-1, 1), (1, 1))


def sample_mosaic_center(
    py_random: random.Random,
    target_hw: tuple[int, int],
    center_range: tuple[float, float],
) -> tuple[int, int]:
    """Draw the centre ``(x, y)`` in pixels, each axis uniform in ``center_range`` of the output."""
    height, width = target_hw
    return (
        round(py_random.uniform(*center_range) * width),
        round(py_random.uniform(*center_range) * height),
    )


def sample_mosaic_zoom(
    py_random: random.Random,
    target_hw: tuple[int, int],
    scale_range: tuple[float, float],
    translate: float,
) -> tuple[float, tuple[float, float]]:
    """Draw the mosaic's zoom (uniform in ``scale_range``) and shift (uniform in +-``translate`` of each side).

    Returns ``(scale, (shift_x, shift_y))``, the shift in output pixels. Nothing is drawn for
    a fixed scale and no translation, so the default Mosaic's random stream is unchanged.
    """
    scale = py_random.uniform(*scale_range) if scale_range[0] != scale_range[1] else scale_range[0]
    if not translate:
        return scale, (0.0, 0.0)
    height, width = target_hw
    return scale, (py_random.uniform(-translate, translate) * width, py_random.uniform(-translate, translate) * height)


def zoomed_center(
    center_xy: tuple[int, int],
    target_hw: tuple[int, int],
    scale: float,
    shift_xy: tuple[float, float],
) -> tuple[int, int]:
    """Where the mosaic centre lands after zooming by ``scale`` about the output's centre and shifting.

    May lie outside the output: then some quadrants show nothing.
    """
    middle_x, middle_y = target_hw[1] / 2, target_hw[0] / 2
    return (
        round(middle_x + scale * (center_xy[0] - middle_x) + shift_xy[0]),
        round(middle_y + scale * (center_xy[1] - middle_y) + shift_xy[1]),
    )


def mosaic_placements(
    sources_hw: list[tuple[int, int]],
    target_hw: tuple[int, int],
    center_xy: tuple[int, int],
    scale: float = 1.0,
) -> list[Placement]:
    """Placements of four sources (primary first) in the quadrants around ``center_xy``.

    Args:
        sources_hw: ``(height, width)`` of the four sources, in quadrant order.
        target_hw: the output size.
        center_xy: the centre in output pixels; outside the output, some quadrants are empty.
        scale: zoom of the whole mosaic: each source's long side is ``scale * max(target_hw)``.

    Returns:
        One :class:`Placement` per source; a quadrant of zero size shows nothing.
    """
    height, width = target_hw
    long_side = scale * max(target_hw)
    placements = []
    for src_hw, (side_x, side_y) in zip(sources_hw, QUADRANT_SIDES_XY):
        scaled_h, scaled_w = scaled_size(src_hw, long_side / max(src_hw))
        offset_x = center_xy[0] - scaled_w if side_x < 0 else center_xy[0]
        offset_y = center_xy[1] - scaled_h if side_y < 0 else center_xy[1]
        region = (
            max(0, offset_x),
            max(0, offset_y),
            min(width, offset_x + scaled_w),
            min(height, offset_y + scaled_h),
        )
        placements.append(Placement(src_hw, (scaled_h, scaled_w), (offset_x, offset_y), region))
    return placements
