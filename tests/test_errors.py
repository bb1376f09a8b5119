"""Bad input raises early, naming the argument and what was expected."""

from __future__ import annotations

import re
from typing import Any

import albumentations as A
import numpy as np
import pytest

import detmix
from tests.samples import METADATA_KEYS, compose, make_call

pytestmark = pytest.mark.filterwarnings("error")

NAMES = ["Mosaic", "MixUp", "CutMix"]


def run(name: str, mutate: Any, **compose_kwargs: Any) -> None:
    call = make_call(name, np.random.default_rng(0), with_mask=True)
    mutate(call, call[METADATA_KEYS[name]])
    compose(getattr(detmix, name)(p=1), **compose_kwargs)(**call)


@pytest.mark.parametrize("name", NAMES)
def test_missing_metadata(name: str) -> None:
    key = METADATA_KEYS[name]
    with pytest.raises(ValueError, match=f"{name} needs .* under '{key}', got none"):
        run(name, lambda call, extras: call.pop(key))


def test_too_few_extras_names_the_count() -> None:
    with pytest.raises(ValueError, match="Mosaic needs 3 extra samples under 'mosaic_metadata', got 1"):
        run("Mosaic", lambda call, extras: extras.__delitem__(slice(1, None)))


@pytest.mark.parametrize("name", NAMES)
def test_empty_list(name: str) -> None:
    with pytest.raises(ValueError, match="got 0"):
        run(name, lambda call, extras: extras.clear())


@pytest.mark.parametrize("name", NAMES)
def test_metadata_not_a_list(name: str) -> None:
    key = METADATA_KEYS[name]
    with pytest.raises(TypeError, match="as a list of dicts, got dict"):
        run(name, lambda call, extras: call.__setitem__(key, extras[0]))


@pytest.mark.parametrize(
    ("mutate", "error", "match"),
    [
        (lambda e: e.clear(), TypeError, "expected 'image' as a numpy array, got NoneType"),
        (lambda e: e.update(image=e["image"][..., :2]), ValueError, "does not match the primary image .* in channels or dtype"),
        (lambda e: e.update(image=e["image"].astype(np.float32)), ValueError, "float32 does not match the primary image"),
        (lambda e: e.update(image=e["image"][:, :0]), ValueError, "image has no pixels"),
        (lambda e: e.pop("bboxes"), ValueError, "every extra needs 'bboxes'"),
        (lambda e: e.pop("labels"), ValueError, "missing label field\\(s\\) \\['labels'\\]"),
        (lambda e: e.update(bboxes=[[1, 2, 3]]), ValueError, "expected bboxes of shape \\(N, 4 or more\\), got \\(1, 3\\)"),
        (lambda e: e.update(bboxes=[[5, 5, 0, 4]] * len(e["labels"])), ValueError, "invalid bboxes: .*x_max is less than or equal to x_min"),
        (lambda e: e.update(labels=e["labels"][:1]), ValueError, "invalid bboxes: The lengths of bboxes and labels do not match"),
        (lambda e: e.update(labels=["a"] * len(e["labels"])), ValueError, "invalid bboxes: could not convert string to float"),
        (lambda e: e.pop("mask"), TypeError, "the primary has a mask, so every extra needs 'mask'"),
        (lambda e: e.update(bboxes=[[1, 2, 3, 4], [1, 2]]), ValueError, "expected bboxes as numbers of shape \\(N, 4 or more\\)"),
        (lambda e: e.update(mask=e["mask"][:5]), ValueError, "mask \\(5, .*must match its image"),
        (lambda e: e.update(mask=e["mask"].astype(np.int32)), ValueError, "mask .* int32 must match its image"),
    ],
)
@pytest.mark.parametrize("name", NAMES)
def test_malformed_extra_names_key_and_index(name: str, mutate: Any, error: type, match: str) -> None:
    key = METADATA_KEYS[name]

    def break_one(call: dict[str, Any], extras: list[dict[str, Any]]) -> None:
        for extra in extras:
            mutate(extra)

    with pytest.raises(error, match=f"{name}: extra \\d under '{key}': .*{match}"):
        run(name, break_one)


@pytest.mark.parametrize("name", NAMES)
def test_extra_that_is_not_a_dict(name: str) -> None:
    with pytest.raises(TypeError, match="expected a dict with an 'image', got str"):
        run(name, lambda call, extras: extras.__setitem__(slice(None), ["image.jpg"] * len(extras)))


@pytest.mark.parametrize("name", NAMES)
def test_unsupported_image_dtype_and_target(name: str) -> None:
    with pytest.raises(ValueError, match="expected a uint8 or float32 image, got dtype uint16"):
        run(name, lambda call, extras: call.update(image=call["image"].astype(np.uint16)))
    with pytest.raises(ValueError, match="got unsupported target 'images'"):
        run(name, lambda call, extras: call.update(images=[call["image"]]))
    with pytest.raises(ValueError, match="every extra needs 'masks'"):
        run(name, lambda call, extras: call.update(masks=[call.pop("mask")]))
    with pytest.raises(ValueError, match="expected a mask of dtype .*; got int64"):
        run(name, lambda call, extras: call.update(mask=call["mask"].astype(np.int64)))


@pytest.mark.parametrize("name", NAMES)
def test_boxes_without_bbox_params(name: str) -> None:
    call = make_call(name, np.random.default_rng(1))
    with pytest.raises(ValueError, match="bboxes need A.Compose\\(..., bbox_params=A.BboxParams"):
        getattr(detmix, name)(p=1)(**call)


@pytest.mark.parametrize("name", NAMES)
def test_fill_of_the_wrong_length(name: str) -> None:
    call = make_call(name, np.random.default_rng(2))
    with pytest.raises(ValueError, match="fill \\(1.0, 2.0\\) has 2 values, the image has 3 channel"):
        compose(getattr(detmix, name)(p=1, fill=(1, 2)))(**call)


def test_extras_with_different_extra_columns() -> None:
    call = make_call("MixUp", np.random.default_rng(3))
    call["mixup_metadata"][0]["bboxes"] = np.column_stack([call["mixup_metadata"][0]["bboxes"], np.zeros(3)])
    with pytest.raises(ValueError, match="bboxes under 'mixup_metadata' differ in column count \\(primary: 5, extra 0: 6\\)"):
        compose(detmix.MixUp(p=1))(**call)


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: detmix.Mosaic(target_size=(0, 10)), "target_size"),
        (lambda: detmix.Mosaic(center_range=(0.5, 1.5)), "center_range"),
        (lambda: detmix.Mosaic(center_range=(0.8, 0.2)), "center_range"),
        (lambda: detmix.Mosaic(scale_range=(1.5, 0.5)), "scale_range"),
        (lambda: detmix.Mosaic(scale_range=(0.0, 1.0)), "scale_range"),
        (lambda: detmix.Mosaic(translate=-0.1), "translate"),
        (lambda: detmix.Mosaic(translate=1.0), "translate"),
        (lambda: detmix.Mosaic(interpolation=3), "interpolation"),
        (lambda: detmix.MixUp(alpha=0), "alpha"),
        (lambda: detmix.MixUp(beta=-1.0), "beta"),
        (lambda: detmix.CutMix(min_visibility=1.5), "min_visibility"),
        (lambda: detmix.CutMix(p=2), "p"),
    ],
)
def test_constructor_arguments_are_validated(factory: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        factory()


def test_weight_field_must_be_a_declared_float_field() -> None:
    call = make_call("MixUp", np.random.default_rng(4))
    with pytest.raises(ValueError, match="weight_field 'w' is not among the Compose's bbox label_fields \\['labels'\\]"):
        compose(detmix.MixUp(p=1, weight_field="w"))(**call)
    call["w"] = ["heavy"] * len(call["labels"])
    aug = A.Compose([detmix.MixUp(p=1, weight_field="w")], bbox_params=A.BboxParams("coco", label_fields=["labels", "w"]))
    with pytest.raises(ValueError, match="weight_field 'w' must hold floats"):
        aug(**call)


@pytest.mark.parametrize("name", NAMES)
def test_fills_out_of_range_or_shape(name: str) -> None:
    call = make_call(name, np.random.default_rng(5), with_mask=True)
    with pytest.raises(ValueError, match="fill 300.0 is outside the uint8 range \\[0, 255\\]"):
        compose(getattr(detmix, name)(p=1, fill=300))(**call)
    if name != "MixUp":
        with pytest.raises(ValueError, match="fill_mask \\(1.0, 2.0\\) has 2 values, the mask has 1 channel"):
            compose(getattr(detmix, name)(p=1, fill_mask=(1, 2)))(**make_call(name, np.random.default_rng(5), with_mask=True))


@pytest.mark.parametrize("name", NAMES)
def test_int32_masks_need_nearest_interpolation(name: str) -> None:
    call = make_call(name, np.random.default_rng(6), with_mask=True)
    for sample in [call, *call[METADATA_KEYS[name]]]:
        sample["mask"] = sample["mask"].astype(np.int32)
    compose(getattr(detmix, name)(p=1))(**call)
    with pytest.raises(ValueError, match="a int32 mask needs mask_interpolation=cv2.INTER_NEAREST"):
        compose(getattr(detmix, name)(p=1, mask_interpolation=1))(**call)


@pytest.mark.parametrize("name", NAMES)
def test_additional_targets_are_refused_not_silently_mixed(name: str) -> None:
    call = make_call(name, np.random.default_rng(7), with_mask=True)
    call["depth"] = call["mask"].copy()
    aug = A.Compose(
        [getattr(detmix, name)(p=1)],
        bbox_params=A.BboxParams("coco", label_fields=["labels"]),
        additional_targets={"depth": "mask"},
    )
    with pytest.raises(ValueError, match="got unsupported target 'depth'"):
        aug(**call)


@pytest.mark.parametrize("shape", [(0, 10, 3), (10, 0, 3), (0, 0), (10, 10, 0)])
@pytest.mark.parametrize("name", NAMES)
def test_primary_image_without_pixels(name: str, shape: tuple[int, ...]) -> None:
    described = re.escape(str(shape))
    with pytest.raises(ValueError, match=f"{name}: expected a primary image with at least one row, column and channel, got shape {described}"):
        run(name, lambda call, extras: call.update(image=np.zeros(shape, np.uint8), mask=np.zeros(shape[:2], np.uint8), bboxes=[], labels=[]))


@pytest.mark.parametrize("key", ["image", "images", "mask", "masks", "bboxes", "keypoints", "labels", "volume", "mask3d", "applied_transforms"])
@pytest.mark.parametrize("name", NAMES)
def test_metadata_key_cannot_be_a_reserved_key(name: str, key: str) -> None:
    with pytest.raises(ValueError, match=f"metadata_key\n.*metadata_key '{key}' is a key Albumentations reserves"):
        getattr(detmix, name)(metadata_key=key)


@pytest.mark.parametrize(
    ("params", "clash"),
    [
        ({"bbox_params": A.BboxParams("coco", label_fields=["labels", "extras"])}, "label field of the Compose's bboxes"),
        ({"keypoint_params": A.KeypointParams("xy", label_fields=["extras"])}, "label field of the Compose's keypoints"),
        ({"additional_targets": {"extras": "image"}}, "one of the Compose's additional_targets"),
    ],
)
@pytest.mark.parametrize("name", NAMES)
def test_metadata_key_cannot_be_a_label_field_or_target_of_the_compose(name: str, params: dict[str, Any], clash: str) -> None:
    """Refused when the Compose is built: at call time the extras would be merged into the boxes."""
    with pytest.raises(ValueError, match=f"{name}: metadata_key 'extras' is also .*{clash}"):
        A.Compose([getattr(detmix, name)(metadata_key="extras")], **params)
    with pytest.raises(ValueError, match=f"{name}: metadata_key 'extras' is also .*{clash}"):
        A.Compose([A.OneOf([A.Compose([getattr(detmix, name)(metadata_key="extras")])])], **params)


NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    ("factory", "field"),
    [
        *((lambda n=n, v=v: getattr(detmix, n)(fill=v), "fill") for n in NAMES for v in (NAN, INF, -INF, (1, NAN, 3), ())),
        *((lambda n=n, v=v: getattr(detmix, n)(fill_mask=v), "fill_mask") for n in ("Mosaic", "CutMix") for v in (NAN, INF, (INF,))),
        *((lambda n=n, v=v: getattr(detmix, n)(alpha=v), "alpha") for n in ("MixUp", "CutMix") for v in (NAN, INF)),
        (lambda: detmix.MixUp(beta=INF), "beta"),
        (lambda: detmix.MixUp(beta=NAN), "beta"),
        (lambda: detmix.Mosaic(center_range=(NAN, 0.5)), "center_range"),
        (lambda: detmix.Mosaic(center_range=(0.2, INF)), "center_range"),
        (lambda: detmix.Mosaic(target_size=(INF, 10)), "target_size"),
        (lambda: detmix.Mosaic(scale_range=(0.5, INF)), "scale_range"),
        (lambda: detmix.Mosaic(scale_range=(NAN, 1.0)), "scale_range"),
        (lambda: detmix.Mosaic(translate=NAN), "translate"),
        (lambda: detmix.CutMix(min_visibility=NAN), "min_visibility"),
        (lambda: detmix.Mosaic(fill="gray"), "fill"),
    ],
)
def test_non_finite_or_malformed_numbers_are_refused_by_name(factory: Any, field: str) -> None:
    with pytest.raises(ValueError, match=f"validation errors? for InitSchema\n{field}\\b"):
        factory()


@pytest.mark.parametrize("name", NAMES)
def test_fills_of_integer_arrays_are_whole_numbers(name: str) -> None:
    """numpy would truncate 114.6 to 114 on a uint8 image; a float32 image takes it (as 114.6 / 255)."""
    with pytest.raises(ValueError, match=f"{name}: fill 114.6 is not a whole number, the image is uint8"):
        compose(getattr(detmix, name)(p=1, fill=114.6))(**make_call(name, np.random.default_rng(8)))
    compose(getattr(detmix, name)(p=1, fill=114.6))(**make_call(name, np.random.default_rng(8), dtype=np.float32))
    if name != "MixUp":
        with pytest.raises(ValueError, match=f"{name}: fill_mask 2.5 is not a whole number, the mask is uint8"):
            compose(getattr(detmix, name)(p=1, fill_mask=2.5))(**make_call(name, np.random.default_rng(8), with_mask=True))


# ----- CopyPaste ----------------------------------------------------------------------------------
# CopyPaste needs instance masks (make_call gives them); the mixers' shared call errors, then its own.


@pytest.mark.parametrize(
    "test",
    [
        test_missing_metadata,
        test_empty_list,
        test_metadata_not_a_list,
        test_extra_that_is_not_a_dict,
        test_boxes_without_bbox_params,
        test_int32_masks_need_nearest_interpolation,
        test_additional_targets_are_refused_not_silently_mixed,
    ],
)
def test_copy_paste_shares_the_mixers_call_errors(test: Any) -> None:
    test("CopyPaste")


def copy_paste_call(mutate: Any, fields: tuple[str, ...] = ("labels",)) -> None:
    call = make_call("CopyPaste", np.random.default_rng(0), with_mask=True)
    mutate(call, call["copypaste_metadata"][0])
    A.Compose([detmix.CopyPaste(p=1)], bbox_params=A.BboxParams("coco", label_fields=list(fields)))(**call)


EXTRA = "CopyPaste: extra 0 under 'copypaste_metadata': "


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda call, extra: extra.pop("masks"), EXTRA + "the primary has masks, so every extra needs 'masks', one uint8 mask per box"),
        (lambda call, extra: extra.update(masks=extra["masks"][:2]), EXTRA + "2 masks for 3 boxes; give one instance mask per box"),
        (lambda call, extra: call.update(masks=call["masks"][1:]), "CopyPaste: primary: 2 masks for 3 boxes"),
        (lambda call, extra: extra["masks"].__setitem__(1, extra["masks"][1][1:]), EXTRA + "expected masks\\[1\\] as a uint8 .* array \\(its image's size\\), got uint8 of shape"),
        (lambda call, extra: extra["masks"].__setitem__(0, extra["masks"][0].astype(bool)), EXTRA + "expected masks\\[0\\] as a uint8 .*, got bool of shape"),
        (lambda call, extra: extra.update(masks=np.stack(extra["masks"])[..., None]), EXTRA + "expected masks as a uint8 \\(N, \\d+, \\d+\\) array, one mask per box, got uint8 of shape"),
    ],
    ids=["extra without masks", "too few extra masks", "too few primary masks", "extra mask of another size", "bool mask", "4-D stack"],
)
def test_copy_paste_instance_masks_are_checked_by_name(mutate: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        copy_paste_call(mutate)


def test_copy_paste_mask_indices_must_name_masks() -> None:
    def bind(call: dict[str, Any], extra: dict[str, Any]) -> None:
        call[detmix.MASK_INDICES], extra[detmix.MASK_INDICES] = [0, 1, 2], [0, 7, 1]

    with pytest.raises(ValueError, match=EXTRA + "mask_indices\\[1\\] = 7 is not the index of one of its 3 masks"):
        copy_paste_call(bind, ("labels", detmix.MASK_INDICES))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"scale_range": (1.5, 0.5)}, "scale_range"),
        ({"scale_range": (0.0, 1.0)}, "scale_range.0"),
        ({"scale_range": (1.0, INF)}, "scale_range.1"),
        ({"scale_range": (NAN, 1.0)}, "scale_range.0"),
        ({"scale_range": 1.0}, "scale_range"),
        ({"instance_p": 1.5}, "instance_p"),
        ({"instance_p": -0.1}, "instance_p"),
        ({"instance_p": NAN}, "instance_p"),
        ({"min_visibility": 1.01}, "min_visibility"),
        ({"min_visibility": NAN}, "min_visibility"),
        ({"interpolation": 3}, "interpolation"),  # cv2.INTER_AREA: no warp implements it
        ({"mask_interpolation": 3}, "mask_interpolation"),
    ],
)
def test_copy_paste_constructor_arguments_are_validated_by_name(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=f"validation errors? for InitSchema\n{re.escape(field)}\\b"):
        detmix.CopyPaste(**kwargs)

# ----- instance masks -----------------------------------------------------------------------------


def instance_masks(sample: dict[str, Any]) -> list[np.ndarray]:
    """One uint8 {0, 1} mask per COCO box of ``sample``: the box's pixels."""
    height, width = sample["image"].shape[:2]
    masks = []
    for x, y, w, h in np.asarray(sample["bboxes"]):
        mask = np.zeros((height, width), np.uint8)
        mask[int(y) : int(np.ceil(y + h)), int(x) : int(np.ceil(x + w))] = 1
        masks.append(mask)
    return masks


def run_instances(name: str, mutate: Any, indexed: bool = False, **compose_kwargs: Any) -> None:
    """A call whose samples carry instance masks (and ``mask_indices`` when ``indexed``), after ``mutate``."""
    call = make_call(name, np.random.default_rng(9))
    for sample in [call, *call[METADATA_KEYS[name]]]:
        sample["masks"] = instance_masks(sample)
        if indexed:
            sample[detmix.MASK_INDICES] = list(range(len(sample["labels"])))
    mutate(call, call[METADATA_KEYS[name]])
    fields = ["labels", *([detmix.MASK_INDICES] if indexed else [])]
    A.Compose([getattr(detmix, name)(p=1)], bbox_params=A.BboxParams("coco", label_fields=fields), seed=0, **compose_kwargs)(**call)


@pytest.mark.parametrize("name", NAMES)
def test_instance_masks_need_bboxes(name: str) -> None:
    call = make_call(name, np.random.default_rng(10))
    for sample in [call, *call[METADATA_KEYS[name]]]:
        sample["masks"] = instance_masks(sample)
        del sample["bboxes"], sample["labels"]
    with pytest.raises(ValueError, match=f"{name}: masks are instance masks, one per box: the call needs bboxes with them"):
        getattr(detmix, name)(p=1)(**call)


PRIMARY_MASKS = "expected masks as a uint8 \\(N, 120, 160\\) array, one mask per box, got"


@pytest.mark.parametrize(
    ("mutate", "error", "match"),
    [
        (lambda c, e: c.update(masks=[m[:-1] for m in c["masks"]]), ValueError, f"primary: {PRIMARY_MASKS} uint8 of shape \\(3, 119, 160\\)"),
        (lambda c, e: c.update(masks=[m.astype(bool) for m in c["masks"]]), ValueError, f"primary: {PRIMARY_MASKS} bool of shape \\(3, 120, 160\\)"),
        (lambda c, e: c.update(masks=np.stack(c["masks"]).astype(np.int32)), ValueError, f"primary: {PRIMARY_MASKS} int32 of shape"),
        (lambda c, e: e[0].update(masks=[m[:, :-1] for m in e[0]["masks"]]), ValueError, "extra 0 under '\\w+': expected masks\\[0\\] as a uint8 \\d+ x \\d+ array \\(its image's size\\), got uint8 of shape"),
        (lambda c, e: e[0].update(masks=[m.astype(np.float32) for m in e[0]["masks"]]), ValueError, "extra 0 under '\\w+': expected masks\\[0\\] as a uint8 .*, got float32"),
        (lambda c, e: e[0].update(masks=np.stack(e[0]["masks"]).astype(bool)), ValueError, "extra 0 under '\\w+': expected masks as a uint8 \\(N, \\d+, \\d+\\) array, one mask per box, got bool"),
        (lambda c, e: e[0].update(masks="masks.png"), TypeError, "extra 0 under '\\w+': expected masks as a list of \\(H, W\\) uint8 arrays or an \\(N, H, W\\) array, got str"),
        (lambda c, e: e[0].pop("masks"), ValueError, "extra 0 under '\\w+': the primary has masks, so every extra needs 'masks', one uint8 mask per box"),
        (lambda c, e: c["masks"].pop(), ValueError, "primary: 2 masks for 3 boxes; give one instance mask per box, in box order, or declare the label field 'mask_indices'"),
        (lambda c, e: e[0]["masks"].append(e[0]["masks"][0]), ValueError, "extra 0 under '\\w+': 4 masks for 3 boxes; give one instance mask per box"),
    ],
)
@pytest.mark.parametrize("name", NAMES)
def test_malformed_instance_masks_name_their_sample(name: str, mutate: Any, error: type, match: str) -> None:
    """Checked by detmix (Albumentations' own shape check, which catches a primary mask first, is off)."""
    with pytest.raises(error, match=f"{name}: {match}"):
        run_instances(name, mutate, is_check_shapes=False)


@pytest.mark.parametrize("name", NAMES)
def test_primary_instance_mask_of_another_size_is_refused_by_albumentations(name: str) -> None:
    with pytest.raises(ValueError, match="Height and Width of image, mask or masks should be equal"):
        run_instances(name, lambda c, e: c.update(masks=[m[:-1] for m in c["masks"]]))


@pytest.mark.parametrize(("values", "shown"), [([0, 1, 3], "3"), ([0, -1, 2], "-1"), ([0, 1.5, 2], "1.5"), ([0, float("nan"), 1], "nan")])
@pytest.mark.parametrize("name", NAMES)
def test_mask_indices_must_name_a_mask(name: str, values: list[float], shown: str) -> None:
    bad = [i for i, v in enumerate(values) if not (v in (0, 1, 2) and v == int(v))][0]
    message = f"mask_indices\\[{bad}\\] = {shown} is not the index of one of its 3 masks"
    with pytest.raises(ValueError, match=f"{name}: primary: {message}"):
        run_instances(name, lambda c, e: c.update(mask_indices=values), indexed=True)
    with pytest.raises(ValueError, match=f"{name}: extra 0 under '\\w+': {message}"):
        run_instances(name, lambda c, e: e[0].update(mask_indices=values), indexed=True)


@pytest.mark.parametrize("name", NAMES)
def test_mask_indices_must_be_numbers(name: str) -> None:
    with pytest.raises(ValueError, match=f"{name}: .*mask_indices"):
        run_instances(name, lambda c, e: c.update(mask_indices=["2", "10", "0"]), indexed=True)


def test_pair_masks_needs_mask_indices_and_masks() -> None:
    image, mask = np.zeros((8, 8, 3), np.uint8), np.ones((8, 8), np.uint8)
    plain = A.Compose([A.NoOp()], bbox_params=A.BboxParams("coco", label_fields=["labels"]))
    with pytest.raises(ValueError, match="pair_masks: the Compose's BboxParams must declare the label field 'mask_indices', got label_fields=\\['labels'\\]"):
        detmix.pair_masks(plain(image=image, masks=[mask], bboxes=[[0, 0, 8, 8]], labels=[1]), plain)
    indexed = A.Compose([A.NoOp()], bbox_params=A.BboxParams("coco", label_fields=[detmix.MASK_INDICES]))
    with pytest.raises(ValueError, match="pair_masks: expected a Compose result with image, masks and the label fields \\['mask_indices'\\]; missing \\['masks'\\]"):
        detmix.pair_masks(indexed(image=image, bboxes=[[0, 0, 8, 8]], mask_indices=[0]), indexed)
    with pytest.raises(ValueError, match="pair_masks: mask_indices\\[0\\] = 4 is not the index of one of its 1 masks"):
        detmix.pair_masks(indexed(image=image, masks=[mask], bboxes=[[0, 0, 8, 8]], mask_indices=[4]), indexed)
