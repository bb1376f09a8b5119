"""Vectorised box math in pixel coordinates: the one place detmix computes boxes.

Boxes are float arrays of shape ``(N, 4 + k)``: ``x_min, y_min, x_max, y_max`` in pixels of
a continuous image plane (pixel ``i`` spans ``[i, i + 1)``), then ``k`` extra columns (encoded
labels) that every function here passes through untouched. Normalized <-> pixel conversion is
Albumentations' (``normalize_bboxes`` / ``denormalize_bboxes``); these functions never convert.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from numpy.typing import ArrayLike

XYXY = tuple[float, float, float, float]


def box_areas(boxes: np.ndarray) -> np.ndarray:
    """Area of each box, zero for empty or inverted ones. Shape ``(N,)``."""
    widths = np.clip(boxes[:, 2] - boxes[:, 0], 0, None)
    heights = np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    return widths * heights


def scale_offset_boxes(boxes: np.ndarray, scale_xy: ArrayLike, offset_xy: ArrayLike) -> np.ndarray:
    """Map boxes by ``x' = x * scale_x + offset_x`` (same for y); returns a new array.

    ``scale_xy`` and ``offset_xy`` are one ``(x, y)`` pair for all boxes or an ``(N, 2)`` array.
    """
    out = boxes.copy()
    out[:, :4] = boxes[:, :4] * np.tile(scale_xy, 2) + np.tile(offset_xy, 2)
    return out


def clip_boxes(boxes: np.ndarray, region_xyxy: ArrayLike) -> np.ndarray:
    """Intersect each box with ``region_xyxy`` (one region or ``(N, 4)``); a box outside comes back empty."""
    region = np.asarray(region_xyxy, dtype=np.float64)
    out = boxes.copy()
    out[:, :4] = np.clip(boxes[:, :4], region[..., [0, 1, 0, 1]], region[..., [2, 3, 2, 3]])
    return out


def visible_fraction(visible: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """Visible area over whole area per box; 0 where the whole box has no area."""
    whole_area = box_areas(whole)
    return np.divide(box_areas(visible), whole_area, out=np.zeros_like(whole_area), where=whole_area > 0)


def subtract_rect(boxes: np.ndarray, rect_xyxy: XYXY) -> tuple[np.ndarray, np.ndarray]:
    """What stays of each box when ``rect_xyxy`` is painted over it.

    Returns ``(tight, fraction)``: ``tight`` is the bounding box of ``box minus rect`` (a box
    shrinks only where the rect covers a whole side strip of it; a hole, a corner or a split
    keeps its extent), ``fraction`` the area left over the box's area (0 when fully covered).
    """
    covered = clip_boxes(boxes, rect_xyxy)
    fraction = 1.0 - visible_fraction(covered, boxes)
    x0, y0, x1, y1 = rect_xyxy
    spans_height = (y0 <= boxes[:, 1]) & (y1 >= boxes[:, 3])
    spans_width = (x0 <= boxes[:, 0]) & (x1 >= boxes[:, 2])
    tight = boxes.copy()
    # A side strip is covered when the rect spans the box's other axis and reaches over one edge.
    tight[:, 0] = np.where(spans_height & (x0 <= boxes[:, 0]) & (x1 > boxes[:, 0]), np.minimum(x1, boxes[:, 2]), tight[:, 0])
    tight[:, 2] = np.where(spans_height & (x1 >= boxes[:, 2]) & (x0 < boxes[:, 2]), np.maximum(x0, boxes[:, 0]), tight[:, 2])
    tight[:, 1] = np.where(spans_width & (y0 <= boxes[:, 1]) & (y1 > boxes[:, 1]), np.minimum(y1, boxes[:, 3]), tight[:, 1])
    tight[:, 3] = np.where(spans_width & (y1 >= boxes[:, 3]) & (y0 < boxes[:, 3]), np.maximum(y0, boxes[:, 1]), tight[:, 3])
    return tight, np.clip(fraction, 0.0, 1.0)


def points_in_region(points_xy: np.ndarray, region_xyxy: XYXY) -> np.ndarray:
    """Boolean mask of points inside the half-open region ``[x0, x1) x [y0, y1)``."""
    x0, y0, x1, y1 = region_xyxy
    x, y = points_xy[:, 0], points_xy[:, 1]
    return (x >= x0) & (x < x1) & (y >= y0) & (y < y1)


def mask_boxes(masks: np.ndarray | Sequence[np.ndarray], windows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(boxes, counts)``: the tight pixel box of each mask's nonzero pixels and their count.

    ``masks`` are uint8 ``(H, W)`` planes; ``boxes`` is ``(N, 4)`` float64 xyxy (all zero for an
    empty mask), ``counts`` ``(N,)`` int64. With ``windows`` (``(N, 4)`` integer xyxy, each
    plane known to be zero outside its window) only the windows are read.
    """
    boxes = np.zeros((len(masks), 4))
    counts = np.zeros(len(masks), np.int64)
    for row, plane in enumerate(masks):
        x0, y0, x1, y1 = (0, 0, plane.shape[1], plane.shape[0]) if windows is None else windows[row]
        if x1 <= x0 or y1 <= y0:
            continue
        view = plane[y0:y1, x0:x1]
        x, y, w, h = cv2.boundingRect(view)
        if w:
            boxes[row] = x0 + x, y0 + y, x0 + x + w, y0 + y + h
            counts[row] = cv2.countNonZero(view)
    return boxes, counts
