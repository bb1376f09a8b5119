"""Box format conversion and clipping for the data layer, through Albumentations' converters."""

from __future__ import annotations

import math

import numpy as np
from albumentations.core.bbox_utils import convert_bboxes_from_albumentations, convert_bboxes_to_albumentations


def convert_bboxes(bboxes: np.ndarray, source: str, target: str, image_hw: tuple[int, int]) -> np.ndarray:
    """``(N, 4)`` boxes from one Albumentations format to another, float32."""
    bboxes = np.asarray(bboxes, dtype=np.float32)
    if source == target or not len(bboxes):
        return bboxes.copy()
    shape = {"height": image_hw[0], "width": image_hw[1]}
    normalized = bboxes if source == "albumentations" else convert_bboxes_to_albumentations(bboxes, source, shape)
    converted = normalized if target == "albumentations" else convert_bboxes_from_albumentations(normalized, target, shape)
    return np.asarray(converted, dtype=np.float32)


#: Least width and height of a kept box, in pixels of the image as loaded: float32 coordinates
#: (records, Albumentations' normalized boxes) cannot keep a thinner box apart from a line.
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
