"""MixUp for detection: a weighted blend of two images that keeps both label sets.

The other image is letterboxed into the primary's size (used as is when the sizes match), so
its boxes move by one scale and offset; nothing is cropped and every box stays whole.
"""

from __future__ import annotations

import cv2
import numpy as np

from detmix.functional.placement import Placement, identity_placement, place_all_bboxes

#: lambda is kept inside [LAMBDA_EPS, 1 - LAMBDA_EPS] so both images always contribute.
LAMBDA_EPS = 1e-6


def sample_mixup_lambda(rng: np.random.Generator, alpha: float, beta: float) -> float:
    """Draw the primary's weight from ``Beta(alpha, beta)``, strictly inside ``(0, 1)``."""
    return float(np.clip(rng.beta(alpha, beta), LAMBDA_EPS, 1.0 - LAMBDA_EPS))


def mixup_image(primary: np.ndarray, other: np.ndarray, lam: float) -> np.ndarray:
    """``lam * primary + (1 - lam) * other`` in the images' dtype (uint8 rounded and saturated).

    ``other`` must already have the primary's shape (see ``placement.render``).
    """
    mixed = cv2.addWeighted(primary, lam, other, 1.0 - lam, 0.0)
    return mixed.reshape(primary.shape)


def mixup_mask(primary: np.ndarray, other: np.ndarray, lam: float) -> np.ndarray:
    """Label map of the blend: each image's non-zero labels, the heavier image winning overlaps."""
    other_wins = (other != 0) & ((primary == 0) | (lam < 0.5))
    return np.where(other_wins, other, primary)


def mixup_bboxes(
    primary: np.ndarray,
    other: np.ndarray,
    placement: Placement,
    image_hw: tuple[int, int],
    lam: float,
    weight_column: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel boxes of both images on the primary's canvas, primary's first, and their visibility.

    The other's boxes move by its letterbox ``placement``. With ``weight_column`` (an index into
    the label columns, counted from the end), that column becomes ``lam`` for the primary's
    boxes and ``1 - lam`` for the other's.
    """
    boxes, visibility = place_all_bboxes([primary, other], [identity_placement(image_hw), placement])
    if weight_column is not None:
        boxes[:, weight_column] = np.repeat([lam, 1.0 - lam], [len(primary), len(other)])
    return boxes, visibility
