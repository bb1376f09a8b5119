"""Mosaic: four images around a random centre, YOLOv5/YOLOv8 layout."""

from __future__ import annotations

from typing import Annotated, Any

import cv2
import numpy as np
from albumentations.core.pydantic import check_range_bounds, nondecreasing
from pydantic import AfterValidator, Field

from detmix.functional import mosaic as fmosaic
from detmix.functional.instances import PlacedInstances, place_instance_masks
from detmix.functional.placement import Fill, Placement, paste_all, place_all_keypoints
from detmix.transforms.base import FillingTransform, checked_fill
from detmix.transforms.extras import Extra
from detmix.transforms.schema import FillValue, FillingInitSchema


class Mosaic(FillingTransform):
    """Four images in a 2x2 mosaic around a random centre.

    The centre is drawn uniformly in ``center_range`` of the output's width and height. The
    primary fills the top-left quadrant with its bottom-right corner at the centre; three extras
    fill top-right, bottom-left and bottom-right, each touching the centre with its nearest
    corner. Every image is scaled so its long side equals ``max(target_size)`` times the zoom drawn
    from ``scale_range`` (1 by default; aspect kept) and
    only the part its quadrant shows is rendered; uncovered area is ``fill``.

    ``scale_range`` and ``translate`` add the random zoom and shift a YOLO recipe applies after
    its mosaic (Ultralytics' ``scale`` and ``translate``): the whole mosaic is zoomed about the
    output's centre by a factor drawn from ``scale_range`` and shifted by up to ``translate`` of
    each side. Both are folded into the one warp each source gets, so they cost nothing extra.

    Boxes are scaled, offset and clipped to what their quadrant shows. A box is dropped when
    nothing of it is visible, when its visible fraction (visible area over the area the whole box
    has at the output scale) is below ``BboxParams.min_visibility``, or by the Compose's
    ``min_area``/``min_width``/``min_height``/``max_accept_ratio``. Output boxes come in
    quadrant order.

    Args:
        target_size (tuple[int, int]): output ``(height, width)``. Default: (640, 640).
        center_range (tuple[float, float]): range of the centre, as fractions of height and
            width. Default: (0.25, 0.75).
        scale_range (tuple[float, float]): zoom of the whole mosaic, drawn uniformly; values
            below 1 leave ``fill`` borders. Default: (1.0, 1.0) (no zoom).
        translate (float): shift of the whole mosaic, drawn uniformly in +-``translate`` of the
            output's width and height, in [0, 1). Default: 0.0.
        fill (float | tuple[float, ...]): image value of uncovered area, on the 0-255 scale
            (divided by 255 for float32 images). Default: 114.
        fill_mask (float | tuple[float, ...]): mask value of uncovered area. Default: 0.
        interpolation (int): OpenCV flag for images: NEAREST, LINEAR, CUBIC or LANCZOS4.
            Default: cv2.INTER_LINEAR.
        mask_interpolation (int): OpenCV flag for masks. Default: cv2.INTER_NEAREST.
        metadata_key (str): Compose-call key holding 3 or more extra samples. Default:
            "mosaic_metadata".
        p (float): probability of applying. Default: 0.5.

    Instance masks (Albumentations' ``masks``, one per box; extras carry theirs under ``masks``)
    come out one per output box, in box order, each exactly its object's visible pixels; each box
    is then its mask's extent and the visible fraction is counted in mask pixels
    (see :mod:`detmix.transforms.instances` for keeping them paired through a Compose).

    Targets:
        image, mask, masks, bboxes, keypoints

    Image types:
        uint8, float32

    Example:
        >>> aug = A.Compose([detmix.Mosaic(target_size=(320, 320), p=1)],
        ...                 bbox_params=A.BboxParams("coco", label_fields=["labels"]))
        >>> out = aug(image=img, bboxes=boxes, labels=labels,
        ...           mosaic_metadata=[{"image": i, "bboxes": b, "labels": l} for i, b, l in others])
    """

    extras_needed = 3

    class InitSchema(FillingInitSchema):
        fill_mask: FillValue
        target_size: Annotated[tuple[int, int], AfterValidator(check_range_bounds(1, None))]
        center_range: Annotated[
            tuple[float, float],
            AfterValidator(check_range_bounds(0, 1)),
            AfterValidator(nondecreasing),
        ]
        scale_range: Annotated[
            tuple[Annotated[float, Field(gt=0, allow_inf_nan=False)], Annotated[float, Field(gt=0, allow_inf_nan=False)]],
            AfterValidator(nondecreasing),
        ]
        translate: float = Field(ge=0, lt=1, allow_inf_nan=False)

    def __init__(
        self,
        target_size: tuple[int, int] = (640, 640),
        center_range: tuple[float, float] = (0.25, 0.75),
        scale_range: tuple[float, float] = (1.0, 1.0),
        translate: float = 0.0,
        fill: Fill = 114,
        fill_mask: Fill = 0,
        interpolation: int = cv2.INTER_LINEAR,
        mask_interpolation: int = cv2.INTER_NEAREST,
        metadata_key: str = "mosaic_metadata",
        p: float = 0.5,
    ) -> None:
        super().__init__(fill, interpolation, mask_interpolation, metadata_key, p)
        self.fill_mask = fill_mask
        self.target_size = target_size
        self.center_range = center_range
        self.scale_range = scale_range
        self.translate = translate

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        """Choose the extras, draw the centre, zoom and shift, and place the four images."""
        extras = self.take_extras(data)
        center_xy = fmosaic.sample_mosaic_center(self.py_random, self.target_size, self.center_range)
        scale, shift_xy = fmosaic.sample_mosaic_zoom(self.py_random, self.target_size, self.scale_range, self.translate)
        center_xy = fmosaic.zoomed_center(center_xy, self.target_size, scale, shift_xy)
        sources_hw = [data["image"].shape[:2], *(extra["image"].shape[:2] for extra in extras)]
        return {"extras": extras, "placements": fmosaic.mosaic_placements(sources_hw, self.target_size, center_xy, scale)}

    def apply(self, img: np.ndarray, extras: list[Extra], placements: list[Placement], **params: Any) -> np.ndarray:
        return paste_all([img, *(e["image"] for e in extras)], placements, self.target_size, self.fill_for(img), self.interpolation)

    def apply_to_mask(self, mask: np.ndarray, extras: list[Extra], placements: list[Placement], **params: Any) -> np.ndarray:
        return paste_all([mask, *(e["mask"] for e in extras)], placements, self.target_size, checked_fill(self._name, "fill_mask", self.fill_mask, mask), self.mask_interpolation)

    def apply_to_bboxes(self, bboxes: np.ndarray, **params: Any) -> np.ndarray:
        return self.keep_visible_bboxes(*self.placed_source_bboxes(bboxes, params), self.target_size, bboxes.dtype, params.get("instances"))

    def bbox_sources(self, primary: np.ndarray, params: dict[str, Any]) -> list[tuple[np.ndarray, Placement]]:
        """The four images' boxes, each at its quadrant's placement."""
        return list(zip([primary, *(e["bboxes"] for e in params["extras"])], params["placements"]))

    def place_instances(self, sources: list[list[np.ndarray]], params: dict[str, Any]) -> PlacedInstances:
        """Each quadrant's masks, showing what the quadrant shows."""
        return place_instance_masks(sources, params["placements"], self.target_size, self.mask_interpolation)

    def apply_to_keypoints(self, keypoints: np.ndarray, extras: list[Extra], placements: list[Placement], **params: Any) -> np.ndarray:
        sources = self.aligned("keypoints", [keypoints, *(e["keypoints"] for e in extras)])
        return self.keep_visible_keypoints(*place_all_keypoints(sources, placements))
