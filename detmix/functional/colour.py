"""HSV colour jitter: multiplicative gains on hue, saturation and value, in one table look-up.

A uint8 RGB image goes to OpenCV's 8-bit HSV (hue in [0, 180), saturation and value in
[0, 255]), through one ``cv2.LUT`` call whose (256, 1, 3) table holds all three channels'
gains, and back. A float32 image (Albumentations' [0, 1] range) goes through OpenCV's float
HSV (hue in [0, 360) degrees, saturation and value in [0, 1]) with the same arithmetic. A gray
image is an RGB image with equal channels: its saturation is 0 and its hue has no effect, so
only the value gain applies.
"""

from __future__ import annotations

import math
import random

import cv2
import numpy as np

#: Hue period of OpenCV's HSV for each image dtype: 8-bit hue is degrees halved.
HUE_PERIOD = {np.dtype(np.uint8): 180.0, np.dtype(np.float32): 360.0}
HSVGains = tuple[float, float, float]


def sample_hsv_gains(rng: random.Random, hue: float, saturation: float, value: float) -> HSVGains:
    """Draw one gain per channel, uniform in ``[1 - x, 1 + x]`` for ``x`` = hue, saturation, value."""
    return (rng.uniform(1.0 - hue, 1.0 + hue), rng.uniform(1.0 - saturation, 1.0 + saturation), rng.uniform(1.0 - value, 1.0 + value))


def hsv_jitter_image(image: np.ndarray, gains_hsv: HSVGains) -> np.ndarray:
    """Multiply an RGB image's hue, saturation and value by ``gains_hsv``; returns a new array.

    Hue wraps around (``(h * gain) mod period``: 180 for uint8, 360 degrees for float32);
    saturation and value saturate at 255 (uint8) or 1.0 (float32). uint8 results are rounded
    to the nearest whole step. Gains of exactly ``(1, 1, 1)`` return an equal copy; any other
    gains take a uint8 image through OpenCV's 8-bit HSV, whose hue has 2-degree steps, so a
    pixel may move by a few units even where its own gains are close to 1.

    Args:
        image (np.ndarray): uint8 or float32 image, RGB ``(H, W, 3)`` or gray ``(H, W)`` /
            ``(H, W, 1)`` (value gain only); float32 values are clipped to [0, 1] first (the
            small overshoot of cubic and Lanczos resampling). Never written to.
        gains_hsv (tuple[float, float, float]): finite, non-negative gains for hue, saturation
            and value.

    Returns:
        np.ndarray: the jittered image, same shape and dtype.

    Raises:
        TypeError: the image is not a uint8 or float32 numpy array.
        ValueError: the image has another channel count, a float32 image holds NaN or
            infinity, or a gain is negative or not finite.
    """
    _check_image(image)
    gains = _checked_gains(gains_hsv)
    if image.dtype == np.float32:  # interpolations (cubic, Lanczos) overshoot [0, 1] by a little
        image = np.clip(image, 0.0, 1.0)
    if gains == (1.0, 1.0, 1.0) or image.size == 0:
        return image.copy()
    if image.ndim == 2 or image.shape[2] == 1:
        return _scale_value(image, gains[2])
    if image.dtype == np.uint8:
        hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
        return cv2.cvtColor(cv2.LUT(hsv, hsv_lut(gains)), cv2.COLOR_HSV2RGB)
    # OpenCV's float HSV -> RGB reads hue modulo 360 (the tests pin it): only saturation and
    # value need their cap.
    hsv = cv2.multiply(cv2.cvtColor(image, cv2.COLOR_RGB2HSV), (*gains, 0.0))
    cv2.min(hsv, (math.inf, 1.0, 1.0, 0.0), dst=hsv)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def hsv_lut(gains_hsv: HSVGains) -> np.ndarray:
    """The (256, 1, 3) uint8 table ``cv2.LUT`` applies to an 8-bit HSV image for these gains.

    Hue: ``round(x * gain) mod 180``; saturation and value: ``min(round(x * gain), 255)``.
    """
    x = np.arange(256, dtype=np.float64)
    hue = np.mod(np.rint(x * gains_hsv[0]), HUE_PERIOD[np.dtype(np.uint8)])
    sat_val = np.minimum(np.rint(np.outer(x, gains_hsv[1:])), 255.0)
    return np.column_stack([hue, sat_val]).astype(np.uint8).reshape(256, 1, 3)


def _scale_value(image: np.ndarray, gain: float) -> np.ndarray:
    """A gray image's jitter: its value times ``gain``, rounded (uint8) and saturated."""
    if image.dtype == np.uint8:
        table = np.minimum(np.rint(np.arange(256) * gain), 255).astype(np.uint8)
        return cv2.LUT(image, table).reshape(image.shape)
    return np.minimum(image * np.float32(gain), np.float32(1.0))


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.dtype not in HUE_PERIOD:
        described = f"a {image.dtype} array" if isinstance(image, np.ndarray) else type(image).__name__
        raise TypeError(f"HSV jitter: expected a uint8 or float32 numpy image, got {described}")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3))):
        raise ValueError(f"HSV jitter: expected an RGB (H, W, 3) or gray (H, W) / (H, W, 1) image, got shape {image.shape}")
    if image.dtype == np.float32 and image.size and not np.isfinite(image).all():
        raise ValueError("HSV jitter: expected a float32 image of finite values, got NaN or infinity")


def _checked_gains(gains_hsv: HSVGains) -> HSVGains:
    gains = tuple(map(float, gains_hsv))
    if len(gains) != 3 or not all(math.isfinite(g) and g >= 0.0 for g in gains):
        raise ValueError(f"HSV jitter: expected three finite, non-negative gains (hue, saturation, value), got {gains_hsv}")
    return gains[0], gains[1], gains[2]
