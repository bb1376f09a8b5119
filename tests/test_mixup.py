"""MixUp: both label sets, letterboxed boxes, the exact blend, per-box weights."""

from __future__ import annotations

import albumentations as A
import cv2
import numpy as np
import pytest

import detmix

pytestmark = pytest.mark.filterwarnings("error")


def mixup(**kwargs: object) -> tuple[detmix.MixUp, A.Compose]:
    transform = detmix.MixUp(p=1, **kwargs)
    fields = ["labels", "weights"] if kwargs.get("weight_field") else ["labels"]
    return transform, A.Compose([transform], bbox_params=A.BboxParams("pascal_voc", label_fields=fields), seed=7)


def test_same_size_keeps_both_box_sets_and_blends_exactly() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 256, (2, 60, 80, 3), dtype=np.uint8)
    transform, aug = mixup()
    out = aug(image=a, bboxes=[[1, 2, 30, 40]], labels=["a"], mixup_metadata=[{"image": b, "bboxes": [[5, 5, 79, 59]], "labels": ["b"]}])
    np.testing.assert_allclose(out["bboxes"], [[1, 2, 30, 40], [5, 5, 79, 59]], atol=1e-4)
    assert out["labels"] == ["a", "b"]
    lam = transform.params["lam"]
    assert 0 < lam < 1
    np.testing.assert_array_equal(out["image"], cv2.addWeighted(a, lam, b, 1 - lam, 0))
    assert np.abs(out["image"] - (lam * a + (1 - lam) * b)).max() <= 1


def test_other_size_is_letterboxed_and_its_boxes_follow() -> None:
    primary = np.zeros((200, 200, 3), np.uint8)
    other = np.full((50, 100, 3), 200, np.uint8)
    transform, aug = mixup(fill=0, interpolation=cv2.INTER_NEAREST)
    out = aug(image=primary, bboxes=[], labels=[], mixup_metadata=[{"image": other, "bboxes": [[10, 5, 30, 25]], "labels": ["o"]}])
    np.testing.assert_allclose(out["bboxes"], [[20, 60, 60, 100]], atol=1e-3)
    blended = round((1 - transform.params["lam"]) * 200)
    assert (out["image"][50:150] == blended).all() and (out["image"][:50] == 0).all() and (out["image"][150:] == 0).all()


def test_weight_field_carries_lambda_per_box() -> None:
    transform, aug = mixup(weight_field="weights")
    out = aug(
        image=np.zeros((40, 40, 3), np.uint8),
        bboxes=[[0, 0, 10, 10], [5, 5, 20, 20]],
        labels=[1, 2],
        weights=[1.0, 1.0],
        mixup_metadata=[{"image": np.zeros((40, 40, 3), np.uint8), "bboxes": [[1, 1, 4, 4]], "labels": [3]}],
    )
    lam = transform.params["lam"]
    assert out["labels"] == [1, 2, 3]
    np.testing.assert_allclose(out["weights"], [lam, lam, 1 - lam], rtol=1e-6)


def test_compose_size_rules_still_drop_boxes() -> None:
    aug = A.Compose([detmix.MixUp(p=1)], bbox_params=A.BboxParams("pascal_voc", label_fields=["labels"], min_area=50))
    out = aug(
        image=np.zeros((40, 40, 3), np.uint8),
        bboxes=[[0, 0, 10, 10], [0, 0, 5, 5]],
        labels=[1, 2],
        mixup_metadata=[{"image": np.zeros((40, 40, 3), np.uint8), "bboxes": [[1, 1, 4, 4]], "labels": [3]}],
    )
    assert out["labels"] == [1]


def test_beta_defaults_to_alpha_and_can_skew_lambda() -> None:
    lams = []
    for seed in range(30):
        transform = detmix.MixUp(alpha=8.0, beta=1.0, p=1)
        A.Compose([transform], seed=seed)(image=np.zeros((8, 8, 3), np.uint8), mixup_metadata=[{"image": np.zeros((8, 8, 3), np.uint8)}])
        lams.append(transform.params["lam"])
    assert np.mean(lams) > 0.75


def test_weight_field_far_from_the_end_with_no_boxes_anywhere() -> None:
    """With every box list empty the weight column still exists: empty arrays take the label columns."""
    fields = ["weights", "a", "b", "c", "d"]
    aug = A.Compose([detmix.MixUp(p=1, weight_field="weights")], bbox_params=A.BboxParams("coco", label_fields=fields))
    image = np.zeros((20, 20, 3), np.uint8)
    out = aug(image=image, bboxes=[], **dict.fromkeys(fields, []), mixup_metadata=[{"image": image, "bboxes": [], **dict.fromkeys(fields, [])}])
    assert out["bboxes"] == [] and out["weights"] == []
