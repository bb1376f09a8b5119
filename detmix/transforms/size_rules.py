"""The Compose's size rules (``min_area``, ``min_width``, ``min_height``, ``max_accept_ratio``) as a mask.

Albumentations filters the boxes a transform returns by these rules again, in their returned
dtype. A mixer or :func:`~detmix.transforms.instances.pair_masks` that must know which boxes
survive (to keep each mask with its box) asks the very same ``filter_bboxes`` about the very
same values, so the two verdicts cannot differ at a boundary.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from albumentations.core.bbox_utils import filter_bboxes


def has_size_rules(params: Any) -> bool:
    """Whether ``BboxParams`` ``params`` set any size rule."""
    return bool(params.min_area or params.min_width or params.min_height or params.max_accept_ratio is not None)


def passes_size_rules(normalized: np.ndarray, canvas_hw: tuple[int, int], params: Any) -> np.ndarray:
    """Which of ``normalized`` (Albumentations' format, in the dtype they are returned in) Albumentations'
    ``filter_bboxes`` keeps under ``params``' size rules; all of them when there are none."""
    if not has_size_rules(params) or not len(normalized):
        return np.ones(len(normalized), dtype=bool)
    tagged = np.empty((len(normalized), 5), dtype=normalized.dtype)
    tagged[:, :4] = normalized[:, :4]
    tagged[:, 4] = np.arange(len(normalized))  # exact in float32 below 2**24 boxes
    survivors = filter_bboxes(
        tagged,
        {"height": canvas_hw[0], "width": canvas_hw[1]},
        min_area=params.min_area,
        min_width=params.min_width,
        min_height=params.min_height,
        max_accept_ratio=params.max_accept_ratio,
    )
    keep = np.zeros(len(normalized), dtype=bool)
    if len(survivors):  # Albumentations returns (0, 4) when none is left
        keep[survivors[:, 4].astype(int)] = True
    return keep
