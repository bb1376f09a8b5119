"""Copy-paste (Ghiasi et al., "Simple Copy-Paste", 2021): instances of one image pasted onto another.

The other image is scaled (its fit into the primary times a jitter) and put at a random offset;
the chosen instances' masked pixels are pasted over the primary in box order, later ones on top.
Every object loses the pixels pasted over it: the primary's to all pasted instances, a pasted
instance to those pasted after it. Geometry is a :class:`~detmix.functional.placement.Placement`,
masks are :mod:`detmix.functional.instances` planes.
"""

from __future__ import annotations

import random

import numpy as np

from detmix.functional.instances import PlacedInstances, Window
from detmix.functional.placement import Placement, paste, scaled_size


def sample_paste_placement(
    py_random: random.Random,
    src_hw: tuple[int, int],
    canvas_hw: tuple[int, int],
    scale_range: tuple[float, float],
) -> Placement:
    """Scale ``src_hw`` to fit ``canvas_hw`` (aspect kept) times a jitter from ``scale_range``, at a random offset.

    The offset is uniform over the positions where the scaled source covers as much of the
    canvas as it can: inside the canvas when smaller, covering it when larger.
    """
    jitter = py_random.uniform(*scale_range) if scale_range[0] != scale_range[1] else scale_range[0]
    fit = min(canvas_hw[0] / src_hw[0], canvas_hw[1] / src_hw[1])
    scaled_h, scaled_w = scaled_size(src_hw, fit * jitter)
    slack_x, slack_y = canvas_hw[1] - scaled_w, canvas_hw[0] - scaled_h
    offset_x = py_random.randint(min(0, slack_x), max(0, slack_x))
    offset_y = py_random.randint(min(0, slack_y), max(0, slack_y))
    region = (max(0, offset_x), max(0, offset_y), min(canvas_hw[1], offset_x + scaled_w), min(canvas_hw[0], offset_y + scaled_h))
    return Placement(src_hw, (scaled_h, scaled_w), (offset_x, offset_y), region)


def occlude_pasted(instances: PlacedInstances, first_pasted: int) -> tuple[np.ndarray, Window]:
    """Clear from every plane the pixels pasted over it; return the pasted pixels and their window.

    Rows from ``first_pasted`` on are pasted instances, in paste order; the rows before are the
    primary's objects. Returns ``(pasted, window)``: a bool canvas of every pasted pixel, and the
    window holding them all (empty when nothing was pasted).
    """
    masks, windows = instances.masks, instances.windows
    pasted = np.zeros(masks.shape[1:], bool)
    covered = windows[first_pasted:]
    covered = covered[(covered[:, 2] > covered[:, 0]) & (covered[:, 3] > covered[:, 1])]
    if not len(covered):
        return pasted, (0, 0, 0, 0)
    for row in reversed(range(first_pasted, len(masks))):  # the last pasted is on top of all
        x0, y0, x1, y1 = windows[row]
        plane, above = masks[row, y0:y1, x0:x1], pasted[y0:y1, x0:x1]
        shows = plane != 0
        plane[above] = 0
        above |= shows
    for row in range(first_pasted):
        x0, y0, x1, y1 = windows[row]
        masks[row, y0:y1, x0:x1][pasted[y0:y1, x0:x1]] = 0
    window = (*covered[:, :2].min(axis=0), *covered[:, 2:].max(axis=0))
    return pasted, tuple(int(v) for v in window)


def paste_pixels(
    primary: np.ndarray,
    other: np.ndarray,
    placement: Placement,
    pasted: np.ndarray,
    window: Window,
    interpolation: int,
) -> np.ndarray:
    """A copy of ``primary`` showing ``other`` (as placed) wherever ``pasted`` is set.

    Only ``window`` of ``other`` is rendered.
    """
    out = primary.copy()
    x0, y0, x1, y1 = window
    if x1 <= x0 or y1 <= y0:
        return out
    layer = np.empty_like(primary)
    paste(layer, other, placement.restricted_to(window), interpolation)
    np.copyto(out[y0:y1, x0:x1], layer[y0:y1, x0:x1], where=_broadcastable(pasted[y0:y1, x0:x1], primary.ndim))
    return out


def _broadcastable(where: np.ndarray, ndim: int) -> np.ndarray:
    """A 2-D ``where`` made to broadcast over an image's channels."""
    return where[..., None] if ndim == 3 else where
