"""Mosaic: exact boxes at a fixed centre, identity, extras choice, visibility rule."""

from __future__ import annotations

import albumentations as A
import numpy as np
import pytest

import detmix

pytestmark = pytest.mark.filterwarnings("error")


def quadrant_sample(value: int, boxes: list[list[float]], label: str) -> dict:
    """A 100x200 source (long side 200: scale 1 in a 200x200 mosaic) of one grey value."""
    return {"image": np.full((100, 200, 3), value, np.uint8), "bboxes": boxes, "labels": [label] * len(boxes)}


def centred_mosaic(min_visibility: float = 0.0, **kwargs: object) -> A.Compose:
    transform = detmix.Mosaic(target_size=(200, 200), center_range=(0.5, 0.5), p=1, **kwargs)
    return A.Compose([transform], bbox_params=A.BboxParams("pascal_voc", label_fields=["labels"], min_visibility=min_visibility), seed=0)


def test_fixed_centre_gives_exact_boxes_and_pixels() -> None:
    extras = [quadrant_sample(v, [[0, 0, 200, 100]], name) for v, name in ((20, "tr"), (30, "bl"), (40, "br"))]
    out = centred_mosaic()(**quadrant_sample(10, [[120, 10, 180, 60], [50, 10, 150, 60]], "tl"), mosaic_metadata=extras)
    image = out["image"]
    assert (image[:100, :100] == 10).all() and (image[:100, 100:] == 20).all()
    assert (image[100:, :100] == 30).all() and (image[100:, 100:] == 40).all()
    expected = {"tl": [[20, 10, 80, 60], [0, 10, 50, 60]], "tr": [[100, 0, 200, 100]], "bl": [[0, 100, 100, 200]], "br": [[100, 100, 200, 200]]}
    got: dict[str, list] = {}
    for box, label in zip(out["bboxes"], out["labels"]):
        got.setdefault(label, []).append(list(box))
    assert got.keys() == expected.keys()
    for label, boxes in expected.items():
        np.testing.assert_allclose(got[label], boxes, atol=1e-3)


@pytest.mark.parametrize(("min_visibility", "kept"), [(0.49, 2), (0.51, 1)])
def test_visible_fraction_against_min_visibility(min_visibility: float, kept: int) -> None:
    """The second box shows half of itself (left half clipped by the quadrant)."""
    extras = [quadrant_sample(0, [], "x")] * 3
    out = centred_mosaic(min_visibility)(**quadrant_sample(10, [[120, 10, 180, 60], [50, 10, 150, 60]], "tl"), mosaic_metadata=extras)
    assert len(out["bboxes"]) == kept


def test_a_box_outside_its_quadrant_is_dropped_even_without_threshold() -> None:
    extras = [quadrant_sample(0, [], "x")] * 3
    out = centred_mosaic()(**quadrant_sample(10, [[0, 0, 90, 100]], "tl"), mosaic_metadata=extras)
    assert len(out["bboxes"]) == 0 and out["labels"] == []


def test_min_area_of_the_compose_applies() -> None:
    extras = [quadrant_sample(0, [], "x")] * 3
    aug = A.Compose(
        [detmix.Mosaic(target_size=(200, 200), center_range=(0.5, 0.5), p=1)],
        bbox_params=A.BboxParams("pascal_voc", label_fields=["labels"], min_area=2000),
    )
    out = aug(**quadrant_sample(10, [[120, 10, 180, 60], [150, 10, 190, 40]], "tl"), mosaic_metadata=extras)
    np.testing.assert_allclose(out["bboxes"], [[20, 10, 80, 60]], atol=1e-3)


def test_centre_at_the_corner_with_a_target_sized_primary_is_the_identity() -> None:
    rng = np.random.default_rng(0)
    primary = {"image": rng.integers(0, 256, (96, 128, 3), dtype=np.uint8), "bboxes": [[3, 4, 50, 60]], "labels": ["p"]}
    extras = [quadrant_sample(0, [[0, 0, 10, 10]], "x")] * 3
    aug = A.Compose(
        [detmix.Mosaic(target_size=(96, 128), center_range=(1.0, 1.0), p=1)],
        bbox_params=A.BboxParams("pascal_voc", label_fields=["labels"]),
    )
    out = aug(**primary, mosaic_metadata=extras)
    np.testing.assert_array_equal(out["image"], primary["image"])
    np.testing.assert_allclose(out["bboxes"], primary["bboxes"], atol=1e-4)
    assert out["labels"] == ["p"]


def test_three_extras_are_all_used_once() -> None:
    extras = [quadrant_sample(v, [[0, 0, 200, 100]], str(v)) for v in (20, 30, 40)]
    out = centred_mosaic()(**quadrant_sample(10, [], "tl"), mosaic_metadata=extras)
    assert sorted(out["labels"]) == ["20", "30", "40"]


def test_many_extras_are_chosen_without_replacement_by_the_seed() -> None:
    extras = [quadrant_sample(v, [[0, 0, 200, 100]], str(v)) for v in range(1, 11)]
    picks = set()
    for seed in range(20):
        aug = A.Compose(
            [detmix.Mosaic(target_size=(200, 200), center_range=(0.5, 0.5), p=1)],
            bbox_params=A.BboxParams("pascal_voc", label_fields=["labels"]),
            seed=seed,
        )
        labels = aug(**quadrant_sample(0, [], "tl"), mosaic_metadata=extras)["labels"]
        assert len(set(labels)) == 3
        picks.add(tuple(labels))
    assert len(picks) > 10


def test_scaled_sources_move_their_boxes_by_the_same_scale() -> None:
    """A 50x100 extra is scaled 2x to fill a 200x200 mosaic's bottom-right quadrant."""
    small = {"image": np.full((50, 100, 3), 7, np.uint8), "bboxes": [[10, 5, 30, 25]], "labels": ["br"]}
    extras = [quadrant_sample(0, [], "x"), quadrant_sample(0, [], "x"), small]
    out = centred_mosaic(interpolation=0)(**quadrant_sample(0, [], "tl"), mosaic_metadata=extras)
    np.testing.assert_allclose(out["bboxes"], [[120, 110, 160, 150]], atol=1e-3)
    assert (out["image"][100:200, 100:200] == 7).all()
