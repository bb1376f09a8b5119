"""Instance masks through the collates: torchvision targets, yolo_seg_collate's row-aligned masks,
every way a mask can be wrong, and no memory shared with the samples.
"""

from __future__ import annotations

from typing import Any, Callable

import albumentations as A
import cv2
import numpy as np
import pytest

import detmix

torch = pytest.importorskip("torch")
from torch.utils.data import DataLoader  # noqa: E402

pytestmark = pytest.mark.filterwarnings("error")

HW = (50, 100)
MASK_COLLATES = [detmix.torchvision_collate, detmix.yolo_seg_collate]


def disc_sample(discs: list[tuple[int, int, int, int]], hw: tuple[int, int] = HW, image_id: Any = 7) -> dict[str, Any]:
    """A flat-colour disc per ``(cx, cy, radius, label)`` on a grey image, its mask from cv2.circle
    and its box the mask's pixel extent (pascal_voc), so box i and mask i describe one object.
    """
    image = np.full((*hw, 3), 90, np.uint8)
    masks, boxes = np.zeros((len(discs), *hw), np.uint8), []
    for index, (cx, cy, radius, label) in enumerate(discs):
        cv2.circle(masks[index], (cx, cy), radius, 1, thickness=-1)
        image[masks[index] == 1] = (40 * label + 30, 200 - 30 * label, 60 + 50 * index)
        ys, xs = np.nonzero(masks[index])
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    return {
        "image": image,
        "bboxes": np.array(boxes, np.float64).reshape(-1, 4),
        "class_labels": [label for *_, label in discs],
        "masks": masks,
        "bbox_format": "pascal_voc",
        "image_id": image_id,
    }


BATCH_DISCS = [[(20, 20, 10, 0), (60, 30, 15, 2)], [], [(80, 12, 8, 1), (15, 35, 12, 1), (50, 25, 18, 0)]]  # apart: one colour each


def disc_batch(hw: tuple[int, int] = HW) -> list[dict[str, Any]]:
    """Three samples of ``hw`` (50 x 100 or larger), the middle one without boxes."""
    return [disc_sample(discs, hw, image_id=index) for index, discs in enumerate(BATCH_DISCS)]


def box_of(mask: np.ndarray) -> list[int]:
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]


def test_yolo_seg_mask_i_is_the_object_of_target_row_i() -> None:
    batch = disc_batch()
    images, targets, masks = detmix.yolo_seg_collate(batch)
    plain_images, plain_targets = detmix.yolo_collate(batch)
    assert torch.equal(images, plain_images) and torch.equal(targets, plain_targets)
    assert masks.dtype == torch.uint8 and masks.shape == (len(targets), *HW) == (5, *HW)
    expected = np.concatenate([sample["masks"] for sample in batch])
    np.testing.assert_array_equal(masks.numpy(), expected)
    height, width = HW
    for row, mask in zip(targets.numpy(), masks.numpy()):
        batch_index, label, cx, cy, w, h = row
        x_min, y_min, x_max, y_max = box_of(mask)
        np.testing.assert_allclose([cx * width, cy * height, w * width, h * height], [(x_min + x_max) / 2, (y_min + y_max) / 2, x_max - x_min, y_max - y_min], atol=1e-3)
        colour = images[int(batch_index)].numpy()[:, mask == 1]  # the disc's flat colour
        assert (colour[0] == 40 * label + 30).all() and (colour[1] == 200 - 30 * label).all()


def test_torchvision_targets_carry_each_samples_masks_in_box_order() -> None:
    batch = disc_batch()
    _, targets = detmix.torchvision_collate(batch)
    for sample, target in zip(batch, targets):
        assert target["masks"].dtype == torch.uint8 and target["masks"].shape == (len(sample["bboxes"]), *HW)
        np.testing.assert_array_equal(target["masks"].numpy(), sample["masks"])
        assert [box_of(mask) for mask in target["masks"].numpy()] == target["boxes"].int().tolist()


def test_no_masks_no_masks_key() -> None:
    _, targets = detmix.torchvision_collate([{k: v for k, v in disc_sample([(20, 20, 10, 0)]).items() if k != "masks"}])
    assert "masks" not in targets[0]


def test_a_batch_without_any_box() -> None:
    batch = [disc_sample([]), {**disc_sample([]), "masks": []}]
    _, targets, masks = detmix.yolo_seg_collate(batch)
    assert targets.shape == (0, 6) and masks.shape == (0, *HW) and masks.dtype == torch.uint8
    _, listed = detmix.torchvision_collate(batch)
    assert [(tuple(t["masks"].shape), t["masks"].dtype) for t in listed] == [((0, *HW), torch.uint8)] * 2


MASK_FORMS: dict[str, Callable[[np.ndarray], Any]] = {
    "uint8 array": lambda masks: masks,
    "bool array": lambda masks: masks.astype(bool),
    "list of uint8": list,
    "tuple of bool": lambda masks: tuple(mask.astype(bool) for mask in masks),
    "list of tensors": lambda masks: [torch.from_numpy(mask) for mask in masks],
    "non-contiguous array": lambda masks: np.ascontiguousarray(np.repeat(masks, 2, axis=2))[:, :, ::2],
}


@pytest.mark.parametrize("form", MASK_FORMS, ids=list(MASK_FORMS))
def test_masks_as_array_list_or_bool_give_the_same_0_1_masks(form: str) -> None:
    batch = disc_batch()
    given = [{**sample, "masks": MASK_FORMS[form](sample["masks"])} for sample in batch]
    expected = np.concatenate([sample["masks"] for sample in batch])
    np.testing.assert_array_equal(detmix.yolo_seg_collate(given)[2].numpy(), expected)
    _, targets = detmix.torchvision_collate(given)
    np.testing.assert_array_equal(np.concatenate([t["masks"].numpy() for t in targets]), expected)


def test_masks_from_a_real_compose() -> None:
    """Albumentations hands a list of masks back when given one."""
    source = disc_sample([(20, 20, 10, 0), (60, 30, 15, 2)])
    transform = A.Compose([A.HorizontalFlip(p=1)], bbox_params=A.BboxParams("pascal_voc", label_fields=["class_labels"]))
    out = transform(image=source["image"], bboxes=source["bboxes"], class_labels=source["class_labels"], masks=list(source["masks"]))
    assert isinstance(out["masks"], list)
    _, targets, masks = detmix.yolo_seg_collate([{**out, "bbox_format": "pascal_voc"}])
    np.testing.assert_array_equal(masks.numpy(), source["masks"][:, :, ::-1])
    for row, mask in zip(targets.numpy(), masks.numpy()):
        assert abs(row[2] * HW[1] - sum(box_of(mask)[::2]) / 2) < 1e-3


@pytest.mark.parametrize("collate", MASK_COLLATES)
@pytest.mark.parametrize("as_list", [False, True])
def test_outputs_do_not_share_memory_with_the_masks(collate: Callable[..., Any], as_list: bool) -> None:
    sample = disc_sample([(20, 20, 10, 0), (60, 30, 15, 2)])
    given = list(sample["masks"]) if as_list else sample["masks"]
    before = sample["masks"].copy()
    out = collate([{**sample, "masks": given}])
    masks = out[1][0]["masks"] if collate is detmix.torchvision_collate else out[2]
    assert not np.shares_memory(masks.numpy(), sample["masks"])
    masks.fill_(1)
    np.testing.assert_array_equal(sample["masks"], before)


def with_masks(masks: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda s: {**s, "masks": masks}


def boxless(masks: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda s: {**s, "bboxes": [], "class_labels": [], "masks": masks}


def mask_pair(dtype: Any = np.uint8, **set_values: int) -> np.ndarray:
    """Two 50 x 100 masks; ``m1=255`` writes 255 into mask 1."""
    masks = np.zeros((2, *HW), dtype)
    masks[:, 10:20, 10:20] = 1
    for name, value in set_values.items():
        masks[int(name[1:]), 15, 15] = value
    return masks


BAD_MASKS = {
    "more masks than boxes": (with_masks(np.zeros((3, *HW), np.uint8)), ValueError, "3 masks but 2 bboxes; expected one mask per box"),
    "fewer masks than boxes": (with_masks([np.zeros(HW, np.uint8)]), ValueError, "1 masks but 2 bboxes"),
    "no masks for boxes": (with_masks([]), ValueError, "0 masks but 2 bboxes"),
    "array of another height": (with_masks(np.zeros((2, 40, 100), np.uint8)), ValueError, "expected masks as an \\(N, 50, 100\\) array .*got ndarray of shape \\(2, 40, 100\\)"),
    "array of W x H": (with_masks(np.zeros((2, 100, 50), np.uint8)), ValueError, "got ndarray of shape \\(2, 100, 50\\)"),
    "empty array of another size": (boxless(np.zeros((0, 40, 100), np.uint8)), ValueError, "got ndarray of shape \\(0, 40, 100\\)"),
    "one unwrapped mask": (with_masks(np.zeros(HW, np.uint8)), ValueError, "expected masks as an \\(N, 50, 100\\) array .*got ndarray of shape \\(50, 100\\)"),
    "4-D array": (with_masks(np.zeros((2, *HW, 1), np.uint8)), ValueError, "got ndarray of shape \\(2, 50, 100, 1\\)"),
    "mask of another size in a list": (with_masks([np.zeros(HW, np.uint8), np.zeros((50, 99), np.uint8)]), ValueError, "expected masks\\[1\\] of the image's shape \\(50, 100\\) \\(H, W\\), got \\(50, 99\\)"),
    "3-D mask in a list": (with_masks([np.zeros((*HW, 1), np.uint8)] * 2), ValueError, "expected masks\\[0\\] of the image's shape .*got \\(50, 100, 1\\)"),
    "1-D mask in a list": (with_masks([np.zeros(5000, np.uint8)] * 2), ValueError, "masks\\[0\\] .*got \\(5000,\\)"),
    "None in a list": (with_masks([None, None]), ValueError, "masks\\[0\\] .*got \\(\\)"),
    "ragged mask in a list": (with_masks([[[0, 1], [0]], np.zeros(HW, np.uint8)]), ValueError, "expected masks\\[0\\] as an array or list of numbers"),
    "masks as a dict": (with_masks({"a": 1}), ValueError, "got dict of shape \\(\\)"),
    "masks as None": (with_masks(None), ValueError, "got NoneType of shape \\(\\)"),
    "float masks": (with_masks(mask_pair(np.float32)), TypeError, "expected masks\\[0\\] as uint8 \\(0/1\\) or bool, got float32"),
    "int64 masks from lists": (with_masks(mask_pair().astype(np.int64).tolist()), TypeError, "masks\\[0\\] as uint8 \\(0/1\\) or bool, got int64"),
    "uint16 mask in a list": (with_masks([mask_pair()[0], mask_pair(np.uint16)[1]]), TypeError, "masks\\[1\\] as uint8 \\(0/1\\) or bool, got uint16"),
    "0/255 masks": (with_masks(mask_pair() * 255), ValueError, "masks\\[0\\] holds the value 255; expected binary masks of 0 \\(background\\) and 1 \\(object\\)"),
    "a 2 in the second mask": (with_masks(mask_pair(m1=2)), ValueError, "masks\\[1\\] holds the value 2"),
    "a label map in a list": (with_masks(list(mask_pair(m0=7))), ValueError, "masks\\[0\\] holds the value 7"),
}


@pytest.mark.parametrize("collate", [*MASK_COLLATES, detmix.yolo_collate])
@pytest.mark.parametrize("case", BAD_MASKS, ids=list(BAD_MASKS))
def test_bad_masks_fail_naming_collate_position_image_id_and_key(collate: Callable[..., Any], case: str) -> None:
    mutate, error, match = BAD_MASKS[case]
    good = disc_sample([(20, 20, 10, 0), (60, 30, 15, 2)])
    with pytest.raises(error, match=f"^{collate.__name__}: sample 1 \\(image_id 7\\): .*{match}"):
        collate([good, mutate(good)])


@pytest.mark.parametrize("collate", [detmix.torchvision_collate, detmix.yolo_collate])
def test_masks_on_all_samples_or_none(collate: Callable[..., Any]) -> None:
    masked = disc_sample([(20, 20, 10, 0)], image_id="a")
    plain = {k: v for k, v in masked.items() if k != "masks"}
    with pytest.raises(ValueError, match=f"^{collate.__name__}: sample 2 \\(image_id 'a'\\): carries no masks but sample 0 does; all samples of a batch carry masks or none"):
        collate([masked, masked, plain])
    with pytest.raises(ValueError, match=f"^{collate.__name__}: sample 1 \\(image_id 'a'\\): carries masks but sample 0 does not"):
        collate([plain, masked])


def test_yolo_seg_collate_needs_masks_on_every_sample() -> None:
    plain = {k: v for k, v in disc_sample([(20, 20, 10, 0)]).items() if k != "masks"}
    with pytest.raises(ValueError, match="^yolo_seg_collate: sample 0 \\(image_id 7\\): missing \\['masks'\\]; expected the keys image, bboxes, class_labels and masks$"):
        detmix.yolo_seg_collate([plain])
    with pytest.raises(ValueError, match="^yolo_seg_collate: got an empty batch"):
        detmix.yolo_seg_collate([])
    with pytest.raises(ValueError, match="^yolo_seg_collate: images of one batch must share a shape"):
        detmix.yolo_seg_collate([disc_sample([]), disc_sample([], hw=(20, 20))])


@pytest.mark.parametrize("collate", MASK_COLLATES)
def test_real_dataloader_with_two_workers(collate: Callable[..., Any]) -> None:
    dataset = disc_batch() * 2
    loader = DataLoader(dataset, batch_size=3, num_workers=2, collate_fn=collate)
    batches = list(loader)
    assert len(batches) == 2
    expected = np.concatenate([sample["masks"] for sample in dataset[:3]])
    for batch in batches:
        if collate is detmix.yolo_seg_collate:
            _, targets, masks = batch
            assert targets.shape == (5, 6)
        else:
            masks = torch.cat([target["masks"] for target in batch[1]])
        np.testing.assert_array_equal(masks.numpy(), expected)
