"""Test helpers for instance masks: scenes of flat-coloured, non-rectangular, overlapping objects.

An instance scene is a uint8 RGB image of a flat background with discs, triangles and L-shapes
drawn one after the other, so a later object covers an earlier one where they overlap; some reach
past the image's borders. Each object has its own colour (:func:`tests.scenes.object_colour`), so
its visible pixels can be found in any NEAREST-rendered output by colour alone; its mask holds
exactly those visible pixels, and its box is their tight extent. Objects left with no visible pixel
are not part of the scene.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import albumentations as A
import cv2
import numpy as np

import detmix
from tests.scenes import MAX_OBJECTS, colour_key, colour_keys, from_format, object_colour, render_scene, to_format
from tests.test_properties import assert_same

SHAPES = ("disc", "triangle", "L")
#: Label field holding each object's name (a string field beside the numeric ``ids``).
NAME_FIELD = "names"
#: Pixel tolerance of boxes that went through float32 normalized coordinates.
BOX_ATOL = 1e-2


def object_name(object_id: int) -> str:
    return f"o{object_id}"


@dataclass
class InstanceScene:
    """A rendered scene: ``masks`` ``(N, H, W)`` uint8 {0, 1} of the visible pixels, ``ids`` ``(N,)``."""

    image: np.ndarray
    masks: np.ndarray
    ids: np.ndarray
    rects: np.ndarray = field(init=False)  # (N, 4) float64 pixel xyxy extents of the masks

    def __post_init__(self) -> None:
        self.rects = mask_extents(self.masks)

    @property
    def hw(self) -> tuple[int, int]:
        return self.image.shape[:2]

    def sample(self, fmt: str, indexed: bool = False, seed: int = 0, stacked: bool = False) -> dict:
        """The scene as a Compose-call sample (or extra): image, masks, boxes in ``fmt``, ids and names.

        With ``indexed`` the masks come shuffled, with an unused all-ones decoy among them, and
        each box names its mask in :data:`detmix.MASK_INDICES`; without, ``masks[i]`` is box ``i``'s.
        ``masks`` is a list of planes, or with ``stacked`` one ``(N, H, W)`` array.
        """
        sample = {
            "image": self.image,
            "bboxes": to_format(self.rects, fmt, self.hw).tolist(),
            "ids": self.ids.tolist(),
            NAME_FIELD: [object_name(int(i)) for i in self.ids],
        }
        planes = list(self.masks)
        if indexed:
            order = np.random.default_rng(seed).permutation(len(planes) + 1)  # position len(planes): the decoy
            sample["mask_indices"] = np.argsort(order)[: len(planes)].tolist()
            planes = [[*planes, np.ones(self.hw, np.uint8)][k] for k in order]
        sample["masks"] = np.array(planes, np.uint8).reshape(-1, *self.hw) if stacked else planes
        return sample


def mask_extents(masks: np.ndarray) -> np.ndarray:
    """Tight pixel ``xyxy`` extent of each mask's nonzero pixels (zeros for an empty mask), float64."""
    extents = np.zeros((len(masks), 4))
    for row, mask in enumerate(masks):
        cols, rows = np.flatnonzero(mask.any(axis=0)), np.flatnonzero(mask.any(axis=1))
        if len(cols):
            extents[row] = cols[0], rows[0], cols[-1] + 1, rows[-1] + 1
    return extents


def _shape_polygon(rng: np.random.Generator, kind: str, x: int, y: int, size: int) -> np.ndarray:
    """Vertices of a triangle or an L (randomly mirrored) inside the square ``x, y, size``."""
    if kind == "triangle":
        return np.stack([rng.integers(x, x + size + 1, 3), rng.integers(y, y + size + 1, 3)], axis=1)
    arm = max(1, size // 3)
    outline = np.array([(0, 0), (arm, 0), (arm, size - arm), (size, size - arm), (size, size), (0, size)])
    if rng.integers(2):
        outline[:, 0] = size - outline[:, 0]
    if rng.integers(2):
        outline[:, 1] = size - outline[:, 1]
    return outline + (x, y)


def make_instance_scene(
    rng: np.random.Generator,
    hw: tuple[int, int],
    count: int,
    size_range: tuple[int, int],
    first_id: int,
    background: tuple[int, int, int],
) -> InstanceScene:
    """``count`` random objects (fewer when some end up wholly covered), ids ``first_id, ...``.

    Each object is drawn in a square of side in ``size_range`` placed anywhere from a quarter of
    its side past the left/top border to a quarter past the right/bottom one, so some are cut by
    the image's borders.
    """
    height, width = hw
    labels = np.full(hw, -1, np.int32)
    for index in range(count):
        size = int(rng.integers(size_range[0], size_range[1] + 1))
        x = int(rng.integers(-size // 4, max(1, width - 3 * size // 4)))
        y = int(rng.integers(-size // 4, max(1, height - 3 * size // 4)))
        kind = SHAPES[int(rng.integers(len(SHAPES)))]
        if kind == "disc":
            cv2.circle(labels, (x + size // 2, y + size // 2), max(1, size // 2), index, -1, cv2.LINE_8)
        else:
            cv2.fillPoly(labels, [_shape_polygon(rng, kind, x, y, size).astype(np.int32)], index, cv2.LINE_8)
    present = [index for index in range(count) if (labels == index).any()]
    ids = np.arange(first_id, first_id + len(present))
    assert ids.max(initial=0) < MAX_OBJECTS
    masks = np.stack([labels == index for index in present]).astype(np.uint8) if present else np.zeros((0, *hw), np.uint8)
    return scene_of_masks(masks, ids, background)


def plain_image(hw: tuple[int, int], background: tuple[int, int, int]) -> np.ndarray:
    """A uint8 RGB image of ``hw`` all in ``background``."""
    return render_scene(hw, np.zeros((0, 4), np.int64), np.zeros(0, np.int64), background)


def scene_of_masks(masks: np.ndarray, ids: np.ndarray, background: tuple[int, int, int]) -> InstanceScene:
    """A scene drawn from given masks (disjoint: visible pixels only), each object in its id's colour."""
    image = plain_image(masks.shape[1:], background)
    for mask, object_id in zip(masks, ids):
        image[mask == 1] = object_colour(int(object_id))
    return InstanceScene(image, masks, ids)


def empty_scene(hw: tuple[int, int], background: tuple[int, int, int]) -> InstanceScene:
    """A scene with no object."""
    return InstanceScene(plain_image(hw, background), np.zeros((0, *hw), np.uint8), np.zeros(0, np.int64))


# ----- reading an output ------------------------------------------------------------------------


@dataclass
class Output:
    """A Compose output's objects: pixel ``boxes``, ``masks`` ``(N, H, W)``, integer ``ids``."""

    boxes: np.ndarray
    masks: np.ndarray
    ids: list[int]


def read_output(out: dict, fmt: str, paired: bool = False) -> Output:
    """The objects of ``out`` after checking rules (a) and (e): one uint8 {0, 1} mask per box,
    label fields aligned.

    With no box left, a mixer's ``masks`` must be an empty list (Albumentations' transforms take no
    empty stack), :func:`detmix.pair_masks`'s (``paired``) a ``(0, H, W)`` uint8 array.
    """
    hw = out["image"].shape[:2]
    boxes = from_format(out["bboxes"], fmt, hw)
    ids = [int(round(float(v))) for v in out["ids"]]
    assert len(ids) == len(boxes) == len(out[NAME_FIELD]), (len(ids), len(boxes), len(out[NAME_FIELD]))
    assert list(out[NAME_FIELD]) == [object_name(i) for i in ids], "label fields out of step"
    assert len(set(ids)) == len(ids), f"an object got two boxes: {ids}"
    if not ids and paired:
        assert out["masks"].shape == (0, *hw) and out["masks"].dtype == np.uint8, (out["masks"].shape, out["masks"].dtype)
    elif not ids:
        assert isinstance(out["masks"], list) and out["masks"] == [], f"no box left: expected masks == [], got {type(out['masks'])}"
    if not ids:
        return Output(boxes, np.zeros((0, *hw), np.uint8), ids)
    assert len(out["masks"]) == len(ids), f"{len(out['masks'])} masks for {len(ids)} boxes"
    masks = np.stack(list(out["masks"]))
    assert masks.dtype == np.uint8 and masks.shape == (len(ids), *hw), (masks.dtype, masks.shape)
    assert set(np.unique(masks).tolist()) <= {0, 1}, f"mask values {np.unique(masks)}"
    if "mask_indices" in out:
        assert [float(v) for v in out["mask_indices"]] == list(range(len(ids))), out["mask_indices"]
    return Output(boxes, masks, ids)


def check_boxes_are_mask_extents(found: Output) -> None:
    """Rule (b): each box is the tight pixel extent of its mask, which is not empty."""
    extents = mask_extents(found.masks)
    for box, extent, object_id, mask in zip(found.boxes, extents, found.ids, found.masks):
        assert mask.any(), f"object {object_id}: empty mask kept with box {box}"
        assert np.abs(box - extent).max() <= BOX_ATOL, f"object {object_id}: box {box.round(3)}, mask extent {extent}"


def check_source_order(found: Output, sources: list[InstanceScene]) -> None:
    """Objects come in source order, each source's in its input order."""
    rank = {int(i): r for r, i in enumerate(i for s in sources for i in s.ids)}
    assert all(i in rank for i in found.ids), f"an object of no used source: {found.ids}"
    assert [rank[i] for i in found.ids] == sorted(rank[i] for i in found.ids)


def colour_masks(layer: np.ndarray, ids: list[int], tolerance: float = 0.0) -> list[np.ndarray]:
    """Pixels of ``layer`` (an image, exact or recovered from a blend) in each object's colour."""
    if tolerance == 0.0:
        keys = colour_keys(layer)
        return [keys == colour_key(object_colour(i)) for i in ids]
    return [(np.abs(layer.astype(np.float64) - object_colour(i)) <= tolerance).all(axis=-1) for i in ids]


def check_masks_are_colours(layer: np.ndarray, masks: np.ndarray, ids: list[int], tolerance: float = 0.0) -> None:
    """Rule (c): each mask is exactly the pixels of ``layer`` showing its object's colour."""
    for mask, expected, object_id in zip(masks, colour_masks(layer, ids, tolerance), ids):
        wrong = np.argwhere(mask.astype(bool) != expected)
        assert not len(wrong), f"object {object_id}: mask and colour differ at {len(wrong)} pixels, first (y, x) {wrong[0]}"


def check_kept_iff_visible(
    kept_ids: list[int],
    candidates: list[tuple[int, np.ndarray, float]],
    threshold: float,
    size_rules: dict | None = None,
) -> int:
    """Rule (d): a candidate is kept iff it shows, its visible fraction reaches ``threshold``, and
    the extent of its visible pixels passes ``size_rules`` (BboxParams' min_area, min_width,
    min_height, max_accept_ratio).

    ``candidates`` holds ``(id, visible pixels (H, W) bool, whole pixel count at the output scale)``;
    fractions within 1e-6 of the threshold are not judged. Returns how many were partly visible.
    """
    rules = {"min_area": 0.0, "min_width": 0.0, "min_height": 0.0, "max_accept_ratio": None, **(size_rules or {})}
    kept, partial = set(kept_ids), 0
    for object_id, visible, whole in candidates:
        count = int(visible.sum())
        fraction = count / whole
        partial += 0 < fraction < 0.95
        if abs(fraction - threshold) < 1e-6:
            continue
        x0, y0, x1, y1 = mask_extents(visible[None])[0]
        width, height = x1 - x0, y1 - y0
        ratio = rules["max_accept_ratio"]
        sizes_pass = (
            width * height >= rules["min_area"]
            and width >= rules["min_width"]
            and height >= rules["min_height"]
            and (ratio is None or max(width / max(height, 1), height / max(width, 1)) <= ratio)
        )
        should = count > 0 and fraction >= threshold and sizes_pass
        assert (object_id in kept) == should, (
            f"object {object_id}: {count} of {whole:.1f} pixels visible ({fraction:.4f}, threshold {threshold}), "
            f"extent {width:g} x {height:g}, kept {object_id in kept}"
        )
    return partial


def arrays_of(value) -> list[np.ndarray]:
    """Every numpy array inside nested dicts, lists and tuples."""
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, dict):
        return [a for v in value.values() for a in arrays_of(v)]
    if isinstance(value, (list, tuple)):
        return [a for v in value for a in arrays_of(v)]
    return []


def check_untouched_and_unshared(call: dict, before: dict, out: dict, keys: tuple[str, ...] = ("image", "masks", "bboxes")) -> None:
    """Rule (h): ``call`` equals its deep copy ``before``, and no array under ``keys`` of ``out`` shares memory with one of ``call``."""
    assert_same(before, call, "input")
    inputs = arrays_of(call)
    for produced in arrays_of([out[key] for key in keys]):
        hit = [k for k, given in enumerate(inputs) if np.shares_memory(produced, given)]
        assert not hit, f"an output array {produced.shape} aliases input array(s) {[inputs[k].shape for k in hit]}"


# ----- running a mixer --------------------------------------------------------------------------


def instance_compose(transforms: list, fmt: str, indexed: bool, seed: int, **bbox_kwargs) -> A.Compose:
    """A Compose whose boxes carry ``ids`` and names, and :data:`detmix.MASK_INDICES` when ``indexed``."""
    fields = ["ids", NAME_FIELD, *([detmix.MASK_INDICES] if indexed else [])]
    return A.Compose(transforms, bbox_params=A.BboxParams(fmt, label_fields=fields, **bbox_kwargs), seed=seed)


def instance_call(
    key: str,
    primary: InstanceScene,
    extras: list[InstanceScene],
    fmt: str,
    indexed: bool,
    seed: int = 0,
    indexed_extras: list[bool] | None = None,
    stacked: bool = False,
) -> dict:
    """Compose-call arguments: the primary's sample and the extras' under ``key`` (see :meth:`InstanceScene.sample`).

    ``indexed_extras`` says which extras carry :data:`detmix.MASK_INDICES` (default: as the primary);
    one without it gets its masks in box order.
    """
    flags = [indexed] * len(extras) if indexed_extras is None else indexed_extras
    samples = [scene.sample(fmt, flag, seed + k, stacked) for k, (scene, flag) in enumerate(zip([primary, *extras], [indexed, *flags]))]
    return {**samples[0], key: samples[1:]}
