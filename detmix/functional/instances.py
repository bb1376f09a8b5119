"""Instance masks on an output canvas: each object's mask placed alone, then what covers it removed.

Every mixer's instance output is built the same way: each source's masks (one per box) are
placed with the source's :class:`~detmix.functional.placement.Placement`, each rendered only
over its object's own extent (a few pixels wider, for the interpolation's reach), into a stack
of one canvas-sized plane per object. A mixer that paints over objects (CutMix's rectangle,
CopyPaste's pasted instances) then clears the covered pixels of the objects beneath. The box of
an object is the extent of what is left of its mask, and its visible fraction is that mask's
pixel count over the whole object's count at the canvas scale.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import cv2
import numpy as np

from detmix.functional.placement import Placement, paste

#: Pixels a rendered mask may reach past its object's scaled extent: the support of the widest
#: interpolation kernel (Lanczos4 reads 4 source pixels on each side).
INTERPOLATION_REACH = 4
Window = tuple[int, int, int, int]


class PlacedInstances(NamedTuple):
    """Instance masks of several sources on one canvas, in source order, one plane per object."""

    masks: np.ndarray  # (N, H, W) uint8, 1 where the object shows, 0 elsewhere
    windows: np.ndarray  # (N, 4) int64 x0, y0, x1, y1: outside it a plane is all zero
    whole_areas: np.ndarray  # (N,) float64 pixel count of the whole object at the canvas scale


def place_instance_masks(
    sources: Sequence[np.ndarray],
    placements: Sequence[Placement],
    canvas_hw: tuple[int, int],
    interpolation: int,
) -> PlacedInstances:
    """Render each source's instance masks (``(n_i, h_i, w_i)`` uint8) at its placement.

    A mask is rendered only over its own extent on the canvas (within the placement's region),
    so the work follows the objects' sizes, not the number of objects times the canvas. Nonzero
    source pixels are the object; rendered planes are 0/1 (an overshooting kernel's 2 is 1).
    """
    total = sum(len(masks) for masks in sources)
    stack = np.zeros((total, *canvas_hw), np.uint8)
    windows = np.zeros((total, 4), np.int64)
    whole_areas = np.zeros(total)
    row = 0
    for masks, placement in zip(sources, placements):
        sx, sy = placement.scale_xy
        ox, oy = placement.offset_xy
        reach = 0 if placement.scaled_hw == placement.src_hw else INTERPOLATION_REACH
        # Only the source pixels the placement shows (and those the interpolation reads) matter.
        wx0, wy0, wx1, wy1 = placement.source_rect(reach) if not placement.is_empty else (0, 0, 0, 0)
        for mask in masks:
            if interpolation != cv2.INTER_NEAREST:  # interpolate membership: 0/255 and 0/1 masks alike
                mask = np.minimum(mask, 1)
            whole_areas[row] = cv2.countNonZero(mask) * sx * sy
            x, y, w, h = cv2.boundingRect(mask[wy0:wy1, wx0:wx1]) if wx1 > wx0 and wy1 > wy0 and whole_areas[row] else (0, 0, 0, 0)
            if w:
                x, y = x + wx0, y + wy0
                extent = (
                    math.floor(x * sx + ox) - reach,
                    math.floor(y * sy + oy) - reach,
                    math.ceil((x + w) * sx + ox) + reach,
                    math.ceil((y + h) * sy + oy) + reach,
                )
                shown = placement.restricted_to(extent)
                paste(stack[row], mask, shown, interpolation)
                windows[row] = shown.region_xyxy
                wx, wy, wx_end, wy_end = shown.region_xyxy
                window = stack[row, wy:wy_end, wx:wx_end]
                np.minimum(window, 1, out=window)  # 0/1 whatever the source values and the kernel's overshoot
            row += 1
    return PlacedInstances(stack, windows, whole_areas)


def clear_rect(instances: PlacedInstances, rows: slice, rect_xyxy: Window) -> None:
    """Clear ``rect_xyxy`` in the planes of ``rows`` (objects a rectangle was painted over)."""
    x0, y0, x1, y1 = rect_xyxy
    instances.masks[rows, y0:y1, x0:x1] = 0
