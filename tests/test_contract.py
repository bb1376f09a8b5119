"""The contract all mixers share: formats, labels, seeds, serialization, purity, targets.

CopyPaste fills nothing (it pastes over the primary) and pastes no keypoints of its extra, so the
fill checks leave it out and the keypoint count counts the primary's alone.
"""

from __future__ import annotations

from typing import Any

import albumentations as A
import numpy as np
import pytest
from albumentations.core.bbox_utils import convert_bboxes_to_albumentations

import detmix
from tests.samples import METADATA_KEYS, compose, make_call, set_boxes

pytestmark = pytest.mark.filterwarnings("error")

NAMES = ["Mosaic", "MixUp", "CutMix", "CopyPaste"]
FORMATS = ["coco", "pascal_voc", "yolo", "albumentations"]
#: Mixers with an image ``fill`` and a ``fill_mask`` for area no source covers.
FILLING = ["Mosaic", "MixUp", "CutMix"]
MASK_FILLING = ["Mosaic", "CutMix"]
#: Mixers that carry the extras' keypoints into the output.
MIXING_KEYPOINTS = ["Mosaic", "MixUp", "CutMix"]


def build(name: str, **kwargs: Any) -> A.DualTransform:
    defaults: dict[str, Any] = {
        "Mosaic": {"target_size": (160, 200)},
        "MixUp": {},
        "CutMix": {"min_visibility": 0.0},
        "CopyPaste": {"instance_p": 1.0, "scale_range": (0.5, 1.5)},
    }[name]
    return getattr(detmix, name)(p=1, **{**defaults, **kwargs})


def deep_copy(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [deep_copy(v) for v in value]
    return value


def assert_same(a: Any, b: Any) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, list) and a and isinstance(a[0], dict):
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    elif isinstance(a, (list, np.ndarray)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    else:
        assert a == b


def to_albumentations(boxes: Any, fmt: str, image: np.ndarray) -> np.ndarray:
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if fmt == "albumentations":
        return boxes
    return convert_bboxes_to_albumentations(boxes, fmt, {"height": image.shape[0], "width": image.shape[1]})


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_gives_the_same_boxes(name: str, fmt: str) -> None:
    reference = compose(build(name), "albumentations", seed=5)(**make_call(name, np.random.default_rng(1), fmt="albumentations"))
    out = compose(build(name), fmt, seed=5)(**make_call(name, np.random.default_rng(1), fmt=fmt))
    assert out["labels"] == reference["labels"] and len(out["labels"]) > 0
    np.testing.assert_allclose(to_albumentations(out["bboxes"], fmt, out["image"]), np.asarray(reference["bboxes"]), atol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_label_fields_of_any_type_stay_aligned(name: str) -> None:
    call = make_call(name, np.random.default_rng(2))
    for sample in [call, *call[METADATA_KEYS[name]]]:
        ids = sample["labels"]
        sample["names"] = [f"object-{i}" for i in ids]
        sample["scores"] = np.array(ids, dtype=np.int64) * 10
    aug = A.Compose([build(name)], bbox_params=A.BboxParams("coco", label_fields=["labels", "names", "scores"]), seed=3)
    out = aug(**call)
    assert len(out["labels"]) > 0
    # Albumentations hands numeric list labels back as floats.
    assert out["names"] == [f"object-{int(i)}" for i in out["labels"]]
    np.testing.assert_array_equal(out["scores"], np.array(out["labels"]) * 10)
    assert out["scores"].dtype == np.int64


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_reproduces_and_different_seeds_differ(name: str) -> None:
    call = make_call(name, np.random.default_rng(3), n_extras=6)
    first = compose(build(name), seed=11)(**deep_copy(call))
    again = compose(build(name), seed=11)(**deep_copy(call))
    assert_same(first, again)
    others = [compose(build(name), seed=s)(**deep_copy(call))["image"] for s in range(12, 16)]
    assert any(o.shape != first["image"].shape or not np.array_equal(o, first["image"]) for o in others)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("wrapper", ["OneOf", "SomeOf", "Sequential", "nested Compose"])
def test_works_inside_compositions(name: str, wrapper: str) -> None:
    transform = build(name)
    inner: Any = {
        "OneOf": lambda: A.OneOf([transform], p=1),
        "SomeOf": lambda: A.SomeOf([transform, A.NoOp()], n=2, p=1),
        "Sequential": lambda: A.Sequential([transform], p=1),
        "nested Compose": lambda: A.Compose([A.Compose([transform])]),
    }[wrapper]()
    aug = A.Compose([inner], bbox_params=A.BboxParams("coco", label_fields=["labels"]), seed=0)
    call = make_call(name, np.random.default_rng(5))
    out = aug(**call)
    assert "extras" in transform.params, "the transform was not applied"
    assert not np.array_equal(out["image"], call["image"]) and len(out["bboxes"]) == len(out["labels"])


@pytest.mark.parametrize("name", FILLING)
def test_float32_images_use_a_scaled_fill(name: str) -> None:
    """A narrow extra leaves letterbox or quadrant area uncovered: it must be 114/255, not 114."""
    call = make_call(name, np.random.default_rng(6), dtype=np.float32)
    for sample in [call, *call[METADATA_KEYS[name]]]:
        sample["image"] = np.ones((20, 200, 3), np.float32)
        sample["bboxes"], sample["labels"] = [[0, 0, 10, 10]], [1]
    call["image"] = np.ones((200, 20, 3), np.float32)
    transform = build(name)
    out = compose(transform, seed=2)(**call)
    assert out["image"].dtype == np.float32
    lam = transform.params.get("lam", 0.0)
    assert np.isclose(out["image"], lam + (1 - lam) * 114 / 255).any()
    assert out["image"].max() <= 1.0


@pytest.mark.parametrize("name", NAMES)
def test_list_or_array_output_follows_the_primary_input(name: str) -> None:
    call = make_call(name, np.random.default_rng(8))
    call["bboxes"] = np.asarray(call["bboxes"], dtype=np.float32)
    for extra in call[METADATA_KEYS[name]]:
        extra["bboxes"] = np.asarray(extra["bboxes"]).tolist()
    out = compose(build(name), seed=0)(**call)
    assert isinstance(out["bboxes"], np.ndarray)


@pytest.mark.parametrize("name", NAMES)
def test_primary_or_extras_without_boxes(name: str) -> None:
    call = make_call(name, np.random.default_rng(9), n_boxes=0)
    out = compose(build(name), seed=0)(**call)
    assert len(out["bboxes"]) == 0 and out["labels"] == []
    call = make_call(name, np.random.default_rng(9))
    set_boxes(call, [], [])
    for extra in call[METADATA_KEYS[name]]:
        height, width = extra["image"].shape[:2]
        set_boxes(extra, [[0, 0, width, height]], [100])
    out = compose(build(name), seed=0)(**call)
    assert len(out["bboxes"]) == len(out["labels"]) > 0 and min(out["labels"]) >= 100


def with_covering_extras(name: str, call: dict[str, Any]) -> dict[str, Any]:
    """CopyPaste hides only what it pastes over: give its extras one instance covering their image."""
    if name == "CopyPaste":
        for extra in call[METADATA_KEYS[name]]:
            height, width = extra["image"].shape[:2]
            set_boxes(extra, [[0, 0, width, height]], [100])
    return call


@pytest.mark.parametrize("name", NAMES)
def test_keypoints_follow_and_hidden_ones_are_removed_not_clipped(name: str) -> None:
    call = with_covering_extras(name, make_call(name, np.random.default_rng(10), with_keypoints=True))
    transform = build(name)
    out = compose(transform, seed=4, keypoints=True)(**call)
    height, width = out["image"].shape[:2]
    points = np.asarray(out["keypoints"]).reshape(-1, 2)
    assert len(points) == len(out["kp_labels"]) > 0
    assert ((points >= 0) & (points < [width, height])).all()
    keep_all = A.Compose(
        [build(name)],
        bbox_params=A.BboxParams("coco", label_fields=["labels"]),
        keypoint_params=A.KeypointParams("xy", label_fields=["kp_labels"], remove_invisible=False),
        seed=4,
    )(**with_covering_extras(name, make_call(name, np.random.default_rng(10), with_keypoints=True)))
    total = 4 * (1 + (len(call[METADATA_KEYS[name]]) if name in MIXING_KEYPOINTS else 0))
    assert len(keep_all["keypoints"]) == total
    if name == "CopyPaste":  # hidden: the primary's keypoints under a pasted pixel
        x, y = np.floor(call["keypoints"]).astype(int).T
        assert len(out["keypoints"]) == total - transform.params["pasted"][0][y, x].sum()
    assert len(out["keypoints"]) < total or name == "MixUp"


@pytest.mark.parametrize("name", NAMES)
def test_masks_follow_with_nearest_values_only(name: str) -> None:
    call = make_call(name, np.random.default_rng(11), with_mask=True)
    out = compose(build(name, **({"fill_mask": 9} if name in MASK_FILLING else {})), seed=1)(**call)
    assert out["mask"].shape == out["image"].shape[:2] and out["mask"].dtype == np.uint8
    assert set(np.unique(out["mask"])) <= {0, 1, 2, 3, 9}


@pytest.mark.parametrize("name", NAMES)
def test_probability_zero_leaves_the_sample_alone(name: str) -> None:
    call = make_call(name, np.random.default_rng(12))
    transform = getattr(detmix, name)(p=0)
    out = compose(transform, seed=0)(**deep_copy(call))
    np.testing.assert_array_equal(out["image"], call["image"])
    assert out["labels"] == call["labels"]
    np.testing.assert_allclose(out["bboxes"], call["bboxes"], rtol=1e-5)
    if "masks" in call:
        assert_same(out["masks"], call["masks"])


def test_import_needs_no_torch() -> None:
    """``import detmix`` works where torch is missing (only the collates need it)."""
    import subprocess
    import sys

    code = "import sys; sys.modules['torch'] = None; import detmix; print(detmix.Mosaic.__name__)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Mosaic"


@pytest.mark.parametrize("name", NAMES)
def test_mixing_off_skips_the_mixer_in_this_context_only(name: str) -> None:
    from detmix.transforms.base import mixing_off

    call = make_call(name, np.random.default_rng(13))
    transform = build(name)
    with mixing_off():
        out = compose(transform)(**deep_copy(call))
    np.testing.assert_array_equal(out["image"], call["image"])
    assert transform.p == 1
    assert "extras" in (compose(transform)(**deep_copy(call)) and transform.params)
