"""Sample factories: a primary sample and extras for each transform, boxes in any format."""

from __future__ import annotations

from typing import Any

import albumentations as A
import cv2
import numpy as np

METADATA_KEYS = {"Mosaic": "mosaic_metadata", "MixUp": "mixup_metadata", "CutMix": "cutmix_metadata", "CopyPaste": "copypaste_metadata"}
EXTRAS_NEEDED = {"Mosaic": 3, "MixUp": 1, "CutMix": 1, "CopyPaste": 1}
#: Transforms that need instance masks (``masks``, one per box): make_call always gives them.
NEEDS_INSTANCE_MASKS = frozenset({"CopyPaste"})


def coco_to(boxes_coco: np.ndarray, fmt: str, image_hw: tuple[int, int]) -> np.ndarray:
    """Pixel COCO boxes in another Albumentations format."""
    x, y, w, h = boxes_coco.T
    height, width = image_hw
    if fmt == "coco":
        return boxes_coco.copy()
    if fmt == "pascal_voc":
        return np.stack([x, y, x + w, y + h], axis=1)
    if fmt == "albumentations":
        return np.stack([x / width, y / height, (x + w) / width, (y + h) / height], axis=1)
    if fmt == "yolo":
        return np.stack([(x + w / 2) / width, (y + h / 2) / height, w / width, h / height], axis=1)
    raise ValueError(fmt)


def box_masks(boxes_coco: np.ndarray, image_hw: tuple[int, int]) -> list[np.ndarray]:
    """One uint8 {0, 1} instance mask per pixel COCO box, in box order.

    Even boxes get the box snapped outward to whole pixels, odd ones the ellipse inscribed in it,
    so that a box and its mask's extent need not agree (the mixers refit boxes to masks).
    """
    masks = []
    for index, (x, y, w, h) in enumerate(np.asarray(boxes_coco, dtype=np.float64).reshape(-1, 4)):
        x0, y0, x1, y1 = int(np.floor(x)), int(np.floor(y)), int(np.ceil(x + w)), int(np.ceil(y + h))
        mask = np.zeros(image_hw, np.uint8)
        if index % 2 == 0:
            mask[y0:y1, x0:x1] = 1
        else:
            centre, axes = ((x0 + x1 - 1) // 2, (y0 + y1 - 1) // 2), (max(0, (x1 - x0 - 1) // 2), max(0, (y1 - y0 - 1) // 2))
            cv2.ellipse(mask, centre, axes, 0, 0, 360, 1, thickness=-1)
        masks.append(mask)
    return masks


def make_sample(
    rng: np.random.Generator,
    image_hw: tuple[int, int] = (120, 160),
    n_boxes: int = 3,
    fmt: str = "coco",
    first_label: int = 0,
    channels: int | None = 3,
    dtype: type = np.uint8,
    with_mask: bool = False,
    with_keypoints: bool = False,
    with_masks: bool = False,
) -> dict[str, Any]:
    """A random image with ``n_boxes`` boxes labelled ``first_label, first_label + 1, ...``.

    ``with_mask`` adds a semantic ``mask``, ``with_masks`` instance ``masks`` (see :func:`box_masks`).
    """
    height, width = image_hw
    shape = image_hw if channels is None else (*image_hw, channels)
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    sample: dict[str, Any] = {"image": image if dtype == np.uint8 else (image / 255).astype(dtype)}
    x0 = rng.uniform(0, width * 0.6, n_boxes)
    y0 = rng.uniform(0, height * 0.6, n_boxes)
    w = rng.uniform(4, width * 0.4, n_boxes)
    h = rng.uniform(4, height * 0.4, n_boxes)
    coco = np.stack([x0, y0, np.minimum(w, width - x0), np.minimum(h, height - y0)], axis=1)
    sample["bboxes"] = coco_to(coco, fmt, image_hw)
    sample["labels"] = list(range(first_label, first_label + n_boxes))
    if with_masks:
        sample["masks"] = box_masks(coco, image_hw)
    if with_mask:
        sample["mask"] = rng.integers(0, 4, image_hw, dtype=np.uint8)
    if with_keypoints:
        sample["keypoints"] = np.stack([rng.uniform(0, width, 4), rng.uniform(0, height, 4)], axis=1)
        sample["kp_labels"] = list(range(first_label, first_label + 4))
    return sample


def set_boxes(sample: dict[str, Any], boxes_coco: Any, labels: list[Any]) -> None:
    """Give ``sample`` these pixel COCO boxes (any empty container for none) and labels, and
    matching instance masks when it carries ``masks``."""
    sample["bboxes"], sample["labels"] = boxes_coco, labels
    if "masks" in sample:
        sample["masks"] = box_masks(boxes_coco if len(boxes_coco) else np.zeros((0, 4)), sample["image"].shape[:2])


def make_call(name: str, rng: np.random.Generator, n_extras: int | None = None, **kwargs: Any) -> dict[str, Any]:
    """Keyword arguments for a Compose call: a primary plus extras under the transform's key.

    Instance masks come with every sample when the transform needs them (or ``with_masks=True``).
    """
    n_extras = EXTRAS_NEEDED[name] if n_extras is None else n_extras
    if name in NEEDS_INSTANCE_MASKS:
        kwargs["with_masks"] = True
    call = make_sample(rng, **kwargs)
    extras = []
    for i in range(n_extras):
        extra_kwargs = {**kwargs, "first_label": 100 * (i + 1), "image_hw": (int(rng.integers(60, 200)), int(rng.integers(60, 200)))}
        extras.append(make_sample(rng, **extra_kwargs))
    call[METADATA_KEYS[name]] = extras
    return call


def compose(transform: A.BasicTransform, fmt: str = "coco", seed: int | None = 0, keypoints: bool = False, **bbox_kwargs: Any) -> A.Compose:
    """A Compose with bbox params (one label field ``labels``) and optionally keypoint params."""
    keypoint_params = A.KeypointParams("xy", label_fields=["kp_labels"]) if keypoints else None
    return A.Compose(
        [transform],
        bbox_params=A.BboxParams(fmt, label_fields=["labels"], **bbox_kwargs),
        keypoint_params=keypoint_params,
        seed=seed,
    )
