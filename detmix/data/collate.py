"""Collate functions for the two common detection training loops (torch needed, imported lazily).

Samples carry their boxes in the Compose's format (``sample["bbox_format"]``); both collates
convert through Albumentations' converters, so any Compose format works.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from detmix.data.formats import convert_bboxes


def _boxes(sample: dict[str, Any], target_format: str) -> np.ndarray:
    """The sample's boxes as an (N, 4) float32 array in ``target_format``, checked against its labels."""
    bboxes = np.asarray(sample["bboxes"], dtype=np.float32)
    if bboxes.size == 0:
        bboxes = bboxes.reshape(0, 4)
    if bboxes.ndim != 2 or bboxes.shape[1] != 4:
        raise ValueError(f"collate: expected bboxes of shape (N, 4), got {bboxes.shape} for image {sample.get('image_id')}")
    if len(bboxes) != len(sample["class_labels"]):
        raise ValueError(f"collate: {len(bboxes)} boxes but {len(sample['class_labels'])} class_labels for image {sample.get('image_id')}")
    return convert_bboxes(bboxes, sample.get("bbox_format", "coco"), target_format, sample["image"].shape[:2])


def _image_tensor(image: np.ndarray) -> Any:
    import torch

    if image.ndim != 3 or image.dtype != np.uint8:
        raise ValueError(f"collate: expected H x W x C uint8 images, got {image.dtype} of shape {image.shape}")
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))


def yolo_collate(batch: Sequence[dict[str, Any]]) -> tuple[Any, Any]:
    """``(images, targets)``: a B x C x H x W uint8 tensor and an N x 6 float32 tensor.

    Each target row is ``[batch_index, class, cx, cy, w, h]`` normalized to the image, the layout
    YOLOv5/Ultralytics-style trainers consume. All images must have one size.
    """
    import torch

    if not batch:
        raise ValueError("yolo_collate: got an empty batch")
    sizes = {sample["image"].shape for sample in batch}
    if len(sizes) > 1:
        raise ValueError(f"yolo_collate: images of one batch must share a shape, got {sorted(sizes)}; resize or pad them in the Compose")
    rows = []
    for batch_index, sample in enumerate(batch):
        boxes = _boxes(sample, "yolo")
        labels = np.asarray(sample["class_labels"], dtype=np.float32).reshape(-1, 1)
        rows.append(np.column_stack([np.full((len(boxes), 1), batch_index, np.float32), labels, boxes]))
    images = torch.stack([_image_tensor(sample["image"]) for sample in batch])
    return images, torch.from_numpy(np.concatenate(rows) if rows else np.zeros((0, 6), np.float32))


def torchvision_collate(batch: Sequence[dict[str, Any]]) -> tuple[list[Any], list[dict[str, Any]]]:
    """``(images, targets)``: lists of C x H x W uint8 tensors and of dicts with ``boxes``
    (float32 xyxy pixels), ``labels`` (int64) and ``image_id`` — what torchvision detection models take.
    """
    import torch

    images, targets = [], []
    for sample in batch:
        images.append(_image_tensor(sample["image"]))
        targets.append(
            {
                "boxes": torch.from_numpy(_boxes(sample, "pascal_voc")),
                "labels": torch.as_tensor(np.asarray(sample["class_labels"]), dtype=torch.int64).reshape(-1),
                "image_id": sample.get("image_id"),
            },
        )
    return images, targets
