"""YoloDetection(masks="instance"): polygon rows drawn, box rows masked by their box, checked against the pixels drawn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import detmix
from detmix.data.images import loaded_hw
from tests.data.builders import yolo_dataset
from tests.data.instance_scenes import (
    SceneObject,
    assert_boxes_are_mask_extents,
    assert_mask_is_object,
    assert_sample_shows_scene,
    box_pixels,
    inside_polygon,
    object_scene,
    write_yolo,
)

pytestmark = pytest.mark.filterwarnings("error")

IMAGE_HW = (80, 120)
KINDS = ("polygon", "box", "polygon", "polygon", "box", "polygon")


def build(tmp_path: Path, orientation: int = 1, **kwargs: object) -> tuple[detmix.YoloDetection, list[SceneObject], np.ndarray]:
    """One image with polygon and box rows mixed (2 box rows: the warning counts them)."""
    image, objects, colours = object_scene(orientation, KINDS, IMAGE_HW)
    images_dir = write_yolo(tmp_path, [(image, objects)], orientation)
    with pytest.warns(UserWarning, match=r"objects without a segmentation, masked by their box \(masks='instance'\) \(2\): .*img0.txt:2, .*img0.txt:5$"):
        dataset = detmix.YoloDetection(images_dir, masks="instance", **kwargs)
    return dataset, objects, colours


@pytest.mark.parametrize("orientation", [1, 6])
def test_each_mask_is_its_objects_pixels_and_each_box_its_masks_extent(tmp_path: Path, orientation: int) -> None:
    dataset, objects, colours = build(tmp_path, orientation)
    sample = dataset[0]
    assert sample["masks"].shape == (len(KINDS), *IMAGE_HW)
    assert_sample_shows_scene(sample, objects, colours)


@pytest.mark.parametrize("orientation", [1, 6])
def test_polygons_and_boxes_are_drawn_at_the_size_max_size_loads(tmp_path: Path, orientation: int) -> None:
    dataset, objects, _ = build(tmp_path, orientation, max_size=90)
    loaded = loaded_hw(IMAGE_HW, 90)
    scale = np.array([loaded[1] / IMAGE_HW[1], loaded[0] / IMAGE_HW[0]])
    sample = dataset[0]
    assert sample["masks"].shape == (len(KINDS), *loaded) and sample["image"].shape[:2] == loaded
    for mask, obj in zip(sample["masks"], objects):
        if obj.polygons:
            scaled = [p * scale for p in obj.polygons]
            assert_mask_is_object(mask, inside_polygon(scaled[0], loaded), scaled)
        else:
            x, y, w, h = obj.box
            assert_mask_is_object(mask, box_pixels((x * scale[0], y * scale[1], w * scale[0], h * scale[1]), loaded), [])
    assert_boxes_are_mask_extents(sample["bboxes"], sample["masks"])


def test_images_without_objects_have_an_empty_stack(tmp_path: Path) -> None:
    images = yolo_dataset(tmp_path, n_images=2)
    (tmp_path / "labels" / "train" / "im1.txt").write_text("")
    with pytest.warns(UserWarning, match=r"masked by their box .* \(1\)"):
        sample = detmix.YoloDetection(images, masks="instance")[1]
    assert sample["masks"].shape == (0, 64, 96) and sample["masks"].dtype == np.uint8
    assert sample["bboxes"].shape == (0, 4) and len(sample["class_labels"]) == 0


@pytest.mark.parametrize("value", [True, "semantic"])
def test_masks_true_is_refused_there_is_no_semantic_map(tmp_path: Path, value: object) -> None:
    images = yolo_dataset(tmp_path, n_images=1)
    with pytest.raises(ValueError, match=r"masks: expected one of False, 'instance', got .*YoloDetection has no semantic map: pass masks='instance'"):
        detmix.YoloDetection(images, masks=value)


def test_masks_is_keyword_only_and_checked(tmp_path: Path) -> None:
    images = yolo_dataset(tmp_path, n_images=1)
    with pytest.raises(TypeError, match=r"masks: expected one of False, 'instance', got int 1"):
        detmix.YoloDetection(images, masks=1)
    with pytest.raises(ValueError, match=r"masks: expected one of False, 'instance', got 'instances'$"):
        detmix.YoloDetection(images, masks="instances")
    assert detmix.YoloDetection(images).masks is False and "masks" not in detmix.YoloDetection(images)[0]
