"""What the three mixing transforms share: the mixing switch, fills, and the box rule.

Taking the extra samples from metadata is :mod:`detmix.transforms.extras`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ClassVar, Literal, NamedTuple

import numpy as np
from albumentations.core.bbox_utils import BboxParams, BboxProcessor, denormalize_bboxes, normalize_bboxes
from albumentations.core.keypoints_utils import KeypointsProcessor
from albumentations.core.transforms_interface import DualTransform
from albumentations.core.type_definitions import (
    NUM_BBOXES_COLUMNS_IN_ALBUMENTATIONS,
    NUM_KEYPOINTS_COLUMNS_IN_ALBUMENTATIONS,
    Targets,
)
from albumentations.core.utils import DataProcessor

from detmix import boxes as B
from detmix.functional.instances import PlacedInstances
from detmix.functional.placement import Fill, Placement, identity_placement, place_all_bboxes
from detmix.transforms.extras import Extra, ExtrasIntake
from detmix.transforms.instances import MASK_INDICES, mask_index_column, masks_per_box
from detmix.transforms.size_rules import passes_size_rules

#: Tolerance for comparing visible fractions against thresholds.
VISIBILITY_EPS = 1e-9
#: Coordinate columns of Albumentations' internal layout, before the encoded label columns.
COORDINATE_COLUMNS = {"bboxes": NUM_BBOXES_COLUMNS_IN_ALBUMENTATIONS, "keypoints": NUM_KEYPOINTS_COLUMNS_IN_ALBUMENTATIONS}
AnnotationTarget = Literal["bboxes", "keypoints"]


class Instances(NamedTuple):
    """A mixer's instance masks for one call, made before any target is transformed.

    Albumentations hands ``masks`` and ``bboxes`` to separate methods in no fixed order, and
    each output box is its mask's extent: so both are settled once, up front, from the data.
    """

    masks: np.ndarray  # (N, H, W) uint8: one plane per candidate box, primary's first
    boxes: np.ndarray  # (N, 4) pixel xyxy: each plane's tight extent
    keep: np.ndarray  # (N,) bool: the box rule's verdict on each
    visibility: np.ndarray  # (N,) float64: each plane's pixels over its whole object's


_MIXING_ON: ContextVar[bool] = ContextVar("detmix_mixing_on", default=True)
#: Key Albumentations adds to the call data under ``A.Compose(..., save_applied_params=True)``.
APPLIED_TRANSFORMS = "applied_transforms"
#: Set (by :mod:`detmix.transforms.dropped`) only while a call records its dropped boxes: takes
#: each verdict of the box rule as ``(boxes, visibility, keep, canvas_hw, dtype, instances)``, the
#: arguments of :meth:`MixingTransform.keep_visible_bboxes` and the rule's ``keep``.
DROP_RECORDER: ContextVar[Callable[..., None] | None] = ContextVar("detmix_drop_recorder", default=None)


@contextmanager
def mixing_off() -> Iterator[None]:
    """Within this block (this thread or task only), every detmix mixer skips itself as if ``p=0``."""
    token = _MIXING_ON.set(False)
    try:
        yield
    finally:
        _MIXING_ON.reset(token)


class MixingTransform(ExtrasIntake, DualTransform):
    """Base of the mixing transforms: extras from metadata, instance masks, the box rule.

    Subclasses set ``extras_needed`` and call :meth:`take_extras` from
    ``get_params_dependent_on_data``.
    """

    _targets = (Targets.IMAGE, Targets.MASK, Targets.BBOXES, Targets.KEYPOINTS)
    extras_needed: ClassVar[int]
    #: Least visible fraction of a box this mixer keeps, besides ``BboxParams.min_visibility``.
    min_visibility: float = 0.0

    def __init__(self, interpolation: int, mask_interpolation: int, metadata_key: str, p: float) -> None:
        super().__init__(p=p)
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

    # ----- helpers for apply* ------------------------------------------------------------------

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
        instances: Instances | None = None,
    ) -> np.ndarray:
        """Apply the box rule and normalize the survivors to ``canvas_hw``.

        A box is dropped when nothing of it is visible, when its visible fraction is below
        ``max(BboxParams.min_visibility, self.min_visibility)``, or when Albumentations'
        ``filter_bboxes`` rejects it by the Compose's ``min_area``/``min_width``/``min_height``/
        ``max_accept_ratio``. With ``instances`` each box is its mask's extent and the verdict
        is theirs, and the boxes' :data:`~detmix.transforms.instances.MASK_INDICES` count
        ``0 .. n-1``, the positions of their masks in the output.
        """
        keep = self.box_rule(boxes, visibility, canvas_hw, dtype) if instances is None else instances.keep
        recorder = DROP_RECORDER.get()
        if recorder is not None:
            recorder(boxes, visibility, keep, canvas_hw, dtype, instances)
        if instances is None:
            return normalize_bboxes(boxes, canvas_hw)[keep].astype(dtype)
        boxes = boxes.copy()
        boxes[:, :4] = instances.boxes
        kept = normalize_bboxes(boxes, canvas_hw)[keep]
        column = mask_index_column(self.bbox_label_fields())
        if column is not None:
            kept[:, column] = np.arange(len(kept))
        return kept.astype(dtype)

    def box_rule(self, boxes: np.ndarray, visibility: np.ndarray, canvas_hw: tuple[int, int], dtype: np.dtype) -> np.ndarray:
        """Which pixel ``boxes`` of the given visible fractions the rule of :meth:`keep_visible_bboxes` keeps.

        The size rules judge the boxes as they will be returned (normalized, in ``dtype``): the
        Compose filters them by the same rules again, and must find nothing left to drop.
        """
        params = self.bbox_params()
        keep = (B.box_areas(boxes) > 0) & (visibility >= self.visibility_threshold() - VISIBILITY_EPS)
        if params is not None and keep.any():
            keep &= passes_size_rules(normalize_bboxes(boxes[:, :4], canvas_hw).astype(dtype), canvas_hw, params)
        return keep

    def bbox_params(self) -> BboxParams | None:
        """The Compose's ``BboxParams``, None without boxes."""
        processor = self.get_processor("bboxes")
        return processor.params if isinstance(processor, BboxProcessor) else None

    def visibility_threshold(self) -> float:
        """Least visible fraction of a kept box: ``max(BboxParams.min_visibility, self.min_visibility)``."""
        params = self.bbox_params()
        return max(params.min_visibility if params else 0.0, self.min_visibility)

    def bbox_sources(self, primary: np.ndarray, params: dict[str, Any]) -> list[tuple[np.ndarray, Placement]]:
        """Each source's boxes (normalized, encoded rows) and the placement that maps them onto the
        output, in output row order: here the primary as it is, then the one extra at ``placement``."""
        return [(primary, identity_placement(params["shape"][:2])), (params["extras"][0]["bboxes"], params["placement"])]

    def placed_source_bboxes(self, primary: np.ndarray, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """Every row of :meth:`bbox_sources` in output pixels, clipped to what its placement shows,
        and each one's visible fraction (``place_all_bboxes``), in output row order."""
        rows, placements = zip(*self.bbox_sources(primary, params))
        return place_all_bboxes(self.pixel_bboxes(list(rows), [p.src_hw for p in placements]), placements)

    def bbox_label_fields(self) -> list[str]:
        """The label fields of the Compose's ``BboxParams``, in their column order; none without boxes."""
        params = self.bbox_params()
        return list(params.label_fields or []) if params else []

    def bbox_label_metadata(self, field: str) -> Any | None:
        """How Albumentations encoded label field ``field`` of the boxes this call (None before it has)."""
        processor = self.get_processor("bboxes")
        return processor.label_manager.metadata.get("bboxes", {}).get(field) if processor else None

    # ----- instance masks ----------------------------------------------------------------------

    def place_instances(self, sources: list[list[np.ndarray]], params: dict[str, Any]) -> PlacedInstances:
        """Each source's instance masks (primary's first, one per box) on the output canvas."""
        raise NotImplementedError

    def apply_with_params(self, params: dict[str, Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        """As Albumentations does, but with instance ``masks`` settled first (see :class:`Instances`).

        The output ``masks`` hold one plane per output box, in box order (an empty list when no
        box is left: Albumentations' transforms take no empty stack). Under
        ``A.Compose(..., save_applied_params=True)`` the boxes the rule drops are recorded in
        ``params`` (see :mod:`detmix.transforms.dropped`).
        """
        if APPLIED_TRANSFORMS not in kwargs:
            return self._apply_mixed(params, *args, **kwargs)
        from detmix.transforms.dropped import recording_drops  # only when asked: it imports this module

        with recording_drops(self, params, kwargs.get("bboxes")):
            return self._apply_mixed(params, *args, **kwargs)

    def _apply_mixed(self, params: dict[str, Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        if kwargs.get("masks") is None:
            return super().apply_with_params(params, *args, **kwargs)
        instances = params["instances"] = self._instances(kwargs, params)
        result = super().apply_with_params(params, *args, **kwargs)
        kept = instances.masks if instances.keep.all() else instances.masks[instances.keep]
        result["masks"] = kept if len(kept) else []
        return result

    def apply_to_masks(self, masks: np.ndarray, *args: Any, **params: Any) -> np.ndarray:
        """Left as they are here: :meth:`apply_with_params` puts the mixed masks in their place."""
        return masks

    def _mask_index_column(self) -> int | None:
        """The column of :data:`~detmix.transforms.instances.MASK_INDICES` after checking it holds numbers.

        Albumentations label-encodes a field of strings: ``["2", "10", "0"]`` would silently
        become indices 2, 1, 0.
        """
        column = mask_index_column(self.bbox_label_fields())
        meta = self.bbox_label_metadata(MASK_INDICES) if column is not None else None
        if meta is not None and not meta.is_numerical:
            raise ValueError(f"{self._name}: {MASK_INDICES} must hold integer mask indices, got {meta.input_type.__name__} of non-numbers")
        return column

    def _instances(self, data: dict[str, Any], params: dict[str, Any]) -> Instances:
        column = self._mask_index_column()
        extras: list[Extra] = params["extras"]
        primary_boxes, *extra_boxes = self.aligned("bboxes", [data["bboxes"], *(e["bboxes"] for e in extras)])
        sources = [masks_per_box(data["masks"], primary_boxes, column, f"{self._name}: primary")]
        for index, (extra, boxes) in enumerate(zip(extras, extra_boxes)):
            sources.append(masks_per_box(extra["masks"], boxes, column, f"{self._name}: extra {index} under '{self.metadata_key}'"))
        placed = self.place_instances(sources, params)
        boxes, counts = B.mask_boxes(placed.masks, placed.windows)
        whole = placed.whole_areas
        visibility = np.divide(counts, whole, out=np.zeros(len(whole)), where=whole > 0)
        return Instances(placed.masks, boxes, self.box_rule(boxes, visibility, placed.masks.shape[1:], data["bboxes"].dtype), visibility)

    def keep_visible_keypoints(self, keypoints: np.ndarray, visible: np.ndarray) -> np.ndarray:
        """Drop hidden keypoints when the Compose's ``KeypointParams.remove_invisible`` says so."""
        processor = self.get_processor("keypoints")
        if isinstance(processor, KeypointsProcessor) and not processor.params.remove_invisible:
            return keypoints
        return keypoints[visible]


class FillingTransform(MixingTransform):
    """A mixer whose output has area no source covers (a mosaic's borders, a letterbox's bars): it takes a ``fill``."""

    def __init__(self, fill: Fill, interpolation: int, mask_interpolation: int, metadata_key: str, p: float) -> None:
        super().__init__(interpolation, mask_interpolation, metadata_key, p)
        self.fill = fill

    def fill_for(self, image: np.ndarray) -> Fill:
        """``fill`` in the image's value range: a 0-255 fill is scaled to [0, 1] for float images."""
        fill = checked_fill(self._name, "fill", self.fill, image, np.uint8 if image.dtype == np.float32 else image.dtype)
        if image.dtype == np.float32:
            return tuple(v / 255.0 for v in fill) if isinstance(fill, Sequence) else fill / 255.0
        return fill


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

