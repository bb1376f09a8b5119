"""Extras handed over by a dataset: their validated boxes skip the Compose's checks, with the same result."""

from __future__ import annotations

from pathlib import Path

import albumentations as A
import numpy as np
import pytest

import detmix
from detmix.data.feeding import LazySample

pytestmark = pytest.mark.filterwarnings("error")

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "coco"


def pipeline(fmt: str, label_fields: list[str]) -> A.Compose:
    return A.Compose(
        [detmix.Mosaic(target_size=(96, 128), p=1), detmix.MixUp(weight_field="weights", p=1), detmix.CutMix(p=1)],
        bbox_params=A.BboxParams(fmt, label_fields=label_fields, min_visibility=0.2),
        seed=7,
    )


@pytest.mark.parametrize("fmt", ["coco", "pascal_voc", "yolo", "albumentations"])
def test_validated_extras_give_what_the_compose_checks_would(fmt: str) -> None:
    transform = pipeline(fmt, ["class_labels", "weights"])
    dataset = detmix.CocoDetection(FIXTURES / "images", FIXTURES / "annotations.json", transform)
    primary = {**dataset._sample(0, fmt), **dataset.load_pixels(0)}
    primary.pop("image_id")
    extras = {key: [dataset._lazy(i, fmt) for i in (3, 5, 7, 16)] for key in ("mosaic_metadata", "mixup_metadata", "cutmix_metadata")}
    assert all(isinstance(e, LazySample) and e.validated_bboxes is not None for group in extras.values() for e in group)
    fast = transform(**primary, **extras)
    plain = {key: [dict(e) for e in group] for key, group in extras.items()}  # plain dicts: the Compose's own checks
    transform.set_random_seed(7)
    checked = pipeline(fmt, ["class_labels", "weights"])(**primary, **plain)
    np.testing.assert_array_equal(fast["image"], checked["image"])
    np.testing.assert_allclose(np.asarray(fast["bboxes"]), np.asarray(checked["bboxes"]), atol=1e-5)
    np.testing.assert_array_equal(fast["class_labels"], checked["class_labels"])
    np.testing.assert_allclose(fast["weights"], checked["weights"])
    assert len(fast["bboxes"]) > 5


def test_validated_extras_still_need_their_label_fields() -> None:
    transform = pipeline("coco", ["class_labels", "weights", "extra_field"])
    dataset = detmix.CocoDetection(FIXTURES / "images", FIXTURES / "annotations.json")
    extra = dataset._lazy(3, "coco")
    count = len(dataset.records[0].bboxes)
    primary = {**dataset._sample(0, "coco"), **dataset.load_pixels(0), "weights": [1.0] * count, "extra_field": [0] * count}
    primary.pop("image_id")
    with pytest.raises(ValueError, match=r"extra 0 under 'mosaic_metadata': missing label field\(s\) \['weights', 'extra_field'\]"):
        transform(**primary, mosaic_metadata=[extra] * 3, mixup_metadata=[extra], cutmix_metadata=[extra])


def test_dataset_extras_skip_the_compose_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the primary goes through the Compose's box preprocessing; the extras were checked at construction."""
    from albumentations.core.bbox_utils import BboxProcessor

    calls = []
    original = BboxProcessor.preprocess
    monkeypatch.setattr(BboxProcessor, "preprocess", lambda self, data: calls.append(1) or original(self, data))
    dataset = detmix.CocoDetection(FIXTURES / "images", FIXTURES / "annotations.json", pipeline("yolo", ["class_labels", "weights"]))
    sample = dataset[2]
    assert len(sample["bboxes"]) == len(sample["class_labels"]) > 0
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("validated", "labels", "error", "match"),
    [
        (np.zeros((0, 4), np.float32), [1, 2], ValueError, "0 boxes but 2 values of label field 'labels'"),
        (np.array([[0.5, 0.1, 0.2, 0.9]], np.float32), [1], ValueError, "x_max <= x_min or y_max <= y_min"),
        (np.array([[0.1, 0.1, 0.2, 0.2]], np.float64), [1], TypeError, r"float32 \(N, 4\) array, got array of shape \(1, 4\) of float64"),
        (np.zeros((1, 5), np.float32), [1], TypeError, r"float32 \(N, 4\) array"),
        ([[0.1, 0.1, 0.2, 0.2]], [1], TypeError, "got list"),
    ],
)
def test_validated_boxes_are_still_checked_cheaply(validated, labels, error, match) -> None:
    """A mapping claiming validated boxes gets shape, order and label-length checks, named like any extra's."""
    image = np.zeros((20, 30, 3), np.uint8)
    extra = LazySample({"bboxes": [], "labels": labels}, lambda: {"image": image}, ("image",), validated)
    aug = A.Compose([detmix.MixUp(p=1)], bbox_params=A.BboxParams("coco", label_fields=["labels"]))
    with pytest.raises(error, match=f"MixUp: extra 0 under 'mixup_metadata': .*{match}"):
        aug(image=image, bboxes=[[1, 1, 5, 5]], labels=[0], mixup_metadata=[extra])
