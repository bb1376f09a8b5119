"""Duplicate rows of a YOLO label file are removed with one warning naming file and lines, as Ultralytics removes them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import detmix
from tests.data.builders import yolo_dataset

pytestmark = pytest.mark.filterwarnings("error")

ROWS = [
    "0 0.5 0.5 0.1 0.2",  # 1
    "1 0.5 0.5 0.1 0.2",  # 2: the same box of another class is another object
    "0 0.5 0.5 0.1 0.2",  # 3: repeats 1
    "",
    "0 0.50 0.5000 1e-1 0.2",  # 5: repeats 1 once parsed
    "2 0.1 0.1 0.3 0.1 0.2 0.3",  # 6: a polygon
    "2 0.1 0.1 0.3 0.1 0.2 0.3",  # 7: repeats 6
    "2 0.1 0.1 0.3 0.1 0.2 0.35",  # 8: another polygon
    "1 0.5 0.5 0.1 0.2 ",  # 9: repeats 2
    "0 0.5 0.5 0.1 0.21",  # 10: close to 1, another object
]


def test_duplicate_rows_are_removed_and_named(tmp_path: Path) -> None:
    images = yolo_dataset(tmp_path, n_images=2)
    label = tmp_path / "labels" / "train" / "im0.txt"
    label.write_text("\n".join(ROWS) + "\n")
    with pytest.warns(UserWarning) as caught:
        ds = detmix.YoloDetection(images, masks="instance")
    duplicates = [str(w.message) for w in caught if str(w.message).startswith("YoloDetection: duplicate")]
    assert duplicates == [
        "YoloDetection: duplicate label rows (the same class and coordinates as an earlier row), removed (4): "
        f"{label}:3 (repeats line 1), {label}:5 (repeats line 1), {label}:7 (repeats line 6), {label}:9 (repeats line 2)",
    ]
    sample = ds[0]
    np.testing.assert_array_equal(sample["class_labels"], [0, 1, 2, 2, 0])
    assert len(sample["bboxes"]) == len(sample["masks"]) == len(ds.records[0].polygons) == 5
    np.testing.assert_allclose(ds.annotations(0)["bboxes"][:2], [[0.45 * 96, 0.4 * 64, 0.1 * 96, 0.2 * 64]] * 2, rtol=0, atol=1e-9)

