"""CopyPaste: instances of one image pasted onto another, occluded objects refit or dropped."""

from __future__ import annotations

from typing import Annotated, Any

import cv2
import numpy as np
from albumentations.core.pydantic import nondecreasing
from pydantic import AfterValidator, Field

from detmix.functional import copy_paste as fcopy
from detmix.functional.instances import PlacedInstances, Window, place_instance_masks
from detmix.functional.placement import Placement, identity_placement
from detmix.transforms.base import MixingTransform
from detmix.transforms.extras import Extra
from detmix.transforms.schema import MixingInitSchema

PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class CopyPaste(MixingTransform):
    """Paste instances of one extra onto the primary (Ghiasi et al., "Simple Copy-Paste", 2021).

    The extra is scaled to fit the primary (aspect kept) times a jitter drawn from
    ``scale_range``, and put at a random offset (inside the primary when smaller, covering it
    when larger). Each of its instances is chosen with probability ``instance_p``; the chosen
    ones' masked pixels are pasted over the primary in box order, later ones on top (a hard
    paste: the paper found blending the edges adds little).

    Needs instance masks (Albumentations' ``masks``, one per box; the extras carry theirs under
    ``masks``). Every object loses the pixels pasted over it: its mask shrinks and its box is
    refit to the mask's extent. An object is dropped when its mask is left empty, when its
    visible fraction (mask pixels left over its whole mask's pixels) is below
    ``max(min_visibility, BboxParams.min_visibility)``, or by the Compose's
    ``min_area``/``min_width``/``min_height``/``max_accept_ratio``. Output boxes: the primary's,
    then the pasted ones. A semantic ``mask`` takes the extra's values under the pasted pixels.
    The extra's keypoints are not pasted (they belong to no instance); the primary's under
    pasted pixels are removed when ``KeypointParams.remove_invisible`` is set.

    Args:
        scale_range (tuple[float, float]): jitter of the extra's fitted size, drawn uniformly
            (the paper's large-scale jitter is (0.1, 2.0)). Default: (1.0, 1.0).
        instance_p (float): probability of pasting each instance of the extra. Default: 0.5.
        min_visibility (float): least visible fraction of an object to keep it. Default: 0.25.
        interpolation (int): OpenCV flag for the pasted pixels. Default: cv2.INTER_LINEAR.
        mask_interpolation (int): OpenCV flag for masks. Default: cv2.INTER_NEAREST.
        metadata_key (str): Compose-call key holding 1 or more extras. Default: "copypaste_metadata".
        p (float): probability of applying. Default: 0.5.

    Targets:
        image, mask, masks, bboxes, keypoints

    Image types:
        uint8, float32

    Example:
        >>> aug = A.Compose([detmix.CopyPaste(p=1)],
        ...                 bbox_params=A.BboxParams("coco", label_fields=["labels", detmix.MASK_INDICES]))
        >>> out = aug(image=img, masks=masks, bboxes=boxes, labels=labels, mask_indices=np.arange(len(boxes)),
        ...           copypaste_metadata=[{"image": i, "masks": m, "bboxes": b, "labels": l}])
    """

    extras_needed = 1
    extra_targets = ("bboxes",)  # the extra's keypoints are never pasted, so not asked for

    class InitSchema(MixingInitSchema):
        scale_range: Annotated[tuple[PositiveFloat, PositiveFloat], AfterValidator(nondecreasing)]
        instance_p: float = Field(ge=0, le=1)
        min_visibility: float = Field(ge=0, le=1)

    def __init__(
        self,
        scale_range: tuple[float, float] = (1.0, 1.0),
        instance_p: float = 0.5,
        min_visibility: float = 0.25,
        interpolation: int = cv2.INTER_LINEAR,
        mask_interpolation: int = cv2.INTER_NEAREST,
        metadata_key: str = "copypaste_metadata",
        p: float = 0.5,
    ) -> None:
        super().__init__(interpolation, mask_interpolation, metadata_key, p)
        self.scale_range = scale_range
        self.instance_p = instance_p
        self.min_visibility = min_visibility

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        """Choose the extra, place it, and choose which of its instances to paste."""
        if data.get("masks") is None:
            raise ValueError(
                f"CopyPaste needs instance masks: pass masks=[...] (one uint8 mask per box) with bboxes, "
                f"and every extra under '{self.metadata_key}' with its own 'masks'",
            )
        extras = self.take_extras(data)
        placement = fcopy.sample_paste_placement(self.py_random, extras[0]["image"].shape[:2], data["image"].shape[:2], self.scale_range)
        count = len(extras[0]["bboxes"])
        chosen = [index for index in range(count) if self.py_random.random() < self.instance_p]
        return {"extras": extras, "placement": placement, "chosen": chosen}

    def place_instances(self, sources: list[list[np.ndarray]], params: dict[str, Any]) -> PlacedInstances:
        """The primary's masks and the chosen pasted ones, each less what is pasted over it."""
        primary, other = sources
        image_hw = params["shape"][:2]
        pasted = [other[index] for index in params["chosen"]]
        placed = place_instance_masks([primary, pasted], [identity_placement(image_hw), params["placement"]], image_hw, self.mask_interpolation)
        params["pasted"] = fcopy.occlude_pasted(placed, len(primary))
        return placed

    def bbox_sources(self, primary: np.ndarray, params: dict[str, Any]) -> list[tuple[np.ndarray, Placement]]:
        """The primary's boxes as they are, then the chosen instances' at the paste placement."""
        other = params["extras"][0]["bboxes"]
        return [(primary, identity_placement(params["shape"][:2])), (other[params["chosen"]], params["placement"])]

    def apply(self, img: np.ndarray, extras: list[Extra], placement: Placement, pasted: tuple[np.ndarray, Window], **params: Any) -> np.ndarray:
        return fcopy.paste_pixels(img, extras[0]["image"], placement, *pasted, self.interpolation)

    def apply_to_mask(self, mask: np.ndarray, extras: list[Extra], placement: Placement, pasted: tuple[np.ndarray, Window], **params: Any) -> np.ndarray:
        return fcopy.paste_pixels(mask, extras[0]["mask"], placement, *pasted, self.mask_interpolation)

    def apply_to_bboxes(self, bboxes: np.ndarray, **params: Any) -> np.ndarray:
        return self.keep_visible_bboxes(*self.placed_source_bboxes(bboxes, params), params["shape"][:2], bboxes.dtype, params["instances"])

    def apply_to_keypoints(self, keypoints: np.ndarray, pasted: tuple[np.ndarray, Window], **params: Any) -> np.ndarray:
        if not len(keypoints):
            return keypoints
        height, width = pasted[0].shape
        x, y = np.floor(keypoints[:, 0]), np.floor(keypoints[:, 1])
        inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
        covered = np.zeros(len(keypoints), bool)
        covered[inside] = pasted[0][y[inside].astype(int), x[inside].astype(int)]
        return self.keep_visible_keypoints(keypoints, ~covered)
