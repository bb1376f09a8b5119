"""CutMix for detection: a rectangle of the (letterboxed) other image pasted into the primary.

The primary's boxes lose what the rectangle covers; the other's boxes keep only what lies inside
it. Both report the visible fraction of their whole area, which the transform thresholds.
"""

from __future__ import annotations

import math

import numpy as np

from detmix import boxes as B
from detmix.functional.placement import Fill, Placement, paste, place_bboxes, place_keypoints

Rect = tuple[int, int, int, int]


def sample_cut_rect(rng: np.random.Generator, image_hw: tuple[int, int], lam: float) -> Rect:
    """A rectangle of about ``(1 - lam)`` of the image area, centred uniformly, clipped to the image."""
    height, width = image_hw
    ratio = math.sqrt(1.0 - lam)
    cut_w, cut_h = round(width * ratio), round(height * ratio)
    center_x, center_y = rng.uniform(0, width), rng.uniform(0, height)
    x0, y0 = round(center_x - cut_w / 2), round(center_y - cut_h / 2)
    return max(0, x0), max(0, y0), min(width, x0 + cut_w), min(height, y0 + cut_h)


def cutmix_image(
    primary: np.ndarray,
    other: np.ndarray,
    placement: Placement,
    rect: Rect,
    fill: Fill,
    interpolation: int,
) -> np.ndarray:
    """The primary with ``rect`` showing the other image as placed by ``placement`` (``fill`` elsewhere)."""
    out = primary.copy()
    x0, y0, x1, y1 = rect
    out[y0:y1, x0:x1] = fill
    paste(out, other, placement.restricted_to(rect), interpolation)
    return out


def cutmix_bboxes(
    primary: np.ndarray,
    other: np.ndarray,
    placement: Placement,
    rect: Rect,
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel boxes of both images after the paste, primary's first, and their visible fractions.

    A primary box becomes the bounding box of what the rectangle leaves of it; an other box is
    mapped by ``placement`` and clipped to the rectangle.
    """
    kept, kept_fraction = B.subtract_rect(primary, rect)
    pasted, pasted_fraction = place_bboxes(other, placement.restricted_to(rect))
    return np.concatenate([kept, pasted]), np.concatenate([kept_fraction, pasted_fraction])


def cutmix_keypoints(
    primary: np.ndarray,
    other: np.ndarray,
    placement: Placement,
    rect: Rect,
) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints of both images, primary's first, and a mask of those still visible."""
    primary_visible = ~B.points_in_region(primary, rect)
    pasted, pasted_visible = place_keypoints(other, placement.restricted_to(rect))
    return np.concatenate([primary, pasted]), np.concatenate([primary_visible, pasted_visible])
