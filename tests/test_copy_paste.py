"""CopyPaste pixel truth: flat-colour objects of other shapes than boxes, found again by colour.

Each source is a flat background with discs, triangles and L-shapes in colours unique to each
object, drawn in order (later on top). The primary's instance masks are its objects' visible
pixels; the extra's are the same, or (``amodal``) each object's whole shape, which the extra
image agrees with when every instance is pasted in box order, later on top. Images and masks
are resampled with INTER_NEAREST, so every output pixel shows exactly one source pixel and the
truth can be read from the output image alone:

* each output mask is the pixels of its object's colour, each box its mask's extent (in every
  format), and outside the pasted pixels the image is the primary's;
* a pasted object lies where the extra's mask, scaled and offset by the drawn placement, says
  (up to pixels whose centre falls exactly between two source pixels), less what later pasted
  objects cover;
* an object is kept when it shows a pixel and its visible fraction (its colour's pixels over its
  whole mask's pixels at the output scale, both counted here from the source masks) reaches
  ``max(min_visibility, BboxParams.min_visibility)``; its label fields follow it, primary first;
* the semantic ``mask`` is the extra's under the pasted pixels, and keypoints under them go.
"""

from __future__ import annotations

from dataclasses import dataclass

import albumentations as A
import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import detmix
from detmix.functional.placement import Placement
from tests.scenes import BACKGROUNDS, FORMATS, colour_key, colour_keys, from_format, object_colour, to_format
from tests.test_contract import assert_same, deep_copy

pytestmark = pytest.mark.filterwarnings("error")

KEY = "copypaste_metadata"
#: Odd and even sides: with an even one some output pixel centres fall exactly on a boundary between
#: two source pixels (see test_nearest_ties_pick_the_same_source_pixel_for_image_and_masks).
PRIMARY_HW, EXTRA_HW = (48, 64), (39, 36)
#: Objects' ids: the primary's from 1, the extra's from EXTRA_FIRST_ID (also their semantic values).
EXTRA_FIRST_ID = 101


@dataclass
class Source:
    """A flat-colour scene: ``masks[i]`` is object ``ids[i]``'s instance mask, ``semantic`` its id map."""

    image: np.ndarray
    semantic: np.ndarray
    masks: list[np.ndarray]
    ids: list[int]

    def boxes(self) -> np.ndarray:
        """Pixel xyxy extent of each mask."""
        return np.array([extent(m) for m in self.masks], dtype=np.float64).reshape(-1, 4)

    def sample(self, fmt: str, mask_order: np.ndarray | None = None) -> dict:
        """The source as a Compose-call sample; with ``mask_order``, masks listed in that order and
        bound to their boxes by ``mask_indices``."""
        sample = {
            "image": self.image,
            "mask": self.semantic,
            "bboxes": to_format(self.boxes(), fmt, self.image.shape[:2]),
            "ids": list(self.ids),
            "names": [f"object-{i}" for i in self.ids],
            "masks": list(self.masks),
        }
        if mask_order is not None:
            sample["masks"] = [self.masks[i] for i in mask_order]
            sample[detmix.MASK_INDICES] = np.argsort(mask_order)
        return sample


def extent(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return xs.min(), ys.min(), xs.max() + 1, ys.max() + 1


def random_shape(rng: np.random.Generator, hw: tuple[int, int]) -> np.ndarray:
    """A bool plane holding a disc, a triangle or an L-shape (possibly cut by the border)."""
    height, width = hw
    plane = np.zeros(hw, np.uint8)
    kind = rng.integers(3)
    if kind == 0:
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.circle(plane, centre, int(rng.integers(2, max(3, min(hw) // 3))), 1, thickness=-1)
    elif kind == 1:
        corners = np.stack([rng.integers(0, width, 3), rng.integers(0, height, 3)], axis=1)
        cv2.fillPoly(plane, [corners.astype(np.int32)], 1)
    else:
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        arm_w, arm_h, thick = int(rng.integers(1, width // 2 + 2)), int(rng.integers(1, height // 2 + 2)), int(rng.integers(1, 4))
        plane[y0 : y0 + arm_h, x0 : x0 + thick] = 1
        plane[y0 + arm_h - thick : y0 + arm_h, x0 : x0 + arm_w] = 1
    return plane.astype(bool)


def make_source(rng: np.random.Generator, hw: tuple[int, int], count: int, first_id: int, background: int, amodal: bool = False) -> Source:
    """``count`` random shapes drawn in order over ``BACKGROUNDS[background]``; objects left with
    no pixel in their mask are left out."""
    shapes = [random_shape(rng, hw) for _ in range(count)]
    image = np.empty((*hw, 3), np.uint8)
    image[...] = BACKGROUNDS[background]
    semantic = np.zeros(hw, np.uint8)
    for index, shape in enumerate(shapes):
        image[shape] = object_colour(first_id + index)
        semantic[shape] = first_id + index
    masks, ids = [], []
    for index, shape in enumerate(shapes):
        mask = shape if amodal else semantic == first_id + index
        if mask.any():
            masks.append(mask.astype(np.uint8))
            ids.append(first_id + index)
    return Source(image, semantic, masks, ids)


# ----- the reference ----------------------------------------------------------------------------


def nearest_placed(plane: np.ndarray, placement: Placement, canvas_hw: tuple[int, int]) -> np.ndarray:
    """``plane`` (bool) placed on the canvas by sampling, for each canvas pixel inside the scaled
    source, the source pixel holding its centre (a centre on a boundary: the pixel starting there)."""
    lookups = []
    for axis in (0, 1):
        position = np.arange(canvas_hw[axis]) - placement.offset_xy[1 - axis]
        inside = (position >= 0) & (position < placement.scaled_hw[axis])
        index = (2 * position + 1) * plane.shape[axis] // (2 * placement.scaled_hw[axis])
        lookups.append((np.clip(index, 0, plane.shape[axis] - 1), inside))
    (rows, rows_in), (cols, cols_in) = lookups
    return plane[np.ix_(rows, cols)] & rows_in[:, None] & cols_in[None, :]


def union(planes: list[np.ndarray], hw: tuple[int, int]) -> np.ndarray:
    out = np.zeros(hw, bool)
    for plane in planes:
        out |= plane
    return out


def colour_planes(image: np.ndarray, ids: list[int]) -> dict[int, np.ndarray]:
    keys = colour_keys(image)
    return {i: keys == colour_key(object_colour(i)) for i in ids}


def check_pixels(primary: Source, extra: Source, image: np.ndarray, params: dict) -> tuple[dict[int, np.ndarray], dict[int, tuple[int, float]], int]:
    """The image against the source masks and the drawn placement: ``(shows, visible, covered)``,
    the pixels showing each object, each object's ``(pixels showing, whole mask's pixels at the
    output scale)``, and how many pasted objects a later one covers in part."""
    hw = image.shape[:2]
    placement, chosen = params["placement"], params["chosen"]
    check_placement(placement, extra.image.shape[:2], hw, params["scale_range"])
    shows = colour_planes(image, primary.ids + extra.ids)
    pasted = union([shows[i] for i in extra.ids], hw)
    np.testing.assert_array_equal(image[~pasted], primary.image[~pasted], "outside the pasted pixels the image is the primary's")
    visible: dict[int, tuple[int, float]] = {}
    for object_id, mask in zip(primary.ids, primary.masks):
        np.testing.assert_array_equal(shows[object_id], mask.astype(bool) & ~pasted, f"primary object {object_id}")
        visible[object_id] = (int(shows[object_id].sum()), float(cv2.countNonZero(mask)))
    sx, sy = placement.scale_xy
    placed = [nearest_placed(extra.masks[k].astype(bool), placement, hw) if k in chosen else np.zeros(hw, bool) for k in range(len(extra.ids))]
    covered = 0
    for k in chosen:
        later = union(placed[k + 1 :], hw)
        covered += bool((placed[k] & later).any())
        np.testing.assert_array_equal(shows[extra.ids[k]], placed[k] & ~later, f"pasted object {extra.ids[k]}")
        visible[extra.ids[k]] = (int(shows[extra.ids[k]].sum()), cv2.countNonZero(extra.masks[k]) * sx * sy)
    np.testing.assert_array_equal(pasted, union(placed, hw), "the pasted pixels are the chosen instances' placed masks")
    return shows, visible, covered


def check(primary: Source, extra: Source, out: dict, params: dict, fmt: str, threshold: float, min_area: float = 0.0) -> dict[str, int]:
    """Every property of the module docstring; returns counts of what happened, to show what the
    case exercised."""
    hw = out["image"].shape[:2]
    shows, visible, covered = check_pixels(primary, extra, out["image"], params)

    def kept(object_id: int) -> bool:
        count, whole = visible[object_id]
        x0, y0, x1, y1 = extent(shows[object_id]) if count else (0, 0, 0, 0)
        return count > 0 and count / whole >= threshold - 1e-9 and (x1 - x0) * (y1 - y0) >= min_area

    expected = [i for i in primary.ids + [extra.ids[k] for k in params["chosen"]] if kept(i)]
    ids = [int(v) for v in out["ids"]]
    assert ids == expected, f"kept {ids}, expected {expected} (visible: {visible})"
    assert out["names"] == [f"object-{i}" for i in ids]
    assert len(out["masks"]) == len(ids) == len(out["bboxes"])
    for object_id, mask, box in zip(ids, out["masks"], from_format(out["bboxes"], fmt, hw)):
        assert mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 1}
        np.testing.assert_array_equal(mask.astype(bool), shows[object_id], f"mask of object {object_id}")
        np.testing.assert_allclose(box, extent(mask), atol=1e-3, err_msg=f"box of object {object_id}")
    if detmix.MASK_INDICES in out:
        np.testing.assert_array_equal(out[detmix.MASK_INDICES], np.arange(len(ids)))
    semantic = np.zeros(hw, np.uint8)
    for object_id, plane in shows.items():
        semantic[plane] = object_id
    np.testing.assert_array_equal(out["mask"], semantic, "the semantic mask shows the objects the image shows")
    return {
        "offered": len(extra.ids),
        "pasted": len(params["chosen"]),
        "shrunk": sum(0 < visible[i][0] < visible[i][1] for i in ids if i in primary.ids),
        "dropped": len(primary.ids) + len(params["chosen"]) - len(ids),
        "covered pasted": covered,
    }


def check_placement(placement: Placement, src_hw: tuple[int, int], canvas_hw: tuple[int, int], scale_range: tuple[float, float]) -> None:
    """The extra fitted to the canvas (aspect kept) times a jitter in ``scale_range``, at an offset
    that shows as much of it as fits."""
    fit = min(canvas_hw[0] / src_hw[0], canvas_hw[1] / src_hw[1])
    for axis in (0, 1):
        scaled, slack = placement.scaled_hw[axis], canvas_hw[axis] - placement.scaled_hw[axis]
        assert round(src_hw[axis] * fit * scale_range[0]) - 1 <= scaled <= round(src_hw[axis] * fit * scale_range[1]) + 1
        assert min(0, slack) <= placement.offset_xy[1 - axis] <= max(0, slack)


def run(
    primary: Source,
    extra: Source,
    fmt: str = "coco",
    seed: int = 0,
    scale_range: tuple[float, float] = (1.0, 1.0),
    instance_p: float = 1.0,
    own_min_visibility: float = 0.25,
    keypoints: np.ndarray | None = None,
    remove_invisible: bool = True,
    mask_order: np.ndarray | None = None,
    stacked: bool = False,
    **bbox_kwargs: float,
) -> tuple[dict, dict]:
    """CopyPaste of ``extra`` onto ``primary`` through a Compose: ``(output, params)``."""
    transform = detmix.CopyPaste(scale_range, instance_p, own_min_visibility, cv2.INTER_NEAREST, cv2.INTER_NEAREST, p=1)
    fields = ["ids", "names", *([detmix.MASK_INDICES] if mask_order is not None else [])]
    aug = A.Compose(
        [transform],
        bbox_params=A.BboxParams(fmt, label_fields=fields, **bbox_kwargs),
        keypoint_params=None if keypoints is None else A.KeypointParams("xy", remove_invisible=remove_invisible),
        seed=seed,
    )
    call = primary.sample(fmt, mask_order)
    call[KEY] = [extra.sample(fmt, None if mask_order is None else np.arange(len(extra.ids))[::-1])]
    for sample in (call, *call[KEY]):
        if stacked:  # an (N, H, W) array instead of a list of planes
            sample["masks"] = np.stack(sample["masks"]) if sample["masks"] else np.zeros((0, *sample["image"].shape[:2]), np.uint8)
    if keypoints is not None:  # the extra's own keypoints are never pasted
        call["keypoints"], call[KEY][0]["keypoints"] = keypoints, [[1.5, 2.5], [9.5, 11.5]]
    before = deep_copy(call)
    out = aug(**call)
    assert_same(call, before)
    return out, {**transform.params, "scale_range": scale_range}


def scenes(seed: int, amodal: bool = False, extra_hw: tuple[int, int] = EXTRA_HW) -> tuple[Source, Source]:
    rng = np.random.default_rng(seed)
    return make_source(rng, PRIMARY_HW, 7, 1, 0), make_source(rng, extra_hw, 5, EXTRA_FIRST_ID, 1, amodal)


# ----- tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("instance_p", [1.0, 0.5])
@pytest.mark.parametrize("scale_range", [(1.0, 1.0), (0.5, 1.5)], ids=["fitted", "jittered"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_pixel_truth(fmt: str, scale_range: tuple[float, float], instance_p: float) -> None:
    totals: dict[str, int] = {}
    for seed in range(6):
        primary, extra = scenes(seed)
        out, params = run(primary, extra, fmt, seed, scale_range, instance_p, own_min_visibility=0.5)
        for key, value in check(primary, extra, out, params, fmt, 0.5).items():
            totals[key] = totals.get(key, 0) + value
    assert all(totals[key] > 0 for key in ("pasted", "shrunk", "dropped")), totals
    assert (totals["pasted"] == totals["offered"]) == (instance_p == 1.0), totals


@pytest.mark.parametrize("scale_range", [(1.0, 1.0), (0.5, 1.5)], ids=["fitted", "jittered"])
def test_later_pasted_instances_cover_earlier_ones(scale_range: tuple[float, float]) -> None:
    """Whole-shape masks in the extra: where two pasted ones overlap, the later one keeps the pixels."""
    occluded = 0
    for seed in range(6):
        primary, extra = scenes(seed, amodal=True)
        out, params = run(primary, extra, "pascal_voc", seed, scale_range)
        occluded += check(primary, extra, out, params, "pascal_voc", 0.25)["covered pasted"]
    assert occluded > 0


@pytest.mark.parametrize(("own", "bbox_params"), [(0.0, 0.0), (0.6, 0.1), (0.1, 0.6)])
def test_the_stricter_visibility_threshold_and_the_size_rules_drop(own: float, bbox_params: float) -> None:
    dropped = 0
    for seed in range(4):
        primary, extra = scenes(seed)
        out, params = run(primary, extra, "yolo", seed, (0.5, 1.5), own_min_visibility=own, min_visibility=bbox_params, min_area=20.5)
        dropped += check(primary, extra, out, params, "yolo", max(own, bbox_params), min_area=20.5)["dropped"]
    assert dropped > 0


def test_mask_indices_bind_boxes_to_masks_listed_in_another_order() -> None:
    for seed in range(3):
        primary, extra = scenes(seed)
        order = np.random.default_rng(seed).permutation(len(primary.ids))
        out, params = run(primary, extra, "albumentations", seed, (0.5, 1.5), mask_order=order)
        check(primary, extra, out, params, "albumentations", 0.25)


def test_nothing_pasted_returns_the_primary() -> None:
    """``instance_p=0``, and an extra without instances: the primary's image, boxes and masks."""
    primary, extra = scenes(0)
    empty = Source(extra.image, extra.semantic, [], [])
    for other, instance_p in ((extra, 0.0), (empty, 1.0)):
        out, params = run(primary, other, "coco", 0, (0.5, 1.5), instance_p)
        assert params["chosen"] == []
        np.testing.assert_array_equal(out["image"], primary.image)
        np.testing.assert_array_equal(out["mask"], primary.semantic)
        assert [int(i) for i in out["ids"]] == primary.ids
        np.testing.assert_array_equal(np.stack(out["masks"]), np.stack(primary.masks))
        np.testing.assert_allclose(out["bboxes"], to_format(primary.boxes(), "coco", PRIMARY_HW), atol=1e-3)


@pytest.mark.parametrize("remove_invisible", [True, False])
def test_keypoints_under_pasted_pixels(remove_invisible: bool) -> None:
    """The primary's keypoints under a pasted pixel go with remove_invisible, all stay without; the
    extra's are not pasted."""
    primary, extra = scenes(1)
    ys, xs = np.mgrid[0 : PRIMARY_HW[0] : 3, 0 : PRIMARY_HW[1] : 3]
    points = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.99], axis=1).astype(np.float32)
    out, params = run(primary, extra, "coco", 1, (0.5, 1.5), keypoints=points, remove_invisible=remove_invisible)
    pasted = np.isin(colour_keys(out["image"]), [colour_key(object_colour(i)) for i in extra.ids])
    covered = pasted[np.floor(points[:, 1]).astype(int), np.floor(points[:, 0]).astype(int)]
    assert 0 < covered.sum() < len(points)
    expected = points if not remove_invisible else points[~covered]
    np.testing.assert_allclose(np.asarray(out["keypoints"]), expected, atol=1e-5)


def test_seeds_reproduce_and_differ() -> None:
    primary, extra = scenes(2)
    first, _ = run(primary, extra, "coco", 7, (0.5, 1.5), 0.5)
    again, _ = run(primary, extra, "coco", 7, (0.5, 1.5), 0.5)
    assert_same(first, again)
    others = [run(primary, extra, "coco", seed, (0.5, 1.5), 0.5)[0]["image"] for seed in range(8, 12)]
    assert any(not np.array_equal(o, first["image"]) for o in others)


def test_without_instance_masks_is_an_error_naming_masks() -> None:
    primary, extra = scenes(0)
    call = primary.sample("coco")
    del call["masks"]
    aug = A.Compose([detmix.CopyPaste(p=1)], bbox_params=A.BboxParams("coco", label_fields=["ids", "names"]))
    with pytest.raises(ValueError, match="CopyPaste needs instance masks: pass masks=\\[...\\]"):
        aug(**call, **{KEY: [extra.sample("coco")]})


def test_nearest_ties_pick_the_same_source_pixel_for_image_and_masks() -> None:
    """An extra of even sides, fitted 36 -> 43 px wide: centres fall exactly between two source pixels."""
    for seed in range(6):
        primary, extra = scenes(seed, extra_hw=(40, 36))
        out, _ = run(primary, extra, "coco", seed)
        shows = colour_planes(out["image"], primary.ids + extra.ids)
        for object_id, mask in zip(out["ids"], out["masks"]):
            np.testing.assert_array_equal(mask.astype(bool), shows[int(object_id)], f"mask of object {int(object_id)}")


# ----- properties -------------------------------------------------------------------------------


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31 - 1),
    sides=st.tuples(*[st.integers(1, 48)] * 4),
    counts=st.tuples(st.integers(0, 6), st.integers(0, 6)),
    amodal=st.booleans(),
    instance_p=st.sampled_from([0.0, 0.5, 1.0]),
    scale_range=st.sampled_from([(1.0, 1.0), (0.5, 1.5), (0.1, 2.0)]),
    fmt=st.sampled_from(FORMATS),
    thresholds=st.tuples(st.sampled_from([0.0, 0.25, 0.5]), st.sampled_from([0.0, 0.3, 0.9])),
    bind=st.booleans(),
    stacked=st.booleans(),
)
def test_random_scenes(
    seed: int,
    sides: tuple[int, int, int, int],
    counts: tuple[int, int],
    amodal: bool,
    instance_p: float,
    scale_range: tuple[float, float],
    fmt: str,
    thresholds: tuple[float, float],
    bind: bool,
    stacked: bool,
) -> None:
    """Random scenes of any size and count (none included). Whole-shape extra
    masks only when every instance is pasted: the extra image then agrees with the paste order."""
    rng = np.random.default_rng(seed)
    primary = make_source(rng, sides[:2], counts[0], 1, 0)
    extra = make_source(rng, sides[2:], counts[1], EXTRA_FIRST_ID, 1, amodal and instance_p == 1.0)
    order = rng.permutation(len(primary.ids)) if bind else None
    out, params = run(primary, extra, fmt, seed, scale_range, instance_p, thresholds[0], mask_order=order, stacked=stacked, min_visibility=thresholds[1])
    check(primary, extra, out, params, fmt, max(thresholds))
