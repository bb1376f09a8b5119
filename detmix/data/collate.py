"""Collate functions for the two common detection training loops (torch needed, imported lazily).

Samples carry their boxes in the Compose's format (``sample["bbox_format"]``, ``"coco"`` when
absent, as a dataset without a transform gives); both collates convert through Albumentations'
converters, so any Compose format works. Both check every sample on one path before laying the
batch out, so a bad sample fails with its position and image id instead of deep inside numpy or
torch, or worse, reaching the model as a target outside the image.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
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
    """One sample after checking: its image, its boxes as clipped albumentations-format boxes, its labels."""

    image_id: Any
    image: np.ndarray  # H x W x C uint8
    boxes: np.ndarray  # (N, 4) float32 normalized xyxy inside [0, 1], positive area
    labels: np.ndarray  # (N,) int64, 0 <= label < CLASS_LIMIT


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


def check_batch(batch: Any, who: str) -> list[Checked]:
    """Every sample of ``batch`` checked, or the first problem as a ValueError / TypeError naming its
    position, image id and key.
    """
    if isinstance(batch, Mapping) or not isinstance(batch, Sequence):
        raise TypeError(f"{who}: expected a list of sample dicts, got {type(batch).__name__} (DataLoader(batch_size=None) hands single samples)")
    checked = []
    for position, sample in enumerate(batch):
        if not isinstance(sample, Mapping):
            raise TypeError(f"{who}: sample {position}: expected a dict, got {type(sample).__name__}")
        where = f"{who}: sample {position} (image_id {sample.get('image_id')!r})"
        missing = [key for key in ("image", "bboxes", "class_labels") if key not in sample]
        if missing:
            raise ValueError(f"{where}: missing {missing}; expected the keys image, bboxes and class_labels")
        image = _image(sample["image"], where)
        labels = _labels(sample["class_labels"], where)
        checked.append(Checked(sample.get("image_id"), image, _boxes(sample, image.shape[:2], len(labels), where), labels))
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


def yolo_collate(batch: Sequence[dict[str, Any]]) -> tuple[Any, Any]:
    """``(images, targets)``: a B x C x H x W uint8 tensor and an N x 6 float32 tensor.

    Each target row is ``[batch_index, class, cx, cy, w, h]`` normalized to the image, the layout
    YOLOv5/Ultralytics-style trainers consume. All images must have one size.

    Raises:
        ValueError / TypeError: an empty batch, images of different shapes, or a bad sample (see
            ``check_batch``): missing keys, a non-uint8 image, non-integer or negative labels,
            non-finite boxes, boxes beyond rounding outside the image or without area.
    """
    import torch

    if isinstance(batch, Sequence) and not batch:
        raise ValueError("yolo_collate: got an empty batch")
    checked = check_batch(batch, "yolo_collate")
    sizes = {sample.image.shape for sample in checked}
    if len(sizes) > 1:
        raise ValueError(f"yolo_collate: images of one batch must share a shape, got {sorted(sizes)}; resize or pad them in the Compose")
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
    return images, torch.from_numpy(np.concatenate(rows))


def torchvision_collate(batch: Sequence[dict[str, Any]], *, label_offset: int = 1) -> tuple[list[Any], list[dict[str, Any]]]:
    """``(images, targets)``: lists of C x H x W uint8 tensors and of dicts with ``boxes``
    (float32 xyxy pixels), ``labels`` (int64) and ``image_id`` — what torchvision detection models
    take (scale images to float in [0, 1] before the model).

    Args:
        batch: sample dicts with ``image``, ``bboxes``, ``class_labels`` and optionally
            ``bbox_format`` and ``image_id``.
        label_offset: added to every class index. The default 1 keeps label 0 free for the
            background, as torchvision's detection models expect: build them with
            ``num_classes=len(dataset.classes) + 1``. For another offset, pass
            ``functools.partial(torchvision_collate, label_offset=0)`` as ``collate_fn``.

    Raises:
        TypeError: ``label_offset`` not an int; a sample or image of the wrong kind.
        ValueError: a negative ``label_offset``, or a bad sample (see ``check_batch``).
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
        targets.append(
            {
                "boxes": torch.from_numpy(convert_bboxes(checked.boxes, "albumentations", "pascal_voc", checked.image.shape[:2])),
                "labels": torch.from_numpy(checked.labels + int(label_offset)),
                "image_id": checked.image_id,
            },
        )
    return images, targets
