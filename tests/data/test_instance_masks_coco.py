"""CocoDetection(masks="instance"): one mask per box from polygons, RLEs and crowds, checked against the pixels drawn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import detmix
from detmix.data.images import loaded_hw
from tests.data.instance_scenes import SceneObject, assert_boxes_are_mask_extents, assert_mask_is_object, assert_sample_shows_scene, inside_polygon, object_scene, write_coco

pytestmark = pytest.mark.filterwarnings("error")

IMAGE_HW = (90, 150)
KINDS = ("polygon", "multipolygon", "rle", "rle_list", "crowd", "box")


def scene(seed: int, kinds: tuple[str, ...] = KINDS) -> tuple[np.ndarray, list[SceneObject], np.ndarray]:
    return object_scene(seed, kinds, IMAGE_HW)


def build(tmp_path: Path, orientation: int = 1, **kwargs: object) -> tuple[detmix.CocoDetection, list[SceneObject], np.ndarray]:
    image, objects, colours = scene(orientation)
    images_dir, annotation_file = write_coco(tmp_path, [(image, objects)], orientation)
    with pytest.warns(UserWarning, match=r"objects without a segmentation, masked by their box \(masks='instance'\) \(1\): annotation 105"):
        dataset = detmix.CocoDetection(images_dir, annotation_file, masks="instance", include_crowd=True, **kwargs)
    return dataset, objects, colours


@pytest.mark.parametrize("orientation", [1, 6])
def test_each_mask_is_its_objects_pixels_and_each_box_its_masks_extent(tmp_path: Path, orientation: int) -> None:
    dataset, objects, colours = build(tmp_path, orientation)
    sample = dataset[0]
    assert sample["masks"].shape == (len(KINDS), *IMAGE_HW) and sample["image"].shape[:2] == IMAGE_HW
    assert_sample_shows_scene(sample, objects, colours)
    assert "mask_indices" not in sample and "mask" not in sample


def test_crowds_are_objects_only_with_include_crowd(tmp_path: Path) -> None:
    image, objects, _ = scene(0, ("crowd", "polygon"))
    images_dir, annotation_file = write_coco(tmp_path, [(image, objects)])
    without = detmix.CocoDetection(images_dir, annotation_file, masks="instance")[0]
    assert len(without["masks"]) == 1 and without["class_labels"].tolist() == [objects[1].label]
    with_crowd = detmix.CocoDetection(images_dir, annotation_file, masks="instance", include_crowd=True)[0]
    np.testing.assert_array_equal(with_crowd["masks"][0], objects[0].pixels)


@pytest.mark.parametrize("orientation", [1, 6])
def test_masks_are_drawn_at_the_size_max_size_loads(tmp_path: Path, orientation: int) -> None:
    dataset, objects, _ = build(tmp_path, orientation, max_size=100)
    loaded = loaded_hw(IMAGE_HW, 100)
    sample = dataset[0]
    assert sample["masks"].shape == (len(KINDS), *loaded) and sample["image"].shape[:2] == loaded
    sy, sx = loaded[0] / IMAGE_HW[0], loaded[1] / IMAGE_HW[1]
    ys, xs = np.mgrid[0 : loaded[0], 0 : loaded[1]]
    for mask, obj, kind in zip(sample["masks"], objects, KINDS):
        if obj.polygons:  # scaled, then drawn at the loaded size
            scaled = [p * [sx, sy] for p in obj.polygons]
            truth = np.logical_or.reduce([inside_polygon(p, loaded) for p in scaled])
            assert_mask_is_object(mask, truth, scaled)
        elif kind == "box":  # the scaled box, by the pixel-centre rule
            x, y, w, h = obj.box
            truth = (xs + 0.5 > x * sx) & (xs + 0.5 <= (x + w) * sx) & (ys + 0.5 > y * sy) & (ys + 0.5 <= (y + h) * sy)
            assert_mask_is_object(mask, truth, [])
        else:  # an RLE is sampled at each loaded pixel's centre
            rows = ((ys + 0.5) * IMAGE_HW[0] / loaded[0]).astype(int)
            cols = ((xs + 0.5) * IMAGE_HW[1] / loaded[1]).astype(int)
            assert_mask_is_object(mask, obj.pixels[rows, cols], [])
    assert_boxes_are_mask_extents(sample["bboxes"], sample["masks"])


def test_an_object_whose_segmentation_covers_no_pixel_centre_keeps_a_pixel(tmp_path: Path) -> None:
    image = np.zeros((*IMAGE_HW, 3), np.uint8)
    sliver = SceneObject(0, np.zeros(IMAGE_HW, bool), segmentation=[[10.6, 20.1, 10.9, 20.1, 10.9, 40.0, 10.6, 40.0]], box=(10.6, 20.1, 0.3, 19.9))
    images_dir, annotation_file = write_coco(tmp_path, [(image, [sliver])])
    sample = detmix.CocoDetection(images_dir, annotation_file, masks="instance")[0]
    expected = np.zeros(IMAGE_HW, np.uint8)
    expected[20:40, 10] = 1  # the box's rows; the column under its centre (no column centre lies in it)
    np.testing.assert_array_equal(sample["masks"], expected[None])
    np.testing.assert_allclose(sample["bboxes"], [[10, 20, 1, 20]])


def test_masks_true_is_the_semantic_map_as_before(tmp_path: Path) -> None:
    image, objects, _ = scene(0, ("polygon", "rle"))
    images_dir, annotation_file = write_coco(tmp_path, [(image, objects)])
    for value in (True, "semantic"):
        dataset = detmix.CocoDetection(images_dir, annotation_file, masks=value)
        sample = dataset[0]
        assert dataset.masks == "semantic" and "masks" not in sample
        assert set(np.unique(sample["mask"])) == {0, objects[0].label + 1, objects[1].label + 1}
    assert detmix.CocoDetection(images_dir, annotation_file, masks="instance").masks == "instance"
    assert detmix.CocoDetection(images_dir, annotation_file).masks is False


@pytest.mark.parametrize(("value", "error"), [("instances", ValueError), ("Semantic", ValueError), (1, TypeError), (None, TypeError), (np.bool_(True), TypeError)])
def test_masks_takes_false_true_semantic_or_instance(tmp_path: Path, value: object, error: type) -> None:
    image, objects, _ = scene(0, ("polygon",))
    images_dir, annotation_file = write_coco(tmp_path, [(image, objects)])
    with pytest.raises(error, match=r"masks: expected one of False, True, 'semantic', 'instance', got "):
        detmix.CocoDetection(images_dir, annotation_file, masks=value)
