"""Boxes thinner than float32 coordinates can keep apart from a line: skipped by name, never a crash later."""

from __future__ import annotations

import importlib.util

from pathlib import Path

import albumentations as A
import numpy as np
import pytest

import detmix
from tests.data.builders import coco_dataset, save_json, write_image

pytestmark = pytest.mark.filterwarnings("error")


def mosaic_compose() -> A.Compose:
    return A.Compose([detmix.Mosaic(target_size=(64, 64), p=1)], bbox_params=A.BboxParams("yolo", label_fields=["class_labels"]), seed=0)


@pytest.mark.parametrize(("bbox", "max_size"), [([60.00001, 10, 0.00001, 5], None), ([10, 10, 5, 0.004], None), ([10, 10, 0.03, 5], 20)])
def test_coco_boxes_under_the_least_side_are_named_skips(tmp_path: Path, bbox: list[float], max_size: int | None) -> None:
    images_dir, _, data = coco_dataset(tmp_path, n_images=4, grow=False)  # 60 x 80 images
    data["annotations"].append({"id": 1, "image_id": 100, "category_id": 3, "bbox": bbox, "iscrowd": 0})
    annotation_file = save_json(tmp_path / "thin.json", data)
    with pytest.warns(UserWarning, match=r"annotations under 0.01 px wide or high as loaded, skipped \(1\): annotation 1 "):
        dataset = detmix.CocoDetection(images_dir, annotation_file, mosaic_compose(), max_size=max_size)
    assert len(dataset.records[0].bboxes) == 1
    for index in range(len(dataset)):
        sample = dataset[index]
        assert len(sample["bboxes"]) == len(sample["class_labels"])
    if importlib.util.find_spec("torch"):  # the collates need torch; the skip above does not
        detmix.yolo_collate([dataset[0], dataset[1]])


def test_yolo_rows_under_the_least_side_are_named_skips(tmp_path: Path) -> None:
    write_image(tmp_path / "images" / "a.png", 64, 96, seed=0)
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.txt").write_text("0 0.9 0.5 0.00000001 0.1\n1 0.5 0.5 0.2 0.2\n")
    with pytest.warns(UserWarning, match=r"label rows under 0.01 px wide or high as loaded, skipped \(1\): .*a.txt:1"):
        dataset = detmix.YoloDetection(tmp_path / "images", names=["a", "b"], transform=mosaic_compose())
    assert dataset.records[0].class_labels.tolist() == [1]
    assert len(dataset[0]["bboxes"]) >= 1


def test_the_least_side_is_per_axis(tmp_path: Path) -> None:
    """A 1 x 1000 image loads at 1 x 8 with max_size=8: a box 1 px high and 500 wide (4 loaded px) stays."""
    write_image(tmp_path / "images" / "strip.png", 1, 1000, seed=0)
    data = {
        "images": [{"id": 1, "file_name": "strip.png", "height": 1, "width": 1000}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 3, "bbox": [100, 0, 500, 1], "iscrowd": 0}],
        "categories": [{"id": 3, "name": "cat"}],
    }
    dataset = detmix.CocoDetection(tmp_path / "images", save_json(tmp_path / "a.json", data), max_size=8)
    assert dataset.records[0].image_hw == (1, 8)
    np.testing.assert_allclose(dataset[0]["bboxes"], [[0.8, 0.0, 4.0, 1.0]], atol=1e-5)
