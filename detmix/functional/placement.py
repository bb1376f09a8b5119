"""Placing a source image on an output canvas: the geometry every mixing transform shares.

A :class:`Placement` says that a source of size ``src_hw`` is resized to ``scaled_hw``, its
top-left corner put at ``offset_xy`` on the canvas, and that only ``region_xyxy`` of the canvas
shows it. Rendering touches only that region (one affine warp, or a plain copy at scale 1), and
boxes and keypoints follow the very same map, so pixels and annotations cannot disagree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import cv2
import numpy as np
from detmix import boxes as B

Fill = float | Sequence[float]
#: Channels one cv2.warpAffine call handles with every interpolation.
MAX_WARP_CHANNELS = 4
#: How many times more a cv2.warpAffine costs per output pixel than a cv2.resize (OpenCV 5, one
#: thread, bilinear: about 7 ns against 1.7): resizing the whole source and copying the region
#: out is cheaper while the region is more than this fraction of the scaled source.
RESIZE_ADVANTAGE = 4
#: Dtypes whose resize and warp agree (within a step): the warp interpolates int16 in 1/32
#: fixed-point steps, hundreds of steps off the resize, so int16 (like int8 and int32) always warps.
RESIZE_DTYPES = (np.uint8, np.uint16, np.float32)
#: Interpolations whose cv2.resize gives what the warp gives, within one step of uint8
#: rounding. Lanczos stays a warp: OpenCV's two Lanczos kernels differ by several steps. Nearest
#: is neither: OpenCV's resize and warp (and its resize across versions) break ties between two
#: source pixels differently, so :func:`paste` looks nearest pixels up itself, one rule for all.
RESIZE_FLAGS = {cv2.INTER_LINEAR: cv2.INTER_LINEAR, cv2.INTER_CUBIC: cv2.INTER_CUBIC}


class Placement(NamedTuple):
    """Where one source lands on the canvas (all integers, canvas pixels)."""

    src_hw: tuple[int, int]
    scaled_hw: tuple[int, int]
    offset_xy: tuple[int, int]
    region_xyxy: tuple[int, int, int, int]

    @property
    def scale_xy(self) -> tuple[float, float]:
        """Per-axis scale from source to canvas pixels."""
        return self.scaled_hw[1] / self.src_hw[1], self.scaled_hw[0] / self.src_hw[0]

    @property
    def is_empty(self) -> bool:
        """True when the region shows nothing of the source."""
        x0, y0, x1, y1 = self.region_xyxy
        return x1 <= x0 or y1 <= y0

    def source_rect(self, reach: int = 0) -> tuple[int, int, int, int]:
        """The source pixels the region shows (``x0, y0, x1, y1``), ``reach`` more on each side, inside the source."""
        x0, y0, x1, y1 = self.region_xyxy
        (sx, sy), (ox, oy) = self.scale_xy, self.offset_xy
        height, width = self.src_hw
        return (
            min(width, max(0, math.floor((x0 - ox) / sx) - reach)),
            min(height, max(0, math.floor((y0 - oy) / sy) - reach)),
            min(width, max(0, math.ceil((x1 - ox) / sx) + reach)),
            min(height, max(0, math.ceil((y1 - oy) / sy) + reach)),
        )

    def restricted_to(self, rect_xyxy: tuple[int, int, int, int]) -> Placement:
        """The same placement showing only its region's overlap with ``rect_xyxy``."""
        x0, y0, x1, y1 = self.region_xyxy
        rx0, ry0, rx1, ry1 = rect_xyxy
        nx0, ny0 = max(x0, rx0), max(y0, ry0)
        region = (nx0, ny0, max(nx0, min(x1, rx1)), max(ny0, min(y1, ry1)))
        return self._replace(region_xyxy=region)


def scaled_size(src_hw: tuple[int, int], scale: float) -> tuple[int, int]:
    """``src_hw`` times ``scale``, rounded, at least one pixel per side."""
    return max(1, round(src_hw[0] * scale)), max(1, round(src_hw[1] * scale))


def identity_placement(image_hw: tuple[int, int]) -> Placement:
    """A source shown as is on a canvas of its own size."""
    return Placement(image_hw, image_hw, (0, 0), (0, 0, image_hw[1], image_hw[0]))


def letterbox_placement(src_hw: tuple[int, int], canvas_hw: tuple[int, int]) -> Placement:
    """Fit ``src_hw`` inside ``canvas_hw`` with one aspect-keeping scale, centred."""
    scale = min(canvas_hw[0] / src_hw[0], canvas_hw[1] / src_hw[1])
    scaled_h, scaled_w = scaled_size(src_hw, scale)
    scaled_h, scaled_w = min(scaled_h, canvas_hw[0]), min(scaled_w, canvas_hw[1])
    x0, y0 = (canvas_hw[1] - scaled_w) // 2, (canvas_hw[0] - scaled_h) // 2
    return Placement(src_hw, (scaled_h, scaled_w), (x0, y0), (x0, y0, x0 + scaled_w, y0 + scaled_h))


def render(src: np.ndarray, placement: Placement, canvas_hw: tuple[int, int], fill: Fill, interpolation: int) -> np.ndarray:
    """``src`` alone on a canvas of ``canvas_hw``; the source itself when the placement is the identity."""
    if placement == identity_placement(canvas_hw):
        return src
    return paste_all([src], [placement], canvas_hw, fill, interpolation)


def paste_all(
    sources: Sequence[np.ndarray],
    placements: Sequence[Placement],
    canvas_hw: tuple[int, int],
    fill: Fill,
    interpolation: int,
) -> np.ndarray:
    """A new canvas of ``canvas_hw``: each source pasted at its placement, ``fill`` where none shows.

    The placements' regions must not overlap (true of mosaic quadrants and of a single source),
    so they cover the canvas exactly when their areas add up to it; then nothing is filled.
    """
    canvas = np.empty((*canvas_hw, *sources[0].shape[2:]), dtype=sources[0].dtype)
    covered = sum(max(0, x1 - x0) * max(0, y1 - y0) for x0, y0, x1, y1 in (p.region_xyxy for p in placements))
    if covered < canvas_hw[0] * canvas_hw[1]:
        canvas[...] = fill
    for src, placement in zip(sources, placements):
        paste(canvas, src, placement, interpolation)
    return canvas


def paste(canvas: np.ndarray, src: np.ndarray, placement: Placement, interpolation: int) -> None:
    """Render ``src`` into ``canvas`` (a canvas this package made) over ``placement.region_xyxy``.

    At scale 1 this is a slice copy; at ``INTER_NEAREST``, a look-up of the source pixel under
    each canvas pixel's centre (:func:`nearest_indices`), so that an image and its masks, each
    rendered over a region of its own, take the very same source pixels. Otherwise the region
    is rendered with the pixel-centre convention of ``cv2.resize``, by whichever costs less: ``cv2.resize`` of the whole source and
    a slice copy of the region (where the region is a large part of the scaled source), or one
    ``cv2.warpAffine`` of the region alone (edge pixels replicated) where it is a small part.
    Both follow the same map, so boxes and keypoints are the same either way.
    """
    if placement.is_empty:
        return
    x0, y0, x1, y1 = placement.region_xyxy
    ox, oy = placement.offset_xy
    if placement.scaled_hw == placement.src_hw:
        canvas[y0:y1, x0:x1] = src[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
        return
    scaled_h, scaled_w = placement.scaled_hw
    if interpolation == cv2.INTER_NEAREST:
        rows = nearest_indices(y0 - oy, y1 - oy, placement.src_hw[0], scaled_h)
        cols = nearest_indices(x0 - ox, x1 - ox, placement.src_hw[1], scaled_w)
        canvas[y0:y1, x0:x1] = src.take(rows, axis=0).take(cols, axis=1).reshape(canvas[y0:y1, x0:x1].shape)
        return
    resizable = src.dtype in RESIZE_DTYPES and interpolation in RESIZE_FLAGS
    if resizable and RESIZE_ADVANTAGE * (x1 - x0) * (y1 - y0) >= scaled_h * scaled_w:
        resized = cv2.resize(src, (scaled_w, scaled_h), interpolation=RESIZE_FLAGS[interpolation])
        canvas[y0:y1, x0:x1] = resized[y0 - oy : y1 - oy, x0 - ox : x1 - ox].reshape(canvas[y0:y1, x0:x1].shape)
        return
    sx, sy = placement.scale_xy
    warp = np.array([[sx, 0.0, 0.5 * sx - 0.5 + ox - x0], [0.0, sy, 0.5 * sy - 0.5 + oy - y0]])
    target = canvas[y0:y1, x0:x1]
    # OpenCV warps at most 4 channels at a time with some interpolations: go in slices of 4.
    for c in range(0, src.shape[2] if src.ndim == 3 else 1, MAX_WARP_CHANNELS):
        part = src[..., c : c + MAX_WARP_CHANNELS] if src.ndim == 3 else src
        rendered = cv2.warpAffine(part, warp, (x1 - x0, y1 - y0), flags=interpolation, borderMode=cv2.BORDER_REPLICATE)
        if src.ndim == 3:
            target[..., c : c + MAX_WARP_CHANNELS] = rendered.reshape(*target.shape[:2], -1)
        else:
            target[...] = rendered


def nearest_indices(start: int, stop: int, src_size: int, scaled_size: int) -> np.ndarray:
    """Index of the source pixel under the centre of scaled pixels ``start .. stop - 1`` (one axis).

    Scaled pixel ``i`` has its centre at ``(i + 0.5) * src_size / scaled_size`` in source pixels;
    found in exact integer arithmetic. A centre on the boundary of two pixels lies in the one
    that starts there (pixel ``k`` spans ``[k, k + 1)``), so there is no tie to break.
    """
    scaled = np.arange(start, stop, dtype=np.int64)
    return np.minimum((2 * scaled + 1) * src_size // (2 * scaled_size), src_size - 1)


def place_bboxes(bboxes: np.ndarray, placement: Placement) -> tuple[np.ndarray, np.ndarray]:
    """Map pixel boxes of the source onto the canvas and clip them to the placement's region.

    Args:
        bboxes: ``(N, 4 + k)`` boxes in source pixels.
        placement: where the source lands.

    Returns:
        ``(boxes, visibility)``: ``(N, 4 + k)`` boxes in canvas pixels clipped to the region, same
        dtype, and the visible fraction of each box's whole area at canvas scale, shape ``(N,)``.
    """
    return place_all_bboxes([bboxes], [placement])


def place_keypoints(keypoints: np.ndarray, placement: Placement) -> tuple[np.ndarray, np.ndarray]:
    """Map pixel keypoints (Albumentations' ``x, y, z, angle, scale, ...``) onto the canvas.

    Returns the moved keypoints (their ``scale`` column grown by the larger axis scale, as
    Albumentations' resize does) and a mask of those that land inside the placement's region.
    """
    sx, sy = placement.scale_xy
    out = keypoints.copy()
    out[:, 0] = keypoints[:, 0] * sx + placement.offset_xy[0]
    out[:, 1] = keypoints[:, 1] * sy + placement.offset_xy[1]
    out[:, 4] = keypoints[:, 4] * max(sx, sy)
    return out, B.points_in_region(out, placement.region_xyxy)


def place_all_bboxes(bboxes: Sequence[np.ndarray], placements: Sequence[Placement]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`place_bboxes` for each source, in one vectorised pass, concatenated in source order."""
    counts = [len(b) for b in bboxes]
    whole = B.scale_offset_boxes(
        np.concatenate(bboxes),
        np.repeat([p.scale_xy for p in placements], counts, axis=0),
        np.repeat([p.offset_xy for p in placements], counts, axis=0),
    )
    visible = B.clip_boxes(whole, np.repeat([p.region_xyxy for p in placements], counts, axis=0))
    return visible, B.visible_fraction(visible, whole)


def place_all_keypoints(keypoints: Sequence[np.ndarray], placements: Sequence[Placement]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`place_keypoints` for each source, concatenated in source order."""
    placed = [place_keypoints(k, p) for k, p in zip(keypoints, placements)]
    return np.concatenate([k for k, _ in placed]), np.concatenate([v for _, v in placed])
