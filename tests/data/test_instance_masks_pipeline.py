"""Instance masks from the datasets through Mosaic, MixUp and CutMix, Affine and a crop: paired with their boxes, lazy, private."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import albumentations as A
import cv2
import numpy as np
import pytest

import detmix
from detmix.data import dataset as dataset_module
from tests.data.builders import yolo_dataset
from tests.data.instance_scenes import CLASS_COLOURS, assert_boxes_are_mask_extents, grid_cells, make_object, paint, write_coco

pytestmark = pytest.mark.filterwarnings("error")

IMAGE_HW = (72, 96)
KINDS = ("polygon", "multipolygon", "rle", "rle_list", "box", "polygon")
LABEL_FIELDS = ["class_labels", "mask_indices"]
MIXERS: dict[str, Callable[[], A.BasicTransform]] = {
    "mosaic": lambda: detmix.Mosaic(target_size=(96, 96), p=1),
    "mixup": lambda: detmix.MixUp(p=1),
    "cutmix": lambda: detmix.CutMix(p=1),
}


def write_scenes(root: Path, n_images: int = 6) -> tuple[Path, Path]:
    """``n_images`` images of six objects each (one box-only), painted in their class's colour on black, and their COCO JSON."""
    rng = np.random.default_rng(0)
    scenes = []
    for _ in range(n_images):
        objects = [make_object(kind, rng, int(rng.integers(3)), cell, IMAGE_HW) for kind, cell in zip(KINDS, grid_cells(IMAGE_HW, 2, 3))]
        scenes.append((paint(objects, IMAGE_HW, CLASS_COLOURS[[obj.label for obj in objects]]), objects))
    return write_coco(root, scenes)


def scene_dataset(root: Path, transform: A.Compose | None = None, n_images: int = 6, **kwargs: Any) -> detmix.CocoDetection:
    """A CocoDetection(masks="instance") of :func:`write_scenes`."""
    images_dir, annotation_file = write_scenes(root, n_images)
    with pytest.warns(UserWarning, match=r"masked by their box \(masks='instance'\) \(" + str(n_images)):
        return detmix.CocoDetection(images_dir, annotation_file, transform, masks="instance", **kwargs)


def pipeline(mixer: A.BasicTransform, seed: int = 0) -> A.Compose:
    return A.Compose(
        [mixer, A.Affine(rotate=(-30, 30), scale=(0.7, 1.3), p=1), A.RandomCrop(64, 64, p=1)],
        bbox_params=A.BboxParams("coco", label_fields=LABEL_FIELDS, min_visibility=0.2),
        seed=seed,
    )


def check_paired(sample: dict[str, Any], blended: bool) -> int:
    """Masks, boxes and labels line up, each box is its mask's extent, and each mask's inside shows
    its label's colour (its channel lit, from at least a quarter's weight, when ``blended`` by
    MixUp; its colour alone otherwise) on 90% of its pixels: the mask is resampled by the nearest
    pixel, the image by interpolation, so a pixel or two of a narrow part may stray. A mask paired
    with another object shows none of its colour. Returns how many masks had an inside to check."""
    masks, image = sample["masks"], sample["image"]
    assert isinstance(masks, np.ndarray) and masks.dtype == np.uint8 and masks.shape == (len(sample["bboxes"]), *image.shape[:2])
    assert len(sample["class_labels"]) == len(masks) and "mask_indices" not in sample
    assert set(np.unique(masks)) <= {0, 1}
    assert_boxes_are_mask_extents(sample["bboxes"], masks)
    checked = 0
    for mask, label in zip(masks, sample["class_labels"]):
        inside = cv2.erode(mask, np.ones((3, 3), np.uint8), iterations=2).astype(bool)  # away from interpolated edges
        if not inside.any():
            continue
        pixels = image[inside].astype(int)
        # Its channel lit, the others dark: bilinear resampling dims a small object's inside towards the black background.
        lit = pixels[:, label] >= 50 if blended else (pixels[:, label] >= 100) & (np.delete(pixels, label, axis=1).max(axis=1) <= 55)
        assert lit.mean() >= 0.9, f"class {label}'s mask covers pixels of another colour: {pixels[~lit][:5].tolist()}"
        checked += 1
    return checked


@pytest.mark.parametrize("mixer", sorted(MIXERS))
def test_masks_stay_paired_with_boxes_and_labels_through_mixing_affine_and_crop(tmp_path: Path, mixer: str) -> None:
    dataset = scene_dataset(tmp_path)
    checked = 0
    for seed in range(6):
        dataset.transform = pipeline(MIXERS[mixer](), seed)
        for index in range(len(dataset)):
            sample = dataset[index]
            assert sample["image"].shape == (64, 64, 3)
            checked += check_paired(sample, blended=mixer == "mixup")
    assert checked >= 60  # the colour checks saw many objects


def test_masks_stay_paired_with_mixing_off(tmp_path: Path) -> None:
    dataset = scene_dataset(tmp_path, pipeline(detmix.Mosaic(target_size=(96, 96), p=1)))
    dataset.set_mixing(False)
    assert sum(check_paired(dataset[index], blended=False) for index in range(len(dataset))) >= 10


@pytest.mark.parametrize("mixer", sorted(MIXERS))
def test_yolo_masks_stay_paired_and_images_without_objects_pass(tmp_path: Path, mixer: str) -> None:
    images = yolo_dataset(tmp_path, n_images=4)
    (tmp_path / "labels" / "train" / "im0.txt").write_text("")
    with pytest.warns(UserWarning, match=r"masked by their box"):
        dataset = detmix.YoloDetection(images, transform=pipeline(MIXERS[mixer]()), masks="instance")
    for index in [0, 1, 2, 3] * 3:
        sample = dataset[index]
        assert isinstance(sample["masks"], np.ndarray) and sample["masks"].shape[1:] == (64, 64)
        assert len(sample["masks"]) == len(sample["bboxes"]) == len(sample["class_labels"])
        assert_boxes_are_mask_extents(sample["bboxes"], sample["masks"])
    dataset.set_mixing(False)
    assert dataset[0]["masks"].shape == (0, 64, 64)


def listed(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return batch


def test_masks_stay_paired_in_dataloader_workers(tmp_path: Path) -> None:
    dataset = scene_dataset(tmp_path, pipeline(detmix.Mosaic(target_size=(96, 96), p=1)))
    torch = pytest.importorskip("torch")
    loader = torch.utils.data.DataLoader(dataset, batch_size=3, num_workers=2, collate_fn=listed, generator=torch.Generator().manual_seed(0))
    samples = [sample for batch in loader for sample in batch]
    assert len(samples) == len(dataset)
    assert sum(check_paired(sample, blended=False) for sample in samples) >= 10


@pytest.mark.parametrize("label_fields", [["class_labels"], ["class_labels", "weights"]])
def test_a_transform_must_declare_mask_indices(tmp_path: Path, label_fields: list[str]) -> None:
    wrong = A.Compose([A.NoOp()], bbox_params=A.BboxParams("coco", label_fields=label_fields))
    message = (
        r"transform: masks='instance' binds each box to its mask through 'mask_indices': the Compose needs "
        r"bbox_params=A.BboxParams\(format=..., label_fields=\['class_labels', 'mask_indices'\]\), got label_fields="
    )
    with pytest.raises(ValueError, match=message):
        detmix.CocoDetection(*write_scenes(tmp_path / "coco", n_images=1), wrong, masks="instance")
    dataset = scene_dataset(tmp_path / "later", n_images=1)
    with pytest.raises(ValueError, match=message):
        dataset.transform = wrong
    with pytest.raises(ValueError, match=message):
        detmix.YoloDetection(yolo_dataset(tmp_path / "yolo", n_images=1), transform=wrong, masks="instance")


@pytest.fixture
def rasterizations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The object counts of every instance-mask stack drawn, in order."""
    drawn: list[int] = []
    original = dataset_module.rasterize

    def counted(segmentations: Any, bboxes: np.ndarray, *args: Any) -> np.ndarray:
        drawn.append(len(bboxes))
        return original(segmentations, bboxes, *args)

    monkeypatch.setattr(dataset_module, "rasterize", counted)
    return drawn


@pytest.mark.parametrize("extras", ["pool", "uniform"])
def test_extras_draw_their_masks_only_when_a_mixer_fires(tmp_path: Path, rasterizations: list[int], extras: str) -> None:
    idle = A.Compose([detmix.Mosaic(target_size=(96, 96), p=0), detmix.MixUp(p=0)], bbox_params=A.BboxParams("coco", label_fields=LABEL_FIELDS))
    dataset = scene_dataset(tmp_path, idle, extras=extras)
    for index in range(len(dataset)):
        dataset[index]
    assert len(rasterizations) == len(dataset)  # each primary's, no extra's
    dataset.transform = pipeline(detmix.Mosaic(target_size=(96, 96), p=1))
    dataset[0]
    assert len(rasterizations) == len(dataset) + 4  # the primary and its three extras
    dataset.set_mixing(False)
    dataset[1]
    assert len(rasterizations) == len(dataset) + 5


def test_samples_share_no_memory_and_no_store_holds_masks(tmp_path: Path) -> None:
    plain = scene_dataset(tmp_path / "plain")
    first = plain[0]
    first["masks"][:] = 9
    again = plain[0]
    assert set(np.unique(again["masks"])) == {0, 1} and not np.shares_memory(first["masks"], again["masks"])
    mixed = scene_dataset(tmp_path / "mixed", pipeline(detmix.MixUp(p=1)))
    samples = [mixed[index % len(mixed)] for index in range(2 * len(mixed))]
    arrays = [array for sample in samples for array in (sample["masks"], sample["image"])]
    for i, a in enumerate(arrays):
        assert a.flags.writeable and not any(np.shares_memory(a, b) for b in arrays[i + 1 :])
    for store in (plain._cache, mixed._cache, mixed._pool):
        assert len(store) and all(array.shape[2:] == (3,) for array in store.arrays())  # images only
        assert not any(np.shares_memory(a, b) for a in arrays for b in store.arrays())
