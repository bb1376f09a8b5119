"""Box format conversion and clipping for the data layer, exact to float64 rounding."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from albumentations.core.bbox_utils import convert_bboxes_from_albumentations, normalize_bboxes

BBOX_FORMATS = ("coco", "pascal_voc", "yolo", "albumentations")


def convert_bboxes(bboxes: np.ndarray, source: str, target: str, image_hw: tuple[int, int], dtype: npt.DTypeLike = np.float32) -> np.ndarray:
    """``(N, 4)`` boxes from one Albumentations format to another, computed in float64 and returned as ``dtype``.

    Albumentations' own ``convert_bboxes_to_albumentations`` works in float32, which moves a box
    of a 4000 px image by up to 2e-4 px; the normalization here is its ``normalize_bboxes``, in
    float64, so a dataset's boxes come back as annotated (``dtype=np.float64``) and the float32
    boxes the mixers and collates take are rounded once, at the end.
    """
    for argument, name in ((source, "source"), (target, "target")):
        if argument not in BBOX_FORMATS:
            raise ValueError(f"convert_bboxes: expected {name} format in {BBOX_FORMATS}, got {argument!r}")
    boxes = np.asarray(bboxes, dtype=np.float64)
    if source == target or not len(boxes):
        return boxes.astype(dtype)  # a new array even when the dtype is kept
    normalized = boxes if source == "albumentations" else normalized_corners(boxes, source, image_hw)
    converted = normalized if target == "albumentations" else convert_bboxes_from_albumentations(normalized, target, {"height": image_hw[0], "width": image_hw[1]})
    return np.asarray(converted, dtype=dtype)


def normalized_corners(boxes: np.ndarray, source: str, image_hw: tuple[int, int]) -> np.ndarray:
    """float64 ``(N, 4)`` boxes in ``source`` ("coco", "pascal_voc" or "yolo") as normalized ``x_min, y_min, x_max, y_max``."""
    start, size = boxes[:, :2], boxes[:, 2:4]
    if source == "yolo":  # already normalized: centre and size
        return np.hstack([start - size / 2, start + size / 2])
    corners = boxes if source == "pascal_voc" else np.hstack([start, start + size])
    return normalize_bboxes(corners, image_hw)


#: Least width and height of a kept box, in pixels of the image as loaded: float32 coordinates
#: (Albumentations' normalized boxes, the mixers' validated extras) cannot keep a thinner box apart from a line.
MIN_BOX_SIDE = 0.01


def clip_xywh(x: float, y: float, w: float, h: float, image_hw: tuple[int, int]) -> tuple[float, float, float, float] | None:
    """A COCO pixel box clipped to the image, or None when nothing of it is inside or it is not finite."""
    if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(w) and math.isfinite(h)):  # no generator: called per annotation
        return None
    x0, y0 = max(x, 0.0), max(y, 0.0)
    x1, y1 = min(x + w, float(image_hw[1])), min(y + h, float(image_hw[0]))
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1 - x0, y1 - y0
