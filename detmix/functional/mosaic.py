"""Mosaic geometry: four sources around a centre point, YOLOv5/YOLOv8 layout.

The primary fills the top-left quadrant with its bottom-right corner at the centre; the three
extras fill top-right, bottom-left and bottom-right, each touching the centre with its nearest
corner. Every source is scaled so its long side equals the output's long side (aspect kept) and
shows only the part its quadrant covers. Rendering and box math are the shared placement kernels.
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


def mosaic_placements(
    sources_hw: list[tuple[int, int]],
    target_hw: tuple[int, int],
    center_xy: tuple[int, int],
) -> list[Placement]:
    """Placements of four sources (primary first) in the quadrants around ``center_xy``.

    Args:
        sources_hw: ``(height, width)`` of the four sources, in quadrant order.
        target_hw: the output size.
        center_xy: the centre in output pixels, inside ``[0, width] x [0, height]``.

    Returns:
        One :class:`Placement` per source; a quadrant of zero size shows nothing.
    """
    height, width = target_hw
    long_side = max(target_hw)
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
