"""CocoDetection: samples, mixer feeding, and every bad-data case handled and named."""

from __future__ import annotations

import json
from pathlib import Path

import albumentations as A
import cv2
import numpy as np
import pytest

import detmix
from detmix.data import images
from tests.data.builders import coco_dataset, save_json, write_image

pytestmark = pytest.mark.filterwarnings("error")


def pipeline(*transforms: A.BasicTransform, fmt: str = "coco", seed: int = 0) -> A.Compose:
    return A.Compose(list(transforms), bbox_params=A.BboxParams(fmt, label_fields=["class_labels"]), seed=seed)


def test_samples_without_transform_are_coco_as_annotated(tmp_path: Path) -> None:
    images_dir, ann, data = coco_dataset(tmp_path)
    ds = detmix.CocoDetection(images_dir, ann)
    assert len(ds) == 6 and ds.classes == ["cat", "dog", "bird"] and ds.category_ids == [3, 7, 12]
    sample = ds[2]
    assert sample["image"].shape == (80, 96, 3) and sample["image"].dtype == np.uint8
    assert sample["image_id"] == 102
    np.testing.assert_array_equal(sample["bboxes"], [[5, 4, 20, 15], [15, 9, 20, 15], [25, 14, 20, 15]])
    np.testing.assert_array_equal(sample["class_labels"], [0, 1, 2])
    expected = cv2.cvtColor(cv2.imread(str(images_dir / "img2.png")), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(sample["image"], expected)


def test_images_without_annotations_are_samples_too(tmp_path: Path) -> None:
    images_dir, ann, data = coco_dataset(tmp_path)
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] != 101]
    ds = detmix.CocoDetection(images_dir, save_json(ann, data))
    assert len(ds) == 6 and len(ds[1]["bboxes"]) == 0 and ds[1]["class_labels"].dtype == np.int64


@pytest.mark.parametrize("fmt", ["coco", "pascal_voc", "yolo", "albumentations"])
def test_boxes_come_out_in_the_compose_format(tmp_path: Path, fmt: str) -> None:
    images_dir, ann, _ = coco_dataset(tmp_path)
    plain = detmix.CocoDetection(images_dir, ann)[2]
    out = detmix.CocoDetection(images_dir, ann, pipeline(A.NoOp(), fmt=fmt))[2]
    height, width = plain["image"].shape[:2]
    x, y, w, h = np.asarray(plain["bboxes"]).T
    expected = {
        "coco": np.stack([x, y, w, h], 1),
        "pascal_voc": np.stack([x, y, x + w, y + h], 1),
        "albumentations": np.stack([x / width, y / height, (x + w) / width, (y + h) / height], 1),
        "yolo": np.stack([(x + w / 2) / width, (y + h / 2) / height, w / width, h / height], 1),
    }[fmt]
    np.testing.assert_allclose(out["bboxes"], expected, rtol=1e-5, atol=1e-5)
    assert out["bbox_format"] == fmt and out["image_id"] == 102


def test_every_mixer_at_any_depth_is_fed(tmp_path: Path) -> None:
    images_dir, ann, _ = coco_dataset(tmp_path)
    transform = pipeline(
        A.OneOf([detmix.Mosaic(target_size=(96, 96), p=1)], p=1),
        A.Compose([A.SomeOf([detmix.MixUp(p=1), detmix.CutMix(p=1)], n=2, p=1)]),
    )
    ds = detmix.CocoDetection(images_dir, ann, transform)
    out = ds[0]
    assert out["image"].shape == (96, 96, 3)
    assert len(out["bboxes"]) == len(out["class_labels"]) > 0
    assert not any(key.endswith("_metadata") for key in out)


@pytest.mark.parametrize("extras", ["pool", "uniform"])
def test_extras_not_needed_are_never_decoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extras: str) -> None:
    images_dir, ann, _ = coco_dataset(tmp_path)
    ds = detmix.CocoDetection(images_dir, ann, pipeline(detmix.Mosaic(target_size=(64, 64), p=0.0)), cache_images=0, extras=extras)
    decoded: list[bytes] = []
    original = images.decode
    monkeypatch.setattr(images, "decode", lambda data, flags: decoded.append(bytes(data)) or original(data, flags))
    ds[3]
    assert decoded == [(images_dir / "img3.png").read_bytes()]


def test_cache_is_bounded_and_hands_out_copies(tmp_path: Path) -> None:
    images_dir, ann, _ = coco_dataset(tmp_path)
    ds = detmix.CocoDetection(images_dir, ann, cache_images=2)
    first = ds[0]["image"]
    first[:] = 0
    assert ds[0]["image"].any(), "a caller's write reached the cache"
    for i in range(6):
        ds[i]
    assert len(ds._cache) == 2


def test_masks_are_semantic_class_maps(tmp_path: Path) -> None:
    images_dir, ann, _ = coco_dataset(tmp_path)
    sample = detmix.CocoDetection(images_dir, ann, masks=True)[1]
    mask = sample["mask"]
    assert mask.shape == sample["image"].shape[:2] and mask.dtype == np.uint8
    assert set(np.unique(mask)) == {0, 1, 2}
    assert (mask[4:19, 5:25] == 1).sum() >= 190, "class 1 where the second object does not cover it"
    ds = detmix.CocoDetection(images_dir, ann, pipeline(detmix.Mosaic(target_size=(80, 80), p=1)), masks=True)
    assert ds[0]["mask"].shape == (80, 80)


def test_crowd_annotations_are_skipped_unless_asked_for(tmp_path: Path) -> None:
    images_dir, ann, data = coco_dataset(tmp_path)
    data["annotations"][0]["iscrowd"] = 1
    save_json(ann, data)
    assert len(detmix.CocoDetection(images_dir, ann)[0]["bboxes"]) == 0
    assert len(detmix.CocoDetection(images_dir, ann, include_crowd=True)[0]["bboxes"]) == 1


def test_broken_and_unreadable_json_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match="broken JSON in COCO annotation file .*broken.json"):
        detmix.CocoDetection(tmp_path, broken)
    with pytest.raises(OSError, match="cannot read COCO annotation file .*missing.json"):
        detmix.CocoDetection(tmp_path, tmp_path / "missing.json")
    (tmp_path / "list.json").write_text(json.dumps([1, 2]))
    with pytest.raises(ValueError, match="list.json: expected an object with 'images' and 'categories'"):
        detmix.CocoDetection(tmp_path, tmp_path / "list.json")


@pytest.mark.parametrize("file_name", ["../outside.png", "/etc/passwd", ""])
def test_file_names_escaping_the_images_dir_are_rejected(tmp_path: Path, file_name: str) -> None:
    images_dir, ann, data = coco_dataset(tmp_path)
    data["images"][1]["file_name"] = file_name
    with pytest.raises(ValueError, match="COCO image id 101: .*file_name"):
        detmix.CocoDetection(images_dir, save_json(ann, data))


def test_missing_images_are_skipped_with_one_warning(tmp_path: Path) -> None:
    images_dir, ann, _ = coco_dataset(tmp_path)
    (images_dir / "img1.png").unlink()
    (images_dir / "img4.png").unlink()
    with pytest.warns(UserWarning, match="missing image files, skipped \\(2\\): .*img1.png, .*img4.png"):
        ds = detmix.CocoDetection(images_dir, ann)
    assert len(ds) == 4 and [ds[i]["image_id"] for i in range(4)] == [100, 102, 103, 105]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bbox": [5, 5, 0, 10]}, "non-positive width or height, skipped \\(1\\): annotation 1000"),
        ({"bbox": [5, 5, 10, -1]}, "non-positive width or height"),
        ({"bbox": [500, 500, 10, 10]}, "entirely outside their image, dropped \\(1\\): annotation 1000"),
        ({"category_id": 99}, "unknown category_id, skipped \\(1\\): annotation 1000 \\(category_id 99\\)"),
        ({"image_id": 999}, "unknown image_id, skipped \\(1\\): annotation 1000 \\(image_id 999\\)"),
        ({"bbox": [1, 2, "a", 4]}, "malformed bbox, skipped"),
    ],
)
def test_bad_annotations_are_skipped_with_a_warning_naming_them(tmp_path: Path, change: dict, message: str) -> None:
    images_dir, ann, data = coco_dataset(tmp_path)
    data["annotations"][0].update(change)
    with pytest.warns(UserWarning, match=message):
        ds = detmix.CocoDetection(images_dir, save_json(ann, data))
    assert len(ds[0]["bboxes"]) == 0
    assert len(ds[1]["bboxes"]) == 2, "the rest of the data stays intact"


def test_boxes_partly_outside_are_clipped_and_kept(tmp_path: Path) -> None:
    images_dir, ann, data = coco_dataset(tmp_path)
    data["annotations"][0]["bbox"] = [-5, 50, 30, 30]
    sample = detmix.CocoDetection(images_dir, save_json(ann, data))[0]
    np.testing.assert_array_equal(sample["bboxes"], [[0, 50, 25, 10]])


def test_size_on_disk_wins_over_the_json(tmp_path: Path) -> None:
    images_dir, ann, data = coco_dataset(tmp_path)
    data["images"][0]["height"] = 999
    with pytest.warns(UserWarning, match="size on disk differs from the JSON \\(the disk wins\\) \\(1\\): img0.png: JSON 999x80, disk 60x80"):
        ds = detmix.CocoDetection(images_dir, save_json(ann, data))
    assert ds[0]["image"].shape[:2] == (60, 80)


@pytest.mark.parametrize(
    ("channels", "dtype"),
    [(1, np.uint8), (4, np.uint8), (3, np.uint16), (1, np.uint16)],
    ids=["gray", "rgba", "rgb16", "gray16"],
)
def test_gray_alpha_and_16_bit_images_become_8_bit_rgb(tmp_path: Path, channels: int, dtype: type) -> None:
    images_dir, ann, _ = coco_dataset(tmp_path)
    write_image(images_dir / "img0.png", 60, 80, seed=1, channels=channels, dtype=dtype)
    image = detmix.CocoDetection(images_dir, ann)[0]["image"]
    assert image.shape == (60, 80, 3) and image.dtype == np.uint8


def test_palette_images_become_rgb(tmp_path: Path) -> None:
    from PIL import Image

    images_dir, ann, _ = coco_dataset(tmp_path)
    Image.fromarray(np.full((60, 80, 3), [200, 10, 30], np.uint8)).convert("P").save(images_dir / "img0.png")
    image = detmix.CocoDetection(images_dir, ann)[0]["image"]
    np.testing.assert_array_equal(image, np.asarray(Image.open(images_dir / "img0.png").convert("RGB")))


def test_decode_failure_names_the_file(tmp_path: Path) -> None:
    images_dir, ann, _ = coco_dataset(tmp_path)
    ds = detmix.CocoDetection(images_dir, ann)
    (images_dir / "img3.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(OSError, match="cannot decode image file .*img3.png"):
        ds[3]


def test_unreadable_images_at_construction_are_skipped(tmp_path: Path) -> None:
    images_dir, ann, _ = coco_dataset(tmp_path)
    (images_dir / "img2.png").write_bytes(b"not an image")
    with pytest.warns(UserWarning, match="unreadable image files, skipped \\(1\\): .*img2.png"):
        assert len(detmix.CocoDetection(images_dir, ann)) == 5


def test_transform_must_declare_class_labels(tmp_path: Path) -> None:
    images_dir, ann, _ = coco_dataset(tmp_path)
    wrong = A.Compose([A.NoOp()], bbox_params=A.BboxParams("coco", label_fields=["labels"]))
    with pytest.raises(ValueError, match="label_fields=\\['class_labels'\\]"):
        detmix.CocoDetection(images_dir, ann, wrong)
    with pytest.raises(TypeError, match="transform: expected an albumentations Compose, got Mosaic"):
        detmix.CocoDetection(images_dir, ann, detmix.Mosaic())


def test_mixup_weight_field_is_filled_for_the_primary(tmp_path: Path) -> None:
    images_dir, ann, _ = coco_dataset(tmp_path)
    transform = A.Compose(
        [detmix.MixUp(p=1, weight_field="weights")],
        bbox_params=A.BboxParams("coco", label_fields=["class_labels", "weights"]),
        seed=1,
    )
    out = detmix.CocoDetection(images_dir, ann, transform)[0]
    lam = transform.transforms[0].params["lam"]
    assert len(out["weights"]) == len(out["class_labels"])
    np.testing.assert_allclose(sorted(set(np.round(out["weights"], 5))), sorted({round(lam, 5), round(1 - lam, 5)}), atol=1e-5)


def test_index_out_of_range(tmp_path: Path) -> None:
    images_dir, ann, _ = coco_dataset(tmp_path)
    ds = detmix.CocoDetection(images_dir, ann)
    assert ds[-1]["image_id"] == 105
    with pytest.raises(IndexError, match="CocoDetection index 6 out of range for 6 samples"):
        ds[6]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_to_size_and_pixels(tmp_path: Path, orientation: int) -> None:
    from PIL import Image, ImageOps

    images_dir, ann, data = coco_dataset(tmp_path, n_images=1)
    stored = Image.fromarray(np.random.default_rng(0).integers(0, 256, (60, 80, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(images_dir / "img0.png", exif=exif)
    upright = np.asarray(ImageOps.exif_transpose(Image.open(images_dir / "img0.png")).convert("RGB"))
    data["images"][0].update(height=upright.shape[0], width=upright.shape[1])
    sample = detmix.CocoDetection(images_dir, save_json(ann, data))[0]
    np.testing.assert_array_equal(sample["image"], upright)


def test_structural_problems_in_the_json(tmp_path: Path) -> None:
    images_dir, ann, data = coco_dataset(tmp_path)
    broken = {**data, "images": [*data["images"], {**data["images"][0]}]}
    with pytest.raises(ValueError, match="duplicate image ids \\[100\\]"):
        detmix.CocoDetection(images_dir, save_json(ann, broken))
    broken = {**data, "categories": [*data["categories"], {"name": "no id"}]}
    with pytest.raises(ValueError, match="categories\\[3\\] has no 'id'"):
        detmix.CocoDetection(images_dir, save_json(ann, broken))
    broken = {**data, "images": ["img0.png"]}
    with pytest.raises(ValueError, match="images\\[0\\] has no 'id'"):
        detmix.CocoDetection(images_dir, save_json(ann, broken))
    del data["annotations"][0]["category_id"]
    with pytest.warns(UserWarning, match="annotations without id, image_id or category_id, skipped \\(1\\): annotations\\[0\\]"):
        ds = detmix.CocoDetection(images_dir, save_json(ann, data))
    assert len(ds[0]["bboxes"]) == 0 and len(ds[1]["bboxes"]) == 2


def test_non_finite_boxes_are_malformed(tmp_path: Path) -> None:
    images_dir, ann, data = coco_dataset(tmp_path)
    data["annotations"][0]["bbox"] = [float("nan"), 1, 5, 5]
    with pytest.warns(UserWarning, match="malformed bbox, skipped \\(1\\): annotation 1000"):
        assert len(detmix.CocoDetection(images_dir, save_json(ann, data))[0]["bboxes"]) == 0


def test_masks_need_no_size_in_the_json_and_follow_the_disk(tmp_path: Path) -> None:
    images_dir, ann, data = coco_dataset(tmp_path)
    del data["images"][1]["height"], data["images"][1]["width"]
    sample = detmix.CocoDetection(images_dir, save_json(ann, data), masks=True)[1]
    assert sample["mask"].shape == (70, 88) and (sample["mask"] == 1).sum() >= 190


def test_masks_beyond_254_classes_do_not_wrap(tmp_path: Path) -> None:
    images_dir, ann, data = coco_dataset(tmp_path)
    data["categories"] = [{"id": i, "name": f"c{i}"} for i in range(300)]
    data["annotations"][0]["category_id"] = 299
    mask = detmix.CocoDetection(images_dir, save_json(ann, data), masks=True)[0]["mask"]
    assert mask.dtype == np.uint16 and set(np.unique(mask)) == {0, 300}


def test_dataset_can_be_pickled_copied_and_given_a_new_transform(tmp_path: Path) -> None:
    import copy
    import pickle

    images_dir, ann, _ = coco_dataset(tmp_path)
    ds = detmix.CocoDetection(images_dir, ann, pipeline(detmix.Mosaic(target_size=(64, 64), p=1)))
    ds.set_mixing(False)
    for clone in (pickle.loads(pickle.dumps(ds)), copy.deepcopy(ds)):
        assert not clone.mixing_enabled and clone[0]["image"].shape == (60, 80, 3)
        clone.set_mixing(True)
        assert clone[0]["image"].shape == (64, 64, 3) and not ds.mixing_enabled
    ds.transform = pipeline(detmix.MixUp(p=1))
    ds.set_mixing(True)
    assert [type(m).__name__ for m in ds.mixers] == ["MixUp"] and ds[0]["image"].shape == (60, 80, 3)


def test_set_mixing_is_safe_across_threads(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    images_dir, ann, _ = coco_dataset(tmp_path)
    ds = detmix.CocoDetection(images_dir, ann, pipeline(detmix.Mosaic(target_size=(64, 64), p=0.9)))
    ds.set_mixing(False)
    with ThreadPoolExecutor(4) as pool:
        shapes = set(pool.map(lambda i: ds[i % 6]["image"].shape, range(60)))
    assert (64, 64, 3) not in shapes
    ds.set_mixing(True)
    assert ds.mixers[0].p == 0.9
    assert any(ds[i % 6]["image"].shape == (64, 64, 3) for i in range(12))


def test_lazy_extras_are_consistent_mappings(tmp_path: Path) -> None:
    from detmix.data.feeding import LazySample

    loads: list[int] = []
    lazy = LazySample({"bboxes": [], "class_labels": []}, lambda: loads.append(1) or {"image": np.zeros(1)}, ("image",))
    assert list(lazy) == ["bboxes", "class_labels", "image"] and len(lazy) == 3 and "image" in lazy and not loads
    assert dict(lazy).keys() == {"bboxes", "class_labels", "image"} and loads == [1]
    assert len(lazy) == 3
