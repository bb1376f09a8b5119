"""COCO segmentation decoding: detmix's RLE decoder reads what pycocotools writes and resamples to the image."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from detmix.data.segmentation import decode_segmentation, segmentation_problem
from tests.data.builders import coco_rle

pytestmark = pytest.mark.filterwarnings("error")


def random_masks(count: int, seed: int = 0) -> list[np.ndarray]:
    """Masks of assorted sizes and densities, all-0 and all-1 included."""
    rng = np.random.default_rng(seed)
    masks = []
    for index in range(count):
        shape = tuple(int(v) for v in rng.integers(1, 70, 2))
        masks.append((rng.random(shape) < rng.random()).astype(np.uint8) if index % 5 else np.full(shape, index % 2, np.uint8))
    return masks


@pytest.mark.parametrize("compressed", [True, False], ids=["string", "list"])
def test_rle_decodes_what_pycocotools_encodes(compressed: bool) -> None:
    for mask in random_masks(200):
        rle = coco_rle(mask, compressed)
        assert segmentation_problem(rle, mask.shape) is None
        decoded = decode_segmentation(rle, mask.shape)
        assert decoded.dtype == np.uint8 and decoded.flags.c_contiguous
        np.testing.assert_array_equal(decoded, mask)  # the RLE came from pycocotools' encoder


def test_rle_of_another_size_is_sampled_at_the_nearest_pixel() -> None:
    rng = np.random.default_rng(1)
    for mask in random_masks(100, seed=2):
        image_hw = tuple(int(v) for v in rng.integers(1, 90, 2))
        decoded = decode_segmentation(coco_rle(mask), image_hw)
        reference = np.zeros(image_hw, np.uint8)
        for row in range(image_hw[0]):  # the source pixel under each target pixel's centre, on each axis
            for col in range(image_hw[1]):
                reference[row, col] = mask[int((row + 0.5) * mask.shape[0] / image_hw[0]), int((col + 0.5) * mask.shape[1] / image_hw[1])]
        np.testing.assert_array_equal(decoded, reference)


def test_polygons_are_drawn_by_pycocotools_at_the_image_size() -> None:
    polygons = [[5, 4, 25, 4, 25, 19, 5, 19], [40.5, 30, 70, 30, 55, 50]]
    assert segmentation_problem(polygons, (60, 80)) is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        reference = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(polygons, 60, 80)))
    np.testing.assert_array_equal(decode_segmentation(polygons, (60, 80)), reference)
