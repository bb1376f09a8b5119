"""Pixel truth: every output box must bound exactly the pixels of its object in the output image.

Scenes are flat, uniquely coloured, non-overlapping rectangles (see ``tests/scenes.py``), so an
object is found in the output by its colour alone, independently of how detmix computed its box.
Each test runs the transform through ``A.Compose`` with a label field holding the object ids and
checks, for every output box, the pixel extent of that id's colour; and, for every input object,
that the box rule kept or dropped it according to the fraction of its pixels still visible.
"""

from __future__ import annotations

import albumentations as A
import cv2
import numpy as np
import pytest

import detmix
from tests.scenes import (
    BACKGROUNDS,
    FILL,
    FORMATS,
    Scene,
    colour_key,
    colour_keys,
    from_format,
    make_scene,
    object_colour,
    render_scene,
)

#: A NEAREST-rendered object's pixels lie within half a pixel of its box; we allow 1.5.
NEAREST_TOL = 1.5


def linear_tol(scale: float) -> float:
    """LINEAR blends an edge over half a source pixel at output scale; we erode one pixel more."""
    return 1.5 + 0.5 * max(scale, 1.0)


# ----- helpers --------------------------------------------------------------------------------


def object_mask(keys: np.ndarray, object_id: int, erode: bool = False) -> np.ndarray:
    """Pixels showing exactly the object's colour (with ``erode``: and so do their 4 neighbours)."""
    mask = keys == colour_key(object_colour(object_id))
    if erode:
        padded = np.pad(mask, 1)
        mask = mask & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return mask


def pixel_extent(mask: np.ndarray) -> np.ndarray | None:
    """``x_min, y_min, x_max, y_max`` (exclusive max) of the mask's pixels, None when empty."""
    ys, xs = np.nonzero(mask)
    if not len(xs):
        return None
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=np.float64)


def output_boxes(out: dict, fmt: str, field: str = "ids") -> tuple[np.ndarray, list[int]]:
    """Pixel boxes and integer ids of a Compose output."""
    boxes = from_format(out["bboxes"], fmt, out["image"].shape[:2])
    ids = [int(round(float(v))) for v in out[field]]
    assert len(ids) == len(boxes)
    return boxes, ids


def check_boxes_bound_pixels(image: np.ndarray, boxes: np.ndarray, ids: list[int], tol: float, erode: bool = False) -> None:
    """Each box equals its object's pixel extent in ``image`` within ``tol`` on every side."""
    assert len(set(ids)) == len(ids), f"an object got two boxes: {ids}"
    keys = colour_keys(image)
    height, width = image.shape[:2]
    for box, object_id in zip(boxes, ids):
        assert box[0] < box[2] and box[1] < box[3], f"object {object_id}: degenerate box {box}"
        assert box[0] >= -1e-3 and box[1] >= -1e-3 and box[2] <= width + 1e-3 and box[3] <= height + 1e-3, box
        extent = pixel_extent(object_mask(keys, object_id, erode))
        if extent is None:
            # Only a sliver too thin to hold a pixel centre may have a box but no pixels.
            assert min(box[2] - box[0], box[3] - box[1]) <= tol, f"object {object_id}: box {box} but no pixels"
            continue
        assert np.abs(box - extent).max() <= tol, f"object {object_id}: box {box.round(2)} vs pixels {extent}"


def check_visibility_rule(
    image: np.ndarray,
    objects: list[tuple[int, np.ndarray, tuple[float, float]]],
    kept_ids: set[int],
    threshold: float,
    edge_error: float,
    erode: bool = False,
) -> tuple[int, int]:
    """Objects clearly above ``threshold`` visible kept their box, those clearly below lost it.

    ``objects`` holds ``(id, source rect, (scale_x, scale_y))``. The visible fraction is the
    object's visible pixel count over the pixels its whole rectangle has at output scale; it
    is trusted only up to ``edge_error`` pixels per unit of perimeter (pixel counts are
    discretised), and objects that close to the threshold are skipped.

    Returns how many objects were checked above and below the threshold.
    """
    keys = colour_keys(image)
    above = below = 0
    for object_id, (x0, y0, x1, y1), (sx, sy) in objects:
        w, h = (x1 - x0) * sx, (y1 - y0) * sy
        whole = w * h
        fraction = object_mask(keys, object_id, erode).sum() / whole
        margin = edge_error * (w + h + 1) / whole + 1e-6 + (0.01 if edge_error else 0.0)
        if fraction >= threshold + margin and fraction > 0:
            assert object_id in kept_ids, f"object {object_id} is {fraction:.3f} visible (>= {threshold}) but lost its box"
            above += 1
        elif fraction <= threshold - margin:
            assert object_id not in kept_ids, f"object {object_id} is {fraction:.3f} visible (< {threshold}) but kept its box"
            below += 1
    return above, below


def source_order(params_extras: list[dict], extras: list[Scene]) -> list[int]:
    """Which of ``extras`` the transform chose, in the order it used them (by identity)."""
    order = []
    for chosen in params_extras:
        matches = [i for i, e in enumerate(extras) if e.image is chosen["image"]]
        assert len(matches) == 1
        order.append(matches[0])
    return order


# ----- Mosaic ---------------------------------------------------------------------------------

#: (height, width) of the primary and the extras; with a long side of 320 or 384 the scales
#: are 2x, 0.5-0.6x, 0.8-0.96x, 1.0-1.2x and 1.6-1.92x: up, down and (for 320) exactly 1.
MOSAIC_SOURCES = ((160, 120), (640, 480), (400, 250), (256, 320), (200, 130))

NO_ZOOM = ((1.0, 1.0), 0.0)
MOSAIC_CASES = [
    # format, target_size, center_range, BboxParams.min_visibility, zoom (scale_range, translate)
    ("coco", (320, 320), (0.25, 0.75), 0.3, NO_ZOOM),
    ("pascal_voc", (256, 384), (0.1, 0.9), 0.6, NO_ZOOM),
    ("yolo", (384, 256), (0.0, 1.0), 0.0, NO_ZOOM),
    ("albumentations", (320, 320), (0.1, 0.9), 0.45, NO_ZOOM),
    ("coco", (320, 320), (0.25, 0.75), 0.3, ((0.5, 1.5), 0.1)),  # the YOLOv8 recipe's jitter
    ("pascal_voc", (256, 384), (0.0, 1.0), 0.2, ((0.3, 0.8), 0.3)),  # fill borders, centre off the output
]


def mosaic_scenes(seed: int) -> tuple[Scene, list[Scene]]:
    rng = np.random.default_rng(seed)
    scenes = []
    for index, hw in enumerate(MOSAIC_SOURCES):
        short = min(hw)
        scenes.append(make_scene(rng, hw, 14, (max(8, short // 12), short // 3), 50 * index, BACKGROUNDS[index]))
    return scenes[0], scenes[1:]


def check_mosaic_layout(image: np.ndarray, sources: list[Scene]) -> None:
    """Primary top-left, then top-right, bottom-left, bottom-right, all meeting at one centre."""
    keys = colour_keys(image)
    centre_x, centre_y = set(), set()
    for index, source in enumerate(sources):
        colours = [colour_key(BACKGROUNDS[MOSAIC_SOURCES.index(source.hw)])]
        colours += [colour_key(object_colour(int(i))) for i in source.ids]
        extent = pixel_extent(np.isin(keys, colours))
        if extent is None:
            continue  # its quadrant has no area
        x0, y0, x1, y1 = extent
        centre_x.add(x1 if index in (0, 2) else x0)
        centre_y.add(y1 if index in (0, 1) else y0)
    assert len(centre_x) == 1 and len(centre_y) == 1, (centre_x, centre_y)


def mosaic_objects(sources: list[Scene], target_size: tuple[int, int], zoom: float = 1.0) -> list[tuple[int, np.ndarray, tuple[float, float]]]:
    """``(id, rect, scale)`` of every object: each source is scaled to a long side of ``zoom * max(target_size)``."""
    objects = []
    for source in sources:
        scale = zoom * max(target_size) / max(source.hw)
        objects += [(int(i), r, (scale, scale)) for i, r in zip(source.ids, source.rects)]
    return objects


def mosaic_zoom(transform: detmix.Mosaic, target_size: tuple[int, int]) -> float:
    """The zoom the transform drew, read off the primary's placement (its long side over the output's, to half a pixel)."""
    return max(transform.params["placements"][0].scaled_hw) / max(target_size)


def run_mosaic(fmt, target_size, center_range, min_visibility, seed, interpolation, zoom=NO_ZOOM):
    primary, extras = mosaic_scenes(seed)
    scale_range, translate = zoom
    transform = detmix.Mosaic(
        target_size=target_size,
        center_range=center_range,
        scale_range=scale_range,
        translate=translate,
        interpolation=interpolation,
        p=1,
    )
    aug = A.Compose(
        [transform],
        bbox_params=A.BboxParams(fmt, label_fields=["ids"], min_visibility=min_visibility),
        seed=seed,
    )
    out = aug(**primary.sample(fmt), mosaic_metadata=[e.sample(fmt) for e in extras])
    order = source_order(transform.params["extras"], extras)
    sources = [primary, *(extras[i] for i in order)]
    return out, sources, transform


@pytest.mark.parametrize(("fmt", "target_size", "center_range", "min_visibility", "zoom"), MOSAIC_CASES)
def test_mosaic_boxes_are_the_pixel_extent_and_follow_the_visibility_rule(fmt, target_size, center_range, min_visibility, zoom):
    totals = np.zeros(2, dtype=int)
    partial = 0
    for seed in range(6):
        out, sources, transform = run_mosaic(fmt, target_size, center_range, min_visibility, seed, cv2.INTER_NEAREST, zoom)
        image = out["image"]
        assert image.shape == (*target_size, 3) and image.dtype == np.uint8

        # NEAREST invents no colour: every pixel is the fill, a background or an object.
        allowed = {colour_key((FILL,) * 3), *(colour_key(b) for b in BACKGROUNDS)}
        allowed |= {colour_key(object_colour(int(i))) for s in sources for i in s.ids}
        assert set(np.unique(colour_keys(image)).tolist()) <= allowed

        check_mosaic_layout(image, sources)
        boxes, ids = output_boxes(out, fmt)
        check_boxes_bound_pixels(image, boxes, ids, NEAREST_TOL)

        # Output boxes come in quadrant order, each source's in its input order.
        source_of = {int(i): (k, j) for k, s in enumerate(sources) for j, i in enumerate(s.ids)}
        assert all(i in source_of for i in ids), "a box of an extra the transform did not use"
        positions = [source_of[i] for i in ids]
        assert positions == sorted(positions)

        objects = mosaic_objects(sources, target_size, mosaic_zoom(transform, target_size))
        totals += check_visibility_rule(image, objects, set(ids), min_visibility, edge_error=1.0)

        keys = colour_keys(image)
        partial += sum(0 < object_mask(keys, i).sum() < 0.9 * (r[2] - r[0]) * (r[3] - r[1]) * sx * sy for i, r, (sx, sy) in objects)
    # The scenes must exercise the rule on both sides (and objects cut by the quadrants).
    assert totals[0] >= 20 and partial >= 5, (totals, partial)
    if min_visibility > 0:
        assert totals[1] >= 5, totals


@pytest.mark.parametrize("fmt", ["albumentations", "coco"])
def test_mosaic_linear_boxes_bound_the_interior_pixels(fmt):
    """INTER_LINEAR blends object edges: boxes must bound the flat interior within a blend's width."""
    target_size, min_visibility = (320, 320), 0.4
    totals = np.zeros(2, dtype=int)
    for seed in range(3):
        out, sources, _ = run_mosaic(fmt, target_size, (0.1, 0.9), min_visibility, seed, cv2.INTER_LINEAR)
        boxes, ids = output_boxes(out, fmt)
        largest_scale = max(target_size) / min(max(s.hw) for s in sources)
        check_boxes_bound_pixels(out["image"], boxes, ids, linear_tol(largest_scale), erode=True)
        objects = mosaic_objects(sources, target_size)
        totals += check_visibility_rule(out["image"], objects, set(ids), min_visibility, edge_error=3.0, erode=True)
    assert totals[0] >= 10 and totals[1] >= 3, totals


# ----- CutMix ---------------------------------------------------------------------------------

CUTMIX_PRIMARY_HW = (240, 320)
#: Letterboxed into 240x320: 360x200 shrinks to 240x133 (bars left and right), 100x150 grows
#: to 213x320 (bars top and bottom).
CUTMIX_EXTRA_HWS = ((360, 200), (100, 150))

CUTMIX_CASES = [
    # format, CutMix.min_visibility, BboxParams.min_visibility, interpolation
    ("pascal_voc", 0.3, 0.0, cv2.INTER_NEAREST),
    ("coco", 0.1, 0.5, cv2.INTER_NEAREST),
    ("yolo", 0.0, 0.0, cv2.INTER_NEAREST),
    ("albumentations", 0.6, 0.2, cv2.INTER_NEAREST),
    ("coco", 0.4, 0.0, cv2.INTER_LINEAR),
]


def cutmix_scenes(seed: int) -> tuple[Scene, list[Scene]]:
    rng = np.random.default_rng(1000 + seed)
    primary = make_scene(rng, CUTMIX_PRIMARY_HW, 16, (8, 90), 0, BACKGROUNDS[0])
    extras = [make_scene(rng, hw, 12, (8, 70), 100 + 50 * k, BACKGROUNDS[1 + k]) for k, hw in enumerate(CUTMIX_EXTRA_HWS)]
    return primary, extras


def strip_covered(rect, box) -> list[int]:
    """Which sides (0: left, 1: top, 2: right, 3: bottom) of ``box`` lie under a strip ``rect`` covers whole."""
    rx0, ry0, rx1, ry1 = rect
    x0, y0, x1, y1 = box
    spans_h, spans_w = ry0 <= y0 and ry1 >= y1, rx0 <= x0 and rx1 >= x1
    sides = []
    if spans_h and rx0 <= x0 < rx1:
        sides.append(0)
    if spans_w and ry0 <= y0 < ry1:
        sides.append(1)
    if spans_h and rx0 < x1 <= rx1:
        sides.append(2)
    if spans_w and ry0 < y1 <= ry1:
        sides.append(3)
    return sides


@pytest.mark.parametrize(("fmt", "cut_visibility", "bbox_visibility", "interpolation"), CUTMIX_CASES)
def test_cutmix_boxes_are_the_pixel_extent_and_follow_the_visibility_rule(fmt, cut_visibility, bbox_visibility, interpolation):
    nearest = interpolation == cv2.INTER_NEAREST
    threshold = max(cut_visibility, bbox_visibility)
    totals = np.zeros(2, dtype=int)
    shrunk = partial_primary = pasted = 0
    for seed in range(8):
        primary, extras = cutmix_scenes(seed)
        transform = detmix.CutMix(min_visibility=cut_visibility, interpolation=interpolation, p=1)
        aug = A.Compose(
            [transform],
            bbox_params=A.BboxParams(fmt, label_fields=["ids"], min_visibility=bbox_visibility),
            seed=seed,
        )
        out = aug(**primary.sample(fmt), cutmix_metadata=[e.sample(fmt) for e in extras])
        image = out["image"]
        assert image.shape == primary.image.shape and image.dtype == np.uint8
        (chosen,) = source_order(transform.params["extras"], extras)
        extra = extras[chosen]
        rx0, ry0, rx1, ry1 = rect = transform.params["rect"]

        # The image: the primary outside the rectangle, nothing of the primary inside it.
        outside = np.ones(CUTMIX_PRIMARY_HW, dtype=bool)
        outside[ry0:ry1, rx0:rx1] = False
        np.testing.assert_array_equal(image[outside], primary.image[outside])
        inside_keys = set(np.unique(colour_keys(image[ry0:ry1, rx0:rx1])).tolist())
        primary_colours = {colour_key(BACKGROUNDS[0]), *(colour_key(object_colour(int(i))) for i in primary.ids)}
        if nearest:
            assert not inside_keys & primary_colours

        ehw = extra.hw
        scale = min(CUTMIX_PRIMARY_HW[0] / ehw[0], CUTMIX_PRIMARY_HW[1] / ehw[1])
        boxes, ids = output_boxes(out, fmt)
        check_boxes_bound_pixels(image, boxes, ids, NEAREST_TOL if nearest else linear_tol(scale), erode=not nearest)

        # Primary boxes first, then the extra's; each group in input order.
        n_primary = sum(i in set(primary.ids.tolist()) for i in ids)
        assert ids[:n_primary] == [i for i in primary.ids.tolist() if i in ids]
        assert ids[n_primary:] == [i for i in extra.ids.tolist() if i in ids]

        # A primary box shrinks exactly where the rectangle covers a whole side strip.
        rect_of = dict(zip(primary.ids.tolist(), primary.rects.astype(float)))
        for box, object_id in zip(boxes[:n_primary], ids[:n_primary]):
            original = rect_of[object_id]
            moved = [side for side in range(4) if abs(box[side] - original[side]) > 1e-3]
            assert moved == strip_covered(rect, original), (object_id, original, box, rect)
            shrunk += bool(moved)
            assert np.all(box[:2] >= original[:2] - 1e-3) and np.all(box[2:] <= original[2:] + 1e-3)
        # Extra boxes show only what lies inside the rectangle.
        for box in boxes[n_primary:]:
            assert box[0] >= rx0 - 1e-3 and box[1] >= ry0 - 1e-3 and box[2] <= rx1 + 1e-3 and box[3] <= ry1 + 1e-3

        primary_objects = [(int(i), r, (1.0, 1.0)) for i, r in zip(primary.ids, primary.rects)]
        extra_objects = [(int(i), r, (scale, scale)) for i, r in zip(extra.ids, extra.rects)]
        # At scale 1 with an integer rectangle the primary's pixel counts are exact.
        totals += check_visibility_rule(image, primary_objects, set(ids), threshold, 0.0 if nearest else 2.0, erode=not nearest)
        totals += check_visibility_rule(image, extra_objects, set(ids), threshold, 1.0 if nearest else 3.0, erode=not nearest)
        keys = colour_keys(image)
        partial_primary += sum(0 < object_mask(keys, i).sum() < (r[2] - r[0]) * (r[3] - r[1]) for i, r, _ in primary_objects)
        pasted += n_primary < len(ids)
    assert totals[0] >= 40 and partial_primary >= 5 and pasted >= 3 and shrunk >= 2, (totals, partial_primary, pasted, shrunk)
    if threshold > 0:
        assert totals[1] >= 5, totals


# ----- MixUp ----------------------------------------------------------------------------------

MIXUP_PRIMARY_HW = (240, 320)
#: Extras letterboxed into 240x320 by scales whose nearest-neighbour sampling has no ties
#: (source/scaled ratio with an odd numerator): x0.4 (bars left/right), x3 (bars left/right),
#: x0.8 (bars top/bottom), x5 (fills the canvas), x1 (the identity, no resampling).
MIXUP_EXTRA_HWS = ((600, 500), (80, 100), (300, 400), (48, 64), (240, 320))


def letterbox_reference(src: np.ndarray, canvas_hw: tuple[int, int], fill: float, interpolation: int) -> np.ndarray:
    """``src`` letterboxed into ``canvas_hw`` (one aspect-keeping scale, centred), computed independently.

    NEAREST samples source pixel ``floor((u + 0.5) * src / scaled)`` for output pixel ``u``
    (pixel-centre convention), in exact integer arithmetic; LINEAR uses ``cv2.resize``.
    """
    (height, width), (src_h, src_w) = canvas_hw, src.shape[:2]
    scale = min(height / src_h, width / src_w)
    scaled_h, scaled_w = min(height, round(src_h * scale)), min(width, round(src_w * scale))
    x0, y0 = (width - scaled_w) // 2, (height - scaled_h) // 2
    if interpolation == cv2.INTER_NEAREST:
        rows, cols = [], []
        for n_src, n_out, index in ((src_h, scaled_h, rows), (src_w, scaled_w, cols)):
            numerators = (2 * np.arange(n_out) + 1) * n_src
            assert np.all(numerators % (2 * n_out) != 0) or n_src == n_out, "the test's sizes must avoid ties"
            index.extend((numerators // (2 * n_out)).tolist())
        resized = src[np.ix_(rows, cols)]
    else:
        resized = cv2.resize(src, (scaled_w, scaled_h), interpolation=interpolation)
    canvas = np.full((*canvas_hw, *src.shape[2:]), fill, dtype=src.dtype)
    canvas[y0 : y0 + scaled_h, x0 : x0 + scaled_w] = resized
    return canvas


MIXUP_CASES = [
    # extra size, format, dtype, interpolation, grey-level tolerance
    (MIXUP_EXTRA_HWS[0], "yolo", np.uint8, cv2.INTER_NEAREST, 1.0),
    (MIXUP_EXTRA_HWS[1], "coco", np.uint8, cv2.INTER_NEAREST, 1.0),
    (MIXUP_EXTRA_HWS[2], "pascal_voc", np.uint8, cv2.INTER_NEAREST, 1.0),
    (MIXUP_EXTRA_HWS[3], "albumentations", np.uint8, cv2.INTER_NEAREST, 1.0),
    (MIXUP_EXTRA_HWS[4], "yolo", np.uint8, cv2.INTER_NEAREST, 1.0),
    (MIXUP_EXTRA_HWS[0], "coco", np.float32, cv2.INTER_NEAREST, 1e-3),
    (MIXUP_EXTRA_HWS[1], "pascal_voc", np.uint8, cv2.INTER_LINEAR, 3.0),
]


@pytest.mark.parametrize(("extra_hw", "fmt", "dtype", "interpolation", "tolerance"), MIXUP_CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_mixup_is_the_exact_blend_and_keeps_every_box(extra_hw, fmt, dtype, interpolation, tolerance, seed):
    rng = np.random.default_rng(2000 + seed)
    primary = make_scene(rng, MIXUP_PRIMARY_HW, 14, (6, 80), 0, BACKGROUNDS[0])
    extra = make_scene(rng, extra_hw, 14, (max(3, min(extra_hw) // 16), min(extra_hw) // 3), 100, BACKGROUNDS[1])

    def as_dtype(scene: Scene) -> dict:
        sample = scene.sample(fmt)
        if dtype == np.float32:
            sample["image"] = scene.image.astype(np.float32) / 255.0
        return sample

    transform = detmix.MixUp(interpolation=interpolation, p=1)
    aug = A.Compose([transform], bbox_params=A.BboxParams(fmt, label_fields=["ids"]), seed=seed)
    out = aug(**as_dtype(primary), mixup_metadata=[as_dtype(extra)])
    other = extra

    lam = transform.params["lam"]
    assert 0 < lam < 1
    image = out["image"]
    assert image.shape == primary.image.shape and image.dtype == dtype

    # The image is lam * primary + (1 - lam) * (other letterboxed with fill 114).
    letterboxed = letterbox_reference(other.image, MIXUP_PRIMARY_HW, FILL, interpolation)
    expected = lam * primary.image.astype(np.float64) + (1 - lam) * letterboxed.astype(np.float64)
    if dtype == np.float32:
        expected /= 255.0
    diff = np.abs(image.astype(np.float64) - expected)
    assert diff.max() <= tolerance, f"max difference {diff.max()} at {np.unravel_index(diff.argmax(), diff.shape)}"

    # Both label sets, primary first, every box kept; the primary's unchanged.
    boxes, ids = output_boxes(out, fmt)
    assert ids == primary.ids.tolist() + other.ids.tolist()
    n = len(primary.ids)
    np.testing.assert_allclose(boxes[:n], primary.rects, atol=1e-3)
    # The other's boxes bound their objects in the letterboxed image (validated by the blend).
    nearest = interpolation == cv2.INTER_NEAREST
    scale = min(MIXUP_PRIMARY_HW[0] / other.hw[0], MIXUP_PRIMARY_HW[1] / other.hw[1])
    tol = NEAREST_TOL if nearest else linear_tol(scale)
    check_boxes_bound_pixels(letterboxed, boxes[n:], ids[n:], tol, erode=not nearest)
    if other.hw == MIXUP_PRIMARY_HW:
        np.testing.assert_allclose(boxes[n:], other.rects, atol=1e-3)


@pytest.mark.parametrize("fmt", FORMATS)
def test_mixup_boxes_of_objects_touching_the_extras_border(fmt):
    """Objects on the extra's edges map onto the letterbox's edges, not beyond."""
    hw = (300, 400)  # x0.8 into 240x320: bars of 0 and 0, a pure scale
    rects = np.array([[0, 0, 20, 30], [380, 270, 400, 300], [0, 280, 370, 300], [100, 0, 101, 270]])
    ids = np.arange(100, 104)
    other = Scene(render_scene(hw, rects, ids, BACKGROUNDS[1]), rects, ids)
    primary = Scene(render_scene(MIXUP_PRIMARY_HW, np.zeros((0, 4), int), np.zeros(0, int), BACKGROUNDS[0]), np.zeros((0, 4), int), np.zeros(0, int))
    aug = A.Compose([detmix.MixUp(interpolation=cv2.INTER_NEAREST, p=1)], bbox_params=A.BboxParams(fmt, label_fields=["ids"]), seed=0)
    out = aug(**primary.sample(fmt), mixup_metadata=[other.sample(fmt)])
    boxes, out_ids = output_boxes(out, fmt)
    assert out_ids == ids.tolist()
    np.testing.assert_allclose(boxes, rects * 0.8, atol=1e-3)
    check_boxes_bound_pixels(letterbox_reference(other.image, MIXUP_PRIMARY_HW, FILL, cv2.INTER_NEAREST), boxes, out_ids, NEAREST_TOL)
