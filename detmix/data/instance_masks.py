"""Instance masks of a dataset's objects (``masks="instance"``): one uint8 0/1 plane per box, drawn on demand.

Masks are never stored in a dataset's cache or pool (a sample's stack takes ``N x H x W``
bytes, and would crowd the images out): they are drawn from the annotations each time a sample,
or an extra whose mixer fires, needs them. Every mask is drawn at the image's loaded size, in
its upright orientation, with one convention, the pixel-centre rule: a pixel belongs to an
object when its centre lies inside the object's outline.

- Polygons (COCO's, and YOLO's segment rows) are drawn by pycocotools' rasterizer, which follows
  that rule to within 0.15 px (it places vertices on a 1/5 px grid). OpenCV's ``fillPoly``,
  even at 1/256 px, inks every pixel an edge passes through: up to a pixel more on each side.
- RLEs are decoded, and resampled to the loaded size at each pixel's centre.
- An object without a segmentation (a COCO annotation without one, a YOLO box row) is masked by
  its box: the pixels whose centres lie in it, ``x0 < x + 0.5 <= x1`` as pycocotools breaks ties
  (so a polygon tracing a box draws the box's mask), and at least the pixel under the box's
  centre. So is an object whose segmentation covers no pixel centre at the loaded size (a sliver,
  or a small object under ``max_size``): every object of a record has a mask with a pixel.

A sample's boxes are then refit to their masks' extents (:func:`paired_sample`), so a box is
always its mask's tight pixel box, with or without a transform.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from detmix.data.segmentation import decode_segmentation
from detmix.transforms.instances import MASK_INDICES, paired_masks

#: How datasets report, at construction, the objects :func:`rasterize` masks by their box.
UNSEGMENTED = "objects without a segmentation, masked by their box (masks='instance')"
#: A COCO polygon list or RLE dict, in the upright file's pixels; None for an object without one.
Segmentation = Any


def box_extent(lo: float, hi: float, size: int) -> tuple[int, int]:
    """The pixels ``[start, stop)`` along one axis whose centres lie in ``(lo, hi]``, at least the one under its middle."""
    start, stop = math.floor(lo + 0.5), math.floor(hi + 0.5)
    if stop <= start:
        start = math.floor((lo + hi) / 2)
        stop = start + 1
    return min(max(start, 0), size - 1), min(max(stop, 1), size)


def draw_box(plane: np.ndarray, box_xywh: Sequence[float]) -> None:
    """Set the pixels of a COCO pixel box in ``plane`` by the pixel-centre rule (see :func:`box_extent`)."""
    x, y, w, h = (float(v) for v in box_xywh)
    x0, x1 = box_extent(x, x + w, plane.shape[1])
    y0, y1 = box_extent(y, y + h, plane.shape[0])
    plane[y0:y1, x0:x1] = 1


def rasterize(
    segmentations: Sequence[Segmentation],
    bboxes: np.ndarray,
    image_hw: tuple[int, int],
    scale_xy: tuple[float, float],
) -> np.ndarray:
    """The ``(N, H, W)`` uint8 0/1 instance masks of ``N`` objects on an ``image_hw`` image, new arrays.

    Args:
        segmentations: per object a segmentation :func:`~detmix.data.segmentation.segmentation_problem`
            accepted, in the upright file's pixels, or None.
        bboxes: ``(N, 4)`` COCO ``[x, y, w, h]`` boxes in loaded pixels, for the objects masked by their box.
        image_hw: the loaded ``(height, width)``.
        scale_xy: loaded pixels per file pixel (polygons are scaled by it; RLEs resampled).
    """
    masks = np.zeros((len(bboxes), *image_hw), np.uint8)
    for plane, segmentation, box in zip(masks, segmentations, bboxes):
        if segmentation:
            plane[:] = decode_segmentation(segmentation, image_hw, scale_xy)
        if not segmentation or not plane.any():
            draw_box(plane, box)
    return masks


def yolo_segmentation(polygon: np.ndarray | None, file_hw: tuple[int, int]) -> Segmentation:
    """A YOLO row's normalized ``(K, 2)`` polygon as a COCO polygon in the upright file's pixels (None stays None)."""
    if polygon is None:
        return None
    return [(polygon.astype(np.float64) * [file_hw[1], file_hw[0]]).ravel().tolist()]


def paired_sample(sample: dict[str, Any], label_field: str) -> dict[str, Any]:
    """A sample loaded without a transform (COCO boxes, ``masks`` one per box in order) with each
    box refit to its mask's extent, as :func:`detmix.pair_masks` ends a pipeline."""
    indexed = {**sample, MASK_INDICES: np.arange(len(sample["masks"]))}
    return paired_masks(indexed, [label_field, MASK_INDICES], "coco")
