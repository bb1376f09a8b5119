"""What the three mixing transforms share: taking extra samples from metadata, and the box rule.

Extra samples arrive under one metadata key passed to the Compose call, as a list of dicts:

Required keys of each dict:
    ``image``: ``np.ndarray`` with the primary image's dtype and channels (any height and width).
    ``bboxes`` and every label field of the Compose's ``BboxParams``: when the call has ``bboxes``.
    ``mask``: when the call has ``mask`` (same height and width as the extra's image).
    ``keypoints`` and every label field of ``KeypointParams``: when the call has ``keypoints``.

Boxes and keypoints of an extra are in the Compose's declared format; they are converted and
label-encoded by the Compose's own processors, exactly as the primary's were. Extras are chosen
with the transform's own RNG, without replacement, and never written to.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ClassVar, Literal, TypedDict

import cv2
import numpy as np
from albumentations.core.bbox_utils import BboxProcessor, denormalize_bboxes, filter_bboxes, normalize_bboxes
from albumentations.core.keypoints_utils import KeypointsProcessor
from albumentations.core.transforms_interface import DualTransform
from albumentations.core.type_definitions import (
    NUM_BBOXES_COLUMNS_IN_ALBUMENTATIONS,
    NUM_KEYPOINTS_COLUMNS_IN_ALBUMENTATIONS,
    Targets,
)
from albumentations.core.utils import DataProcessor

from detmix import boxes as B
from detmix.functional.placement import Fill

IMAGE_DTYPES = (np.uint8, np.float32)
#: Mask dtypes OpenCV warps with every interpolation, and those it warps only with INTER_NEAREST.
MASK_DTYPES = (np.uint8, np.uint16, np.int16, np.float32, np.float64)
NEAREST_ONLY_MASK_DTYPES = (np.int8, np.int32)
#: Targets Albumentations knows but a mixing transform cannot honour.
UNSUPPORTED_TARGETS = ("images", "masks", "volume", "volumes", "mask3d", "masks3d")
#: Attribute of an extra (a mapping object) holding its boxes already in Albumentations' own
#: format: normalized ``x_min, y_min, x_max, y_max``, float32 ``(N, 4)``, valid and inside the
#: image. detmix's datasets set it on the extras they hand over, whose boxes were checked when
#: the dataset was built, so the Compose's conversion and checks are not run again for them.
VALIDATED_BBOXES = "validated_bboxes"
#: Tolerance for comparing visible fractions against thresholds.
VISIBILITY_EPS = 1e-9
#: Coordinate columns of Albumentations' internal layout, before the encoded label columns.
COORDINATE_COLUMNS = {"bboxes": NUM_BBOXES_COLUMNS_IN_ALBUMENTATIONS, "keypoints": NUM_KEYPOINTS_COLUMNS_IN_ALBUMENTATIONS}
AnnotationTarget = Literal["bboxes", "keypoints"]


class Extra(TypedDict):
    """An extra sample after validation: annotations converted and encoded by the Compose."""

    image: np.ndarray
    mask: np.ndarray | None
    bboxes: np.ndarray | None
    keypoints: np.ndarray | None


_MIXING_ON: ContextVar[bool] = ContextVar("detmix_mixing_on", default=True)


@contextmanager
def mixing_off() -> Iterator[None]:
    """Within this block (this thread or task only), every detmix mixer skips itself as if ``p=0``."""
    token = _MIXING_ON.set(False)
    try:
        yield
    finally:
        _MIXING_ON.reset(token)


class MixingTransform(DualTransform):
    """Base of Mosaic, MixUp and CutMix: extras from metadata, fill scaling, the box rule.

    Subclasses set ``extras_needed`` and call :meth:`take_extras` from
    ``get_params_dependent_on_data``.
    """

    _targets = (Targets.IMAGE, Targets.MASK, Targets.BBOXES, Targets.KEYPOINTS)
    extras_needed: ClassVar[int]

    def __init__(
        self,
        fill: Fill,
        interpolation: int,
        mask_interpolation: int,
        metadata_key: str,
        p: float,
    ) -> None:
        super().__init__(p=p)
        self.fill = fill
        self.interpolation = interpolation
        self.mask_interpolation = mask_interpolation
        self.metadata_key = metadata_key

    def set_processors(self, processors: dict[str, DataProcessor]) -> None:
        """Take the Compose's processors, refusing a ``metadata_key`` that is also a label field.

        Compose calls this when it is built, the first moment the label fields are known; at
        call time Albumentations would already have merged the extras into the boxes or keypoints.
        """
        for target, processor in processors.items():
            fields = list(processor.params.label_fields or [])
            if self.metadata_key in fields:
                raise ValueError(
                    f"{self._name}: metadata_key '{self.metadata_key}' is also a label field of the Compose's "
                    f"{target} {fields}; give the extras another key",
                )
        if self.metadata_key in self._additional_targets:
            raise ValueError(f"{self._name}: metadata_key '{self.metadata_key}' is also one of the Compose's additional_targets")
        super().set_processors(processors)

    @property
    def targets_as_params(self) -> list[str]:
        """The metadata key: Albumentations passes its value to ``get_params_dependent_on_data``."""
        return [self.metadata_key]

    @property
    def _name(self) -> str:
        return type(self).__name__

    def _wanted(self) -> str:
        noun = "sample" if self.extras_needed == 1 else "samples"
        return f"{self._name} needs {self.extras_needed} extra {noun} under '{self.metadata_key}'"

    def should_apply(self, force_apply: bool = False) -> bool:
        """As Albumentations decides, except inside :func:`mixing_off`."""
        return _MIXING_ON.get() and super().should_apply(force_apply)

    def update_transform_params(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        """Runs before Albumentations' own missing-key check, to say what the key must hold."""
        if data.get(self.metadata_key) is None:
            raise ValueError(
                f"{self._wanted()}, got none: pass {self.metadata_key}=[{{'image': ...}}, ...] to the Compose call",
            )
        return super().update_transform_params(params, data)

    # ----- extras -----------------------------------------------------------------------------

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
        for target in ("bboxes", "keypoints"):
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
            raise ValueError(f"{self._name} transforms image, mask, bboxes and keypoints; got unsupported target '{unsupported[0]}'")
        image = data["image"]
        if not isinstance(image, np.ndarray) or image.ndim not in (2, 3):
            raise TypeError(f"{self._name}: expected image as an (H, W) or (H, W, C) numpy array, got {_describe(image)}")
        if image.dtype not in IMAGE_DTYPES:
            raise ValueError(f"{self._name}: expected a uint8 or float32 image, got dtype {image.dtype}")
        if image.size == 0:
            raise ValueError(f"{self._name}: expected a primary image with at least one row, column and channel, got shape {image.shape}")
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
        extra: Extra = {"image": image, "mask": None, "bboxes": None, "keypoints": None}
        if data.get("mask") is not None:
            extra["mask"] = self._extra_mask(item, where, image, data["mask"])
        for target in ("bboxes", "keypoints"):
            if data.get(target) is not None:
                extra[target] = self._encode(target, item, where, image)
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

    def label_defaults(self, target: str, count: int) -> dict[str, list[Any]]:
        """Label fields a subclass fills in when an extra lacks them (none by default)."""
        return {}

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
        labels = self._label_fields(processor, "bboxes", item, where, len(boxes))
        if not len(boxes):
            return np.zeros((0, 4), np.float32)
        columns = [boxes]
        for field, values in labels.items():
            if len(values) != len(boxes):
                raise ValueError(f"{where}: invalid bboxes: {len(boxes)} boxes but {len(values)} values of label field '{field}'")
            columns.append(processor.label_manager.process_field("bboxes", field, values))
        return np.hstack(columns)

    # ----- helpers for apply* ------------------------------------------------------------------

    def fill_for(self, image: np.ndarray) -> Fill:
        """``fill`` in the image's value range: a 0-255 fill is scaled to [0, 1] for float images."""
        fill = checked_fill(self._name, "fill", self.fill, image, np.uint8 if image.dtype == np.float32 else image.dtype)
        if image.dtype == np.float32:
            return tuple(v / 255.0 for v in fill) if isinstance(fill, Sequence) else fill / 255.0
        return fill

    def aligned(self, target: AnnotationTarget, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The sources' ``target`` arrays, each empty one reshaped to the common column layout.

        Albumentations hands an empty array over without its label columns (often 1-D). An
        empty array takes the columns of the non-empty ones or, when every array is empty,
        Albumentations' internal layout: its coordinate columns (4 for boxes; x, y, z, angle,
        scale for keypoints) and one per label field. Kernels then index coordinates and labels
        the same way whatever the counts.
        """
        columns = max((a.shape[1] for a in arrays if len(a)), default=None)
        if columns is None:
            processor = self.get_processor(target)
            fields = processor.params.label_fields if processor else None
            columns = COORDINATE_COLUMNS[target] + len(fields or [])
        return [a if len(a) else np.zeros((0, columns), dtype=a.dtype) for a in arrays]

    def pixel_bboxes(self, bboxes: Sequence[np.ndarray], sources_hw: Sequence[tuple[int, int]]) -> list[np.ndarray]:
        """Normalized boxes of each source in its own pixels, all with the same column count."""
        return [denormalize_bboxes(b, hw) for b, hw in zip(self.aligned("bboxes", bboxes), sources_hw)]

    def keep_visible_bboxes(
        self,
        boxes: np.ndarray,
        visibility: np.ndarray,
        canvas_hw: tuple[int, int],
        dtype: np.dtype,
        min_visibility: float = 0.0,
    ) -> np.ndarray:
        """Apply the box rule and normalize the survivors to ``canvas_hw``.

        A box is dropped when nothing of it is visible, when its visible fraction is below
        ``max(BboxParams.min_visibility, min_visibility)``, or when Albumentations'
        ``filter_bboxes`` rejects it by the Compose's ``min_area``/``min_width``/``min_height``/
        ``max_accept_ratio``.
        """
        processor = self.get_processor("bboxes")
        params = processor.params if isinstance(processor, BboxProcessor) else None
        threshold = max(params.min_visibility if params else 0.0, min_visibility)
        normalized = normalize_bboxes(boxes, canvas_hw)
        keep = (B.box_areas(boxes) > 0) & (visibility >= threshold - VISIBILITY_EPS)
        if params is not None and keep.any() and _has_size_rules(params):
            keep &= _passes_size_rules(normalized, canvas_hw, params)
        return normalized[keep].astype(dtype)

    def keep_visible_keypoints(self, keypoints: np.ndarray, visible: np.ndarray) -> np.ndarray:
        """Drop hidden keypoints when the Compose's ``KeypointParams.remove_invisible`` says so."""
        processor = self.get_processor("keypoints")
        if isinstance(processor, KeypointsProcessor) and not processor.params.remove_invisible:
            return keypoints
        return keypoints[visible]


def checked_fill(owner: str, name: str, fill: Fill, array: np.ndarray, range_dtype: Any = None) -> Fill:
    """``fill`` after checking it has 1 or one-per-channel values, each in ``range_dtype``'s range.

    ``range_dtype`` defaults to the array's dtype; only integer dtypes bound the values. An
    integer array takes whole numbers only (numpy would truncate 114.6 to 114 without a word).
    """
    channels = array.shape[2] if array.ndim == 3 else 1
    values = tuple(fill) if isinstance(fill, Sequence) else (fill,)
    target = "image" if name == "fill" else "mask"
    if len(values) not in (1, channels):
        raise ValueError(f"{owner}: {name} {values} has {len(values)} values, the {target} has {channels} channel(s)")
    if np.issubdtype(array.dtype, np.integer) and any(v != round(v) for v in values):
        raise ValueError(f"{owner}: {name} {fill} is not a whole number, the {target} is {array.dtype}")
    dtype = np.dtype(range_dtype or array.dtype)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        if min(values) < info.min or max(values) > info.max:
            raise ValueError(f"{owner}: {name} {fill} is outside the {dtype} range [{info.min}, {info.max}]")
    return fill


def _has_size_rules(params: Any) -> bool:
    return bool(params.min_area or params.min_width or params.min_height or params.max_accept_ratio is not None)


def _passes_size_rules(normalized: np.ndarray, canvas_hw: tuple[int, int], params: Any) -> np.ndarray:
    """Which boxes Albumentations' ``filter_bboxes`` keeps under the Compose's size rules."""
    tagged = np.column_stack([normalized[:, :4], np.arange(len(normalized))])
    survivors = filter_bboxes(
        tagged,
        {"height": canvas_hw[0], "width": canvas_hw[1]},
        min_area=params.min_area,
        min_width=params.min_width,
        min_height=params.min_height,
        max_accept_ratio=params.max_accept_ratio,
    )
    keep = np.zeros(len(normalized), dtype=bool)
    if len(survivors):
        keep[survivors[:, 4].astype(int)] = True
    return keep


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

