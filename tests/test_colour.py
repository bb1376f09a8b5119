"""HSVJitter: gains drawn in range from its own generator, seeded replay, schema, serialization."""

from __future__ import annotations

import json
import random

import albumentations as A
import numpy as np
import pytest

import detmix
from detmix.functional.colour import hsv_jitter_image

pytestmark = pytest.mark.filterwarnings("error")

IMAGE = np.random.default_rng(0).integers(0, 256, (16, 20, 3), dtype=np.uint8)


def test_output_is_the_kernel_with_the_drawn_gains() -> None:
    transform = detmix.HSVJitter()
    out = A.Compose([transform], seed=1)(image=IMAGE)["image"]
    np.testing.assert_array_equal(out, hsv_jitter_image(IMAGE, transform.params["gains_hsv"]))
    assert not np.array_equal(out, IMAGE)


def test_gains_are_uniform_in_one_plus_minus_each_amount() -> None:
    transform = detmix.HSVJitter(hue=0.1, saturation=0.5, value=0.0)
    aug = A.Compose([transform], seed=2)
    gains = []
    for _ in range(300):
        aug(image=IMAGE[:2, :2])
        gains.append(transform.params["gains_hsv"])
    gains = np.array(gains)
    assert (np.abs(gains[:, 0] - 1) <= 0.1).all() and (np.abs(gains[:, 1] - 1) <= 0.5).all() and (gains[:, 2] == 1).all()
    # Uniform, not clustered: each amount's range is covered end to end.
    assert gains[:, 0].min() < 0.92 and gains[:, 0].max() > 1.08 and gains[:, 1].min() < 0.6 and gains[:, 1].max() > 1.4


def test_seed_replays_and_global_generators_do_not_matter() -> None:
    def run(seed: int, global_seed: int) -> np.ndarray:
        random.seed(global_seed)
        np.random.seed(global_seed)  # noqa: NPY002 - proving the transform ignores it
        return A.Compose([detmix.HSVJitter(p=0.5)], seed=seed)(image=IMAGE)["image"]

    np.testing.assert_array_equal(run(5, 0), run(5, 1))
    assert not all(np.array_equal(run(5, 0), run(seed, 0)) for seed in range(6, 10))


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_images_target_and_dtype(dtype: type) -> None:
    images = np.stack([IMAGE, IMAGE[::-1]])
    images = images if dtype == np.uint8 else images.astype(np.float32) / 255
    transform = detmix.HSVJitter(hue=0.5)
    out = A.Compose([transform], seed=3)(images=images)["images"]
    assert out.dtype == dtype and out.shape == images.shape
    for image, result in zip(images, out, strict=True):
        np.testing.assert_array_equal(result, hsv_jitter_image(image, transform.params["gains_hsv"]))


def test_refuses_an_image_it_cannot_jitter_with_its_shape() -> None:
    with pytest.raises(ValueError, match=r"HSV jitter: expected an RGB .*got shape \(16, 20, 4\)"):
        A.Compose([detmix.HSVJitter()])(image=np.zeros((16, 20, 4), np.uint8))


@pytest.mark.parametrize("field", ["hue", "saturation", "value"])
@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), float("inf")])
def test_schema_names_the_bad_field(field: str, bad: float) -> None:
    with pytest.raises(ValueError, match=field):
        detmix.HSVJitter(**{field: bad})


def test_serialization_round_trip_replays() -> None:
    aug = A.Compose([detmix.HSVJitter(hue=0.2, saturation=0.3, value=0.9, p=0.8)], seed=4)
    restored = A.from_dict(json.loads(json.dumps(A.to_dict(aug))))
    restored.set_random_seed(4)
    assert isinstance(restored.transforms[0], detmix.HSVJitter)
    assert A.to_dict(restored) == A.to_dict(aug)
    for _ in range(3):
        np.testing.assert_array_equal(aug(image=IMAGE)["image"], restored(image=IMAGE)["image"])
