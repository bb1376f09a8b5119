"""Inputs and outputs: what a mixer may write, and which arrays it hands back.

A mixer never writes into its inputs (the primary's arrays, the extras' arrays). One that fires
returns arrays sharing no memory with any input, identity cases included (MixUp of a same-size
extra, CutMix with an empty or full rectangle, a Mosaic at scale 1). One that does not fire
returns what Albumentations returns for any transform that is skipped: the caller's own
``image`` and ``mask`` objects, and annotations converted afresh by the Compose.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import albumentations as A
import numpy as np
import pytest

import detmix
from tests.samples import EXTRAS_NEEDED, METADATA_KEYS, make_sample
from tests.test_contract import assert_same, deep_copy

pytestmark = pytest.mark.filterwarnings("error")


def arrays_in(value: Any, path: str = "") -> Iterator[tuple[str, np.ndarray]]:
    """Every numpy array inside nested dicts and lists, with where it sits."""
    if isinstance(value, np.ndarray):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from arrays_in(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from arrays_in(item, f"{path}[{index}]")


def same_size_call(name: str, seed: int, image_hw: tuple[int, int], fmt: str = "coco") -> dict[str, Any]:
    """Primary and extras all of ``image_hw``, every annotation and label field a numpy array."""
    rng = np.random.default_rng(seed)
    samples = [
        make_sample(rng, image_hw, fmt=fmt, first_label=100 * i, with_mask=True, with_keypoints=True)
        for i in range(EXTRAS_NEEDED[name] + 1)
    ]
    for sample in samples:
        for key in ("bboxes", "keypoints"):
            sample[key] = np.asarray(sample[key], dtype=np.float32)
        for key in ("labels", "kp_labels"):
            sample[key] = np.asarray(sample[key], dtype=np.int64)
    return {**samples[0], METADATA_KEYS[name]: samples[1:]}


def pipeline(transform: A.BasicTransform, fmt: str = "coco", seed: int = 0, remove_invisible: bool = True) -> A.Compose:
    return A.Compose(
        [transform],
        bbox_params=A.BboxParams(fmt, label_fields=["labels"]),
        keypoint_params=A.KeypointParams("xy", label_fields=["kp_labels"], remove_invisible=remove_invisible),
        seed=seed,
    )


def fire_and_check(name: str, transform: A.BasicTransform, call: dict[str, Any], **pipeline_kwargs: Any) -> dict[str, Any]:
    """Run ``transform`` on ``call``; assert the inputs are unchanged and the outputs fresh."""
    before = deep_copy(call)
    key = METADATA_KEYS[name]
    out = pipeline(transform, **pipeline_kwargs)(**call)
    assert "extras" in transform.params, "the mixer did not fire"
    assert_same(call, before)
    assert out[key] is call[key], "the metadata list passes through as is"
    inputs = list(arrays_in(call))
    for where, output in arrays_in({k: v for k, v in out.items() if k != key}):
        shared = [place for place, array in inputs if np.shares_memory(output, array)]
        assert not shared, f"{name}: output {where} shares memory with input {shared}"
    return out


@pytest.mark.parametrize("name", ["Mosaic", "MixUp", "CutMix"])
def test_extras_of_other_sizes(name: str) -> None:
    """Extras larger than the primary, each of another shape: every mixer warps."""
    call = same_size_call(name, 0, (40, 60))
    for index, extra in enumerate(call[METADATA_KEYS[name]]):
        extra["image"] = np.resize(extra["image"], (50 + 20 * index, 90 - 10 * index, 3))
        extra["mask"] = np.resize(extra["mask"], extra["image"].shape[:2])
    fire_and_check(name, getattr(detmix, name)(p=1), call)


@pytest.mark.parametrize("remove_invisible", [True, False])
@pytest.mark.parametrize("fmt", ["coco", "albumentations"])
@pytest.mark.parametrize("name", ["MixUp", "CutMix"])
def test_same_size_extra_identity_placement(name: str, fmt: str, remove_invisible: bool) -> None:
    """A same-size extra is placed as is: MixUp's render and CutMix's paste see the extra itself."""
    for seed in range(3):
        transform = getattr(detmix, name)(p=1)
        call = same_size_call(name, seed, (24, 32), fmt=fmt)
        fire_and_check(name, transform, call, fmt=fmt, seed=seed, remove_invisible=remove_invisible)
        assert transform.params["placement"].scaled_hw == (24, 32)


def test_cutmix_with_an_empty_and_a_whole_image_rectangle() -> None:
    """With a tiny alpha, lambda is 0 or 1: the rectangle covers nothing or the whole 1x1 image."""
    seen = set()
    for seed in range(20):
        transform = detmix.CutMix(alpha=0.01, min_visibility=0.0, p=1)
        pixel = [
            {
                "image": np.full((1, 1, 3), 50 * i, np.uint8),
                "mask": np.full((1, 1), i, np.uint8),
                "bboxes": np.array([[0, 0, 1, 1]], np.float32),
                "labels": np.array([i]),
                "keypoints": np.array([[0.5, 0.5]], np.float32),
                "kp_labels": np.array([i]),
            }
            for i in (1, 2)
        ]
        call = {**pixel[0], "cutmix_metadata": pixel[1:]}
        out = fire_and_check("CutMix", transform, call, seed=seed)
        x0, y0, x1, y1 = transform.params["rect"]
        area = max(0, x1 - x0) * max(0, y1 - y0)
        seen.add(area)
        np.testing.assert_array_equal(out["image"], (call if area == 0 else call["cutmix_metadata"][0])["image"])
    assert seen == {0, 1}


@pytest.mark.parametrize(("center", "covering"), [(0.0, 3), (0.5, None), (1.0, 0)])
def test_mosaic_at_scale_one_copies_slices(center: float, covering: int | None) -> None:
    """Sources of the output's size are copied slice by slice; at a corner one source covers all."""
    transform = detmix.Mosaic(target_size=(24, 32), center_range=(center, center), p=1)
    call = same_size_call("Mosaic", 0, (24, 32))
    out = fire_and_check("Mosaic", transform, call)
    assert all(p.scaled_hw == p.src_hw for p in transform.params["placements"])
    if covering is not None:
        np.testing.assert_array_equal(out["image"], [call, *call["mosaic_metadata"]][covering]["image"])


@pytest.mark.parametrize("skip", ["p=0", "mixing_off"])
@pytest.mark.parametrize("name", ["Mosaic", "MixUp", "CutMix"])
def test_a_mixer_that_does_not_fire_returns_what_albumentations_returns(name: str, skip: str) -> None:
    """As for any skipped transform: the caller's image and mask objects, annotations converted anew."""
    call = same_size_call(name, 0, (24, 32))
    transform = getattr(detmix, name)(p=0 if skip == "p=0" else 1)
    if skip == "mixing_off":
        with detmix.mixing_off():
            out = pipeline(transform)(**call)
    else:
        out = pipeline(transform)(**call)
    assert transform.params == {}
    assert out["image"] is call["image"] and out["mask"] is call["mask"]
    assert out[METADATA_KEYS[name]] is call[METADATA_KEYS[name]]
    for key in ("bboxes", "labels", "keypoints", "kp_labels"):
        assert not np.shares_memory(out[key], call[key])
        np.testing.assert_allclose(out[key], call[key], rtol=1e-6)
    if skip == "p=0":
        bare = transform(**call)
        assert all(bare[key] is call[key] for key in call), "without a Compose every input comes back as is"
