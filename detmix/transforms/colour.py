"""HSVJitter: the YOLO recipes' colour step, random multiplicative HSV gains in one table look-up."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from albumentations.core.transforms_interface import BaseTransformInitSchema, ImageOnlyTransform
from pydantic import Field

from detmix.functional import colour as fcolour

#: A jitter amount: gains are drawn from ``[1 - x, 1 + x]``, so ``x`` in [0, 1] keeps them >= 0.
JitterAmount = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class HSVJitter(ImageOnlyTransform):
    """Multiply hue, saturation and value by random gains, as YOLO training recipes do.

    On each call three gains are drawn independently and uniformly: hue from
    ``[1 - hue, 1 + hue]``, saturation from ``[1 - saturation, 1 + saturation]``, value from
    ``[1 - value, 1 + value]``, from the transform's own generator (``Compose(seed=...)``
    replays them). Hue wraps around the colour circle; saturation and value saturate at the
    dtype's maximum (255, or 1.0 for float32). The defaults are Ultralytics' ``hsv_h``,
    ``hsv_s`` and ``hsv_v``. A uint8 image takes one ``cv2.LUT`` call between OpenCV's RGB->HSV
    and HSV->RGB; its 8-bit hue has 2-degree steps. Gray images (one channel) are RGB images
    with equal channels: only the value gain changes them. See
    :func:`detmix.functional.colour.hsv_jitter_image`.

    Args:
        hue (float): hue gain spread, in [0, 1]. Default: 0.015.
        saturation (float): saturation gain spread, in [0, 1]. Default: 0.7.
        value (float): value gain spread, in [0, 1]. Default: 0.4.
        p (float): probability of applying. Default: 1.0.

    Targets:
        image, images, volume, volumes

    Image types:
        uint8, float32 (values in [0, 1]); RGB ``(H, W, 3)`` or gray ``(H, W)`` / ``(H, W, 1)``.
        Other channel counts, other dtypes and float32 values outside [0, 1] raise an error.

    Examples:
        >>> import albumentations as A
        >>> import numpy as np
        >>> import detmix
        >>> augment = A.Compose([detmix.HSVJitter(hue=0.015, saturation=0.7, value=0.4)], seed=0)
        >>> augment(image=np.full((8, 8, 3), 128, np.uint8))["image"].shape
        (8, 8, 3)
    """

    class InitSchema(BaseTransformInitSchema):
        hue: JitterAmount
        saturation: JitterAmount
        value: JitterAmount

    def __init__(self, hue: float = 0.015, saturation: float = 0.7, value: float = 0.4, p: float = 1.0) -> None:
        super().__init__(p=p)
        self.hue = hue
        self.saturation = saturation
        self.value = value

    def get_params(self) -> dict[str, Any]:
        """Draw the three gains from the transform's own ``py_random``."""
        return {"gains_hsv": fcolour.sample_hsv_gains(self.py_random, self.hue, self.saturation, self.value)}

    def apply(self, img: np.ndarray, gains_hsv: fcolour.HSVGains, **params: Any) -> np.ndarray:
        return fcolour.hsv_jitter_image(img, gains_hsv)
