"""hsv_jitter_image against per-pixel references: table arithmetic, wrap, saturation, purity."""

from __future__ import annotations

import colorsys

import cv2
import numpy as np
import pytest

from detmix.functional.colour import hsv_jitter_image

pytestmark = pytest.mark.filterwarnings("error")

GAINS = [(1.0, 1.0, 0.5), (0.985, 1.7, 1.4), (1.3, 0.3, 0.6), (2.0, 2.0, 2.0), (0.0, 0.0, 0.0), (1.5, 1.0, 1.0)]


def rgb_image(seed: int = 0, hw: tuple[int, int] = (12, 16)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*hw, 3), dtype=np.uint8)


def reference_uint8(image: np.ndarray, gains: tuple[float, float, float]) -> np.ndarray:
    """Per pixel: OpenCV's 8-bit HSV of the input, the gains in plain arithmetic, colorsys back."""
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
    out = np.empty_like(image)
    for y, x in np.ndindex(image.shape[:2]):
        h, s, v = (int(c) for c in hsv[y, x])
        h, s, v = round(h * gains[0]) % 180, min(round(s * gains[1]), 255), min(round(v * gains[2]), 255)
        out[y, x] = [round(c * 255) for c in colorsys.hsv_to_rgb(h / 180, s / 255, v / 255)]
    return out


def reference_float(image: np.ndarray, gains: tuple[float, float, float]) -> np.ndarray:
    """Per pixel, exact: colorsys HSV, hue times its gain modulo one turn, the others capped at 1."""
    out = np.empty_like(image)
    for y, x in np.ndindex(image.shape[:2]):
        h, s, v = colorsys.rgb_to_hsv(*(float(c) for c in image[y, x]))
        out[y, x] = colorsys.hsv_to_rgb((h * gains[0]) % 1.0, min(s * gains[1], 1.0), min(v * gains[2], 1.0))
    return out


def check_pure(image: np.ndarray, gains: tuple[float, float, float]) -> np.ndarray:
    """Run the kernel; check the input is untouched and the output a new array of its shape and dtype."""
    original = image.copy()
    out = hsv_jitter_image(image, gains)
    np.testing.assert_array_equal(image, original, err_msg="kernel wrote into its input")
    assert not np.shares_memory(out, image), "kernel returned a view of its input"
    assert out.shape == image.shape and out.dtype == image.dtype
    return out


@pytest.mark.parametrize("gains", GAINS)
def test_uint8_matches_the_per_pixel_reference_within_one_unit(gains: tuple[float, float, float]) -> None:
    image = rgb_image()
    out = check_pure(image, gains)
    assert np.abs(out.astype(int) - reference_uint8(image, gains)).max() <= 1


@pytest.mark.parametrize("gains", GAINS)
def test_float32_matches_exact_colour_maths(gains: tuple[float, float, float]) -> None:
    image = rgb_image(1).astype(np.float32) / 255
    out = check_pure(image, gains)
    np.testing.assert_allclose(out, reference_float(image, gains), atol=1e-5)


def test_uint8_stays_close_to_exact_colour_maths() -> None:
    """The 8-bit HSV round trip costs a few units on average and a bounded amount at worst.

    8-bit hue is off by at most 1.5 steps of 2 degrees (rounding and OpenCV's fixed point), the
    table's rounding adds half a step: 4 degrees, and one degree of hue moves a channel by at
    most 255 / 60 units.
    """
    image = rgb_image(2, (24, 24))
    gains = (1.01, 1.3, 0.8)
    exact = reference_float(image.astype(np.float32) / 255, gains) * 255
    error = np.abs(check_pure(image, gains) - exact)
    assert error.max() <= 4 * 255 / 60 and error.mean() < 1.0


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("shape", [(9, 7, 3), (9, 7, 1), (9, 7), (0, 7, 3)])
def test_unit_gains_return_an_equal_copy(dtype: type, shape: tuple[int, ...]) -> None:
    image = np.random.default_rng(3).integers(0, 256, shape).astype(dtype)
    image = image / np.float32(255) if dtype == np.float32 else image
    np.testing.assert_array_equal(check_pure(image, (1.0, 1.0, 1.0)), image)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_hue_wraps_around_the_colour_circle(dtype: type) -> None:
    """Hue 340 degrees times 1.2 is 408, which is 48 degrees: orange-yellow, not a clipped red."""
    magenta_red = np.array([[colorsys.hsv_to_rgb(340 / 360, 1.0, 1.0)]], np.float32)
    image = np.rint(magenta_red * 255).astype(np.uint8) if dtype == np.uint8 else magenta_red
    out = check_pure(image, (1.2, 1.0, 1.0))
    scale = 255.0 if dtype == np.uint8 else 1.0
    hue = colorsys.rgb_to_hsv(*(out[0, 0].astype(float) / scale))[0] * 360
    assert hue == pytest.approx(48, abs=2)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_saturation_and_value_saturate_instead_of_wrapping(dtype: type) -> None:
    colours = np.array([[[255, 40, 40], [200, 180, 100], [255, 255, 255]]], np.uint8)
    image = colours if dtype == np.uint8 else colours.astype(np.float32) / 255
    out = check_pure(image, (1.0, 2.0, 2.0)).astype(np.float64) / (255 if dtype == np.uint8 else 1)
    hsv = np.array([colorsys.rgb_to_hsv(*pixel) for pixel in out[0]])
    np.testing.assert_allclose(hsv[:, 2], 1.0, atol=1e-6)  # value doubled, capped at the maximum
    np.testing.assert_allclose(hsv[:2, 1], 1.0, atol=0.01)  # saturation 0.84 and 0.44, doubled and capped
    np.testing.assert_allclose(hsv[2, 1], 0.0, atol=1e-6)  # white has no saturation to scale


@pytest.mark.parametrize("gains", [(1.3, 1.6, 0.7), (0.5, 2.0, 1.5)])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_gray_changes_as_an_rgb_image_with_equal_channels(dtype: type, gains: tuple[float, float, float]) -> None:
    gray = np.arange(256, dtype=np.uint8).reshape(16, 16)
    gray = gray if dtype == np.uint8 else gray.astype(np.float32) / 255
    as_rgb = check_pure(np.repeat(gray[..., None], 3, axis=2), gains)
    np.testing.assert_allclose(check_pure(gray, gains), as_rgb[..., 0], atol=1e-6)
    np.testing.assert_allclose(check_pure(gray[..., None], gains), as_rgb[..., :1], atol=1e-6)


def test_non_contiguous_input() -> None:
    image = rgb_image(4, (10, 20))[:, ::2]
    np.testing.assert_array_equal(check_pure(image, (1.1, 1.2, 0.9)), hsv_jitter_image(image.copy(), (1.1, 1.2, 0.9)))


@pytest.mark.parametrize(
    ("image", "gains", "error", "match"),
    [
        (np.zeros((4, 4, 3), np.float64), (1, 1, 1), TypeError, "uint8 or float32 numpy image, got a float64 array"),
        ([[0, 0, 0]], (1, 1, 1), TypeError, "got list"),
        (np.zeros((4, 4, 4), np.uint8), (1, 1, 1), ValueError, r"got shape \(4, 4, 4\)"),
        (np.zeros((4, 4, 2), np.float32), (1, 1, 1), ValueError, r"got shape \(4, 4, 2\)"),
        (np.zeros((2, 4, 4, 3), np.uint8), (1, 1, 1), ValueError, r"got shape \(2, 4, 4, 3\)"),
        (np.full((4, 4, 3), np.nan, np.float32), (1.2, 1, 1), ValueError, "finite values, got NaN or infinity"),
        (np.full((4, 4, 3), np.inf, np.float32), (1, 1, 1), ValueError, "finite values, got NaN or infinity"),
        (np.zeros((4, 4, 3), np.uint8), (1, -0.1, 1), ValueError, "non-negative gains"),
        (np.zeros((4, 4, 3), np.uint8), (1, 1, float("nan")), ValueError, "finite"),
        (np.zeros((4, 4, 3), np.uint8), (1, 1), ValueError, "three"),
    ],
)
def test_bad_input_is_refused_by_name(image: np.ndarray, gains: tuple[float, ...], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        hsv_jitter_image(image, gains)  # type: ignore[arg-type]


@pytest.mark.parametrize("gains", [(1.0, 1.0, 1.0), (1.2, 0.8, 1.1)])
def test_float_overshoot_of_cubic_resampling_is_clipped_first(gains) -> None:
    """Cubic and Lanczos warps leave float32 values a little outside [0, 1]: jittered as if clipped."""
    rng = np.random.default_rng(4)
    image = rng.uniform(-0.4, 1.4, (6, 7, 3)).astype(np.float32)
    out = hsv_jitter_image(image, gains)
    np.testing.assert_allclose(out, hsv_jitter_image(np.clip(image, 0, 1), gains), atol=1e-6)
    assert out.min() >= 0 and out.max() <= 1 + 1e-6
