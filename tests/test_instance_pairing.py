"""Masks stay paired with boxes at the edges of the rules: size limits, counts, indices, mask values."""

from __future__ import annotations

import albumentations as A
import cv2
import numpy as np
import pytest

import detmix

pytestmark = pytest.mark.filterwarnings("error")

MIXERS = {
    "Mosaic": lambda: detmix.Mosaic(target_size=(48, 48), center_range=(0.99, 0.99), p=1),
    "MixUp": lambda: detmix.MixUp(p=1),
    "CutMix": lambda: detmix.CutMix(alpha=1e-3, p=1),  # a tiny rectangle: most objects stay whole
    "CopyPaste": lambda: detmix.CopyPaste(instance_p=0.0, p=1),
}


def bars(width: int, side: int = 48) -> tuple[np.ndarray, list[np.ndarray], list[list[int]]]:
    """Vertical bars exactly ``width`` px wide: masks and pascal_voc boxes."""
    image, masks, boxes = np.zeros((side, side, 3), np.uint8), [], []
    for x in range(0, side - width - 1, width + 3):
        mask = np.zeros((side, side), np.uint8)
        mask[2:10, x : x + width] = 1
        masks.append(mask)
        boxes.append([x, 2, x + width, 10])
    return image, masks, boxes


@pytest.mark.parametrize("name", MIXERS)
@pytest.mark.parametrize("rule", [{"min_width": 5}, {"min_area": 40}, {"min_width": 3}, {"min_height": 8}])
def test_a_box_at_a_size_limit_keeps_its_mask_without_mask_indices(name: str, rule: dict) -> None:
    """The mixer judges the size rules on the boxes as it returns them (float32, normalized), so the
    Compose's own filter afterwards drops nothing the mixer kept a mask for."""
    image, masks, boxes = bars(5)
    empty = {"image": image, "masks": [], "bboxes": [], "labels": []}
    aug = A.Compose([MIXERS[name]()], bbox_params=A.BboxParams("pascal_voc", label_fields=["labels"], **rule), seed=0)
    key = MIXERS[name]().metadata_key
    out = aug(image=image, masks=masks, bboxes=boxes, labels=list(range(len(boxes))), **{key: [empty] * 3})
    assert len(out["masks"]) == len(out["bboxes"]) == len(out["labels"])
    for box, mask in zip(out["bboxes"], out["masks"]):
        x, y, w, h = cv2.boundingRect(mask)
        np.testing.assert_allclose(box, [x, y, x + w, y + h], atol=1e-4)


def test_pair_masks_applies_the_size_rules_to_the_refit_boxes() -> None:
    image, mask = np.zeros((100, 100, 3), np.uint8), np.zeros((100, 100), np.uint8)
    cv2.circle(mask, (50, 50), 20, 1, -1)
    aug = A.Compose(
        [A.Crop(x_min=0, y_min=0, x_max=32, y_max=100, p=1)],
        bbox_params=A.BboxParams("pascal_voc", label_fields=["labels", detmix.MASK_INDICES], min_height=20),
    )
    out = aug(image=image, masks=[mask], bboxes=[[30, 30, 71, 71]], labels=[1], mask_indices=[0])
    assert len(out["bboxes"]) == 1  # Albumentations kept the loose box, 41 px high
    paired = detmix.pair_masks(out, aug)
    assert paired["masks"].shape == (0, 100, 32) and len(paired["bboxes"]) == 0 and paired["labels"] == []


def test_an_extra_without_its_own_mask_indices_pairs_by_position_and_counts_must_match() -> None:
    image = np.zeros((60, 60, 3), np.uint8)
    planes = [np.zeros((60, 60), np.uint8) for _ in range(3)]
    for plane, (x, y) in zip(planes, [(5, 5), (30, 30), (5, 40)]):
        plane[y : y + 10, x : x + 10] = 1
    extra = {"image": image, "masks": planes, "bboxes": [[30, 30, 40, 40], [5, 40, 15, 50]], "labels": [1, 2]}
    aug = A.Compose([detmix.MixUp(p=1)], bbox_params=A.BboxParams("pascal_voc", label_fields=["labels", detmix.MASK_INDICES]), seed=0)
    call = {"image": image, "masks": [], "bboxes": [], "labels": [], "mask_indices": []}
    with pytest.raises(ValueError, match="extra 0 under 'mixup_metadata': 3 masks for 2 boxes"):
        aug(**call, mixup_metadata=[extra])
    out = aug(**call, mixup_metadata=[{**extra, "mask_indices": [1, 2]}])  # its own indices: fine
    np.testing.assert_allclose(out["bboxes"], [[30, 30, 40, 40], [5, 40, 15, 50]], atol=1e-4)


def test_a_mask_named_by_two_boxes_is_an_error() -> None:
    image, mask = np.zeros((20, 20, 3), np.uint8), np.ones((20, 20), np.uint8)
    aug = A.Compose([detmix.MixUp(p=1)], bbox_params=A.BboxParams("coco", label_fields=["labels", detmix.MASK_INDICES]))
    extra = {"image": image, "masks": [], "bboxes": [], "labels": []}
    with pytest.raises(ValueError, match="MixUp: primary: mask_indices names mask 0 for more than one box"):
        aug(image=image, masks=[mask], bboxes=[[0, 0, 5, 5], [5, 5, 5, 5]], labels=[1, 2], mask_indices=[0, 0], mixup_metadata=[extra])
    indexed = A.Compose([A.NoOp()], bbox_params=A.BboxParams("coco", label_fields=["labels", detmix.MASK_INDICES]))
    out = indexed(image=image, masks=[mask], bboxes=[[0, 0, 5, 5], [5, 5, 5, 5]], labels=[1, 2], mask_indices=[0, 0])
    with pytest.raises(ValueError, match="pair_masks: mask_indices names mask 0 for more than one box"):
        detmix.pair_masks(out, indexed)


def test_pair_masks_names_a_missing_field_and_a_field_out_of_step() -> None:
    image, mask = np.zeros((8, 8, 3), np.uint8), np.ones((8, 8), np.uint8)
    indexed = A.Compose([A.NoOp()], bbox_params=A.BboxParams("coco", label_fields=["labels", detmix.MASK_INDICES]))
    out = indexed(image=image, masks=[mask], bboxes=[[0, 0, 8, 8]], labels=[1], mask_indices=[0])
    with pytest.raises(ValueError, match="missing \\['mask_indices'\\]"):
        detmix.pair_masks({k: v for k, v in out.items() if k != "mask_indices"}, indexed)
    with pytest.raises(ValueError, match="label field 'labels' has 2 values for 1 boxes"):
        detmix.pair_masks({**out, "labels": [1, 2]}, indexed)


@pytest.mark.parametrize("interpolation", [cv2.INTER_LINEAR, cv2.INTER_CUBIC])
def test_a_0_255_mask_gives_the_same_object_as_a_0_1_mask(interpolation: int) -> None:
    """Membership is interpolated, not the mask's values: a 0/255 mask's fringe does not round up."""
    image, disc = np.zeros((60, 60, 3), np.uint8), np.zeros((60, 60), np.uint8)
    cv2.circle(disc, (30, 30), 10, 1, -1)
    outs = []
    for value in (1, 255):
        aug = A.Compose([detmix.MixUp(mask_interpolation=interpolation, p=1)], bbox_params=A.BboxParams("coco", label_fields=["labels"]), seed=0)
        big = cv2.resize(disc * value, (97, 97), interpolation=cv2.INTER_NEAREST)  # letterboxed into 60 x 60
        extra = {"image": np.zeros((97, 97, 3), np.uint8), "masks": [big], "bboxes": [list(cv2.boundingRect(big))], "labels": [1]}
        outs.append(aug(image=image, masks=[], bboxes=[], labels=[], mixup_metadata=[extra]))
    np.testing.assert_array_equal(outs[0]["masks"][0], outs[1]["masks"][0])
    assert set(np.unique(outs[1]["masks"][0]).tolist()) == {0, 1}
    np.testing.assert_array_equal(outs[0]["bboxes"], outs[1]["bboxes"])


def test_copy_paste_does_not_ask_extras_for_keypoints_it_never_pastes() -> None:
    image, mask = np.zeros((30, 30, 3), np.uint8), np.zeros((30, 30), np.uint8)
    mask[5:15, 5:15] = 1
    aug = A.Compose(
        [detmix.CopyPaste(instance_p=1.0, p=1)],
        bbox_params=A.BboxParams("coco", label_fields=["labels"]),
        keypoint_params=A.KeypointParams("xy"),
    )
    extra = {"image": image, "masks": [mask], "bboxes": [[5, 5, 10, 10]], "labels": [7]}  # no keypoints
    out = aug(image=image, masks=[mask], bboxes=[[5, 5, 10, 10]], labels=[1], keypoints=[[20, 20], [7, 7]], copypaste_metadata=[extra])
    assert [list(map(float, k)) for k in out["keypoints"]] == [[20.0, 20.0]]  # the one under the paste is removed
