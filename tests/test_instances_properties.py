"""Hypothesis properties of instance masks through Mosaic, MixUp, CutMix and a whole pipeline.

Random instance scenes (discs, triangles and L-shapes, overlapping and cut by the borders; 0-6
objects on sources of 8..65 pixels a side, all odd in half the cases), masks as lists or arrays,
box formats, interpolations, thresholds and seeds. For every case:
* (a) one uint8 mask per output box, {0, 1} (at every interpolation), an empty list when no box is left;
* (b) each box is the tight extent of its mask, which is never empty;
* (e) the label fields stay aligned and name objects of the used sources, in source order; at
  INTER_NEAREST each mask is exactly its object's colour in the output (odd or even sizes: a
  nearest-neighbour tie goes the same way for image and masks);
* (f) with :data:`detmix.MASK_INDICES` (shuffled masks, an unused decoy, some extras without
  the field) the output equals the positional run's, its indices ``0 .. n-1``;
* (g) :func:`detmix.pair_masks` after Affine, RandomCrop and HorizontalFlip pairs each surviving
  box with its own mask, refits it, and drops exactly the objects whose masks are empty;
* (h) no input is written to, and no output array aliases an input.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import albumentations as A
import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import detmix
from tests.instance_scenes import (
    InstanceScene,
    Output,
    check_boxes_are_mask_extents,
    check_masks_are_colours,
    check_source_order,
    check_untouched_and_unshared,
    instance_call,
    instance_compose,
    make_instance_scene,
    read_output,
)
from tests.samples import METADATA_KEYS
from tests.scenes import BACKGROUNDS, FORMATS
from tests.test_pixel_truth import source_order

pytestmark = pytest.mark.filterwarnings("error")

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
INTERPOLATIONS = (cv2.INTER_NEAREST, cv2.INTER_LINEAR, cv2.INTER_CUBIC, cv2.INTER_LANCZOS4)
#: A blend recovered from uint8 is off by at most 0.5 / weight; lam stays in (0.2, 0.8) at alpha 32 in practice.
BLEND_TOLERANCE = 4.0


@dataclass
class Case:
    fmt: str
    indexed_extras: list[bool]
    interpolation: int
    odd: bool  # every source of odd height and width
    stacked: bool  # masks passed as (N, H, W) arrays rather than lists
    sources: list[InstanceScene]
    seed: int
    min_visibility: float


@st.composite
def cases(draw, n_sources: int, formats: tuple[str, ...] = FORMATS) -> Case:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    odd = draw(st.booleans())
    sides = st.integers(4, 32).map(lambda half: 2 * half + 1) if odd else st.integers(8, 64)
    sources = []
    for k in range(n_sources):
        hw = (draw(sides), draw(sides))
        sources.append(make_instance_scene(rng, hw, draw(st.integers(0, 6)), (2, max(2, min(hw) // 2)), 40 * k, BACKGROUNDS[k]))
    return Case(
        fmt=draw(st.sampled_from(formats)),
        indexed_extras=[draw(st.booleans()) for _ in range(n_sources - 1)],
        interpolation=draw(st.sampled_from(INTERPOLATIONS)),
        odd=odd,
        stacked=draw(st.booleans()),
        sources=sources,
        seed=draw(st.integers(0, 2**31 - 1)),
        min_visibility=draw(st.sampled_from([0.0, 0.3, 0.8])),
    )


def colours_exact(case: Case) -> bool:
    """Whether rule (c) holds exactly: at INTER_NEAREST."""
    return case.interpolation == cv2.INTER_NEAREST


def run(name: str, transform, case: Case, indexed: bool) -> tuple[dict, Output, list[InstanceScene]]:
    """One call, checked for rules (a), (b) and (h); the output, its objects and the sources used, in order."""
    primary, *extras = case.sources
    key = METADATA_KEYS[name]
    call = instance_call(key, primary, extras, case.fmt, indexed, case.seed, case.indexed_extras if indexed else None, case.stacked)
    before = copy.deepcopy(call)
    aug = instance_compose([transform], case.fmt, indexed, case.seed, min_visibility=case.min_visibility)
    out = aug(**call)
    check_untouched_and_unshared(call, before, out)
    found = read_output(out, case.fmt)
    check_boxes_are_mask_extents(found)
    return out, found, [primary, *(extras[k] for k in source_order(transform.params["extras"], extras))]


def check_mixer(name: str, make_transform, case: Case) -> tuple[dict, Output, list[InstanceScene], dict]:
    """Rules (a), (b), (e), (f), (h) for one mixer; returns the positional run's output, objects, sources and params."""
    transform = make_transform()
    out, found, sources = run(name, transform, case, indexed=False)
    check_source_order(found, sources)
    _, indexed_found, _ = run(name, make_transform(), case, indexed=True)
    assert indexed_found.ids == found.ids
    np.testing.assert_array_equal(indexed_found.masks, found.masks)
    np.testing.assert_array_equal(indexed_found.boxes, found.boxes)
    return out, found, sources, transform.params


@SETTINGS
@given(case=cases(5), data=st.data())
def test_mosaic_instance_properties(case: Case, data) -> None:
    side = st.integers(8, 64)
    target_size = (data.draw(side), data.draw(side))
    scale_range = tuple(sorted(data.draw(st.floats(0.3, 2.0)) for _ in range(2)))

    def make() -> detmix.Mosaic:
        return detmix.Mosaic(target_size, scale_range=scale_range, translate=0.2, interpolation=case.interpolation, mask_interpolation=case.interpolation, p=1)

    out, found, _, _ = check_mixer("Mosaic", make, case)
    if colours_exact(case):
        check_masks_are_colours(out["image"], found.masks, found.ids)


@SETTINGS
@given(case=cases(2))
def test_mixup_instance_properties(case: Case) -> None:
    def make() -> detmix.MixUp:
        return detmix.MixUp(interpolation=case.interpolation, mask_interpolation=case.interpolation, p=1)

    out, found, (primary, _), params = check_mixer("MixUp", make, case)
    n = len(primary.ids)
    assert found.ids[:n] == primary.ids.tolist(), "a wholly visible primary object was lost"
    np.testing.assert_array_equal(found.masks[:n], primary.masks)
    if colours_exact(case):
        lam = params["lam"]
        extra_layer = (out["image"].astype(np.float64) - lam * primary.image) / (1 - lam)
        check_masks_are_colours(extra_layer, found.masks[n:], found.ids[n:], BLEND_TOLERANCE)


@SETTINGS
@given(case=cases(2), cut_visibility=st.sampled_from([0.0, 0.25, 0.7]))
def test_cutmix_instance_properties(case: Case, cut_visibility: float) -> None:
    def make() -> detmix.CutMix:
        return detmix.CutMix(min_visibility=cut_visibility, interpolation=case.interpolation, mask_interpolation=case.interpolation, p=1)

    out, found, (primary, _), params = check_mixer("CutMix", make, case)
    x0, y0, x1, y1 = params["rect"]
    rows = {int(i): k for k, i in enumerate(primary.ids)}
    for mask, object_id in zip(found.masks, found.ids):
        if object_id in rows:
            expected = primary.masks[rows[object_id]].copy()
            expected[y0:y1, x0:x1] = 0
            np.testing.assert_array_equal(mask, expected)
        else:
            assert mask.sum() == mask[y0:y1, x0:x1].sum(), f"pasted object {object_id} shows outside the rectangle"
    if colours_exact(case):
        check_masks_are_colours(out["image"], found.masks, found.ids)


@SETTINGS
@given(case=cases(4, FORMATS), data=st.data())
def test_pair_masks_after_a_pipeline(case: Case, data) -> None:
    target = data.draw(st.integers(16, 64))
    crop = data.draw(st.integers(8, target))
    transforms = [
        detmix.Mosaic((target, target), scale_range=(0.5, 1.5), interpolation=case.interpolation, mask_interpolation=case.interpolation, p=1),
        A.Affine(rotate=(-40, 40), scale=(0.6, 1.4), interpolation=case.interpolation, mask_interpolation=case.interpolation, p=1),
        A.RandomCrop(crop, crop),
        A.HorizontalFlip(p=0.5),
    ]
    aug = instance_compose(transforms, case.fmt, True, case.seed, min_visibility=case.min_visibility)
    primary, *extras = case.sources
    call = instance_call("mosaic_metadata", primary, extras, case.fmt, True, case.seed, case.indexed_extras, case.stacked)
    before = copy.deepcopy(call)
    out = aug(**call)
    check_untouched_and_unshared(call, before, out)
    kept_before = copy.deepcopy(out)
    paired = detmix.pair_masks(out, aug)
    check_untouched_and_unshared(out, kept_before, paired, keys=("masks", "bboxes"))  # the image passes through

    assert detmix.MASK_INDICES not in paired
    assert isinstance(paired["masks"], np.ndarray) and paired["masks"].dtype == np.uint8
    # Albumentations' own cubic or Lanczos Affine may overshoot a mask to 2.
    found = read_output(paired, case.fmt, paired=True)
    check_boxes_are_mask_extents(found)
    # Exactly the boxes Albumentations kept whose named masks still show, in their order, with those masks.
    named = [out["masks"][int(k)] for k in out[detmix.MASK_INDICES]]
    showing = [(int(round(float(i))), m) for i, m in zip(out["ids"], named) if m.any()]
    assert found.ids == [i for i, _ in showing]
    for mask, (_, expected) in zip(found.masks, showing):
        np.testing.assert_array_equal(mask, expected)
    if colours_exact(case):
        check_masks_are_colours(paired["image"], found.masks, found.ids)
