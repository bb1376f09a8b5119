"""Generic checks every mixer passes, in the spirit of Albumentations' own generic suite.

Empty targets in every combination, image dtypes and channel counts, serialization round trips,
seeded determinism, non-contiguous inputs and untouched inputs, each over every mixer. CopyPaste
gets instance masks (one per box) in every call; it needs boxes, so a call without them is an error.
"""

from __future__ import annotations

import json
from typing import Any

import albumentations as A
import cv2
import numpy as np
import pytest

import detmix
from tests.samples import METADATA_KEYS, compose, make_call
from tests.test_contract import assert_same, build, deep_copy
from tests.test_memory import fire_and_check

pytestmark = pytest.mark.filterwarnings("error")

NAMES = ["Mosaic", "MixUp", "CutMix", "CopyPaste"]
HW = (32, 48)
#: Where a target has annotations: absent from the call and the Compose (the extras still carry
#: theirs, to be ignored), or present with these samples non-empty and the others empty.
PLACES = ["absent", "nowhere", "primary only", "extras only", "everywhere"]
TARGETS = {"bboxes": ("labels", 4), "keypoints": ("kp_labels", 2)}


def small_call(name: str, seed: int = 0, **kwargs: Any) -> dict[str, Any]:
    """A call with a 32x48 primary, boxes, keypoints and a mask (CopyPaste: instance masks too),
    annotations as float32 arrays."""
    call = make_call(name, np.random.default_rng(seed), image_hw=HW, with_mask=True, with_keypoints=True, **kwargs)
    for sample in samples_of(name, call):
        for key in TARGETS:
            sample[key] = np.asarray(sample[key], dtype=np.float32)
    return call


def samples_of(name: str, call: dict[str, Any]) -> list[dict[str, Any]]:
    return [call, *call[METADATA_KEYS[name]]]


def place(name: str, call: dict[str, Any], target: str, where: str) -> set[Any]:
    """Empty ``target`` on the samples ``where`` excludes; returns the labels still present."""
    field, columns = TARGETS[target]
    if where == "absent":
        call.pop(target), call.pop(field)
        return set()
    samples = samples_of(name, call)
    full = {"nowhere": [], "primary only": samples[:1], "extras only": samples[1:], "everywhere": samples}[where]
    for sample in samples:
        if not any(sample is s for s in full):
            sample[target], sample[field] = np.zeros((0, columns), np.float32), []
            if target == "bboxes" and "masks" in sample:
                sample["masks"] = []
    return {label for sample in full for label in sample[field]}


@pytest.mark.parametrize("masks", [True, False], ids=["masks", "no masks"])
@pytest.mark.parametrize("keypoints", PLACES)
@pytest.mark.parametrize("bboxes", PLACES)
@pytest.mark.parametrize("name", NAMES)
def test_every_combination_of_empty_targets(name: str, bboxes: str, keypoints: str, masks: bool) -> None:
    call = small_call(name)
    labels = {target: place(name, call, target, where) for target, where in (("bboxes", bboxes), ("keypoints", keypoints))}
    if not masks:
        call.pop("mask")
    aug = A.Compose(
        [build(name)],
        bbox_params=None if bboxes == "absent" else A.BboxParams("coco", label_fields=["labels"]),
        keypoint_params=None if keypoints == "absent" else A.KeypointParams("xy", label_fields=["kp_labels"]),
        seed=0,
    )
    if bboxes == "absent" and "masks" in call:
        with pytest.raises(ValueError, match=f"{name}: masks are instance masks, one per box: the call needs bboxes with them"):
            aug(**call)
        return
    out = aug(**call)
    height, width = out["image"].shape[:2]
    assert out["image"].shape[2:] == call["image"].shape[2:] and out["image"].dtype == np.uint8
    assert ("mask" in out) == masks and (not masks or out["mask"].shape == (height, width))
    for target, where in (("bboxes", bboxes), ("keypoints", keypoints)):
        field, columns = TARGETS[target]
        if where == "absent":
            assert target not in out and field not in out
            continue
        count = len(out[field])
        assert out[target].shape == (count, columns), f"{target} {out[target].shape} with {count} {field}"
        assert set(out[field]) <= labels[target]
    if "masks" in call:
        assert len(out["masks"]) == len(out["bboxes"])
        assert all(m.shape == (height, width) and m.dtype == np.uint8 for m in out["masks"])


@pytest.mark.parametrize(
    "empty",
    [[], np.zeros((0,), np.float32), np.zeros((0, 4), np.float32), np.zeros((0, 2), np.float64)],
    ids=["list", "1-D", "(0, 4)", "(0, 2) float64"],
)
@pytest.mark.parametrize("name", NAMES)
def test_empty_annotations_in_any_container(name: str, empty: Any) -> None:
    """However an empty array is spelled, the output keeps the caller's container and columns."""
    call = small_call(name)
    for sample in samples_of(name, call):
        sample["bboxes"], sample["keypoints"], sample["labels"], sample["kp_labels"] = empty, empty, [], []
        if "masks" in sample:
            sample["masks"] = [] if isinstance(empty, list) else np.zeros((0, *sample["image"].shape[:2]), np.uint8)
    out = compose(build(name), keypoints=True)(**call)
    assert out["labels"] == [] and out["kp_labels"] == [] and len(out.get("masks", [])) == 0
    if isinstance(empty, list):
        assert out["bboxes"] == [] and out["keypoints"] == []
    else:
        assert out["bboxes"].shape == (0, 4) and out["keypoints"].shape == (0, 2)


@pytest.mark.parametrize("channels", [None, 1, 3, 5], ids=["HxW", "1 channel", "3 channels", "5 channels"])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32], ids=["uint8", "float32"])
@pytest.mark.parametrize("name", NAMES)
def test_dtype_and_channels_are_kept_and_seeds_reproduce(name: str, dtype: type, channels: int | None) -> None:
    call = small_call(name, dtype=dtype, channels=channels)
    first = compose(build(name), seed=3, keypoints=True)(**deep_copy(call))
    again = compose(build(name), seed=3, keypoints=True)(**deep_copy(call))
    assert_same(first, again)
    image = first["image"]
    assert image.dtype == dtype and image.ndim == call["image"].ndim and image.shape[2:] == call["image"].shape[2:]
    assert first["mask"].dtype == np.uint8 and first["mask"].shape == image.shape[:2]
    if dtype == np.float32:
        assert 0.0 <= image.min() and image.max() <= 1.0


#: Every argument away from its default, so a round trip that drops one shows.
NON_DEFAULTS: dict[str, dict[str, Any]] = {
    "Mosaic": {
        "target_size": (40, 56),
        "center_range": (0.3, 0.6),
        "scale_range": (0.6, 1.4),
        "translate": 0.2,
        "fill": (1, 2, 3),
        "fill_mask": 5,
        "interpolation": cv2.INTER_CUBIC,
        "mask_interpolation": cv2.INTER_LINEAR,
    },
    "MixUp": {"alpha": 2.0, "beta": 3.0, "weight_field": "weights", "fill": 7, "interpolation": cv2.INTER_NEAREST},
    "CutMix": {"alpha": 0.5, "min_visibility": 0.4, "fill": (1, 2, 3), "fill_mask": 3, "interpolation": cv2.INTER_LANCZOS4},
    "CopyPaste": {
        "scale_range": (0.4, 1.7),
        "instance_p": 0.8,
        "min_visibility": 0.1,
        "interpolation": cv2.INTER_CUBIC,
        "mask_interpolation": cv2.INTER_LINEAR,
    },
}


@pytest.mark.parametrize("name", NAMES)
def test_serialization_round_trip_keeps_arguments_and_output(name: str) -> None:
    transform = getattr(detmix, name)(metadata_key="extras", p=0.75, **NON_DEFAULTS[name])
    pipeline = A.Compose(
        [transform],
        bbox_params=A.BboxParams("coco", label_fields=["labels", "weights"], min_visibility=0.1),
        keypoint_params=A.KeypointParams("xy", label_fields=["kp_labels"]),
    )
    alone = A.from_dict(A.to_dict(transform))
    assert type(alone) is type(transform)
    args = alone.get_transform_init_args()
    assert args == transform.get_transform_init_args()
    assert all(args[key] == value for key, value in {**NON_DEFAULTS[name], "metadata_key": "extras", "p": 0.75}.items())
    restored = A.from_dict(json.loads(json.dumps(A.to_dict(pipeline))))
    assert A.to_dict(restored) == A.to_dict(pipeline)
    pipeline.set_random_seed(5)
    restored.set_random_seed(5)
    for seed in range(4):
        call = small_call(name, seed)
        call["extras"] = call.pop(METADATA_KEYS[name])
        for sample in [call, *call["extras"]]:
            sample["weights"] = [1.0] * len(sample["labels"])
        assert_same(pipeline(**deep_copy(call)), restored(**deep_copy(call)))


@pytest.mark.parametrize("name", NAMES)
def test_non_contiguous_inputs_give_the_contiguous_result(name: str) -> None:
    """Views (channel-reversed BGR->RGB, every other column) work as their contiguous copies."""
    call = small_call(name)
    views = deep_copy(call)
    for sample in samples_of(name, views):
        sample["image"] = np.ascontiguousarray(sample["image"][..., ::-1])[..., ::-1]
        sample["mask"] = np.repeat(sample["mask"], 2, axis=1)[:, ::2]
        assert not sample["image"].flags.c_contiguous and not sample["mask"].flags.c_contiguous
        if "masks" in sample:
            sample["masks"] = [np.repeat(m, 2, axis=0)[::2] if i % 2 else np.asfortranarray(m) for i, m in enumerate(sample["masks"])]
            assert not any(m.flags.c_contiguous for m in sample["masks"])
    assert_same(compose(build(name), seed=2, keypoints=True)(**views), compose(build(name), seed=2, keypoints=True)(**call))


@pytest.mark.parametrize("name", NAMES)
def test_inputs_are_never_written_and_outputs_share_no_memory_with_them(name: str) -> None:
    """With instance masks and a semantic mask on every sample, extras of other sizes."""
    call = make_call(name, np.random.default_rng(4), with_mask=True, with_masks=True, with_keypoints=True)
    out = fire_and_check(name, build(name), call)
    assert len(out["masks"]) == len(out["bboxes"]) > 0
