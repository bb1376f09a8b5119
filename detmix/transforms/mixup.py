"""MixUp for detection: a blend of two images whose output carries both label sets."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from detmix.functional import mixup as fmixup
from detmix.functional.instances import PlacedInstances, place_instance_masks
from detmix.functional.placement import (
    Fill,
    Placement,
    identity_placement,
    letterbox_placement,
    place_all_keypoints,
    render,
)
from detmix.transforms.base import FillingTransform
from detmix.transforms.extras import Extra
from detmix.transforms.schema import BetaParameter, FillingInitSchema


class MixUp(FillingTransform):
    """Blend the primary with one extra: ``lam * primary + (1 - lam) * other``.

    ``lam`` is drawn from ``Beta(alpha, beta)`` (``beta`` defaults to ``alpha``) and kept strictly
    inside (0, 1). An extra of another size is letterboxed into the primary's size (one
    aspect-keeping scale, centred, ``fill`` around it). The output carries the boxes, keypoints
    and label fields of both images, the primary's first; every box is wholly visible, so only
    the Compose's ``min_area``/``min_width``/``min_height``/``max_accept_ratio`` drop boxes.
    Masks keep each image's non-zero labels, the image with the larger weight winning where both
    have one.

    Args:
        alpha (float): Beta distribution parameter. Default: 32.0 (lam close to 0.5).
        beta (float | None): second Beta parameter; None means ``alpha``. Default: None.
        weight_field (str | None): a label field declared in the Compose's ``BboxParams`` that
            receives ``lam`` for the primary's boxes and ``1 - lam`` for the other's (per-box
            loss weights). Pass it for the primary (e.g. ones); extras may omit it. Default: None.
        fill, interpolation, mask_interpolation: the letterbox's fill (0-255 scale) and OpenCV
            flags, as in :class:`~detmix.Mosaic`. Defaults: 114, cv2.INTER_LINEAR,
            cv2.INTER_NEAREST. (No ``fill_mask``: the primary covers every pixel, and the
            letterbox bars of the other carry no labels.)
        metadata_key (str): Compose-call key holding 1 or more extras. Default: "mixup_metadata".
        p (float): probability of applying. Default: 0.5.

    Instance masks (Albumentations' ``masks``, one per box; extras carry theirs under ``masks``)
    come out one per output box, in box order, each exactly its object's visible pixels; each box
    is then its mask's extent and the visible fraction is counted in mask pixels
    (see :mod:`detmix.transforms.instances` for keeping them paired through a Compose).

    Targets:
        image, mask, masks, bboxes, keypoints

    Image types:
        uint8, float32
    """

    extras_needed = 1

    class InitSchema(FillingInitSchema):
        alpha: BetaParameter
        beta: BetaParameter | None
        weight_field: str | None

    def __init__(
        self,
        alpha: float = 32.0,
        beta: float | None = None,
        weight_field: str | None = None,
        fill: Fill = 114,
        interpolation: int = cv2.INTER_LINEAR,
        mask_interpolation: int = cv2.INTER_NEAREST,
        metadata_key: str = "mixup_metadata",
        p: float = 0.5,
    ) -> None:
        super().__init__(fill, interpolation, mask_interpolation, metadata_key, p)
        self.alpha = alpha
        self.beta = beta
        self.weight_field = weight_field

    def label_defaults(self, target: str, count: int) -> dict[str, list[Any]]:
        """Extras without the weight field get ones (overwritten by ``1 - lam`` anyway)."""
        defaults = super().label_defaults(target, count)
        return {**defaults, self.weight_field: [1.0] * count} if target == "bboxes" and self.weight_field else defaults

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        """Choose the extra, draw ``lam`` and letterbox the extra into the primary's size."""
        extras = self.take_extras(data)
        weight_column = self._weight_column(data)
        lam = fmixup.sample_mixup_lambda(self.random_generator, self.alpha, self.beta or self.alpha)
        placement = letterbox_placement(extras[0]["image"].shape[:2], data["image"].shape[:2])
        return {"extras": extras, "lam": lam, "placement": placement, "weight_column": weight_column}

    def _weight_column(self, data: dict[str, Any]) -> int | None:
        """Index of ``weight_field`` counted from the end of the box columns, after validation."""
        if self.weight_field is None or data.get("bboxes") is None:
            return None
        fields = self.bbox_label_fields()
        if self.weight_field not in fields:
            raise ValueError(f"MixUp: weight_field '{self.weight_field}' is not among the Compose's bbox label_fields {fields}")
        meta = self.bbox_label_metadata(self.weight_field)
        if meta is not None and (not meta.is_numerical or (meta.dtype is not None and meta.dtype.kind != "f")):
            raise ValueError(f"MixUp: weight_field '{self.weight_field}' must hold floats, got {meta.dtype or meta.input_type.__name__}")
        return fields.index(self.weight_field) - len(fields)

    def apply(self, img: np.ndarray, extras: list[Extra], lam: float, placement: Placement, **params: Any) -> np.ndarray:
        other = render(extras[0]["image"], placement, img.shape[:2], self.fill_for(img), self.interpolation)
        return fmixup.mixup_image(img, other, lam)

    def apply_to_mask(self, mask: np.ndarray, extras: list[Extra], lam: float, placement: Placement, **params: Any) -> np.ndarray:
        other = render(extras[0]["mask"], placement, mask.shape[:2], 0, self.mask_interpolation)
        return fmixup.mixup_mask(mask, other, lam)

    def apply_to_bboxes(
        self,
        bboxes: np.ndarray,
        extras: list[Extra],
        lam: float,
        placement: Placement,
        weight_column: int | None,
        shape: tuple[int, ...],
        **params: Any,
    ) -> np.ndarray:
        primary, other = self.pixel_bboxes([bboxes, extras[0]["bboxes"]], [shape[:2], placement.src_hw])
        boxes, visibility = fmixup.mixup_bboxes(primary, other, placement, shape[:2], lam, weight_column)
        return self.keep_visible_bboxes(boxes, visibility, shape[:2], bboxes.dtype, params.get("instances"))

    def place_instances(self, sources: list[list[np.ndarray]], params: dict[str, Any]) -> PlacedInstances:
        """Both images' masks, whole: the primary's as they are, the extra's letterboxed."""
        image_hw = params["shape"][:2]
        return place_instance_masks(sources, [identity_placement(image_hw), params["placement"]], image_hw, self.mask_interpolation)

    def apply_to_keypoints(
        self,
        keypoints: np.ndarray,
        extras: list[Extra],
        placement: Placement,
        shape: tuple[int, ...],
        **params: Any,
    ) -> np.ndarray:
        sources = self.aligned("keypoints", [keypoints, extras[0]["keypoints"]])
        return self.keep_visible_keypoints(*place_all_keypoints(sources, [identity_placement(shape[:2]), placement]))
