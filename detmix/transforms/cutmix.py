"""CutMix for detection: a patch of one image pasted into another, boxes kept by visibility."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from pydantic import Field

from detmix.functional import cutmix as fcutmix
from detmix.functional.instances import PlacedInstances, clear_rect, place_instance_masks
from detmix.functional.placement import Fill, Placement, identity_placement, letterbox_placement
from detmix.transforms.base import FillingTransform, checked_fill
from detmix.transforms.extras import Extra
from detmix.transforms.schema import BetaParameter, FillValue, FillingInitSchema

Rect = fcutmix.Rect


class CutMix(FillingTransform):
    """Paste a rectangle of one extra (letterboxed to the primary's size) into the primary.

    ``lam`` is drawn from ``Beta(alpha, alpha)``; the rectangle has about ``(1 - lam)`` of the
    image area, a uniformly random centre, and is clipped to the image. The extra shows through
    the rectangle at the same position.

    Box rule: the extra's boxes keep only their part inside the rectangle; the primary's boxes
    lose the part under it (shrinking only where the rectangle covers a whole side strip, so a
    box always bounds what is left of its object). Either kind is dropped when its visible
    fraction is below ``max(min_visibility, BboxParams.min_visibility)``, when nothing of it is
    visible, or by the Compose's ``min_area``/``min_width``/``min_height``/``max_accept_ratio``.
    Primary boxes come first. Keypoints under the rectangle (primary) or outside it (extra) are removed when
    ``KeypointParams.remove_invisible`` is set.

    Args:
        alpha (float): Beta distribution parameter. Default: 1.0.
        min_visibility (float): least visible fraction of a box to keep it. Default: 0.25.
        fill, fill_mask, interpolation, mask_interpolation: the letterbox's fills (0-255 scale
            for images; ``fill_mask`` where the rectangle shows letterbox bars) and OpenCV flags,
            as in :class:`~detmix.Mosaic`. Defaults: 114, 0, cv2.INTER_LINEAR, cv2.INTER_NEAREST.
        metadata_key (str): Compose-call key holding 1 or more extras. Default: "cutmix_metadata".
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
        fill_mask: FillValue
        alpha: BetaParameter
        min_visibility: float = Field(ge=0, le=1)

    def __init__(
        self,
        alpha: float = 1.0,
        min_visibility: float = 0.25,
        fill: Fill = 114,
        fill_mask: Fill = 0,
        interpolation: int = cv2.INTER_LINEAR,
        mask_interpolation: int = cv2.INTER_NEAREST,
        metadata_key: str = "cutmix_metadata",
        p: float = 0.5,
    ) -> None:
        super().__init__(fill, interpolation, mask_interpolation, metadata_key, p)
        self.fill_mask = fill_mask
        self.alpha = alpha
        self.min_visibility = min_visibility

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        """Choose the extra, draw ``lam`` and the rectangle, letterbox the extra."""
        extras = self.take_extras(data)
        image_hw = data["image"].shape[:2]
        lam = float(self.random_generator.beta(self.alpha, self.alpha))
        rect = fcutmix.sample_cut_rect(self.random_generator, image_hw, lam)
        placement = letterbox_placement(extras[0]["image"].shape[:2], image_hw)
        return {"extras": extras, "rect": rect, "placement": placement}

    def apply(self, img: np.ndarray, extras: list[Extra], placement: Placement, rect: Rect, **params: Any) -> np.ndarray:
        return fcutmix.cutmix_image(img, extras[0]["image"], placement, rect, self.fill_for(img), self.interpolation)

    def apply_to_mask(self, mask: np.ndarray, extras: list[Extra], placement: Placement, rect: Rect, **params: Any) -> np.ndarray:
        return fcutmix.cutmix_image(mask, extras[0]["mask"], placement, rect, checked_fill(self._name, "fill_mask", self.fill_mask, mask), self.mask_interpolation)

    def apply_to_bboxes(
        self,
        bboxes: np.ndarray,
        extras: list[Extra],
        placement: Placement,
        rect: Rect,
        shape: tuple[int, ...],
        **params: Any,
    ) -> np.ndarray:
        primary, other = self.pixel_bboxes([bboxes, extras[0]["bboxes"]], [shape[:2], placement.src_hw])
        boxes, visibility = fcutmix.cutmix_bboxes(primary, other, placement, rect)
        return self.keep_visible_bboxes(boxes, visibility, shape[:2], bboxes.dtype, params.get("instances"))

    def place_instances(self, sources: list[list[np.ndarray]], params: dict[str, Any]) -> PlacedInstances:
        """The primary's masks less the rectangle, and the extra's masks inside it."""
        image_hw, rect = params["shape"][:2], params["rect"]
        placements = [identity_placement(image_hw), params["placement"].restricted_to(rect)]
        placed = place_instance_masks(sources, placements, image_hw, self.mask_interpolation)
        clear_rect(placed, slice(0, len(sources[0])), rect)
        return placed

    def apply_to_keypoints(
        self,
        keypoints: np.ndarray,
        extras: list[Extra],
        placement: Placement,
        rect: Rect,
        **params: Any,
    ) -> np.ndarray:
        primary, other = self.aligned("keypoints", [keypoints, extras[0]["keypoints"]])
        return self.keep_visible_keypoints(*fcutmix.cutmix_keypoints(primary, other, placement, rect))
