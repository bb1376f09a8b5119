"""Construction at scale: headers read on threads give the records, warnings and errors of a serial build."""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import detmix
from detmix.data import dataset as dataset_module
from detmix.data import scanning
from tests.data.builders import CATEGORIES, save_json, write_image, yolo_dataset

pytestmark = pytest.mark.filterwarnings("error")

COUNT = 2000
CHECK_IMAGE = dataset_module.DetectionDataset.check_image


def linked_coco(root: Path, entries: dict[int, Any] | None = None) -> tuple[Path, Path]:
    """:data:`COUNT` images, hard links to four files of different sizes; ``entries`` replaces some file names.

    Every 97th file is missing and every 89th is not an image, so problems come throughout.
    """
    sources = root / "sources"
    for k in range(4):
        write_image(sources / f"s{k}.png", 20 + k, 30 + 2 * k, seed=k)
    (sources / "garbage.png").write_bytes(b"not an image")
    images_dir = root / "images"
    images_dir.mkdir()
    images, annotations = [], []
    for index in range(COUNT):
        name = f"{index:05d}.png"
        if index % 97 != 5:
            os.link(sources / ("garbage.png" if index % 89 == 3 else f"s{index % 4}.png"), images_dir / name)
        images.append({"id": index, "file_name": (entries or {}).get(index, name)})
        annotations.append({"id": index, "image_id": index, "category_id": CATEGORIES[index % 3]["id"], "bbox": [1, 2, 5 + index % 7, 6]})
    return images_dir, save_json(root / "annotations.json", {"images": images, "annotations": annotations, "categories": CATEGORIES})


def build(make: Any, threaded: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[str], set[str]]:
    """The dataset ``make()`` builds, its warnings, and the names of the threads that read headers."""
    readers: set[str] = set()

    def check_image(self: Any, path: Path) -> Any:
        readers.add(threading.current_thread().name)
        return CHECK_IMAGE(self, path)

    monkeypatch.setattr(dataset_module.DetectionDataset, "check_image", check_image)
    monkeypatch.setattr(scanning, "WAITING_RATIO", 0.0 if threaded else float("inf"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = make()
    return ds, [str(w.message) for w in caught], readers


def records_of(ds: Any) -> list[tuple[Any, ...]]:
    return [(r.path, r.image_hw, r.bboxes.tobytes(), r.class_labels.tobytes(), r.image_id, r.annotation_ids, r.orientation) for r in ds.records]


def test_threaded_coco_build_equals_the_serial_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    images_dir, ann = linked_coco(tmp_path)

    def make() -> detmix.CocoDetection:
        return detmix.CocoDetection(images_dir, ann, verbose=False)

    serial, serial_warnings, serial_readers = build(make, False, monkeypatch)
    threaded, threaded_warnings, threaded_readers = build(make, True, monkeypatch)
    assert serial_readers == {"MainThread"} and len(threaded_readers - {"MainThread"}) > 1
    assert records_of(threaded) == records_of(serial)
    assert threaded_warnings == serial_warnings and len(serial_warnings) == 2
    skipped = {i for i in range(COUNT) if i % 97 == 5 or i % 89 == 3}
    assert [r.image_id for r in threaded.records] == [i for i in range(COUNT) if i not in skipped]
    unreadable, missing = serial_warnings  # in the order the first of each kind was found: ids 3, 5
    assert "unreadable image files, skipped (23): " + str(images_dir / "00003.png") in unreadable
    assert "missing image files, skipped (21): " + ", ".join(str(images_dir / f"{i:05d}.png") for i in range(5, 970, 97)) + " and 11 more" in missing


def test_the_first_bad_file_name_in_order_is_the_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    images_dir, ann = linked_coco(tmp_path, {1500: "../up.png", 1900: "/abs.png"})
    for threaded in (False, True):
        with pytest.raises(ValueError, match=r"COCO image id 1500: file_name '\.\./up\.png' escapes images_dir"):
            build(lambda: detmix.CocoDetection(images_dir, ann, verbose=False), threaded, monkeypatch)


def test_threaded_yolo_build_equals_the_serial_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    images_dir = yolo_dataset(tmp_path, n_images=300)
    for index in range(0, 300, 37):
        (tmp_path / "labels" / "train" / f"im{index}.txt").write_text("0 0.5 0.5 0.1\n1 0.2 0.2 0.1 0.1\n")

    def make() -> detmix.YoloDetection:
        return detmix.YoloDetection(images_dir, verbose=False)

    serial, serial_warnings, _ = build(make, False, monkeypatch)
    threaded, threaded_warnings, readers = build(make, True, monkeypatch)
    assert len(readers - {"MainThread"}) > 1
    assert records_of(threaded) == records_of(serial) and len(serial.records) == 300
    assert threaded_warnings == serial_warnings and "malformed label rows, skipped (9)" in serial_warnings[0]


@pytest.mark.parametrize("verbose", [True, False])
def test_progress_shows_unless_verbose_is_false(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], verbose: bool) -> None:
    monkeypatch.setattr(scanning, "PROGRESS_DELAY", 0.0)
    images_dir = yolo_dataset(tmp_path, n_images=3)
    assert len(detmix.YoloDetection(images_dir, verbose=verbose)) == 3
    shown = capsys.readouterr().err
    assert ("YoloDetection: reading" in shown and "3/3" in shown) if verbose else shown == ""


def test_equal_images_share_nothing_but_their_pixels(tmp_path: Path) -> None:
    """Hard links to one file are separate samples, each with its own record."""
    images_dir, ann = linked_coco(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = detmix.CocoDetection(images_dir, ann, verbose=False)
    first, other = ds[0], ds[[r.image_id for r in ds.records].index(8)]  # both links to s0.png
    np.testing.assert_array_equal(first["image"], other["image"])
    assert first["image_id"] == 0 and other["image_id"] == 8 and not np.shares_memory(first["image"], other["image"])
