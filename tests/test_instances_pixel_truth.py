"""Pixel truth of instance masks: every output mask is exactly where its object shows in the output.

Scenes are flat-coloured discs, triangles and L-shapes, overlapping and cut by the borders (see
``tests/instance_scenes.py``); an object is found in the output by its colour alone. At
INTER_NEAREST for image and masks, for every output object: its mask is exactly its colour's
pixels (for MixUp, in the layer recovered from the blend), its box is the mask's extent, the
label fields name it, and every candidate object is kept iff it shows with a visible fraction
(visible pixels over its source pixels times the scales) reaching the threshold.

Most sources resampled here have odd sides; test_masks_match_the_image_where_nearest_ties puts
output pixel centres exactly between two source pixels, where image and masks must still agree.
"""

from __future__ import annotations

import albumentations as A
import cv2
import numpy as np
import pytest

import detmix
from tests.instance_scenes import (
    InstanceScene,
    Output,
    check_boxes_are_mask_extents,
    check_kept_iff_visible,
    check_masks_are_colours,
    check_source_order,
    colour_masks,
    empty_scene,
    instance_call,
    instance_compose,
    make_instance_scene,
    scene_of_masks,
    read_output,
)
from tests.scenes import BACKGROUNDS, FILL, FORMATS, from_format
from tests.test_pixel_truth import letterbox_reference, source_order

pytestmark = pytest.mark.filterwarnings("error")

NEAREST = cv2.INTER_NEAREST


def scenes(seed: int, hws: tuple[tuple[int, int], ...], empty_primary: bool = False) -> list[InstanceScene]:
    """One scene per size, ids 40 apart, each on its own background (the primary empty if asked)."""
    rng = np.random.default_rng(seed)
    made = [make_instance_scene(rng, hw, 9, (4, min(hw) // 2), 40 * k, BACKGROUNDS[k]) for k, hw in enumerate(hws)]
    if empty_primary:
        made[0] = empty_scene(hws[0], BACKGROUNDS[0])
    return made


def candidates(layer: np.ndarray, sources: list[InstanceScene], scales: list[tuple[float, float]], tolerance: float = 0.0) -> list:
    """``(id, visible pixels, whole count at output scale)`` of every object of ``sources``, seen in ``layer``."""
    ids = [int(i) for source in sources for i in source.ids]
    wholes = [float(mask.sum()) * sx * sy for source, (sx, sy) in zip(sources, scales) for mask in source.masks]
    return list(zip(ids, colour_masks(layer, ids, tolerance), wholes))


def letterbox_scale(src_hw: tuple[int, int], canvas_hw: tuple[int, int]) -> tuple[float, float]:
    """Per-axis scale of a letterbox (one aspect-keeping scale, sizes rounded), computed here."""
    scale = min(canvas_hw[0] / src_hw[0], canvas_hw[1] / src_hw[1])
    scaled_h, scaled_w = min(canvas_hw[0], round(src_hw[0] * scale)), min(canvas_hw[1], round(src_hw[1] * scale))
    return scaled_w / src_hw[1], scaled_h / src_hw[0]


# ----- Mosaic ---------------------------------------------------------------------------------

MOSAIC_HWS = ((63, 47), (121, 95), (75, 51), (49, 65), (37, 29))
MOSAIC_CASES = [
    # format, target_size, center_range, scale_range, translate, min_visibility, empty primary
    ("coco", (96, 128), (0.25, 0.75), (1.0, 1.0), 0.0, 0.0, False),
    ("pascal_voc", (128, 96), (0.5, 0.5), (0.6, 0.6), 0.0, 0.3, False),
    ("yolo", (96, 96), (0.1, 0.9), (1.7, 1.7), 0.0, 0.5, False),
    ("albumentations", (112, 80), (0.0, 1.0), (0.5, 1.5), 0.2, 0.2, False),
    ("coco", (96, 96), (0.3, 0.7), (0.8, 1.3), 0.1, 0.4, True),
]
SIZE_RULES = {"min_area": 30.5, "min_width": 3.5, "min_height": 2.5, "max_accept_ratio": 2.41421356}  # never equal to an integer extent's


def run_mosaic(seed: int, fmt: str, indexed: bool, target_size, center_range, scale_range, translate, empty_primary=False, **bbox_kwargs):
    primary, *extras = scenes(seed, MOSAIC_HWS, empty_primary)
    transform = detmix.Mosaic(target_size, center_range, scale_range, translate, interpolation=NEAREST, mask_interpolation=NEAREST, p=1)
    out = instance_compose([transform], fmt, indexed, seed, **bbox_kwargs)(**instance_call("mosaic_metadata", primary, extras, fmt, indexed, seed))
    sources = [primary, *(extras[i] for i in source_order(transform.params["extras"], extras))]
    scales = [p.scale_xy for p in transform.params["placements"]]
    return out, sources, scales


def check_mosaic(out: dict, sources: list[InstanceScene], scales, fmt: str, threshold: float, size_rules=None) -> tuple[Output, int]:
    """Rules (a)-(e) for one Mosaic output; its objects and how many candidates were partly visible."""
    found = read_output(out, fmt)
    check_boxes_are_mask_extents(found)
    check_masks_are_colours(out["image"], found.masks, found.ids)
    check_source_order(found, sources)
    partial = check_kept_iff_visible(found.ids, candidates(out["image"], sources, scales), threshold, size_rules)
    return found, partial


@pytest.mark.parametrize("indexed", [False, True], ids=["positional", "mask_indices"])
@pytest.mark.parametrize(("fmt", "target_size", "center_range", "scale_range", "translate", "min_visibility", "empty_primary"), MOSAIC_CASES)
def test_mosaic_masks_are_the_visible_pixels(fmt, target_size, center_range, scale_range, translate, min_visibility, empty_primary, indexed):
    kept = partial = 0
    for seed in range(3):
        out, sources, scales = run_mosaic(seed, fmt, indexed, target_size, center_range, scale_range, translate, empty_primary=empty_primary, min_visibility=min_visibility)
        assert out["image"].shape == (*target_size, 3)
        found, cut = check_mosaic(out, sources, scales, fmt, min_visibility)
        kept, partial = kept + len(found.ids), partial + cut
    assert kept >= 6 and partial >= 3, (kept, partial)


def test_mosaic_size_rules_judge_the_visible_extent():
    """min_area, min_width, min_height and max_accept_ratio apply to the box the mask gives."""
    dropped = 0
    for seed in range(4):
        geometry = (seed, "pascal_voc", False, (96, 96), (0.2, 0.8), (1.0, 1.0), 0.0)
        found, _ = check_mosaic(*run_mosaic(*geometry, **SIZE_RULES), "pascal_voc", 0.0, SIZE_RULES)
        unruled, _ = check_mosaic(*run_mosaic(*geometry), "pascal_voc", 0.0)
        dropped += len(unruled.ids) - len(found.ids)
    assert dropped >= 5, dropped


# ----- CutMix ---------------------------------------------------------------------------------

CUTMIX_HWS = ((95, 127), (151, 101), (41, 63))
CUTMIX_CASES = [
    # format, CutMix.min_visibility, BboxParams.min_visibility, empty primary
    ("pascal_voc", 0.0, 0.0, False),
    ("coco", 0.3, 0.0, False),
    ("yolo", 0.1, 0.6, False),
    ("albumentations", 0.8, 0.2, False),
    ("coco", 0.25, 0.0, True),
]


def run_cutmix(seed: int, fmt: str, indexed: bool, cut_visibility: float, empty_primary=False, **bbox_kwargs):
    primary, *extras = scenes(100 + seed, CUTMIX_HWS, empty_primary)
    transform = detmix.CutMix(min_visibility=cut_visibility, interpolation=NEAREST, mask_interpolation=NEAREST, p=1)
    out = instance_compose([transform], fmt, indexed, seed, **bbox_kwargs)(**instance_call("cutmix_metadata", primary, extras, fmt, indexed, seed))
    (chosen,) = source_order(transform.params["extras"], extras)
    extra = extras[chosen]
    return out, primary, extra, transform.params["rect"]


@pytest.mark.parametrize("indexed", [False, True], ids=["positional", "mask_indices"])
@pytest.mark.parametrize(("fmt", "cut_visibility", "bbox_visibility", "empty_primary"), CUTMIX_CASES)
def test_cutmix_masks_lose_what_the_rectangle_covers(fmt, cut_visibility, bbox_visibility, empty_primary, indexed):
    threshold = max(cut_visibility, bbox_visibility)
    shrunk = pasted = partial = 0
    for seed in range(5):
        out, primary, extra, (x0, y0, x1, y1) = run_cutmix(seed, fmt, indexed, cut_visibility, empty_primary=empty_primary, min_visibility=bbox_visibility)
        image = out["image"]
        outside = np.ones(primary.hw, bool)
        outside[y0:y1, x0:x1] = False
        np.testing.assert_array_equal(image[outside], primary.image[outside])

        found = read_output(out, fmt)
        check_boxes_are_mask_extents(found)
        check_masks_are_colours(image, found.masks, found.ids)
        check_source_order(found, [primary, extra])
        # A primary object's mask is its input mask less the rectangle; its box refits to what is left.
        rows = {int(i): k for k, i in enumerate(primary.ids)}
        for mask, box, object_id in zip(found.masks, found.boxes, found.ids):
            if object_id in rows:
                expected = primary.masks[rows[object_id]] * outside
                np.testing.assert_array_equal(mask, expected)
                shrunk += not np.allclose(box, primary.rects[rows[object_id]])
            else:
                assert not (mask * outside).any(), f"pasted object {object_id} shows outside the rectangle"
                pasted += 1
        scales = [(1.0, 1.0), letterbox_scale(extra.hw, primary.hw)]
        partial += check_kept_iff_visible(found.ids, candidates(image, [primary, extra], scales), threshold)
    assert pasted >= 3 and partial >= 5, (pasted, partial)
    if not empty_primary:
        assert shrunk >= 2, shrunk


# ----- MixUp ----------------------------------------------------------------------------------

MIXUP_PRIMARY_HW = (95, 127)
#: Letterboxed into 95x127: x0.5 (fills it), x2 (bars top and bottom), x1 (the identity), x1.56 (bars left and right).
MIXUP_EXTRA_HWS = ((191, 255), (31, 63), (95, 127), (61, 41))


def blend_tolerance(weight: float) -> float:
    """How far a layer recovered from a uint8 blend (rounded once) may be off, divided by its weight."""
    return 0.5 / weight + 0.5


@pytest.mark.parametrize("indexed", [False, True], ids=["positional", "mask_indices"])
@pytest.mark.parametrize(
    ("fmt", "extra_hw", "min_visibility", "empty_primary", "drops"),
    [
        # drops: some of the extra's objects must go (at x0.5 some vanish; at x1.56 some fall short of 0.95)
        ("yolo", MIXUP_EXTRA_HWS[0], 0.0, False, True),
        ("coco", MIXUP_EXTRA_HWS[1], 0.0, False, False),
        ("pascal_voc", MIXUP_EXTRA_HWS[2], 0.5, False, False),
        ("albumentations", MIXUP_EXTRA_HWS[3], 0.95, False, True),
        ("coco", MIXUP_EXTRA_HWS[0], 0.8, True, True),
    ],
)
def test_mixup_masks_are_each_layers_objects(fmt, extra_hw, min_visibility, empty_primary, drops, indexed):
    pasted = dropped = 0
    for seed in range(3):
        primary, extra = scenes(200 + seed, (MIXUP_PRIMARY_HW, extra_hw), empty_primary)
        transform = detmix.MixUp(interpolation=NEAREST, mask_interpolation=NEAREST, p=1)
        aug = instance_compose([transform], fmt, indexed, seed, min_visibility=min_visibility)
        out = aug(**instance_call("mixup_metadata", primary, [extra], fmt, indexed, seed))
        lam = transform.params["lam"]
        found = read_output(out, fmt)
        check_boxes_are_mask_extents(found)
        check_source_order(found, [primary, extra])

        # Each layer recovered from the blend with the other layer computed here.
        letterboxed = letterbox_reference(extra.image, MIXUP_PRIMARY_HW, FILL, NEAREST)
        blend = out["image"].astype(np.float64)
        primary_layer = (blend - (1 - lam) * letterboxed) / lam
        extra_layer = (blend - lam * primary.image) / (1 - lam)
        n = len(primary.ids)
        assert found.ids[:n] == primary.ids.tolist(), "a wholly visible primary object was lost"
        np.testing.assert_array_equal(found.masks[:n], primary.masks)
        check_masks_are_colours(primary_layer, found.masks[:n], found.ids[:n], blend_tolerance(lam))
        check_masks_are_colours(extra_layer, found.masks[n:], found.ids[n:], blend_tolerance(1 - lam))
        rows = {int(i): k for k, i in enumerate(extra.ids)}
        for mask, object_id in zip(found.masks[n:], found.ids[n:]):
            np.testing.assert_array_equal(mask, letterbox_reference(extra.masks[rows[object_id]], MIXUP_PRIMARY_HW, 0, NEAREST))
        objects = candidates(extra_layer, [extra], [letterbox_scale(extra.hw, MIXUP_PRIMARY_HW)], blend_tolerance(1 - lam))
        check_kept_iff_visible(found.ids[n:], objects, min_visibility)
        pasted, dropped = pasted + len(found.ids) - n, dropped + len(extra.ids) - (len(found.ids) - n)
    assert pasted >= 10 and (dropped > 0) == drops, (pasted, dropped)


# ----- all three --------------------------------------------------------------------------------

ONE_CALL = {
    "Mosaic": (lambda i: detmix.Mosaic((64, 64), interpolation=i, mask_interpolation=i, scale_range=(0.7, 1.4), p=1), "mosaic_metadata", MOSAIC_HWS),
    "MixUp": (lambda i: detmix.MixUp(interpolation=i, mask_interpolation=i, p=1), "mixup_metadata", (MIXUP_PRIMARY_HW, MIXUP_EXTRA_HWS[1])),
    "CutMix": (lambda i: detmix.CutMix(interpolation=i, mask_interpolation=i, p=1), "cutmix_metadata", CUTMIX_HWS),
}


def run_one(name: str, seed: int, interpolation: int, sources: list[InstanceScene] | None = None, stacked: bool = False, **bbox_kwargs) -> dict:
    factory, key, hws = ONE_CALL[name]
    primary, *extras = sources or scenes(300 + seed, hws)
    aug = instance_compose([factory(interpolation)], "coco", False, seed, **bbox_kwargs)
    return aug(**instance_call(key, primary, extras, "coco", False, seed, stacked=stacked))


@pytest.mark.parametrize("stacked", [False, True], ids=["list", "array"])
@pytest.mark.parametrize("name", list(ONE_CALL))
def test_no_box_left_gives_an_empty_list_of_masks(name, stacked):
    hws = ONE_CALL[name][2]
    nothing = run_one(name, 0, NEAREST, [empty_scene(hw, BACKGROUNDS[k]) for k, hw in enumerate(hws)], stacked)
    all_dropped = run_one(name, 0, NEAREST, stacked=stacked, min_area=1e9)
    for out in (nothing, all_dropped):
        assert isinstance(out["masks"], list) and out["masks"] == [], type(out["masks"])
        assert len(out["bboxes"]) == len(out["ids"]) == 0


def one_pixel_band(mask: np.ndarray) -> np.ndarray:
    """Pixels within one pixel (8-neighbourhood) of the mask's edge, on either side."""
    kernel = np.ones((3, 3), np.uint8)
    return cv2.dilate(mask, kernel).astype(bool) & ~cv2.erode(mask, kernel).astype(bool)


@pytest.mark.parametrize("name", list(ONE_CALL))
def test_linear_masks_stay_within_a_pixel_of_nearest(name):
    """At INTER_LINEAR the boxes are still the masks' extents, the masks within a pixel of NEAREST's."""
    compared = 0
    for seed in range(3):
        linear = read_output(run_one(name, seed, cv2.INTER_LINEAR), "coco")
        nearest = read_output(run_one(name, seed, NEAREST), "coco")
        check_boxes_are_mask_extents(linear)
        by_id = dict(zip(nearest.ids, nearest.masks))
        for mask, object_id in zip(linear.masks, linear.ids):
            if object_id in by_id:
                differ = mask != by_id[object_id]
                assert not (differ & ~one_pixel_band(by_id[object_id])).any(), f"object {object_id}: differs beyond a pixel"
                compared += 1
        assert len(set(linear.ids) ^ set(nearest.ids)) <= max(1, len(nearest.ids) // 5), (linear.ids, nearest.ids)
    assert compared >= 10, compared


def resampled_whole(mask: np.ndarray, canvas_hw: tuple[int, int], interpolation: int) -> np.ndarray:
    """``mask`` letterboxed onto ``canvas_hw`` by one warp of the whole source (pixel-centre convention, edges replicated)."""
    sx, sy = letterbox_scale(mask.shape, canvas_hw)
    scaled_w, scaled_h = round(mask.shape[1] * sx), round(mask.shape[0] * sy)
    x0, y0 = (canvas_hw[1] - scaled_w) // 2, (canvas_hw[0] - scaled_h) // 2
    warp = np.array([[sx, 0.0, 0.5 * sx - 0.5 + x0], [0.0, sy, 0.5 * sy - 0.5 + y0]])
    whole = cv2.warpAffine(mask, warp, canvas_hw[::-1], flags=interpolation, borderMode=cv2.BORDER_REPLICATE)
    shown = np.zeros(canvas_hw, np.uint8)
    shown[y0 : y0 + scaled_h, x0 : x0 + scaled_w] = 1
    return whole * shown


@pytest.mark.parametrize("interpolation", [cv2.INTER_CUBIC, cv2.INTER_LANCZOS4])
def test_masks_are_not_cut_by_their_rendering_window(interpolation):
    """A one-pixel object blown up ~14x by a cubic or Lanczos kernel reaches past its scaled extent;
    its mask is the whole source mask resampled, not what fits in the window it was rendered over."""
    hw, pixels = (7, 9), [(1, 1), (3, 5), (6, 8), (0, 4)]
    masks = np.zeros((len(pixels), *hw), np.uint8)
    for k, (y, x) in enumerate(pixels):
        masks[k, y, x] = 1
    extra = scene_of_masks(masks, np.arange(len(pixels)), BACKGROUNDS[1])
    transform = detmix.MixUp(interpolation=interpolation, mask_interpolation=interpolation, p=1)
    out = instance_compose([transform], "coco", False, 0)(**instance_call("mixup_metadata", empty_scene(MIXUP_PRIMARY_HW, BACKGROUNDS[0]), [extra], "coco", False))
    found = read_output(out, "coco")
    assert found.ids == list(range(len(pixels)))
    check_boxes_are_mask_extents(found)
    for mask, source in zip(found.masks, masks):
        np.testing.assert_array_equal(mask, resampled_whole(source, MIXUP_PRIMARY_HW, interpolation))


@pytest.mark.parametrize("interpolation", [cv2.INTER_CUBIC, cv2.INTER_LANCZOS4])
def test_masks_stay_zero_or_one_under_overshooting_kernels(interpolation):
    """190x254 halved into 95x127: the kernel's positive lobes sit on the pattern's ones."""
    lobes = np.array([1, 0, 1, 1, 0, 1], np.uint8)
    masks = np.zeros((1, 190, 254), np.uint8)
    masks[0, 18:24, 18:24] = np.outer(lobes, lobes)
    transform = detmix.MixUp(interpolation=interpolation, mask_interpolation=interpolation, p=1)
    aug = instance_compose([transform], "coco", False, 0)
    out = aug(**instance_call("mixup_metadata", empty_scene(MIXUP_PRIMARY_HW, BACKGROUNDS[0]), [scene_of_masks(masks, np.array([3]), BACKGROUNDS[1])], "coco", False))
    read_output(out, "coco")


def test_masks_match_the_image_where_nearest_ties():
    """30x58 letterboxed into 17x33: output column 16's centre maps to source x = 29.0 exactly."""
    hw = (17, 33)
    masks = np.zeros((1, 30, 58), np.uint8)
    masks[0, 0:4, 29:32] = 1
    extra = scene_of_masks(masks, np.array([7]), BACKGROUNDS[1])
    transform = detmix.MixUp(interpolation=NEAREST, mask_interpolation=NEAREST, p=1)
    aug = instance_compose([transform], "pascal_voc", False, 0)
    out = aug(**instance_call("mixup_metadata", empty_scene(hw, BACKGROUNDS[0]), [extra], "pascal_voc", False))
    found = read_output(out, "pascal_voc")
    lam = transform.params["lam"]
    check_masks_are_colours(out["image"] / (1 - lam), found.masks, found.ids, blend_tolerance(1 - lam))


# ----- pair_masks -------------------------------------------------------------------------------


def boxes_of(out: dict, fmt: str, object_ids: set[int]) -> list[np.ndarray]:
    """Pixel boxes of ``out`` (before pairing) of the objects in ``object_ids``, in output order."""
    boxes = from_format(out["bboxes"], fmt, out["image"].shape[:2])
    return [box for box, i in zip(boxes, out["ids"]) if int(round(float(i))) in object_ids]


@pytest.mark.parametrize("fmt", FORMATS)
def test_pair_masks_refits_boxes_and_drops_emptied_objects(fmt):
    """After Affine, RandomCrop and HorizontalFlip (NEAREST: one warp for image and masks), each box
    left is its mask's extent and its mask its colour's pixels; an object is kept iff it shows."""
    emptied = refit = 0
    for seed in range(8):
        (scene,) = scenes(400 + seed, ((63, 63),))
        transforms = [
            A.Affine(rotate=(-60, 60), scale=(0.7, 1.2), interpolation=NEAREST, mask_interpolation=NEAREST, p=1),
            A.RandomCrop(40, 40),
            A.HorizontalFlip(p=0.5),
        ]
        aug = instance_compose(transforms, fmt, True, seed)
        out = aug(**scene.sample(fmt, True, seed))
        paired = detmix.pair_masks(out, aug)
        found = read_output(paired, fmt, paired=True)
        check_boxes_are_mask_extents(found)
        check_masks_are_colours(paired["image"], found.masks, found.ids)
        boxed = {int(round(float(i))) for i in out["ids"]}
        shows = {int(i) for i, pixels in zip(scene.ids, colour_masks(paired["image"], scene.ids.tolist())) if pixels.any()}
        assert shows <= boxed, f"Albumentations dropped the box of a showing object: {shows - boxed}"
        assert found.ids == [i for i in scene.ids.tolist() if i in shows]
        emptied += len(boxed - shows)
        refit += sum(not np.allclose(a, b, atol=0.5) for a, b in zip(found.boxes, boxes_of(out, fmt, shows)))
    assert emptied >= 2 and refit >= 5, (emptied, refit)
