"""CutMix: which boxes survive the patch, and how primary boxes shrink."""

from __future__ import annotations

import albumentations as A
import numpy as np
import pytest

import detmix
from detmix import boxes as B

pytestmark = pytest.mark.filterwarnings("error")


def grid_boxes(step: int, size: int, extent: int) -> np.ndarray:
    starts = np.arange(0, extent - size + 1, step)
    x, y = np.meshgrid(starts, starts)
    return np.column_stack([x.ravel(), y.ravel(), x.ravel() + size, y.ravel() + size]).astype(float)


@pytest.mark.parametrize(("own", "compose_min"), [(0.25, 0.0), (0.1, 0.6), (0.7, 0.3)])
def test_threshold_is_the_larger_of_both_and_the_rule_is_exact(own: float, compose_min: float) -> None:
    primary_boxes = grid_boxes(10, 24, 120)
    other_boxes = grid_boxes(13, 30, 120)
    for seed in range(8):
        transform = detmix.CutMix(alpha=1.0, min_visibility=own, p=1)
        aug = A.Compose([transform], bbox_params=A.BboxParams("pascal_voc", label_fields=["ids"], min_visibility=compose_min), seed=seed)
        out = aug(
            image=np.zeros((120, 120, 3), np.uint8),
            bboxes=primary_boxes,
            ids=list(range(len(primary_boxes))),
            cutmix_metadata=[{"image": np.zeros((120, 120, 3), np.uint8), "bboxes": other_boxes, "ids": list(range(1000, 1000 + len(other_boxes)))}],
        )
        rect = transform.params["rect"]
        threshold = max(own, compose_min)
        tight, left = B.subtract_rect(primary_boxes, rect)
        inside = B.clip_boxes(other_boxes, rect)
        pasted = B.visible_fraction(inside, other_boxes)
        expected_ids = [i for i in range(len(primary_boxes)) if left[i] >= threshold and left[i] > 0]
        expected_ids += [1000 + i for i in range(len(other_boxes)) if pasted[i] >= threshold and pasted[i] > 0]
        assert [int(i) for i in out["ids"]] == expected_ids
        expected_boxes = [*tight[[i for i in expected_ids if i < 1000]], *inside[[i - 1000 for i in expected_ids if i >= 1000]]]
        np.testing.assert_allclose(np.asarray(out["bboxes"]).reshape(-1, 4), np.reshape(expected_boxes, (-1, 4)), atol=1e-3)


def test_primary_box_shrinks_only_when_a_whole_side_strip_is_covered() -> None:
    primary = np.array([[0, 0, 60, 60]], dtype=float)
    tight, _ = B.subtract_rect(primary, (40, -5, 80, 100))
    np.testing.assert_array_equal(tight, [[0, 0, 40, 60]])
    tight, _ = B.subtract_rect(primary, (20, 20, 40, 40))
    np.testing.assert_array_equal(tight, primary)
