"""Hypothesis properties of Mosaic, MixUp and CutMix run through ``A.Compose``.

Random image sizes (8..200 per side), dtypes and channel counts; random boxes (border-touching
and 1 px ones included) in all four formats; 0-2 label fields of int or str holding a per-box
id unique across the primary and its extras; random transform parameters and seeds.

For every case:
* output image dtype and shape are as documented (Mosaic: ``target_size``; MixUp and CutMix:
  the primary's size), output boxes are valid and inside the output image;
* every output box is the documented image of one input box (its id, decoded from every label
  field, says which), in source order; boxes above the visibility threshold are kept and boxes
  below it dropped, so there are never more boxes than the sources had;
* no input array (primary or extras) is modified, and the same seed gives the same output.

The geometry (centre, rectangle, placements) is read from ``transform.params`` after it has been
checked against the documented layout, so box expectations are computed independently of
detmix's box code.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field

import albumentations as A
import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import detmix
from tests.scenes import FORMATS, from_format, to_format

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
INTERPOLATIONS = (cv2.INTER_NEAREST, cv2.INTER_LINEAR, cv2.INTER_CUBIC, cv2.INTER_LANCZOS4)
FIELD_NAMES = ("labels", "tags")
#: Pixel tolerance for boxes that went through float32 normalized coordinates.
ATOL = 1e-2
#: Fractions or sides this close to a decision boundary may go either way in float32.
AMBIGUOUS = 1e-3


# ----- inputs ---------------------------------------------------------------------------------


@dataclass
class Source:
    """One sample: an image and pixel ``xyxy`` boxes with globally unique ids."""

    image: np.ndarray
    boxes: np.ndarray
    ids: list[int]

    @property
    def hw(self) -> tuple[int, int]:
        return self.image.shape[:2]


@dataclass
class Case:
    fmt: str
    fields: list[str]  # kind ("int" / "str") of each label field
    as_arrays: bool
    primary: Source
    extras: list[Source]
    seed: int
    min_visibility: float
    interpolation: int
    params: dict = field(default_factory=dict)  # transform-specific

    def field_values(self, source: Source, index: int):
        kind = self.fields[index]
        if kind == "int":
            values = [7 * i + 3 + index for i in source.ids]
            return np.array(values, dtype=np.int64) if self.as_arrays else values
        values = [f"{index}:{i:04d}" for i in source.ids]
        return np.array(values, dtype="<U6") if self.as_arrays else values

    def sample(self, source: Source) -> dict:
        boxes = to_format(source.boxes, self.fmt, source.hw)
        sample = {"image": source.image, "bboxes": boxes.astype(np.float32) if self.as_arrays else boxes.tolist()}
        for index, name in enumerate(FIELD_NAMES[: len(self.fields)]):
            sample[name] = self.field_values(source, index)
        return sample

    def decode_ids(self, out: dict) -> list[int] | None:
        """Each output box's id, checked to agree across every label field; None without fields."""
        decoded = []
        for index, name in enumerate(FIELD_NAMES[: len(self.fields)]):
            values = list(out[name])
            assert len(values) == len(out["bboxes"]), f"label field {name} has {len(values)} values for {len(out['bboxes'])} boxes"
            if self.fields[index] == "int":
                numbers = [int(round(float(v))) - 3 - index for v in values]
                assert all(n % 7 == 0 for n in numbers), values
                decoded.append([n // 7 for n in numbers])
            else:
                assert all(str(v).startswith(f"{index}:") for v in values), values
                decoded.append([int(str(v).split(":")[1]) for v in values])
        if not decoded:
            return None
        assert all(d == decoded[0] for d in decoded), f"label fields disagree: {decoded}"
        return decoded[0]


@st.composite
def boxes_strategy(draw, hw: tuple[int, int], max_boxes: int = 6) -> np.ndarray:
    height, width = hw
    boxes = []
    for _ in range(draw(st.integers(0, max_boxes))):
        x0 = draw(st.integers(0, width - 1))
        y0 = draw(st.integers(0, height - 1))
        if draw(st.booleans()):  # tiny: one pixel
            x1, y1 = x0 + 1, y0 + 1
        else:
            x1, y1 = draw(st.integers(x0 + 1, width)), draw(st.integers(y0 + 1, height))
        boxes.append((x0, y0, x1, y1))
    return np.array(boxes, dtype=np.float64).reshape(-1, 4)


@st.composite
def case_strategy(draw, n_extras: tuple[int, int], same_size_extras: bool = False) -> Case:
    """Everything but the transform's own parameters."""
    dtype = draw(st.sampled_from([np.uint8, np.float32]))
    channels = draw(st.sampled_from([(), (1,), (3,), (4,), (6,)]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    sides = st.integers(8, 200)
    primary_hw = (draw(sides), draw(sides))
    sources = []
    next_id = 0
    for index in range(1 + draw(st.integers(*n_extras))):
        hw = primary_hw if index == 0 or (same_size_extras and draw(st.booleans())) else (draw(sides), draw(sides))
        if dtype == np.uint8:
            image = rng.integers(0, 256, (*hw, *channels), dtype=np.uint8)
        else:
            image = rng.random((*hw, *channels), dtype=np.float32)
        boxes = draw(boxes_strategy(hw))
        sources.append(Source(image, boxes, list(range(next_id, next_id + len(boxes)))))
        next_id += len(boxes)
    return Case(
        fmt=draw(st.sampled_from(FORMATS)),
        fields=[draw(st.sampled_from(["int", "str"])) for _ in range(draw(st.integers(0, 2)))],
        as_arrays=draw(st.booleans()),
        primary=sources[0],
        extras=sources[1:],
        seed=draw(st.integers(0, 2**31 - 1)),
        # BboxParams.min_visibility: Albumentations' own post-filter drops every box at 1.0
        # (area / (area + 1e-7) < 1 for any transform), so stay below it.
        min_visibility=draw(st.one_of(st.sampled_from([0.0, 0.25, 0.5, 0.999]), st.floats(0.0, 0.999))),
        interpolation=draw(st.sampled_from(INTERPOLATIONS)),
    )


# ----- running and common checks ----------------------------------------------------------------


def run_twice(case: Case, make_transform, metadata_key: str, bbox_min_visibility: float = 0.0):
    """Run a fresh Compose twice with the same seed; check determinism and that inputs are untouched."""
    primary = case.sample(case.primary)
    extras = [case.sample(e) for e in case.extras]
    before = copy.deepcopy((primary, extras))
    outs, transforms = [], []
    for _ in range(2):
        transform = make_transform()
        aug = A.Compose(
            [transform],
            bbox_params=A.BboxParams(case.fmt, label_fields=list(FIELD_NAMES[: len(case.fields)]), min_visibility=bbox_min_visibility),
            seed=case.seed,
        )
        outs.append(aug(**primary, **{metadata_key: extras}))
        transforms.append(transform)
    assert_same(before, (primary, extras), "input")
    inputs = [a for sample in (primary, *extras) for a in sample.values() if isinstance(a, np.ndarray)]
    for out in outs:
        for key, value in out.items():
            if isinstance(value, np.ndarray) and key != metadata_key:
                assert not any(np.shares_memory(value, a) for a in inputs), f"output '{key}' shares memory with an input"
    first, second = outs
    assert first.keys() == second.keys()
    for key in first:
        if key != metadata_key:
            assert_same(first[key], second[key], f"output '{key}' with the same seed")
    chosen = []
    for extra in transforms[0].params["extras"]:
        matches = [k for k, e in enumerate(extras) if e["image"] is extra["image"]]
        assert len(matches) == 1, "an extra must be one of the metadata's images, used as is"
        chosen.append(matches[0])
    assert len(set(chosen)) == len(chosen), f"extras must be chosen without replacement: {chosen}"
    return first, transforms[0].params, [case.primary, *(case.extras[k] for k in chosen)]


def assert_same(a, b, what: str) -> None:
    """Deep equality of nested dicts/lists/tuples/arrays, arrays also in dtype and shape."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and isinstance(b, np.ndarray), what
        assert a.dtype == b.dtype and a.shape == b.shape, what
        np.testing.assert_array_equal(a, b, err_msg=f"{what} changed")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), what
        for key in a:
            assert_same(a[key], b[key], f"{what}['{key}']")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), what
        for x, y in zip(a, b):
            assert_same(x, y, what)
    else:
        assert a == b, f"{what}: {a!r} != {b!r}"


@dataclass
class Expected:
    """The documented fate of one input box."""

    id: int
    candidates: list[np.ndarray]  # acceptable output boxes (pixel xyxy)
    status: str  # "keep", "drop" or "maybe" (too close to a decision boundary)


def fate(box_id: int, candidates: list[np.ndarray], fraction: float, threshold: float, overlap: float | None = None) -> Expected:
    """Keep a box with something visible and a visible fraction of at least ``threshold``.

    ``overlap`` is the smaller side of the box's overlap with what is shown (negative when
    apart); near zero the box merely touches the shown area, and float32 noise may keep a sliver.
    """
    visible = candidates[0]
    if overlap is not None and abs(overlap) < AMBIGUOUS:
        return Expected(box_id, candidates, "maybe")
    if (overlap is not None and overlap < 0) or min(visible[2] - visible[0], visible[3] - visible[1]) <= 0:
        return Expected(box_id, candidates, "drop")  # nothing visible
    if abs(fraction - threshold) < AMBIGUOUS:
        return Expected(box_id, candidates, "maybe")
    return Expected(box_id, candidates, "keep" if fraction >= threshold else "drop")


def check_output(case: Case, out: dict, out_hw: tuple[int, int], expected: list[Expected]) -> None:
    """Image dtype/shape, box validity, and that the boxes are exactly the expected survivors in order."""
    image = out["image"]
    assert image.dtype == case.primary.image.dtype
    assert image.shape == (*out_hw, *case.primary.image.shape[2:])

    boxes = from_format(out["bboxes"], case.fmt, out_hw)
    height, width = out_hw
    assert np.all(boxes[:, 0] < boxes[:, 2]) and np.all(boxes[:, 1] < boxes[:, 3]), boxes
    assert np.all(boxes[:, :2] >= -1e-3) and np.all(boxes[:, 2] <= width + 1e-3) and np.all(boxes[:, 3] <= height + 1e-3), boxes
    assert len(boxes) <= len(expected)

    def matches(box: np.ndarray, entry: Expected) -> bool:
        return any(np.allclose(box, c, atol=ATOL) for c in entry.candidates)

    ids = case.decode_ids(out)
    if ids is not None:
        position = {e.id: k for k, e in enumerate(expected)}
        assert len(set(ids)) == len(ids), f"an input box appears twice: {ids}"
        assert all(i in position for i in ids), f"ids {ids} not all from the sources used {list(position)}"
        order = [position[i] for i in ids]
        assert order == sorted(order), f"boxes out of source order: {ids}"
        for box, box_id in zip(boxes, ids):
            entry = expected[position[box_id]]
            assert entry.status != "drop", f"box {box_id} should have been dropped: {box}"
            assert matches(box, entry), f"box {box_id}: got {box}, expected one of {entry.candidates}"
        missing = [e.id for e in expected if e.status == "keep" and e.id not in set(ids)]
        assert not missing, f"boxes {missing} should have been kept"
    else:
        # No label fields: the output must still be the kept boxes, in order.
        assert can_match(boxes, expected, matches), f"boxes {boxes} are not the expected survivors {expected}"


def can_match(boxes: np.ndarray, expected: list[Expected], matches) -> bool:
    """Whether ``boxes`` are, in order, every "keep" entry plus some "maybe" entries of ``expected``."""

    @functools.lru_cache(maxsize=None)
    def fits(i: int, j: int) -> bool:
        if i == len(boxes):
            return all(e.status != "keep" for e in expected[j:])
        if j == len(expected):
            return False
        entry = expected[j]
        if entry.status != "keep" and fits(i, j + 1):
            return True
        return entry.status != "drop" and matches(boxes[i], entry) and fits(i + 1, j + 1)

    return fits(0, 0)


def clip(box: np.ndarray, region) -> np.ndarray:
    x0, y0, x1, y1 = region
    return np.array([np.clip(box[0], x0, x1), np.clip(box[1], y0, y1), np.clip(box[2], x0, x1), np.clip(box[3], y0, y1)])


def area(box: np.ndarray) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def placed(source: Source, placement, clip_to, threshold: float) -> list[Expected]:
    """Expected fates of a source's boxes scaled and offset by ``placement``, clipped to ``clip_to``."""
    (scaled_h, scaled_w), (src_h, src_w) = placement.scaled_hw, source.hw
    ox, oy = placement.offset_xy
    scale = np.array([scaled_w / src_w, scaled_h / src_h] * 2)
    empty = clip_to[2] <= clip_to[0] or clip_to[3] <= clip_to[1]
    result = []
    for box, box_id in zip(source.boxes, source.ids):
        whole = box * scale + np.array([ox, oy, ox, oy])
        if empty:  # an integer region showing nothing: no float ambiguity
            result.append(Expected(box_id, [whole], "drop"))
            continue
        visible = clip(whole, clip_to)
        overlap = min(min(whole[2], clip_to[2]) - max(whole[0], clip_to[0]), min(whole[3], clip_to[3]) - max(whole[1], clip_to[1]))
        result.append(fate(box_id, [visible], area(visible) / area(whole), threshold, overlap))
    return result


def check_letterbox(placement, src_hw: tuple[int, int], canvas_hw: tuple[int, int]) -> None:
    """One aspect-keeping scale ``min(canvas / src)``, centred, the whole source shown."""
    assert tuple(placement.src_hw) == tuple(src_hw)
    scale = min(canvas_hw[0] / src_hw[0], canvas_hw[1] / src_hw[1])
    (scaled_h, scaled_w), (ox, oy) = placement.scaled_hw, placement.offset_xy
    for scaled, src, canvas, offset in ((scaled_h, src_hw[0], canvas_hw[0], oy), (scaled_w, src_hw[1], canvas_hw[1], ox)):
        assert abs(scaled - src * scale) <= 0.5 + 1e-9 or scaled == 1, "not one aspect-keeping scale"
        assert 1 <= scaled <= canvas
        assert abs(2 * offset + scaled - canvas) <= 1, "not centred"
    assert tuple(placement.region_xyxy) == (ox, oy, ox + scaled_w, oy + scaled_h)
    if tuple(src_hw) == tuple(canvas_hw):
        assert (ox, oy) == (0, 0) and tuple(placement.scaled_hw) == tuple(src_hw), "a same-size extra must be used as is"


# ----- Mosaic ---------------------------------------------------------------------------------


@st.composite
def mosaic_case(draw) -> Case:
    case = draw(case_strategy((3, 5)))
    low = draw(st.floats(0.0, 1.0))
    case.params = {
        "target_size": (draw(st.integers(8, 200)), draw(st.integers(8, 200))),
        "center_range": (low, draw(st.floats(low, 1.0))),
    }
    if draw(st.booleans()):  # the recipe's zoom and shift, folded into the same placements
        zoom_low = draw(st.floats(0.2, 2.0))
        case.params["scale_range"] = (zoom_low, draw(st.floats(zoom_low, 2.0)))
        case.params["translate"] = draw(st.floats(0.0, 0.5))
    return case


@SETTINGS
@given(mosaic_case())
def test_mosaic_properties(case: Case) -> None:
    target = case.params["target_size"]

    def make():
        return detmix.Mosaic(**case.params, interpolation=case.interpolation, p=1)

    out, params, sources = run_twice(case, make, "mosaic_metadata", case.min_visibility)
    placements = params["placements"]
    assert len(placements) == 4 and len(sources) == 4

    # The documented layout: long side zoom * max(target_size) (zoom drawn in scale_range, 1 by
    # default), aspect kept, the four meeting at a centre drawn in center_range, zoomed about the
    # output's middle and shifted by up to translate of each side; primary top-left, then
    # top-right, bottom-left, bottom-right.
    height, width = target
    tl, tr, bl, br = placements
    centre = (tl.offset_xy[0] + tl.scaled_hw[1], tl.offset_xy[1] + tl.scaled_hw[0])
    low, high = case.params["center_range"]
    zoom_low, zoom_high = case.params.get("scale_range", (1.0, 1.0))
    translate = case.params.get("translate", 0.0)
    for axis, side in ((0, width), (1, height)):
        reach = [side / 2 + z * (c * side - side / 2) for z in (zoom_low, zoom_high) for c in (low, high)]
        slack = 0.5 * zoom_high + 0.5 + 1e-6 + translate * side
        assert min(reach) - slack <= centre[axis] <= max(reach) + slack
    long_sides = {max(p.scaled_hw) for p in placements}
    assert len(long_sides) == 1, "one zoom for the whole mosaic"
    long_side = long_sides.pop()
    assert round(zoom_low * max(target)) <= long_side <= round(zoom_high * max(target)) or long_side == 1
    # Without a zoom range the scale is exact; with one it is read off the rounded long side.
    zoom, rounding = (long_side / max(target), 1.0) if "scale_range" in case.params else (1.0, 0.5)
    assert (tr.offset_xy[0], tr.offset_xy[1] + tr.scaled_hw[0]) == centre
    assert (bl.offset_xy[0] + bl.scaled_hw[1], bl.offset_xy[1]) == centre
    assert tuple(br.offset_xy) == centre
    for placement, source in zip(placements, sources):
        assert tuple(placement.src_hw) == source.hw
        (scaled_h, scaled_w), (src_h, src_w) = placement.scaled_hw, source.hw
        scale = zoom * max(target) / max(source.hw)
        assert abs(scaled_h - src_h * scale) <= rounding + 1e-9 or scaled_h == 1
        assert abs(scaled_w - src_w * scale) <= rounding + 1e-9 or scaled_w == 1
        ox, oy = placement.offset_xy
        region = (max(0, ox), max(0, oy), min(width, ox + scaled_w), min(height, oy + scaled_h))
        assert tuple(placement.region_xyxy) == region

    expected = []
    for placement, source in zip(placements, sources):
        expected += placed(source, placement, placement.region_xyxy, case.min_visibility)
    check_output(case, out, target, expected)


# ----- MixUp ----------------------------------------------------------------------------------


@st.composite
def mixup_case(draw) -> Case:
    case = draw(case_strategy((1, 3), same_size_extras=True))
    case.params = {"alpha": draw(st.floats(0.05, 64.0))}
    return case


@SETTINGS
@given(mixup_case())
def test_mixup_properties(case: Case) -> None:
    def make():
        return detmix.MixUp(**case.params, interpolation=case.interpolation, p=1)

    # BboxParams.min_visibility drops nothing: every box is whole in the blend.
    out, params, (primary, other) = run_twice(case, make, "mixup_metadata", case.min_visibility)
    assert 0 < params["lam"] < 1
    placement = params["placement"]
    check_letterbox(placement, other.hw, primary.hw)

    # Every box kept: the primary's unchanged, the other's letterboxed (unchanged at the same size).
    expected = [Expected(i, [b], "keep") for b, i in zip(primary.boxes, primary.ids)]
    expected += [Expected(e.id, e.candidates, "keep") for e in placed(other, placement, (0, 0, *primary.hw[::-1]), 0.0)]
    if other.hw == primary.hw:
        assert all(np.allclose(e.candidates[0], b) for e, b in zip(expected[len(primary.ids) :], other.boxes))
    check_output(case, out, primary.hw, expected)
    assert len(out["bboxes"]) == len(primary.ids) + len(other.ids)


# ----- CutMix ---------------------------------------------------------------------------------


def remainder_bbox(box: np.ndarray, rect) -> tuple[np.ndarray, float]:
    """Bounding box of ``box`` minus ``rect`` (as the union of the up to four pieces left) and its fraction left."""
    x0, y0, x1, y1 = box
    rx0, ry0, rx1, ry1 = rect
    overlap = area(clip(box, rect))
    if overlap == 0:
        return box.copy(), 1.0
    pieces = [
        (x0, y0, min(rx0, x1), y1),  # left of the rect
        (max(rx1, x0), y0, x1, y1),  # right of it
        (x0, y0, x1, min(ry0, y1)),  # above it
        (x0, max(ry1, y0), x1, y1),  # below it
    ]
    pieces = [p for p in pieces if p[2] > p[0] and p[3] > p[1]]
    fraction = 1.0 - overlap / area(box)
    if not pieces:
        return np.array([x0, y0, x0, y0]), 0.0
    pieces = np.array(pieces)
    return np.array([pieces[:, 0].min(), pieces[:, 1].min(), pieces[:, 2].max(), pieces[:, 3].max()]), fraction


@st.composite
def cutmix_case(draw) -> Case:
    case = draw(case_strategy((1, 3), same_size_extras=True))
    case.params = {
        "alpha": draw(st.floats(0.05, 20.0)),
        "min_visibility": draw(st.one_of(st.sampled_from([0.0, 0.25, 1.0]), st.floats(0.0, 1.0))),
    }
    return case


@SETTINGS
@given(cutmix_case())
def test_cutmix_properties(case: Case) -> None:
    def make():
        return detmix.CutMix(**case.params, interpolation=case.interpolation, p=1)

    out, params, (primary, other) = run_twice(case, make, "cutmix_metadata", case.min_visibility)
    height, width = primary.hw
    rect = params["rect"]
    rx0, ry0, rx1, ry1 = rect
    assert all(isinstance(v, (int, np.integer)) for v in rect)
    assert 0 <= rx0 <= rx1 <= width and 0 <= ry0 <= ry1 <= height, rect
    placement = params["placement"]
    check_letterbox(placement, other.hw, primary.hw)
    threshold = max(case.params["min_visibility"], case.min_visibility)

    expected = []
    for box, box_id in zip(primary.boxes, primary.ids):
        # Boxes come back through float32: when an edge of the rect meets an edge of the box,
        # either side of the tie is acceptable.
        outcomes = [remainder_bbox(box, np.add(rect, d)) for d in (0.0, AMBIGUOUS, -AMBIGUOUS, [-1e-3, -1e-3, 1e-3, 1e-3], [1e-3, 1e-3, -1e-3, -1e-3])]
        entry = fate(box_id, [o[0] for o in outcomes], outcomes[0][1], threshold)
        if all(o[1] == 1.0 for o in outcomes):
            entry.status = "keep"  # the rect is nowhere near: untouched, whatever the threshold
        elif any(fate(box_id, [o[0]], o[1], threshold).status != entry.status for o in outcomes):
            entry.status = "maybe"
        expected.append(entry)
    px0, py0, px1, py1 = placement.region_xyxy
    shown = (max(px0, rx0), max(py0, ry0), min(px1, rx1), min(py1, ry1))  # may be empty (inverted)
    expected += placed(other, placement, shown, threshold)
    check_output(case, out, primary.hw, expected)


# ----- channels -------------------------------------------------------------------------------

TRANSFORMS = {
    "Mosaic": (lambda interpolation: detmix.Mosaic(target_size=(37, 50), interpolation=interpolation, p=1), "mosaic_metadata", 3),
    "MixUp": (lambda interpolation: detmix.MixUp(interpolation=interpolation, p=1), "mixup_metadata", 1),
    "CutMix": (lambda interpolation: detmix.CutMix(alpha=0.5, interpolation=interpolation, p=1), "cutmix_metadata", 1),
}
@pytest.mark.parametrize("name", sorted(TRANSFORMS))
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("interpolation", INTERPOLATIONS, ids=["NEAREST", "LINEAR", "CUBIC", "LANCZOS4"])
def test_more_than_four_channels_with_every_interpolation(name: str, dtype, interpolation: int) -> None:
    """Images of 5 channels (README: "1, 3 or more channels") with each documented interpolation."""
    make, key, n_extras = TRANSFORMS[name]
    rng = np.random.default_rng(0)
    image = (rng.random((30, 40, 5)) * (255 if dtype == np.uint8 else 1)).astype(dtype)
    extras = [{"image": (rng.random((25, 20, 5)) * (255 if dtype == np.uint8 else 1)).astype(dtype)} for _ in range(n_extras)]
    out = A.Compose([make(interpolation)], seed=0)(image=image, **{key: extras})
    expected_hw = (37, 50) if name == "Mosaic" else (30, 40)
    assert out["image"].shape == (*expected_hw, 5) and out["image"].dtype == dtype
    # Each channel is transformed as the same image would be on its own.
    single = A.Compose([make(interpolation)], seed=0)(image=image[..., 2].copy(), **{key: [{"image": e["image"][..., 2].copy()} for e in extras]})
    tolerance = 0 if interpolation == cv2.INTER_NEAREST else 1
    np.testing.assert_allclose(
        out["image"][..., 2].astype(np.float64) * (1 if dtype == np.uint8 else 255),
        single["image"].astype(np.float64) * (1 if dtype == np.uint8 else 255),
        atol=tolerance + 1e-3,
    )
