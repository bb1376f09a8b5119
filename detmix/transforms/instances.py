"""Instance masks through a Compose: which mask is each box's, and pairing them at the end.

Albumentations 2.0.8 keeps ``masks`` and ``bboxes`` apart: a transform that drops a box (a crop,
an ``Affine``, a ``BboxParams`` filter) keeps every mask. detmix binds them with one numeric
label field, :data:`MASK_INDICES`, declared in the Compose's ``BboxParams``: each box carries the
index of its mask in ``masks``, and a dropped box takes its index with it. The mixers read it to
find each box's mask, and hand out one mask per output box, in box order, with the indices
renumbered ``0 .. n-1``. :func:`pair_masks` ends a pipeline: it keeps the mask of each surviving
box, refits the box to its mask, and drops an object whose mask has no pixel left.

Without the field the pairing is positional (``masks[i]`` is box ``i``'s), which holds as long as
nothing before a mixer drops boxes; a count mismatch is then an error, never a silent shift.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import albumentations as A
import numpy as np
from albumentations.core.bbox_utils import convert_bboxes_from_albumentations, normalize_bboxes

from detmix import boxes as B
from detmix.transforms.size_rules import passes_size_rules

#: The label field that binds each box to its instance mask: the mask's index in ``masks``.
MASK_INDICES = "mask_indices"


def mask_index_column(label_fields: Sequence[str] | None) -> int | None:
    """Where :data:`MASK_INDICES` sits among the encoded label columns, counted from the end; None when not declared."""
    fields = list(label_fields or [])
    return fields.index(MASK_INDICES) - len(fields) if MASK_INDICES in fields else None


def checked_mask_stack(masks: Any, image_hw: tuple[int, int], where: str) -> Sequence[np.ndarray]:
    """``masks`` (a list of ``(H, W)`` arrays or an ``(N, H, W)`` array) after checking each is a
    uint8 plane of ``image_hw``; returned as given (an array, or a list of planes), never copied."""
    if isinstance(masks, np.ndarray):
        if masks.ndim != 3 or masks.shape[1:] != image_hw or masks.dtype != np.uint8:
            raise ValueError(f"{where}: expected masks as a uint8 (N, {image_hw[0]}, {image_hw[1]}) array, one mask per box, got {masks.dtype} of shape {masks.shape}")
        return masks
    if not isinstance(masks, (list, tuple)):
        raise TypeError(f"{where}: expected masks as a list of (H, W) uint8 arrays or an (N, H, W) array, got {type(masks).__name__}")
    for position, mask in enumerate(masks):
        if not isinstance(mask, np.ndarray) or mask.shape != image_hw or mask.dtype != np.uint8:
            got = f"{mask.dtype} of shape {mask.shape}" if isinstance(mask, np.ndarray) else type(mask).__name__
            raise ValueError(f"{where}: expected masks[{position}] as a uint8 {image_hw[0]} x {image_hw[1]} array (its image's size), got {got}")
    return masks


def numeric_indices(values: Any, where: str) -> np.ndarray:
    """``values`` of :data:`MASK_INDICES` as float64, refusing what is not numbers (strings would be label-encoded silently)."""
    array = np.asarray(values)
    if array.size and array.dtype.kind not in "iuf":
        raise ValueError(f"{where}: {MASK_INDICES} must hold integer mask indices, got {array.dtype} values {array.ravel()[:3].tolist()}")
    return array.astype(np.float64)


def masks_per_box(masks: Sequence[np.ndarray], boxes: np.ndarray, index_column: int | None, where: str) -> list[np.ndarray]:
    """The mask of each of ``boxes`` (Albumentations' encoded rows), in box order, as views.

    With ``index_column`` each box names its mask by index; without, ``masks[i]`` is box ``i``'s.
    """
    if index_column is None:
        if len(masks) != len(boxes):
            raise ValueError(
                f"{where}: {len(masks)} masks for {len(boxes)} boxes; give one instance mask per box, in box order, "
                f"or declare the label field '{MASK_INDICES}' in BboxParams so that a transform before this one may drop boxes",
            )
        return list(masks)
    indices = boxes[:, index_column] if len(boxes) else np.zeros(0)
    bad = (indices < 0) | (indices >= len(masks)) | (indices != np.round(indices))
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{where}: {MASK_INDICES}[{index}] = {indices[index]:g} is not the index of one of its {len(masks)} masks")
    values, counts = np.unique(indices, return_counts=True)
    if (counts > 1).any():
        raise ValueError(f"{where}: {MASK_INDICES} names mask {values[counts > 1][0]:g} for more than one box; each box has a mask of its own")
    return [masks[int(i)] for i in indices]


def pair_masks(result: Mapping[str, Any], transform: A.Compose) -> dict[str, Any]:
    """``result`` of ``transform`` with ``masks`` paired to ``bboxes``: one mask per box, same order.

    Takes the mask each surviving box names in :data:`MASK_INDICES` (the field is removed, the
    pairing now positional), refits each box to the tight extent of its mask's pixels (an
    ``Affine`` rotation or a crop leaves Albumentations' boxes looser than their objects), and
    drops the objects whose masks have no pixel left, or whose refit boxes fail the Compose's
    size rules (``min_area``, ``min_width``, ``min_height``, ``max_accept_ratio``), from the
    boxes, masks and every label field of ``transform``'s ``BboxParams``. ``masks`` comes back as
    a uint8 ``(N, H, W)`` array of 0/1 (nonzero is the object).

    Raises:
        ValueError: ``transform`` has no ``BboxParams`` declaring :data:`MASK_INDICES`; ``result``
            lacks ``masks``, :data:`MASK_INDICES` or a label field, or holds an index that names
            no mask (or one mask twice).
    """
    processor = transform.processors.get("bboxes")
    fields = list(processor.params.label_fields or []) if processor else []
    if MASK_INDICES not in fields:
        raise ValueError(f"pair_masks: the Compose's BboxParams must declare the label field '{MASK_INDICES}', got label_fields={fields}")
    return paired_masks(result, fields, processor.params.format, processor.params)


def paired_masks(result: Mapping[str, Any], label_fields: Sequence[str], bbox_format: str, size_rules: Any = None) -> dict[str, Any]:
    """:func:`pair_masks` without a Compose: ``label_fields`` (with :data:`MASK_INDICES`) and
    ``bbox_format`` are those of the boxes in ``result``, ``size_rules`` a ``BboxParams`` or None
    (detmix's datasets pair samples they load without a transform with it)."""
    missing = [key for key in ("image", "masks", *label_fields) if key not in result]
    if missing:
        raise ValueError(f"pair_masks: expected a Compose result with image, masks and the label fields {list(label_fields)}; missing {missing}")
    for field in label_fields:
        if len(result[field]) != len(result[MASK_INDICES]):
            raise ValueError(f"pair_masks: label field '{field}' has {len(result[field])} values for {len(result[MASK_INDICES])} boxes")
    image_hw = result["image"].shape[:2]
    stack = checked_mask_stack(result["masks"], image_hw, "pair_masks")
    indices = numeric_indices(result[MASK_INDICES], "pair_masks").reshape(-1, 1)
    chosen = masks_per_box(stack, indices, -1, "pair_masks")
    masks = np.stack(chosen) if chosen else np.zeros((0, *image_hw), np.uint8)
    np.minimum(masks, 1, out=masks)  # 0/1: Albumentations' cubic and Lanczos warps overshoot to 2
    pixel_boxes, counts = B.mask_boxes(masks)
    normalized = normalize_bboxes(pixel_boxes, image_hw)
    keep = counts > 0
    if size_rules is not None:  # judged as the Compose would judge the float32 boxes
        keep &= passes_size_rules(normalized.astype(np.float32), image_hw, size_rules)
    paired = dict(result)
    del paired[MASK_INDICES]
    paired["masks"] = masks[keep]
    normalized = normalized[keep]
    shape = {"height": image_hw[0], "width": image_hw[1]}
    converted = normalized if bbox_format == "albumentations" or not len(normalized) else convert_bboxes_from_albumentations(normalized, bbox_format, shape)
    paired["bboxes"] = converted.astype(np.float32)
    for field in label_fields:
        if field != MASK_INDICES:
            paired[field] = _select(result[field], keep)
    return paired


def _select(values: Any, keep: np.ndarray) -> Any:
    """The kept entries of one label field, in the container it came in (a list stays a list)."""
    if isinstance(values, np.ndarray):
        return values[keep]
    return [value for value, kept in zip(values, keep) if kept]

