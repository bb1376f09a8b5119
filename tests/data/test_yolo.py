"""YoloDetection: the Ultralytics layout, names, and malformed rows reported by file and line."""

from __future__ import annotations

from pathlib import Path

import albumentations as A
import numpy as np
import pytest

import detmix
from tests.data.builders import write_image, yolo_dataset

pytestmark = pytest.mark.filterwarnings("error")


def test_labels_dir_is_the_sibling_labels_folder(tmp_path: Path) -> None:
    ds = detmix.YoloDetection(yolo_dataset(tmp_path), names=["a", "b", "c"])
    assert len(ds) == 5 and ds.classes == ["a", "b", "c"]
    sample = ds[2]
    assert sample["image_id"] == "im2.png" and sample["image"].shape == (64, 96, 3)
    np.testing.assert_array_equal(sample["class_labels"], [0, 1, 2])
    np.testing.assert_allclose(sample["bboxes"][0], [(0.2 - 0.05) * 96, (0.5 - 0.1) * 64, 0.1 * 96, 0.2 * 64], atol=1e-3)


def test_names_from_data_yaml_list_or_mapping_and_default(tmp_path: Path) -> None:
    images = yolo_dataset(tmp_path)
    (tmp_path / "list.yaml").write_text("names: [x, y, z]\n")
    (tmp_path / "map.yaml").write_text("names:\n  0: x\n  1: y\n  2: z\n")
    assert detmix.YoloDetection(images, names=tmp_path / "list.yaml").classes == ["x", "y", "z"]
    assert detmix.YoloDetection(images, names=str(tmp_path / "map.yaml")).classes == ["x", "y", "z"]
    assert detmix.YoloDetection(images).classes == ["0", "1", "2"]
    (tmp_path / "bad.yaml").write_text("nothing: here\n")
    with pytest.raises(ValueError, match="names: .*bad.yaml has no 'names' list or mapping"):
        detmix.YoloDetection(images, names=tmp_path / "bad.yaml")


def test_missing_label_file_means_no_objects(tmp_path: Path) -> None:
    images = yolo_dataset(tmp_path)
    (tmp_path / "labels" / "train" / "im1.txt").unlink()
    ds = detmix.YoloDetection(images)
    assert len(ds) == 5 and len(ds[1]["bboxes"]) == 0


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("0 0.5 0.5 0.1", "expected 5 columns"),
        ("0 0.5 0.5 0.1 0.1 0.3", "expected 5 columns"),
        ("0 0.5 abc 0.1 0.1", "non-numeric value"),
        ("3 0.5 0.5 0.1 0.1", "class 3 outside 0..2"),
        ("-1 0.5 0.5 0.1 0.1", "class -1 outside"),
        ("1.5 0.5 0.5 0.1 0.1", "class 1.5 outside"),
        ("0 0.98 0.5 0.1 0.1", "box outside \\[0, 1\\]"),
        ("0 0.5 0.5 0 0.1", "non-positive width or height"),
    ],
)
def test_malformed_rows_are_skipped_with_file_and_line(tmp_path: Path, row: str, reason: str) -> None:
    images = yolo_dataset(tmp_path)
    label = tmp_path / "labels" / "train" / "im0.txt"
    label.write_text("1 0.5 0.5 0.2 0.2\n" + row + "\n")
    with pytest.warns(UserWarning, match=f"malformed label rows, skipped \\(1\\): .*im0.txt:2 \\({reason}"):
        ds = detmix.YoloDetection(images, names=["a", "b", "c"])
    np.testing.assert_array_equal(ds[0]["class_labels"], [1])


def test_coordinates_off_by_rounding_are_accepted_and_clipped(tmp_path: Path) -> None:
    images = yolo_dataset(tmp_path)
    (tmp_path / "labels" / "train" / "im0.txt").write_text("0 0.05 0.5 0.1004 0.2\n")
    box = detmix.YoloDetection(images)[0]["bboxes"][0]
    assert box[0] == 0.0 and box[2] == pytest.approx(0.1002 * 96, abs=1e-3)


def test_nested_folders_and_explicit_labels_dir(tmp_path: Path) -> None:
    write_image(tmp_path / "pics" / "a" / "one.png", 32, 32, seed=0)
    (tmp_path / "txt" / "a").mkdir(parents=True)
    (tmp_path / "txt" / "a" / "one.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    ds = detmix.YoloDetection(tmp_path / "pics", labels_dir=tmp_path / "txt")
    assert ds[0]["image_id"] == "a/one.png"
    np.testing.assert_allclose(ds[0]["bboxes"], [[8, 8, 16, 16]])
    with pytest.raises(ValueError, match="labels_dir: source .*pics has no 'images' folder"):
        detmix.YoloDetection(tmp_path / "pics")


def test_feeds_the_mixers_like_coco(tmp_path: Path) -> None:
    transform = A.Compose(
        [detmix.Mosaic(target_size=(128, 128), p=1)],
        bbox_params=A.BboxParams("yolo", label_fields=["class_labels"]),
        seed=0,
    )
    out = detmix.YoloDetection(yolo_dataset(tmp_path), transform=transform)[0]
    assert out["image"].shape == (128, 128, 3) and out["bbox_format"] == "yolo"
    assert len(out["bboxes"]) == len(out["class_labels"]) > 1


@pytest.mark.parametrize(
    ("row", "warning"),
    [
        ("0 nan 0.5 0.2 0.2", "non-finite value"),
        ("inf 0.5 0.5 0.2 0.2", "non-finite value"),
        ("0 1.0005 0.5 0.0001 0.2", "entirely outside their image, dropped"),
    ],
)
def test_rows_that_cannot_make_a_box(tmp_path: Path, row: str, warning: str) -> None:
    images = yolo_dataset(tmp_path)
    (tmp_path / "labels" / "train" / "im0.txt").write_text(row + "\n")
    with pytest.warns(UserWarning, match=warning):
        assert len(detmix.YoloDetection(images)[0]["bboxes"]) == 0


def test_label_file_encodings(tmp_path: Path) -> None:
    images = yolo_dataset(tmp_path)
    (tmp_path / "labels" / "train" / "im0.txt").write_bytes(b"\xef\xbb\xbf1 0.5 0.5 0.2 0.2\r\n")
    (tmp_path / "labels" / "train" / "im1.txt").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.warns(UserWarning, match="unreadable label files, their images kept without objects \\(1\\): .*im1.txt"):
        ds = detmix.YoloDetection(images)
    np.testing.assert_array_equal(ds[0]["class_labels"], [1])
    assert len(ds[1]["bboxes"]) == 0


def test_a_wrong_labels_dir_is_not_silent(tmp_path: Path) -> None:
    images = yolo_dataset(tmp_path)
    with pytest.raises(ValueError, match="labels_dir: .*lables is not a folder"):
        detmix.YoloDetection(images, labels_dir=tmp_path / "lables")
    (tmp_path / "empty").mkdir()
    with pytest.warns(UserWarning, match="no label file found for any image; is labels_dir right\\?"):
        detmix.YoloDetection(images, labels_dir=tmp_path / "empty")


def test_names_mapping_is_ordered_by_number(tmp_path: Path) -> None:
    images = yolo_dataset(tmp_path)
    (tmp_path / "d.yaml").write_text("names: {'0': a, '1': b, '2': c, '10': k, '3': d, '4': e, '5': f, '6': g, '7': h, '8': i, '9': j}\n")
    assert detmix.YoloDetection(images, names=tmp_path / "d.yaml").classes == list("abcdefghijk")
    (tmp_path / "gap.yaml").write_text("names: {0: a, 2: c}\n")
    with pytest.raises(ValueError, match="must number classes 0..1"):
        detmix.YoloDetection(images, names=tmp_path / "gap.yaml")


@pytest.mark.parametrize("class_id", ["1000000000", "1e30", "10000"])
def test_absurd_class_ids_without_names_are_named_skips_not_memory(tmp_path: Path, class_id: str) -> None:
    images = yolo_dataset(tmp_path)
    (tmp_path / "labels" / "train" / "im0.txt").write_text(f"1 0.5 0.5 0.2 0.2\n{class_id} 0.5 0.5 0.1 0.1\n")
    reason = f"class {class_id} outside 0..9999 without names; pass names for more classes"
    with pytest.warns(UserWarning, match=f"malformed label rows, skipped \\(1\\): .*im0.txt:2 \\({reason}"):
        ds = detmix.YoloDetection(images)
    assert ds.classes == ["0", "1", "2"]
    np.testing.assert_array_equal(ds[0]["class_labels"], [1])


def test_the_largest_class_id_without_names_is_kept(tmp_path: Path) -> None:
    images = yolo_dataset(tmp_path)
    (tmp_path / "labels" / "train" / "im0.txt").write_text("9999 0.5 0.5 0.2 0.2\n")
    ds = detmix.YoloDetection(images)
    assert len(ds.classes) == 10_000 and ds.classes[-1] == "9999" and ds[0]["class_labels"].tolist() == [9999]


def test_names_as_a_mapping_like_ultralytics_model_names(tmp_path: Path) -> None:
    images = yolo_dataset(tmp_path)
    assert detmix.YoloDetection(images, names={2: "c", 0: "a", 1: "b"}).classes == ["a", "b", "c"]
    with pytest.raises(ValueError, match="names: the mapping must number classes 0..1, got \\[0, 2\\]"):
        detmix.YoloDetection(images, names={0: "a", 2: "c"})


@pytest.mark.parametrize(
    ("names", "error", "message"),
    [
        (3, TypeError, "names: expected a list of class names, an index -> name mapping or a data.yaml path, got int 3"),
        ({"a", "b"}, TypeError, "names: expected .* got set"),
        (np.array(["a", "b"]), TypeError, "names: expected .* got ndarray"),
        ([], ValueError, "names: no class names"),
    ],
)
def test_names_of_a_wrong_kind_name_the_argument(tmp_path: Path, names: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        detmix.YoloDetection(yolo_dataset(tmp_path), names=names)


def test_names_yaml_that_is_not_text_or_lists_nothing(tmp_path: Path) -> None:
    images = yolo_dataset(tmp_path)
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ValueError, match="names: cannot read class names from .*binary.yaml"):
        detmix.YoloDetection(images, names=tmp_path / "binary.yaml")
    (tmp_path / "empty.yaml").write_text("names: []\n")
    with pytest.raises(ValueError, match="names: .*empty.yaml: no class names"):
        detmix.YoloDetection(images, names=tmp_path / "empty.yaml")
