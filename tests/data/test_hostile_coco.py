"""CocoDetection against hostile annotation JSON: every bad value is a named error or a named skip at
construction, never a crash from pycocotools in ``ds[i]`` and never one annotation's data in another's place."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import albumentations as A
import numpy as np
import pytest

import detmix
from tests.data import builders
from tests.data.builders import coco_rle, save_json

pytestmark = pytest.mark.filterwarnings("error")

NAN, INF = float("nan"), float("inf")
#: Image 100 is 60 x 80; its one annotation, 1000, is class 0 with box and square polygon at (5, 4, 20, 15).
SQUARE = (slice(4, 19), slice(5, 25))


def coco_dataset(root: Path, n_images: int = 3) -> tuple[Path, Path, dict[str, Any]]:
    """builders.coco_dataset with categories of its own: these tests change them in place."""
    images_dir, ann, data = builders.coco_dataset(root, n_images)
    data["categories"] = [dict(category) for category in data["categories"]]
    return images_dir, ann, data


def build(tmp_path: Path, change: dict[str, Any] | None = None, **kwargs: Any) -> detmix.CocoDetection:
    """The 6-image dataset with ``change`` applied to annotation 1000, warnings left to the caller."""
    images_dir, ann, data = coco_dataset(tmp_path)
    data["annotations"][0].update(change or {})
    return detmix.CocoDetection(images_dir, save_json(ann, data), **kwargs)


def assert_only_annotation_1000_is_gone(ds: detmix.CocoDetection) -> None:
    sample = ds[0]
    assert len(sample["bboxes"]) == 0
    if ds.masks:
        assert not sample["mask"].any()
        assert set(np.unique(ds[1]["mask"])) == {0, 1, 2}, "the rest of the data stays intact"
    assert len(ds[1]["bboxes"]) == 2


def compressed(mask: np.ndarray) -> str:
    return coco_rle(mask)["counts"]


ONES = np.ones((60, 80), np.uint8)
MALFORMED_SEGMENTATIONS = {
    "two-point polygon": [[5, 4, 25, 19]],
    "short polygon": [[1, 2, 3]],
    "odd polygon": [[5, 4, 25, 4, 25, 19, 5]],
    "empty polygon": [[]],
    "string": "polygon",
    "number": 7,
    "empty dict": {},
    "string coordinate": [[5, 4, "25", 4, 25, 19]],
    "bool coordinate": [[5, 4, True, 4, 25, 19]],
    "nan coordinate": [[5, 4, NAN, 4, 25, 19]],
    "nan first": [[NAN, 4, 25, 4, 25, 19]],
    "infinite coordinate": [[5, 4, INF, 4, 25, 19]],
    "huge integer coordinate": [[5, 4, 10**400, 4, 25, 19]],
    "coordinate 1e8 (pycocotools: 20 s, 12 GB)": [[0, 0, 1e8, 0, 1e8, 1e8]],
    "coordinate 1e12 (pycocotools: segfault)": [[0, 0, 1e12, 0, 1e12, 1e12]],
    "vertex far outside": [[5, 4, 25, 4, 25, 200]],
    "y past height + longer side (each axis has its own bound)": [[5, 4, 25, 4, 25, 141]],
    "outline 100x the image's": [[-80, -80, 160, 160] * 60],
    "outlines 100x the image's": [[-80, -80, 160, 160, -80, 160]] * 40,
    "nested points": [[[5, 4], [25, 4], [25, 19]]],
    "list of RLEs": [coco_rle(ONES)],
    "polygon and garbage": [[5, 4, 25, 4, 25, 19], "x"],
    "RLE without size": {"counts": [0, 4800]},
    "RLE without counts": {"size": [60, 80]},
    "RLE counts a number": {"size": [60, 80], "counts": 4800},
    "RLE counts too few": {"size": [60, 80], "counts": [0, 4799]},
    "RLE counts too many": {"size": [60, 80], "counts": [0, 4801]},
    "RLE negative count": {"size": [60, 80], "counts": [4801, -1]},
    "RLE count past uint32": {"size": [60, 80], "counts": [2**32 + 4800, 0]},
    "RLE float count": {"size": [60, 80], "counts": [0, 4800.0]},
    "RLE bool count": {"size": [60, 80], "counts": [True, 4799]},
    "RLE nested counts": {"size": [60, 80], "counts": [[0, 4800]]},
    "RLE empty counts": {"size": [60, 80], "counts": []},
    "RLE string size": {"size": [60, "80"], "counts": [0, 4800]},
    "RLE three sides": {"size": [60, 80, 1], "counts": [0, 4800]},
    "RLE zero side": {"size": [0, 80], "counts": []},
    "RLE negative side": {"size": [-60, -80], "counts": [0, 4800]},
    "RLE float side": {"size": [60.0, 80], "counts": [0, 4800]},
    "RLE size a dict": {"size": {"h": 60}, "counts": [0, 4800]},
    "RLE string of another size": {"size": [60, 80], "counts": compressed(np.ones((10, 10)))},
    "RLE string ending mid-number": {"size": [60, 80], "counts": "0o"},
    "RLE string negative run": {"size": [60, 80], "counts": "0?4"},
    "RLE string low characters": {"size": [60, 80], "counts": " !"},
    "RLE string high characters": {"size": [60, 80], "counts": "0~~~~"},
    "RLE string non-ASCII": {"size": [60, 80], "counts": "0é"},
    "RLE string NUL": {"size": [60, 80], "counts": compressed(ONES) + "\x00"},
    "RLE string overlong number": {"size": [60, 80], "counts": "0" + "_" * 8 + "0"},
}


@pytest.mark.parametrize("segmentation", MALFORMED_SEGMENTATIONS.values(), ids=MALFORMED_SEGMENTATIONS.keys())
def test_malformed_segmentations_skip_the_annotation_at_construction(tmp_path: Path, segmentation: Any) -> None:
    with pytest.warns(UserWarning, match=r"malformed segmentation, skipped \(1\): annotation 1000 \(.+\)"):
        ds = build(tmp_path, {"segmentation": segmentation}, masks=True)
    assert_only_annotation_1000_is_gone(ds)
    assert len(build(tmp_path / "boxes", {"segmentation": segmentation})[0]["bboxes"]) == 1, "unchecked without masks"


@pytest.mark.parametrize("empty", [[], None, ...], ids=["empty", "null", "missing"])
def test_objects_without_a_segmentation_are_box_only(tmp_path: Path, empty: Any) -> None:
    images_dir, ann, data = coco_dataset(tmp_path)

    def strip(annotations: list[dict]) -> None:
        for annotation in annotations:
            annotation.pop("segmentation", None)
            if empty is not ...:
                annotation["segmentation"] = empty

    strip(data["annotations"][:2])  # 1000 in image 100, 1010 in image 101
    ds = detmix.CocoDetection(images_dir, save_json(ann, data), masks=True)
    assert len(ds[0]["bboxes"]) == 1 and not ds[0]["mask"].any()
    assert len(ds[1]["bboxes"]) == 2 and set(np.unique(ds[1]["mask"])) == {0, 2}
    strip(data["annotations"])
    message = r"masks=True, but no annotation has a segmentation: every mask is empty \(1\): .*annotations.json"
    with pytest.warns(UserWarning, match=message):
        ds = detmix.CocoDetection(images_dir, save_json(ann, data), masks=True)
    assert len(ds[1]["bboxes"]) == 2


def test_one_warning_per_kind_naming_every_culprit(tmp_path: Path) -> None:
    images_dir, ann, data = coco_dataset(tmp_path)
    for index, segmentation in zip((0, 1, 3), ([[1, 2, 3]], {"size": [1, 1]}, "x")):
        data["annotations"][index]["segmentation"] = segmentation
    data["annotations"][2]["iscrowd"] = "1"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        detmix.CocoDetection(images_dir, save_json(ann, data), masks=True)
    malformed, crowd = (str(w.message) for w in caught)
    assert "malformed segmentation, skipped (3): annotation 1000 (a polygon is" in malformed
    assert "annotation 1010 (RLE counts must be" in malformed and "annotation 1020 (expected a list of polygons" in malformed
    assert "iscrowd is not 0 or 1, skipped (1): annotation 1011 (iscrowd '1')" in crowd


def test_rle_masks_decode_and_follow_the_disk_size(tmp_path: Path) -> None:
    images_dir, ann, data = coco_dataset(tmp_path)
    blob, bar = np.zeros((60, 80), np.uint8), np.zeros((90, 120), np.uint8)
    blob[10:30, 20:50] = 1
    bar[35:62, 31:] = 1  # made for a 90x120 JSON size: image pixel (r, c) is the bar pixel under its centre, bar[int(1.5 * r + 0.75), ...]
    data["annotations"][0]["segmentation"] = coco_rle(blob)
    data["annotations"][2].update(image_id=100, bbox=[0, 25, 80, 20], segmentation=coco_rle(bar, compressed=False))
    mask = detmix.CocoDetection(images_dir, save_json(ann, data), masks=True)[0]["mask"]
    expected = np.where(blob, 1, 0)
    expected[23:41, 21:] = 2  # class 1, drawn on top
    np.testing.assert_array_equal(mask, expected)


def test_rle_of_a_huge_claimed_size_costs_the_image_not_the_claim(tmp_path: Path) -> None:
    side = 100_000
    runs = [0, 2**32 - 1, 0, 2**32 - 1, 0, side * side - 2 * (2**32 - 1)]  # 10 G pixels, all foreground
    ds = build(tmp_path, {"segmentation": {"size": [side, side], "counts": runs}}, masks=True)
    np.testing.assert_array_equal(ds[0]["mask"], np.ones((60, 80), np.uint8))


def test_polygons_may_reach_one_longer_side_outside_the_image(tmp_path: Path) -> None:
    images_dir, ann, data = coco_dataset(tmp_path)
    data["annotations"][0].update(segmentation=[[-80, -80, 160, -80, 160, 19, -80, 19]], bbox=[0, 0, 80, 19])
    data["annotations"][1]["segmentation"] = [[-88.5, 0, 10, 0, 10, 10]]
    message = r"malformed segmentation, skipped \(1\): annotation 1010 \(polygon coordinates must be finite and at most 88 "
    with pytest.warns(UserWarning, match=message):
        ds = detmix.CocoDetection(images_dir, save_json(ann, data), masks=True)
    mask = ds[0]["mask"]
    assert (mask[:19] == 1).all() and not mask[20:].any()


def test_duplicate_annotation_ids_never_borrow_another_annotations_data(tmp_path: Path) -> None:
    images_dir, ann, data = coco_dataset(tmp_path)
    square = [[40, 30, 70, 30, 70, 50, 40, 50]]
    data["annotations"][1].update(id=1000, category_id=12, segmentation=square, bbox=[40, 30, 30, 20])  # image 101
    data["annotations"][2]["id"] = 1000  # image 101 too, class 1
    message = r"annotation ids used more than once \(each annotation keeps its own box and mask\) \(1\): id 1000 \(3 times\)"
    with pytest.warns(UserWarning, match=message):
        ds = detmix.CocoDetection(images_dir, save_json(ann, data), masks=True)
    mask = ds[0]["mask"]
    assert (mask[SQUARE] == 1).all() and (mask == 1).sum() == 300
    np.testing.assert_array_equal(ds[0]["bboxes"], [[5, 4, 20, 15]])
    mask = ds[1]["mask"]
    assert (mask[30:50, 40:70] == 3).all() and set(np.unique(mask)) == {0, 2, 3}
    assert ds.records[1].annotation_ids == (1000, 1000)


BAD_IDS = {
    "list": [100],
    "dict": {"id": 100},
    "float": 100.0,
    "bool": True,
    "null": None,
}


@pytest.mark.parametrize("kind", ["images", "categories"])
@pytest.mark.parametrize("bad_id", BAD_IDS.values(), ids=BAD_IDS.keys())
def test_image_and_category_ids_of_a_wrong_type_are_named_errors(tmp_path: Path, kind: str, bad_id: Any) -> None:
    images_dir, ann, data = coco_dataset(tmp_path)
    data[kind][1]["id"] = bad_id
    with pytest.raises(ValueError, match=rf"annotations.json: {kind}\[1\]: expected an integer or string id, got "):
        detmix.CocoDetection(images_dir, save_json(ann, data))


@pytest.mark.parametrize("kind", ["images", "categories"])
def test_ids_of_mixed_types_are_named_errors(tmp_path: Path, kind: str) -> None:
    images_dir, ann, data = coco_dataset(tmp_path)
    data[kind][2]["id"] = str(data[kind][2]["id"])
    with pytest.raises(ValueError, match=rf"{kind}\[2\]: id '\d+' \(str\) is not of the type of {kind}\[0\]'s \(int\)"):
        detmix.CocoDetection(images_dir, save_json(ann, data))


def test_string_ids_throughout_are_fine(tmp_path: Path) -> None:
    images_dir, ann, data = coco_dataset(tmp_path)
    for entry in data["images"] + data["categories"]:
        entry["id"] = f"k{entry['id']}"
    for entry in data["annotations"]:
        entry.update(image_id=f"k{entry['image_id']}", category_id=f"k{entry['category_id']}", id=f"a{entry['id']}")
    ds = detmix.CocoDetection(images_dir, save_json(ann, data), masks=True)
    assert ds.category_ids == ["k12", "k3", "k7"] and ds[2]["image_id"] == "k102" and len(ds[2]["bboxes"]) == 3


def test_duplicate_category_ids_are_named_errors(tmp_path: Path) -> None:
    images_dir, ann, data = coco_dataset(tmp_path)
    data["categories"].append({"id": 7, "name": "wolf"})
    with pytest.raises(ValueError, match=r"annotations.json: duplicate category ids \[7\]"):
        detmix.CocoDetection(images_dir, save_json(ann, data))


@pytest.mark.parametrize("name", [5, None, ["cat"], {"en": "cat"}])
def test_category_names_must_be_strings(tmp_path: Path, name: Any) -> None:
    images_dir, ann, data = coco_dataset(tmp_path)
    data["categories"][1]["name"] = name
    with pytest.raises(ValueError, match=r"categories\[1\] \(id 7\): expected a string name, got "):
        detmix.CocoDetection(images_dir, save_json(ann, data))


@pytest.mark.parametrize("value", ["60", 60.0, True, 0, -60, [60], {"px": 60}])
@pytest.mark.parametrize("key", ["height", "width"])
def test_image_sizes_in_the_json_must_be_positive_integers(tmp_path: Path, key: str, value: Any) -> None:
    images_dir, ann, data = coco_dataset(tmp_path)
    data["images"][2][key] = value
    with pytest.raises(ValueError, match=rf"images\[2\] \(id 102\): expected a positive integer {key}, got "):
        detmix.CocoDetection(images_dir, save_json(ann, data))


WRONG_ANNOTATION_IDS = {
    "image_id list": {"image_id": [100]},
    "image_id dict": {"image_id": {"id": 100}},
    "image_id float": {"image_id": 100.0},
    "image_id bool": {"image_id": True},
    "image_id string": {"image_id": "100"},
    "image_id null": {"image_id": None},
    "category_id list": {"category_id": [3]},
    "category_id float": {"category_id": 3.0},
    "category_id string": {"category_id": "3"},
    "id list": {"id": [1000]},
    "id float": {"id": 1000.0},
    "id null": {"id": None},
}


@pytest.mark.parametrize("change", WRONG_ANNOTATION_IDS.values(), ids=WRONG_ANNOTATION_IDS.keys())
def test_annotation_ids_of_a_wrong_type_are_named_skips(tmp_path: Path, change: dict) -> None:
    key = next(iter(change))
    message = rf"annotations with an id, image_id or category_id of the wrong type, skipped \(1\): annotations\[0\] \({key} "
    with pytest.warns(UserWarning, match=message):
        assert_only_annotation_1000_is_gone(build(tmp_path, change, masks=True))


@pytest.mark.parametrize("iscrowd", ["0", "1", 0.0, 1.0, 2, -1, None, [0]])
def test_iscrowd_other_than_0_or_1_is_a_named_skip(tmp_path: Path, iscrowd: Any) -> None:
    with pytest.warns(UserWarning, match=r"iscrowd is not 0 or 1, skipped \(1\): annotation 1000 \(iscrowd "):
        assert_only_annotation_1000_is_gone(build(tmp_path, {"iscrowd": iscrowd}, include_crowd=True))


def test_iscrowd_may_be_a_json_boolean(tmp_path: Path) -> None:
    assert len(build(tmp_path, {"iscrowd": False})[0]["bboxes"]) == 1
    assert len(build(tmp_path, {"iscrowd": True})[0]["bboxes"]) == 0
    assert len(build(tmp_path, {"iscrowd": True}, include_crowd=True)[0]["bboxes"]) == 1


def test_crowd_rle_is_checked_and_painted_only_when_included(tmp_path: Path) -> None:
    crowd = {"iscrowd": 1, "segmentation": coco_rle(np.pad(np.ones((15, 20), np.uint8), ((4, 41), (5, 55))), compressed=False)}
    mask = build(tmp_path, crowd, masks=True, include_crowd=True)[0]["mask"]
    assert (mask[SQUARE] == 1).all() and (mask == 1).sum() == 300
    broken = {"iscrowd": 1, "segmentation": {"size": [60, 80], "counts": [1, 2]}}
    assert len(build(tmp_path / "a", broken, masks=True)[0]["bboxes"]) == 0  # left out, so never checked
    with pytest.warns(UserWarning, match=r"malformed segmentation, skipped \(1\): annotation 1000 \(RLE counts add up to 3"):
        build(tmp_path / "b", broken, masks=True, include_crowd=True)


@pytest.mark.parametrize(
    "bbox",
    [[True, 4, 20, 15], [5, 4, 20, False], [5, 4, 10**400, 15], [5, -(10**400), 20, 15]],
    ids=["true", "false", "huge integer", "huge negative integer"],
)
def test_bools_and_numbers_past_float_in_bboxes_are_malformed(tmp_path: Path, bbox: Any) -> None:
    with pytest.warns(UserWarning, match=r"malformed bbox, skipped \(1\): annotation 1000 \(bbox "):
        assert_only_annotation_1000_is_gone(build(tmp_path, {"bbox": bbox}))


@pytest.mark.parametrize("value", [1, 0, "True", None, np.bool_(True)])
def test_flag_arguments_must_be_bools(tmp_path: Path, value: Any) -> None:
    images_dir, ann, _ = coco_dataset(tmp_path)
    with pytest.raises(TypeError, match=r"include_crowd: expected True or False, got "):
        detmix.CocoDetection(images_dir, ann, include_crowd=value)


def test_flags_are_fixed_at_construction(tmp_path: Path) -> None:
    ds = build(tmp_path, {"segmentation": "garbage"})
    with pytest.raises(AttributeError):
        ds.masks = True  # would decode segmentations that were never checked
    with pytest.raises(AttributeError):
        ds.include_crowd = True


@pytest.mark.parametrize("annotations", [{"0": {}}, "annotations", 5, None])
def test_annotations_must_be_a_list_or_absent(tmp_path: Path, annotations: Any) -> None:
    images_dir, ann, data = coco_dataset(tmp_path)
    data["annotations"] = annotations
    with pytest.raises(ValueError, match=r"annotations.json: expected 'annotations' to be a list, got "):
        detmix.CocoDetection(images_dir, save_json(ann, data))
    del data["annotations"]
    ds = detmix.CocoDetection(images_dir, save_json(ann, data), masks=True)
    assert len(ds) == 3 and len(ds[0]["bboxes"]) == 0 and not ds[0]["mask"].any()


@pytest.mark.parametrize(
    "text",
    ["[" * 100_000 + "]" * 100_000, '{"images": [], "categories": [], "x": ' + "9" * 5000 + "}"],
    ids=["deep", "long number"],
)
def test_json_too_deep_or_with_too_long_numbers_is_broken_json(tmp_path: Path, text: str) -> None:
    (tmp_path / "hostile.json").write_text(text)
    with pytest.raises(ValueError, match=r"broken JSON in COCO annotation file .*hostile.json"):
        detmix.CocoDetection(tmp_path, tmp_path / "hostile.json")


def test_past_65534_classes_masks_are_int32(tmp_path: Path) -> None:
    images_dir, ann, data = coco_dataset(tmp_path, n_images=1)
    data["categories"] = [{"id": i, "name": f"c{i}"} for i in range(70_000)]
    data["annotations"][0]["category_id"] = 69_999
    ds = detmix.CocoDetection(images_dir, save_json(ann, data), masks=True)
    mask = ds[0]["mask"]
    assert mask.dtype == np.int32 and set(np.unique(mask)) == {0, 70_000}
    bbox_params = A.BboxParams("coco", label_fields=["class_labels"])
    ds.transform = A.Compose([detmix.Mosaic(target_size=(64, 64), p=1)], bbox_params=bbox_params, seed=0)
    assert set(np.unique(ds[0]["mask"])) <= {0, 70_000}
