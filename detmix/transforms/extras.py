"""Taking extra samples from metadata: choosing, validating and encoding them for a mixer.

Extra samples arrive under one metadata key passed to the Compose call, as a list of dicts:

Required keys of each dict:
    ``image``: ``np.ndarray`` with the primary image's dtype and channels (any height and width).
    ``bboxes`` and every label field of the Compose's ``BboxParams``: when the call has ``bboxes``.
    ``mask``: when the call has ``mask`` (same height and width as the extra's image).
    ``masks``: when the call has ``masks``: one uint8 instance mask per box, in box order (a list
    of arrays or an ``(N, H, W)`` array of the extra's image size; an empty list for none).
    ``keypoints`` and every label field of ``KeypointParams``: when the call has ``keypoints``.

Boxes and keypoints of an extra are in the Compose's declared format; they are converted and
label-encoded by the Compose's own processors, exactly as the primary's were. Extras are chosen
with the transform's own RNG, without replacement, and never written to.

Extras handed over by detmix's datasets carry their boxes already validated
(:data:`VALIDATED_BBOXES`); only their labels are encoded then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypedDict

import cv2
import numpy as np
from albumentations.core.bbox_utils import BboxProcessor
from albumentations.core.utils import DataProcessor

from detmix.transforms.instances import MASK_INDICES, checked_mask_stack

IMAGE_DTYPES = (np.uint8, np.float32)
#: Mask dtypes OpenCV warps with every interpolation, and those it warps only with INTER_NEAREST.
MASK_DTYPES = (np.uint8, np.uint16, np.int16, np.float32, np.float64)
NEAREST_ONLY_MASK_DTYPES = (np.int8, np.int32)
#: Targets Albumentations knows but a mixing transform cannot honour.
UNSUPPORTED_TARGETS = ("images", "volume", "volumes", "mask3d", "masks3d")
#: Attribute of an extra (a mapping object) holding its boxes already in Albumentations' own
#: format: normalized ``x_min, y_min, x_max, y_max``, float32 ``(N, 4)``, valid and inside the
#: image. detmix's datasets set it on the extras they hand over, whose boxes were checked when
#: the dataset was built, so the Compose's conversion and checks are not run again for them.
VALIDATED_BBOXES = "validated_bboxes"


class Extra(TypedDict):
    """An extra sample after validation: annotations converted and encoded by the Compose."""

    image: np.ndarray
    mask: np.ndarray | None
    masks: Sequence[np.ndarray] | None
    bboxes: np.ndarray | None
    keypoints: np.ndarray | None


class ExtrasIntake:
    """The extras half of :class:`~detmix.transforms.base.MixingTransform` (a mixin).

    ``extra_targets``: the annotations taken from each extra when the call has them (a mixer
    that does not use the extras' keypoints leaves them out, and its extras need none).

    Relies on the transform's ``metadata_key``, ``extras_needed``, ``mask_interpolation``,
    ``py_random``, ``get_processor``, ``_additional_targets``, ``_name`` and ``_wanted()``.
    """

    extra_targets: tuple[str, ...] = ("bboxes", "keypoints")

    def take_extras(self, data: Mapping[str, Any]) -> list[Extra]:
        """Choose ``extras_needed`` extras without replacement, validate and encode them."""
        self._check_targets(data)
        items = data[self.metadata_key]
        wanted = self._wanted()
        if not isinstance(items, Sequence) or isinstance(items, (str, bytes)):
            raise TypeError(f"{wanted} as a list of dicts, got {type(items).__name__}")
        if len(items) < self.extras_needed:
            raise ValueError(f"{wanted}, got {len(items)}")
        chosen = sorted(self.py_random.sample(range(len(items)), self.extras_needed))
        extras = [self._prepare_extra(items[index], index, data) for index in chosen]
        for target in self.extra_targets:
            self._check_columns(target, data.get(target), extras, chosen)
        return extras

    def _check_columns(self, target: str, primary: np.ndarray | None, extras: list[Extra], chosen: list[int]) -> None:
        """Non-empty annotations of all samples must have the same columns to be concatenated."""
        if primary is None:
            return
        arrays = [(None, primary), *((index, extra[target]) for index, extra in zip(chosen, extras))]
        widths = {index: array.shape[1] for index, array in arrays if len(array)}
        if len(set(widths.values())) > 1:
            described = ", ".join(f"{'primary' if i is None else f'extra {i}'}: {w}" for i, w in widths.items())
            raise ValueError(f"{self._name}: {target} under '{self.metadata_key}' differ in column count ({described})")

    def _check_targets(self, data: Mapping[str, Any]) -> None:
        unsupported = [key for key in (*UNSUPPORTED_TARGETS, *self._additional_targets) if data.get(key) is not None]
        if unsupported:
            raise ValueError(f"{self._name} transforms image, mask, masks, bboxes and keypoints; got unsupported target '{unsupported[0]}'")
        image = data["image"]
        if not isinstance(image, np.ndarray) or image.ndim not in (2, 3):
            raise TypeError(f"{self._name}: expected image as an (H, W) or (H, W, C) numpy array, got {_describe(image)}")
        if image.dtype not in IMAGE_DTYPES:
            raise ValueError(f"{self._name}: expected a uint8 or float32 image, got dtype {image.dtype}")
        if image.size == 0:
            raise ValueError(f"{self._name}: expected a primary image with at least one row, column and channel, got shape {image.shape}")
        if data.get("masks") is not None:
            checked_mask_stack(data["masks"], image.shape[:2], f"{self._name}: primary")
            if data.get("bboxes") is None:
                raise ValueError(f"{self._name}: masks are instance masks, one per box: the call needs bboxes with them")
        mask = data.get("mask")
        if mask is None or mask.dtype in MASK_DTYPES:
            return
        names = ", ".join(np.dtype(t).name for t in MASK_DTYPES)
        if mask.dtype not in NEAREST_ONLY_MASK_DTYPES:
            raise ValueError(f"{self._name}: expected a mask of dtype {names}; got {mask.dtype}")
        if self.mask_interpolation != cv2.INTER_NEAREST:
            raise ValueError(
                f"{self._name}: a {mask.dtype} mask needs mask_interpolation=cv2.INTER_NEAREST "
                f"(got {self.mask_interpolation}), or a mask of dtype {names}",
            )

    def _prepare_extra(self, item: Any, index: int, data: Mapping[str, Any]) -> Extra:
        where = f"{self._name}: extra {index} under '{self.metadata_key}'"
        if not isinstance(item, Mapping):
            raise TypeError(f"{where}: expected a dict with an 'image', got {type(item).__name__}")
        image = item.get("image")
        primary = data["image"]
        if not isinstance(image, np.ndarray):
            raise TypeError(f"{where}: expected 'image' as a numpy array, got {_describe(image)}")
        if image.ndim != primary.ndim or image.shape[2:] != primary.shape[2:] or image.dtype != primary.dtype:
            raise ValueError(
                f"{where}: image {image.shape} {image.dtype} does not match the primary image "
                f"{primary.shape} {primary.dtype} in channels or dtype",
            )
        if min(image.shape[:2]) < 1:
            raise ValueError(f"{where}: image has no pixels, shape {image.shape}")
        extra: Extra = {"image": image, "mask": None, "masks": None, "bboxes": None, "keypoints": None}
        if data.get("mask") is not None:
            extra["mask"] = self._extra_mask(item, where, image, data["mask"])
        if data.get("masks") is not None:
            if item.get("masks") is None:
                raise ValueError(f"{where}: the primary has masks, so every extra needs 'masks', one uint8 mask per box (an empty list for none)")
            extra["masks"] = checked_mask_stack(item["masks"], image.shape[:2], where)
        for target in self.extra_targets:
            if data.get(target) is not None:
                extra[target] = self._encode(target, item, where, image)
        masks, boxes = extra["masks"], extra["bboxes"]
        if masks is not None and boxes is not None and MASK_INDICES not in item and len(masks) != len(boxes):
            raise ValueError(
                f"{where}: {len(masks)} masks for {len(boxes)} boxes; give one instance mask per box, in box order, "
                f"or the extra's own '{MASK_INDICES}'",
            )
        return extra

    @staticmethod
    def _extra_mask(item: Mapping[str, Any], where: str, image: np.ndarray, primary_mask: np.ndarray) -> np.ndarray:
        mask = item.get("mask")
        if not isinstance(mask, np.ndarray):
            raise TypeError(f"{where}: the primary has a mask, so every extra needs 'mask' as a numpy array, got {_describe(mask)}")
        if mask.shape[:2] != image.shape[:2] or mask.shape[2:] != primary_mask.shape[2:] or mask.dtype != primary_mask.dtype:
            raise ValueError(
                f"{where}: mask {mask.shape} {mask.dtype} must match its image {image.shape[:2]} in height and width "
                f"and the primary mask {primary_mask.shape} {primary_mask.dtype} in channels and dtype",
            )
        return mask

    def label_defaults(self, target: str, count: int) -> dict[str, Any]:
        """Label fields filled in when an extra lacks them: its boxes' mask indices, in box order
        (a subclass may add its own)."""
        return {MASK_INDICES: np.arange(count)} if target == "bboxes" else {}

    def _encode(self, target: str, item: Mapping[str, Any], where: str, image: np.ndarray) -> np.ndarray:
        """Convert and label-encode an extra's bboxes or keypoints with the Compose's processor."""
        processor = self.get_processor(target)
        if processor is None:
            raise ValueError(
                f"{self._name}: {target} need A.Compose(..., "
                f"{'bbox_params=A.BboxParams' if target == 'bboxes' else 'keypoint_params=A.KeypointParams'}(...)) "
                "so that the extras' annotations can be converted",
            )
        if target not in item:
            raise ValueError(f"{where}: the call has '{target}', so every extra needs '{target}' (an empty list for none)")
        validated = getattr(item, VALIDATED_BBOXES, None) if target == "bboxes" else None
        if validated is not None and isinstance(processor, BboxProcessor):
            return self._encode_validated(processor, item, where, validated)
        try:
            values = np.array(item[target], dtype=np.float32)
        except (ValueError, TypeError) as error:
            raise ValueError(f"{where}: expected {target} as numbers of shape (N, 4 or more): {error}") from error
        min_columns = 4 if target == "bboxes" else len(processor.params.format)
        if values.size == 0:
            values = values.reshape(0, min_columns)
        if values.ndim != 2 or values.shape[1] < min_columns:
            raise ValueError(f"{where}: expected {target} of shape (N, {min_columns} or more), got {values.shape}")
        sample = {"image": image, target: values, **self._label_fields(processor, target, item, where, len(values))}
        with _restored_sequence_flags(processor):
            try:
                processor.preprocess(sample)
            except (ValueError, TypeError, KeyError) as error:
                raise ValueError(f"{where}: invalid {target}: {error}") from error
        return sample[target]

    def _label_fields(self, processor: DataProcessor, target: str, item: Mapping[str, Any], where: str, count: int) -> dict[str, Any]:
        """The extra's values of every label field the Compose declares for ``target``, defaults filled in."""
        fields = list(processor.params.label_fields or [])
        labels = {**self.label_defaults(target, count), **{f: item[f] for f in fields if f in item}}
        missing = [f for f in fields if f not in labels]
        if missing:
            raise ValueError(f"{where}: missing label field(s) {missing} declared for {target} in the Compose")
        return {f: labels[f] for f in fields}

    def _encode_validated(self, processor: BboxProcessor, item: Mapping[str, Any], where: str, boxes: np.ndarray) -> np.ndarray:
        """An extra's boxes already valid in Albumentations' own format: only its labels are encoded.

        Skips the Compose's conversion and checks (the costliest part of taking an extra), and
        encodes the label fields with the Compose's own label manager, as preprocessing would.
        """
        if not (isinstance(boxes, np.ndarray) and boxes.ndim == 2 and boxes.shape[1] == 4 and boxes.dtype == np.float32):
            dtype = f" of {boxes.dtype}" if isinstance(boxes, np.ndarray) else ""
            raise TypeError(f"{where}: {VALIDATED_BBOXES} must be a float32 (N, 4) array, got {_describe(boxes)}{dtype}")
        if not ((boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])).all():
            raise ValueError(f"{where}: {VALIDATED_BBOXES} holds a box with x_max <= x_min or y_max <= y_min")
        labels = self._label_fields(processor, "bboxes", item, where, len(boxes))
        for field, values in labels.items():
            if len(values) != len(boxes):
                raise ValueError(f"{where}: invalid bboxes: {len(boxes)} boxes but {len(values)} values of label field '{field}'")
        if not len(boxes):
            return np.zeros((0, 4), np.float32)
        columns = [boxes, *(processor.label_manager.process_field("bboxes", f, v) for f, v in labels.items())]
        return np.hstack(columns)


@contextmanager
def _restored_sequence_flags(processor: DataProcessor):
    """Keep the processor's record of list-vs-array input, which preprocessing an extra overwrites."""
    saved = dict(processor.is_sequence_input)
    try:
        yield
    finally:
        processor.is_sequence_input.clear()
        processor.is_sequence_input.update(saved)


def _describe(value: Any) -> str:
    return f"array of shape {value.shape}" if isinstance(value, np.ndarray) else type(value).__name__
