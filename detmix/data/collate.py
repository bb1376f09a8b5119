"""Collate functions for the common detection and instance-segmentation training loops (torch
needed, imported lazily).

Samples carry their boxes in the Compose's format (``sample["bbox_format"]``, ``"coco"`` when
absent, as a dataset without a transform gives); the collates convert through Albumentations'
converters, so any Compose format works. Samples may carry instance masks under ``masks``: one
binary mask per box, in the boxes' order, as a uint8 or bool (N, H, W) array or a list of N (H, W)
arrays of the image's size (uint8 of 0 = background and 1 = object, or bool). All collates
check every sample on one path before laying the batch out, so a bad sample fails with its
position and image id instead of deep inside numpy or torch, or worse, reaching the model as a
target outside the image or a mask of another object.
"""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import cv2
import numpy as np

from detmix.data.formats import convert_bboxes

FORMATS = ("coco", "pascal_voc", "yolo", "albumentations")
#: How far (as a fraction of the image side) a box may reach past the border and still count as
#: float rounding; such a box is clipped into the image, anything further out is an error.
BORDER_TOLERANCE = 1e-4
#: Class indices (and torchvision's label offset) stay below this, so yolo_collate's float32 rows
#: hold them exactly.
CLASS_LIMIT = 2**24


class Checked(NamedTuple):
    """One sample after checking: its image, its boxes as clipped albumentations-format boxes, its
    labels and, when it carries them, its masks (the sample's own arrays: the layout copies them).
    """

    image_id: Any
    image: np.ndarray  # H x W x C uint8
    boxes: np.ndarray  # (N, 4) float32 normalized xyxy inside [0, 1], positive area
    labels: np.ndarray  # (N,) int64, 0 <= label < CLASS_LIMIT
    masks: list[np.ndarray] | None  # N arrays H x W, uint8 of 0/1 or bool; None without masks


def _as_array(value: Any, key: str, where: str, dtype: type | None = None) -> np.ndarray:
    """``value`` as a numpy array; a value numpy cannot take fails naming ``key``."""
    try:
        return np.asarray(value, dtype=dtype)
    except TypeError as error:  # e.g. a dict, or a CUDA tensor
        raise TypeError(f"{where}: expected {key} as an array or list of numbers, got {type(value).__name__}: {error}") from error
    except ValueError as error:  # e.g. strings or ragged rows
        raise ValueError(f"{where}: expected {key} as an array or list of numbers, got {value!r:.80}: {error}") from error


def _image(image: Any, where: str) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{where}: expected image as an H x W x C uint8 numpy array, got {type(image).__name__} (the collate makes the tensors; drop ToTensorV2)")
    if image.ndim != 3 or image.dtype != np.uint8 or 0 in image.shape:
        raise ValueError(f"{where}: expected image as an H x W x C uint8 array, got {image.dtype} of shape {image.shape}")
    return image


def _labels(raw: Any, where: str) -> np.ndarray:
    """Integer class indices as int64; integral floats (Albumentations returns numeric list labels as floats) pass."""
    labels = _as_array(raw, "class_labels", where)
    if labels.size == 0:
        return np.zeros(0, np.int64)
    if labels.ndim != 1:
        raise ValueError(f"{where}: expected class_labels of shape (N,), got {labels.shape}")
    if labels.dtype.kind not in "iuf":
        raise ValueError(f"{where}: expected class_labels as integer class indices, got {labels.dtype} values {labels[:3].tolist()} (map names to indices with dataset.classes)")
    bad = (labels < 0) | (labels >= CLASS_LIMIT)
    if labels.dtype.kind == "f":
        bad |= ~np.isfinite(labels) | (labels != np.round(labels))
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{where}: expected class_labels as integers in [0, {CLASS_LIMIT}), got {labels[index].item()!r} at position {index}")
    return labels.astype(np.int64)


def _boxes(sample: Mapping[str, Any], image_hw: tuple[int, int], count: int, where: str) -> np.ndarray:
    """The sample's boxes as clipped albumentations-format boxes; boxes beyond rounding outside the image or without area fail."""
    fmt = sample.get("bbox_format", "coco")
    if not isinstance(fmt, str) or fmt not in FORMATS:
        raise ValueError(f"{where}: expected bbox_format in {FORMATS}, got {fmt!r}")
    raw = _as_array(sample["bboxes"], "bboxes", where, np.float64)
    if raw.size == 0:
        raw = raw.reshape(0, 4)
    if raw.ndim != 2 or raw.shape[1] != 4:
        raise ValueError(f"{where}: expected bboxes of shape (N, 4), got {raw.shape}")
    if len(raw) != count:
        raise ValueError(f"{where}: {len(raw)} bboxes but {count} class_labels")
    with np.errstate(over="ignore", invalid="ignore"):  # huge or non-finite values fail below, by name
        normalized = convert_bboxes(raw, fmt, "albumentations", image_hw).astype(np.float64)
    outside = (normalized < -BORDER_TOLERANCE) | (normalized > 1 + BORDER_TOLERANCE)
    clipped = np.clip(normalized, 0, 1)
    empty = (clipped[:, 2] <= clipped[:, 0]) | (clipped[:, 3] <= clipped[:, 1])
    for bad, problem in (
        (~np.isfinite(raw).all(axis=1), "is not finite"),
        (outside.any(axis=1), f"reaches outside the {image_hw[1]} x {image_hw[0]} image by more than {BORDER_TOLERANCE:g} of its side"),
        (empty, "has no area in the image (inverted or zero size)"),
    ):
        if bad.any():
            index = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{where}: bboxes[{index}] = {raw[index].tolist()} ({fmt}) {problem}")
    return clipped.astype(np.float32)


def _masks(raw: Any, image_hw: tuple[int, int], count: int, where: str) -> list[np.ndarray]:
    """The sample's ``count`` masks as checked (H, W) arrays (its own, not copied): of the image's
    size, uint8 of 0/1 or bool. Values other than 0/1 fail rather than being thresholded: a 255 mask
    or a label map is the caller's to binarize, and guessing would hide a wrong mask source.
    """
    if isinstance(raw, (list, tuple)):
        items = [_as_array(mask, f"masks[{index}]", where) for index, mask in enumerate(raw)]
    else:
        array = _as_array(raw, "masks", where)
        if array.ndim != 3 or array.shape[1:] != image_hw:
            raise ValueError(f"{where}: expected masks as an (N, {image_hw[0]}, {image_hw[1]}) array (one mask per box, the image's H x W) or a list of N such 2-D arrays, got {type(raw).__name__} of shape {array.shape}")
        items = list(array)
    if len(items) != count:
        raise ValueError(f"{where}: {len(items)} masks but {count} bboxes; expected one mask per box, in the boxes' order")
    for index, mask in enumerate(items):
        if mask.shape != image_hw:
            raise ValueError(f"{where}: expected masks[{index}] of the image's shape {image_hw} (H, W), got {mask.shape}")
        if mask.dtype not in (np.uint8, np.bool_):
            raise TypeError(f"{where}: expected masks[{index}] as uint8 (0/1) or bool, got {mask.dtype}")
        peak = int(mask.max()) if mask.dtype == np.uint8 else 1
        if peak > 1:
            raise ValueError(f"{where}: masks[{index}] holds the value {peak}; expected binary masks of 0 (background) and 1 (object): binarize them before the collate (e.g. mask > 127 for a 0/255 mask)")
    return items


def _fill_masks(masks: Iterable[np.ndarray], out: np.ndarray) -> np.ndarray:
    """Copy checked ``masks`` into the rows of the uint8 array ``out`` (bool becomes 0/1); returns ``out``.

    ``out`` is a numpy allocation handed to ``torch.from_numpy``: the masks are copied once, into
    memory the sample does not share, and for the same resident-memory reason as ``_channels_first``.
    """
    for mask, target in zip(masks, out):
        np.copyto(target, mask)
    return out


def check_batch(batch: Any, who: str, *, masks_required: bool = False) -> list[Checked]:
    """Every sample of ``batch`` checked, or the first problem as a ValueError / TypeError naming its
    position, image id and key.

    Masks are checked where samples carry them; all samples of a batch carry them or none, and with
    ``masks_required`` every sample must.
    """
    if isinstance(batch, Mapping) or not isinstance(batch, Sequence):
        raise TypeError(f"{who}: expected a list of sample dicts, got {type(batch).__name__} (DataLoader(batch_size=None) hands single samples)")
    keys = ("image", "bboxes", "class_labels", *(("masks",) if masks_required else ()))
    checked: list[Checked] = []
    for position, sample in enumerate(batch):
        if not isinstance(sample, Mapping):
            raise TypeError(f"{who}: sample {position}: expected a dict, got {type(sample).__name__}")
        where = f"{who}: sample {position} (image_id {sample.get('image_id')!r})"
        missing = [key for key in keys if key not in sample]
        if missing:
            raise ValueError(f"{where}: missing {missing}; expected the keys {', '.join(keys[:-1])} and {keys[-1]}")
        with_masks = "masks" in sample
        if checked and with_masks != (checked[0].masks is not None):
            raise ValueError(f"{where}: {'carries' if with_masks else 'carries no'} masks but sample 0 {'does not' if with_masks else 'does'}; all samples of a batch carry masks or none")
        image = _image(sample["image"], where)
        labels = _labels(sample["class_labels"], where)
        boxes = _boxes(sample, image.shape[:2], len(labels), where)
        masks = _masks(sample["masks"], image.shape[:2], len(labels), where) if with_masks else None
        checked.append(Checked(sample.get("image_id"), image, boxes, labels, masks))
    return checked


def _channels_first(images: Sequence[np.ndarray], out: np.ndarray) -> np.ndarray:
    """Write H x W x C ``images`` into the uint8 array ``out`` (N x C x H x W, its own memory); returns ``out``.

    ``cv2.split`` into the output planes de-interleaves with SIMD, about 4x faster than numpy's
    strided transpose copy, and filling one preallocated batch saves ``torch.stack`` 's second
    copy. The batch is a numpy allocation on purpose: in DataLoader workers, batches from
    ``torch.empty`` left each worker's resident memory about 300 MB higher (glibc keeps torch's
    freed large blocks), while numpy's are returned.
    """
    for image, target in zip(images, out):
        cv2.split(image, list(target))
    return out


def _yolo_layout(batch: Any, who: str, *, masks_required: bool = False) -> tuple[list[Checked], Any, Any]:
    """The checked samples of a one-size, non-empty ``batch`` and its YOLO ``(images, targets)`` tensors."""
    import torch

    if isinstance(batch, Sequence) and not batch:
        raise ValueError(f"{who}: got an empty batch")
    checked = check_batch(batch, who, masks_required=masks_required)
    sizes = {sample.image.shape for sample in checked}
    if len(sizes) > 1:
        raise ValueError(f"{who}: images of one batch must share a shape, got {sorted(sizes)}; resize or pad them in the Compose")
    rows = [
        np.column_stack(
            [
                np.full((len(sample.boxes), 1), batch_index, np.float32),
                sample.labels.astype(np.float32)[:, None],
                convert_bboxes(sample.boxes, "albumentations", "yolo", sample.image.shape[:2]),
            ],
        )
        for batch_index, sample in enumerate(checked)
    ]
    height, width, channels = checked[0].image.shape
    images = torch.from_numpy(_channels_first([sample.image for sample in checked], np.empty((len(checked), channels, height, width), np.uint8)))
    return checked, images, torch.from_numpy(np.concatenate(rows))


def yolo_collate(batch: Sequence[dict[str, Any]]) -> tuple[Any, Any]:
    """``(images, targets)``: a B x C x H x W uint8 tensor and an N x 6 float32 tensor.

    Each target row is ``[batch_index, class, cx, cy, w, h]`` normalized to the image, the layout
    YOLOv5/Ultralytics-style trainers consume; rows keep the batch's order (sample by sample, box
    by box). All images must have one size. Masks, where samples carry them, are checked and left
    out (``yolo_seg_collate`` keeps them).

    Raises:
        ValueError / TypeError: an empty batch, images of different shapes, or a bad sample (see
            ``check_batch``): missing keys, a non-uint8 image, non-integer or negative labels,
            non-finite boxes, boxes beyond rounding outside the image or without area, bad masks
            (as in ``yolo_seg_collate``).
    """
    _, images, targets = _yolo_layout(batch, "yolo_collate")
    return images, targets


def yolo_seg_collate(batch: Sequence[dict[str, Any]]) -> tuple[Any, Any, Any]:
    """``(images, targets, masks)``: ``yolo_collate`` 's two tensors and an N x H x W uint8 tensor
    of 0/1 whose row i is the mask of target row i.

    This is the per-instance layout of Ultralytics-style segmentation losses with
    ``overlap_mask=False``: ``batch_idx = targets[:, 0]``, ``cls = targets[:, 1:2]``, ``bboxes =
    targets[:, 2:]`` and ``masks = masks``. The masks are at the image's full size (such losses
    resample their prototypes to the masks' size) and are copied, never shared with the samples.

    Args:
        batch: sample dicts with ``image``, ``bboxes``, ``class_labels`` and ``masks`` (one binary
            mask per box, in the boxes' order: a uint8 or bool (N, H, W) array or a list of N
            (H, W) arrays, the image's H x W; an empty list or a (0, H, W) array without boxes),
            optionally ``bbox_format`` and ``image_id``.

    Raises:
        ValueError / TypeError: as ``yolo_collate``; a sample without ``masks``; a mask count other
            than the box count; masks not 2-D or of another H x W than the image; a mask dtype
            other than uint8 or bool; a uint8 mask holding values other than 0 and 1 (binarize
            them first: the collate does not threshold).
    """
    import torch

    checked, images, targets = _yolo_layout(batch, "yolo_seg_collate", masks_required=True)
    height, width = checked[0].image.shape[:2]
    out = np.empty((len(targets), height, width), np.uint8)
    return images, targets, torch.from_numpy(_fill_masks(itertools.chain.from_iterable(sample.masks or () for sample in checked), out))


def torchvision_collate(batch: Sequence[dict[str, Any]], *, label_offset: int = 1) -> tuple[list[Any], list[dict[str, Any]]]:
    """``(images, targets)``: lists of C x H x W uint8 tensors and of dicts with ``boxes``
    (float32 xyxy pixels), ``labels`` (int64) and ``image_id`` — what torchvision detection models
    take (scale images to float in [0, 1] before the model). Where samples carry ``masks``, each
    target also gets ``masks``: an N x H x W uint8 tensor of 0/1, row i the mask of box i, copied
    from the sample — what Mask R-CNN takes.

    Args:
        batch: sample dicts with ``image``, ``bboxes``, ``class_labels`` and optionally
            ``bbox_format``, ``image_id`` and ``masks`` (one binary mask per box, in the boxes'
            order: a uint8 or bool (N, H, W) array or a list of N (H, W) arrays, the image's
            H x W; all samples of a batch carry masks or none).
        label_offset: added to every class index. The default 1 keeps label 0 free for the
            background, as torchvision's detection models expect: build them with
            ``num_classes=len(dataset.classes) + 1``. For another offset, pass
            ``functools.partial(torchvision_collate, label_offset=0)`` as ``collate_fn``.

    Raises:
        TypeError: ``label_offset`` not an int; a sample or image of the wrong kind.
        ValueError: a negative ``label_offset``, or a bad sample (see ``check_batch``); masks on
            some samples of a batch but not all; bad masks (as in ``yolo_seg_collate``).
    """
    import torch

    if not isinstance(label_offset, numbers.Integral) or isinstance(label_offset, bool):
        raise TypeError(f"torchvision_collate: expected label_offset as an int, got {type(label_offset).__name__} {label_offset!r}")
    if not 0 <= label_offset < CLASS_LIMIT:
        raise ValueError(f"torchvision_collate: expected label_offset in [0, {CLASS_LIMIT}), got {label_offset}")
    images, targets = [], []
    for checked in check_batch(batch, "torchvision_collate"):
        height, width, channels = checked.image.shape
        images.append(torch.from_numpy(_channels_first([checked.image], np.empty((1, channels, height, width), np.uint8))[0]))
        target = {
            "boxes": torch.from_numpy(convert_bboxes(checked.boxes, "albumentations", "pascal_voc", checked.image.shape[:2])),
            "labels": torch.from_numpy(checked.labels + int(label_offset)),
            "image_id": checked.image_id,
        }
        if checked.masks is not None:
            target["masks"] = torch.from_numpy(_fill_masks(checked.masks, np.empty((len(checked.masks), height, width), np.uint8)))
        targets.append(target)
    return images, targets
