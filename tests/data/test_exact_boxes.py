"""Without a transform, a dataset's boxes are the annotation's to float64 rounding, in every box format.

float32 keeps 24 bits: on a 4000 px wide image a coordinate near 3200 moves by up to 1.2e-4 px,
and through normalized float32 by up to 2.4e-4 (a 15 px box came back 14.999808 px wide).
"""

from __future__ import annotations

import importlib.util

from pathlib import Path

import cv2
import numpy as np
import pytest

import detmix
from tests.data.builders import save_json

pytestmark = pytest.mark.filterwarnings("error")

#: A wide, low image: large x coordinates with small boxes.
HEIGHT, WIDTH = 30, 4000
#: COCO ``[x, y, w, h]`` pixels with fractional values; the first is 15 px wide.
BOXES = np.array([[3210.3, 7.25, 15.0, 12.5], [3210.37, 10.25, 15.0, 7.3], [0.1, 0.2, 3999.7, 29.6]])
FORMATS = ("coco", "pascal_voc", "yolo", "albumentations")


def expected(boxes: np.ndarray, bbox_format: str, image_hw: tuple[int, int]) -> np.ndarray:
    """``boxes`` (COCO pixels) in ``bbox_format``, by float64 arithmetic on each coordinate."""
    height, width = image_hw
    x, y, w, h = boxes.T
    converted = {
        "coco": [x, y, w, h],
        "pascal_voc": [x, y, x + w, y + h],
        "yolo": [(x + w / 2) / width, (y + h / 2) / height, w / width, h / height],
        "albumentations": [x / width, y / height, (x + w) / width, (y + h) / height],
    }
    return np.stack(converted[bbox_format], axis=1)


def blank_png(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.zeros((HEIGHT, WIDTH, 3), np.uint8))
    return path


def yolo_exact(tmp_path: Path) -> detmix.YoloDetection:
    """One image with BOXES written as YOLO rows at full float64 precision (``repr``)."""
    blank_png(tmp_path / "images" / "a.png")
    (tmp_path / "labels").mkdir()
    rows = expected(BOXES, "yolo", (HEIGHT, WIDTH))
    (tmp_path / "labels" / "a.txt").write_text("".join(f"0 {' '.join(repr(float(v)) for v in row)}\n" for row in rows))
    return detmix.YoloDetection(tmp_path / "images")


def yolo_rows_as_coco(tmp_path: Path) -> np.ndarray:
    """What the YOLO rows of :func:`yolo_exact` say in COCO pixels, by float64 arithmetic on the rows as written."""
    rows = np.loadtxt(tmp_path / "labels" / "a.txt", ndmin=2)[:, 1:]
    cx, cy, w, h = rows.T
    return np.stack([(cx - w / 2) * WIDTH, (cy - h / 2) * HEIGHT, w * WIDTH, h * HEIGHT], axis=1)


def coco_exact(tmp_path: Path, **kwargs: object) -> detmix.CocoDetection:
    blank_png(tmp_path / "images" / "a.png")
    annotations = [{"id": i, "image_id": 1, "category_id": 1, "bbox": box.tolist(), "area": 1.0, "iscrowd": 0} for i, box in enumerate(BOXES)]
    data = {"images": [{"id": 1, "file_name": "a.png", "height": HEIGHT, "width": WIDTH}], "annotations": annotations, "categories": [{"id": 1, "name": "x"}]}
    return detmix.CocoDetection(tmp_path / "images", save_json(tmp_path / "a.json", data), **kwargs)


@pytest.mark.parametrize("bbox_format", FORMATS)
def test_yolo_boxes_are_the_rows_to_float64_rounding(tmp_path: Path, bbox_format: str) -> None:
    ds = yolo_exact(tmp_path)
    truth = yolo_rows_as_coco(tmp_path)
    np.testing.assert_allclose(truth, BOXES, rtol=0, atol=1e-9)  # the rows say BOXES: a 15 px box is 15 px
    got = ds.annotations(0, bbox_format)["bboxes"]
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected(truth, bbox_format, (HEIGHT, WIDTH)), rtol=0, atol=1e-9)


@pytest.mark.parametrize("bbox_format", FORMATS)
def test_coco_boxes_are_the_json_to_float64_rounding(tmp_path: Path, bbox_format: str) -> None:
    ds = coco_exact(tmp_path)
    np.testing.assert_allclose(ds.annotations(0, bbox_format)["bboxes"], expected(BOXES, bbox_format, (HEIGHT, WIDTH)), rtol=0, atol=1e-9)


def test_samples_without_a_transform_carry_the_exact_boxes(tmp_path: Path) -> None:
    for ds, truth in ((coco_exact(tmp_path / "coco"), BOXES), (yolo_exact(tmp_path / "yolo"), None)):
        sample = ds[0]
        truth = yolo_rows_as_coco(tmp_path / "yolo") if truth is None else truth
        assert sample["bbox_format"] == "coco" and sample["bboxes"].dtype == np.float64
        np.testing.assert_allclose(sample["bboxes"], truth, rtol=0, atol=1e-9)
        assert sample["bboxes"][0, 2] == pytest.approx(15.0, abs=1e-9)
        if importlib.util.find_spec("torch"):
            rows = detmix.yolo_collate([sample])[1]  # the collates still hand out float32 targets
            assert str(rows.dtype) == "torch.float32"
        validated = ds._lazy(0, "coco").validated_bboxes  # the mixers' fast path: float32, normalized, rounded once
        np.testing.assert_array_equal(validated, expected(truth, "albumentations", (HEIGHT, WIDTH)).astype(np.float32))
        assert validated.dtype == np.float32


def test_max_size_scales_the_boxes_in_float64(tmp_path: Path) -> None:
    ds = coco_exact(tmp_path, max_size=1000)
    height, width = ds.records[0].image_hw
    scale_x, scale_y = width / WIDTH, height / HEIGHT
    corners = np.minimum(np.hstack([BOXES[:, :2], BOXES[:, :2] + BOXES[:, 2:]]) * np.array([scale_x, scale_y] * 2), [width, height] * 2)
    truth = np.hstack([corners[:, :2], corners[:, 2:] - corners[:, :2]])
    np.testing.assert_allclose(ds.annotations(0)["bboxes"], truth, rtol=0, atol=1e-9)
