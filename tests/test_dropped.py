"""Why a box was dropped: ``detmix.dropped_boxes`` on ``A.Compose(..., save_applied_params=True)`` output."""

from __future__ import annotations

from typing import Any

import albumentations as A
import numpy as np
import pytest

import detmix
from detmix.transforms.base import DROP_RECORDER
from detmix.transforms.dropped import DROPPED_BBOXES

pytestmark = pytest.mark.filterwarnings("error")


def image(seed: int, height: int = 100, width: int = 100) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def square_mask(x0: int, y0: int, x1: int, y1: int, hw: tuple[int, int] = (100, 100)) -> np.ndarray:
    mask = np.zeros(hw, np.uint8)
    mask[y0:y1, x0:x1] = 1
    return mask


def run(
    transform: A.DualTransform,
    primary: dict[str, Any],
    extras: list[dict[str, Any]],
    fields: tuple[str, ...] = ("labels",),
    seed: int = 1,
    **rules: Any,
) -> dict[str, Any]:
    compose = A.Compose(
        [transform],
        bbox_params=A.BboxParams(format="pascal_voc", label_fields=list(fields), **rules),
        seed=seed,
        save_applied_params=True,
    )
    return compose(**primary, **{transform.metadata_key: extras})


def mosaic() -> detmix.Mosaic:
    """A 100 x 100 mosaic of 100 x 100 images around the centre (50, 50): the primary at offset
    (-50, -50) shows its bottom-right quarter, extra 0 at (50, -50), 1 at (-50, 50), 2 at (50, 50)."""
    return detmix.Mosaic(target_size=(100, 100), center_range=(0.5, 0.5), p=1.0)


def mosaic_extras(boxes: list[list[list[float]]], labels: list[list[str]]) -> list[dict[str, Any]]:
    return [{"image": image(10 + i), "bboxes": b, "labels": l} for i, (b, l) in enumerate(zip(boxes, labels))]


def test_mosaic_records_the_visible_fraction_and_nothing_visible_with_source_box_and_labels() -> None:
    primary = {"image": image(0), "bboxes": [[0, 0, 55, 55], [0, 0, 20, 20], [60, 60, 80, 80]], "labels": ["cat", "dog", "cup"]}
    extras = mosaic_extras([[[0, 60, 10, 70], [90, 90, 100, 100]], [], []], [["cat", "rocket"], [], []])
    out = run(mosaic(), primary, extras, min_visibility=0.1)
    assert out["labels"] == ["cup", "cat"]
    dropped = detmix.dropped_boxes(out)
    assert [(d.transform, d.source, d.labels, d.rule) for d in dropped] == [
        ("Mosaic", "primary", {"labels": "cat"}, "min_visibility"),
        ("Mosaic", "primary", {"labels": "dog"}, "nothing visible"),
        ("Mosaic", "extra 0", {"labels": "rocket"}, "nothing visible"),
    ]
    cut, hidden, outside = dropped
    np.testing.assert_allclose(cut.bbox, (0, 0, 5, 5), atol=1e-4)
    np.testing.assert_allclose(cut.whole_bbox, (-50, -50, 5, 5), atol=1e-4)
    assert cut.visibility == pytest.approx(25 / 55**2, abs=1e-5)
    assert cut.reason == "visible fraction 0.0083 < min_visibility 0.1 (BboxParams)"
    assert (cut.min_visibility, cut.visibility_text) == (0.1, "0.0083")
    assert cut.image_hw == (100, 100)
    assert hidden.bbox is None and hidden.visibility == 0 and hidden.reason == "nothing visible"
    np.testing.assert_allclose(hidden.whole_bbox, (-50, -50, -30, -30), atol=1e-4)
    np.testing.assert_allclose(outside.whole_bbox, (140, 40, 150, 50), atol=1e-4)


@pytest.mark.parametrize(
    ("rule", "limit", "box", "reason"),
    [
        ("min_area", 30, [60, 60, 65, 65], "area 25 < min_area 30"),
        ("min_width", 2, [60, 60, 61, 80], "width 1 < min_width 2"),
        ("min_height", 2, [60, 60, 80, 61], "height 1 < min_height 2"),
        ("max_accept_ratio", 10, [60, 60, 90, 62], "aspect ratio 15 > max_accept_ratio 10"),
    ],
)
def test_each_size_rule_of_the_compose_is_named(rule: str, limit: float, box: list[float], reason: str) -> None:
    primary = {"image": image(0), "bboxes": [box, [60, 60, 90, 90]], "labels": [3, 4]}
    out = run(mosaic(), primary, mosaic_extras([[], [], []], [[], [], []]), **{rule: limit})
    assert out["labels"] == [4]
    (dropped,) = detmix.dropped_boxes(out)
    assert (dropped.source, dropped.labels, dropped.rule, dropped.reason, dropped.visibility, dropped.visibility_text) == ("primary", {"labels": 3}, rule, reason, 1.0, "1")
    np.testing.assert_allclose(dropped.bbox, np.array(box) - 50, atol=1e-4)
    assert dropped.bbox == dropped.whole_bbox


def test_a_box_failing_several_size_rules_names_each() -> None:
    primary = {"image": image(0), "bboxes": [[60, 60, 61, 90]], "labels": [1]}
    out = run(mosaic(), primary, mosaic_extras([[], [], []], [[], [], []]), min_area=40, min_width=2, max_accept_ratio=10)
    (dropped,) = detmix.dropped_boxes(out)
    assert dropped.rule == "min_area"
    assert dropped.reason == "area 30 < min_area 40; width 1 < min_width 2; aspect ratio 30 > max_accept_ratio 10"


def test_cutmix_names_its_own_threshold_and_the_extras_clipped_box() -> None:
    primary = {"image": image(0), "bboxes": [[0, 0, 100, 100]], "labels": ["cat"]}
    extra = {"image": image(1), "bboxes": [[0, 0, 100, 100]], "labels": ["dog"]}
    out = run(detmix.CutMix(p=1.0), primary, [extra], seed=0, min_visibility=0.1)  # seed 0: a small rectangle
    (name, params), = out["applied_transforms"]
    x0, y0, x1, y1 = params["rect"]
    shown = (x1 - x0) * (y1 - y0) / 100**2
    assert name == "CutMix" and shown < 0.25
    (dropped,) = detmix.dropped_boxes(out)
    assert (dropped.source, dropped.labels, dropped.rule) == ("extra 0", {"labels": "dog"}, "min_visibility")
    assert dropped.bbox == (x0, y0, x1, y1) and dropped.whole_bbox == (0, 0, 100, 100)
    assert dropped.visibility == pytest.approx(shown)
    assert dropped.reason == f"visible fraction {dropped.visibility_text} < min_visibility 0.25 (CutMix)"
    assert dropped.min_visibility == 0.25


def test_mixup_drops_only_by_size_rules_and_records_the_letterboxed_box() -> None:
    primary = {"image": image(0), "bboxes": [[10, 10, 50, 50]], "labels": ["cat"]}
    extra = {"image": image(1, 50, 50), "bboxes": [[10, 10, 12, 12], [20, 20, 40, 40]], "labels": ["dog", "cup"]}
    out = run(detmix.MixUp(p=1.0), primary, [extra], min_area=20)
    assert out["labels"] == ["cat", "cup"]
    (dropped,) = detmix.dropped_boxes(out)
    assert (dropped.source, dropped.labels, dropped.rule, dropped.reason) == ("extra 0", {"labels": "dog"}, "min_area", "area 16 < min_area 20")
    np.testing.assert_allclose(dropped.bbox, (20, 20, 24, 24), atol=1e-4)


def test_copypaste_records_an_emptied_mask_and_a_mostly_covered_one_with_their_mask_indices() -> None:
    masks = [square_mask(20, 20, 40, 40), square_mask(60, 60, 80, 80), square_mask(5, 60, 15, 70)]
    primary = {
        "image": image(0),
        "masks": masks,
        "bboxes": [[20, 20, 40, 40], [60, 60, 80, 80], [5, 60, 15, 70]],
        "labels": ["cat", "dog", "cup"],
        detmix.MASK_INDICES: [0, 1, 2],
    }
    cover = np.zeros((100, 100), np.uint8)
    cover[:40, :50] = 1  # over all of the cat
    cover[:78, 50:] = 1  # over the top 18 of the dog's 20 rows
    extra = {"image": image(1), "masks": [cover], "bboxes": [[0, 0, 100, 78]], "labels": ["rocket"]}
    paste = detmix.CopyPaste(instance_p=1.0, p=1.0)
    out = run(paste, primary, [extra], fields=("labels", detmix.MASK_INDICES))
    assert out["labels"] == ["cup", "rocket"]
    cat, dog = detmix.dropped_boxes(out)
    assert (cat.source, cat.labels, cat.rule, cat.reason, cat.bbox) == ("primary", {"labels": "cat", detmix.MASK_INDICES: 0}, "mask empty", "mask empty", None)
    np.testing.assert_allclose(cat.whole_bbox, (20, 20, 40, 40), atol=1e-4)
    assert (dog.labels[detmix.MASK_INDICES], dog.rule, dog.reason) == (1, "min_visibility", "visible fraction 0.1 < min_visibility 0.25 (CopyPaste)")
    np.testing.assert_allclose(dog.bbox, (60, 78, 80, 80))
    assert dog.visibility == pytest.approx(0.1)


def test_copypaste_maps_only_the_chosen_instances() -> None:
    primary = {"image": image(0), "masks": [square_mask(80, 80, 90, 90)], "bboxes": [[80, 80, 90, 90]], "labels": ["cat"], detmix.MASK_INDICES: [0]}
    boxes = [[0, 0, 5, 5], [10, 10, 20, 20], [0, 0, 50, 50]]  # the last pasted over the one before
    extra = {"image": image(1), "masks": [square_mask(*box) for box in boxes], "bboxes": boxes, "labels": ["a", "b", "c"]}
    out = run(detmix.CopyPaste(instance_p=0.5, p=1.0), primary, [extra], fields=("labels", detmix.MASK_INDICES), seed=4)
    assert out["applied_transforms"][0][1]["chosen"] == [1, 2]
    (covered,) = detmix.dropped_boxes(out)
    assert (covered.source, covered.labels, covered.rule) == ("extra 0", {"labels": "b", detmix.MASK_INDICES: 1}, "mask empty")
    np.testing.assert_allclose(covered.whole_bbox, (10, 10, 20, 20), atol=1e-4)


def test_mosaic_with_instance_masks_counts_mask_pixels() -> None:
    primary = {"image": image(0), "masks": [square_mask(40, 40, 60, 60), square_mask(0, 0, 20, 20)], "bboxes": [[40, 40, 60, 60], [0, 0, 20, 20]], "labels": ["cat", "dog"], detmix.MASK_INDICES: [0, 1]}
    extras = [{**e, "masks": []} for e in mosaic_extras([[], [], []], [[], [], []])]
    out = run(mosaic(), primary, extras, fields=("labels", detmix.MASK_INDICES), min_visibility=0.5)
    cut, hidden = detmix.dropped_boxes(out)
    assert (cut.rule, cut.visibility, cut.reason) == ("min_visibility", 0.25, "visible fraction 0.25 < min_visibility 0.5 (BboxParams)")
    assert cut.bbox == (0, 0, 10, 10)  # the mask's extent
    np.testing.assert_allclose(cut.whole_bbox, (-10, -10, 10, 10), atol=1e-4)
    assert (hidden.rule, hidden.bbox) == ("nothing visible", None)


@pytest.mark.parametrize(("fraction", "threshold", "text"), [(0.246, 0.25, "0.246"), (0.2199, 0.25, "0.22"), (0.0999, 0.1, "0.0999"), (0.5, 0.25, "0.5"), (0.0, 0.1, "0")])
def test_the_visible_fraction_is_written_short_but_never_rounded_up_to_its_threshold(fraction: float, threshold: float, text: str) -> None:
    box = detmix.DroppedBox("Mosaic", "primary", None, (0, 0, 1, 1), {}, fraction, threshold, "min_visibility", "", (1, 1))
    assert box.visibility_text == text


def test_recording_changes_nothing_and_happens_only_when_asked() -> None:
    primary = {"image": image(0), "bboxes": [[0, 0, 55, 55], [60, 60, 80, 80]], "labels": ["cat", "dog"]}
    extras = mosaic_extras([[[0, 60, 10, 70]], [], []], [["cup"], [], []])
    transform = mosaic()
    bbox_params = A.BboxParams(format="pascal_voc", label_fields=["labels"], min_visibility=0.1)
    plain = A.Compose([transform], bbox_params=bbox_params, seed=3)(**primary, mosaic_metadata=extras)
    assert DROPPED_BBOXES not in transform.params and "applied_transforms" not in plain
    with pytest.raises(ValueError, match="save_applied_params=True"):
        detmix.dropped_boxes(plain)
    recorded = A.Compose([mosaic()], bbox_params=bbox_params, seed=3, save_applied_params=True)(**primary, mosaic_metadata=extras)
    np.testing.assert_array_equal(plain["image"], recorded["image"])
    assert plain["bboxes"] == recorded["bboxes"] and plain["labels"] == recorded["labels"]
    assert len(detmix.dropped_boxes(recorded)) == 1
    assert DROP_RECORDER.get() is None


def test_a_pipeline_of_mixers_records_each_in_order_and_a_skipped_one_not_at_all() -> None:
    primary = {"image": image(0), "bboxes": [[0, 0, 55, 55]], "labels": ["cat"]}
    extras = mosaic_extras([[], [], []], [[], [], []])
    compose = A.Compose(
        [mosaic(), detmix.MixUp(p=0.0), detmix.CutMix(p=1.0)],
        bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"], min_visibility=0.1),
        seed=1,
        save_applied_params=True,
    )
    out = compose(**primary, mosaic_metadata=extras, mixup_metadata=extras, cutmix_metadata=extras)
    assert [name for name, _ in out["applied_transforms"]] == ["Mosaic", "CutMix"]
    assert [d.transform for d in detmix.dropped_boxes(out)][:1] == ["Mosaic"]


def test_a_dataset_sample_carries_the_record() -> None:
    from tests.test_tools import COCO_IMAGES, COCO_JSON

    compose = A.Compose(
        [detmix.Mosaic(target_size=(128, 128), p=1.0)],
        bbox_params=A.BboxParams(format="pascal_voc", label_fields=["class_labels"], min_visibility=0.3),
        seed=0,
        save_applied_params=True,
    )
    ds = detmix.CocoDetection(COCO_IMAGES, COCO_JSON, compose)
    dropped = [box for i in range(4) for box in detmix.dropped_boxes(ds[i])]
    assert dropped and all(isinstance(box.labels["class_labels"], int) for box in dropped)
    assert {box.rule for box in dropped} <= {"nothing visible", "min_visibility"}


@pytest.mark.parametrize(
    ("after", "moved_by"),
    [
        ([], None),
        ([A.Resize(50, 80, p=1.0)], None),  # a whole-image resize: the outline is scaled
        ([A.RandomBrightnessContrast(p=1.0), detmix.HSVJitter(p=1.0)], None),  # pixels only
        ([A.HorizontalFlip(p=1.0)], "HorizontalFlip"),
        ([A.RandomCrop(60, 60, p=1.0), A.HorizontalFlip(p=1.0)], "RandomCrop"),  # the first one that moved
        ([A.PadIfNeeded(120, 120, p=1.0)], "PadIfNeeded"),
        ([A.HorizontalFlip(p=0.0)], None),  # did not run
    ],
)
def test_a_dropped_box_names_the_first_transform_after_its_mixer_that_moved_pixels(after: list[A.BasicTransform], moved_by: str | None) -> None:
    bbox_params = A.BboxParams(format="pascal_voc", label_fields=["labels"], min_visibility=0.5)
    compose = A.Compose([mosaic(), *after], bbox_params=bbox_params, seed=1, save_applied_params=True)
    extras = mosaic_extras([[[40, 40, 60, 60]], [], []], [["gone"], [], []])  # a quarter of extra 0's box shows
    out = compose(image=image(1), bboxes=[[60, 60, 90, 90]], labels=["kept"], mosaic_metadata=extras)
    assert [box.labels["labels"] for box, _ in detmix.transforms.dropped.dropped_and_moved(out)] == ["gone"]
    assert [mover for _, mover in detmix.transforms.dropped.dropped_and_moved(out)] == [moved_by]
    assert detmix.dropped_boxes(out) == [box for box, _ in detmix.transforms.dropped.dropped_and_moved(out)]


def test_only_a_mixer_that_keeps_the_primary_s_frame_leaves_an_earlier_drop_in_place() -> None:
    from detmix.transforms.dropped import _may_move

    assert not any(map(_may_move, ["MixUp", "CutMix", "CopyPaste", "Resize", "LongestMaxSize", "SmallestMaxSize", "ToGray"]))
    assert all(map(_may_move, ["Mosaic", "Affine", "RandomCrop", "NoSuchTransform"]))
