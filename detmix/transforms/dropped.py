"""Why a box was dropped: the mixers' box-rule verdicts, recorded for one call when asked.

Ask with Albumentations' own switch, ``A.Compose(..., save_applied_params=True)``: the output
then carries ``applied_transforms``, a ``(name, params)`` pair per transform that ran, and each
detmix mixer's params hold, under :data:`DROPPED_BBOXES`, a :class:`DroppedBox` for every box
its rule dropped. :func:`dropped_boxes` gathers them from the output. Without the switch
nothing is recorded and nothing is computed: the rule runs as it always does.

The explanation reuses the rule itself (:meth:`~detmix.transforms.base.MixingTransform.box_rule`'s
threshold and Albumentations' ``filter_bboxes`` for the size rules, one rule at a time), so a
reason can never disagree with the verdict.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import albumentations as A
import numpy as np
from albumentations.core.bbox_utils import normalize_bboxes
from albumentations.core.serialization import SERIALIZABLE_REGISTRY

from detmix import boxes as B
from detmix.transforms.base import APPLIED_TRANSFORMS, DROP_RECORDER, VISIBILITY_EPS, Instances
from detmix.transforms.copy_paste import CopyPaste
from detmix.transforms.cutmix import CutMix
from detmix.transforms.mixup import MixUp
from detmix.transforms.size_rules import passes_size_rules

if TYPE_CHECKING:
    from detmix.transforms.base import MixingTransform

#: Key of a mixer's applied params (``out["applied_transforms"]``) holding its :class:`DroppedBox` list.
DROPPED_BBOXES = "dropped_bboxes"
XYXY = tuple[float, float, float, float]
#: Transforms that move no pixel of their input, or only resize all of it (which
#: :func:`detmix.draw.dropped_outline` scales for): detmix's mixers that keep the primary's frame,
#: and Albumentations' whole-image resizes. Any other DualTransform may move pixels.
FRAME_KEEPING: tuple[type, ...] = (MixUp, CutMix, CopyPaste, A.Resize, A.LongestMaxSize, A.SmallestMaxSize, A.NoOp)


@dataclass(frozen=True)
class DroppedBox:
    """One box a mixer's rule dropped, and why.

    Attributes:
        transform: the mixer's class name (``"Mosaic"``).
        source: ``"primary"`` or ``"extra i"``, the i-th extra the mixer took (for Mosaic 0, 1, 2
            are the top-right, bottom-left and bottom-right quadrants).
        bbox: what was visible of it, ``x_min, y_min, x_max, y_max`` in the mixer's output pixels
            (with instance masks: its mask's extent); None when nothing was.
        whole_bbox: the whole box at the output scale and position, as if nothing covered or cut it.
        labels: its label fields (as the Compose's ``BboxParams.label_fields`` name them), decoded.
        visibility: its visible fraction (with instance masks: mask pixels left over the whole mask's).
        min_visibility: the least visible fraction it needed: ``max(BboxParams.min_visibility,
            mixer.min_visibility)``.
        rule: what dropped it, in a word: ``"nothing visible"``, ``"mask empty"`` (with instance
            masks: its box shows, but every pixel of its object is covered), ``"min_visibility"``,
            or the first of the Compose's size rules it failed: ``"min_area"``, ``"min_width"``,
            ``"min_height"``, ``"max_accept_ratio"``.
        reason: the rule with its numbers: ``"visible fraction 0.07 < min_visibility 0.1 (BboxParams)"``
            (``(CutMix)`` when the mixer's own threshold is the larger), ``"width 0.8 < min_width 1"``
            (pixels); every size rule it failed, joined by ``"; "``.
        image_hw: the mixer's output ``(height, width)``, the frame of ``bbox`` and ``whole_bbox``.
    """

    transform: str
    source: str
    bbox: XYXY | None
    whole_bbox: XYXY
    labels: dict[str, Any]
    visibility: float
    min_visibility: float
    rule: str
    reason: str
    image_hw: tuple[int, int]

    @property
    def visibility_text(self) -> str:
        """:attr:`visibility` as :attr:`reason` writes it: to 2 significant digits, or as many more
        as it takes to show a fraction under :attr:`min_visibility` below it."""
        return _below(self.visibility, self.min_visibility)


def dropped_boxes(result: Mapping[str, Any]) -> list[DroppedBox]:
    """Every box the detmix mixers of one call dropped, in the order they ran.

    Args:
        result: the output of an ``A.Compose(..., save_applied_params=True)`` call (or a detmix
            dataset sample made through such a Compose).

    Raises:
        ValueError: ``result`` has no ``applied_transforms`` (the Compose was made without
            ``save_applied_params=True``).
    """
    return [box for box, _ in dropped_and_moved(result)]


def dropped_and_moved(result: Mapping[str, Any]) -> list[tuple[DroppedBox, str | None]]:
    """Each box of :func:`dropped_boxes` (the same errors), with the name of the first transform after its mixer that
    may have moved pixels (a crop, a flip, another Mosaic): its :attr:`~DroppedBox.bbox` is then
    not where the object is on the output. None when only transforms of :data:`FRAME_KEEPING` or
    pixel-only ones followed.

    Judged from the names in ``applied_transforms`` (the transforms that ran), conservatively: a
    name that is not a registered Albumentations transform, or that names a DualTransform outside
    :data:`FRAME_KEEPING` (any of its namesakes), counts as moving.
    """
    if APPLIED_TRANSFORMS not in result:
        raise ValueError(f"dropped_boxes: expected the output of A.Compose(..., save_applied_params=True), got keys {sorted(result)}")
    applied = list(result[APPLIED_TRANSFORMS])
    moved = []
    for position, (_, params) in enumerate(applied):
        if boxes := params.get(DROPPED_BBOXES):
            mover = next((name for name, _ in applied[position + 1 :] if _may_move(name)), None)
            moved += [(box, mover) for box in boxes]
    return moved


def _may_move(name: str) -> bool:
    """Whether a transform whose class is called ``name`` may move pixels (see :func:`dropped_and_moved`)."""
    classes = [cls for cls in SERIALIZABLE_REGISTRY.values() if isinstance(cls, type) and cls.__name__ == name]
    return not classes or any(issubclass(cls, A.DualTransform) and not issubclass(cls, FRAME_KEEPING) for cls in classes)


@contextmanager
def recording_drops(transform: MixingTransform, params: dict[str, Any], primary: np.ndarray | None) -> Iterator[None]:
    """While ``transform`` applies ``params`` to a primary with ``primary`` boxes (normalized,
    encoded rows), record each box its rule drops into ``params[DROPPED_BBOXES]``."""
    params[DROPPED_BBOXES] = []
    token = DROP_RECORDER.set(functools.partial(_record, transform, params, primary))
    try:
        yield
    finally:
        DROP_RECORDER.reset(token)


def _record(
    transform: MixingTransform,
    params: dict[str, Any],
    primary: np.ndarray | None,
    boxes: np.ndarray,
    visibility: np.ndarray,
    keep: np.ndarray,
    canvas_hw: tuple[int, int],
    dtype: np.dtype,
    instances: Instances | None,
) -> None:
    """Add the dropped rows of one verdict of the box rule to ``params``' record, each with its
    source, whole box, labels and reason."""
    dropped = np.flatnonzero(~keep)
    if not len(dropped):
        return
    if instances is not None:
        visible, visibility = instances.boxes, instances.visibility
    else:
        visible = boxes[:, :4]
    sources, whole = _whole_boxes(transform, params, primary)
    seen = B.box_areas(visible) > 0
    box_shows = B.box_areas(boxes[dropped]) > 0 if instances is not None else None  # the box, not the mask
    reasons = _reasons(transform, visible[dropped], visibility[dropped], canvas_hw, dtype, box_shows)
    fields = transform.bbox_label_fields()
    threshold = transform.visibility_threshold()
    params[DROPPED_BBOXES] += [
        DroppedBox(
            transform=type(transform).__name__,
            source=sources[row],
            bbox=_xyxy(visible[row]) if seen[row] else None,
            whole_bbox=_xyxy(whole[row]),
            labels={field: _decoded(transform, field, boxes[row, 4 + k]) for k, field in enumerate(fields)},
            visibility=float(visibility[row]),
            min_visibility=threshold,
            rule=rule,
            reason=reason,
            image_hw=(int(canvas_hw[0]), int(canvas_hw[1])),
        )
        for row, (rule, reason) in zip(dropped, reasons)
    ]


def _whole_boxes(transform: MixingTransform, params: dict[str, Any], primary: np.ndarray | None) -> tuple[list[str], np.ndarray]:
    """Each output row's source name and whole box in output pixels, in output row order."""
    rows, placements = zip(*transform.bbox_sources(primary, params))
    pixels = transform.pixel_bboxes(list(rows), [p.src_hw for p in placements])
    names = [name for index, source in enumerate(pixels) for name in [_source_name(index)] * len(source)]
    whole = [B.scale_offset_boxes(source[:, :4], p.scale_xy, p.offset_xy) for source, p in zip(pixels, placements)]
    return names, np.concatenate(whole)


def _source_name(index: int) -> str:
    return "primary" if index == 0 else f"extra {index - 1}"


class _OneRule(NamedTuple):
    """``BboxParams``' size rules with only one of them set."""

    min_area: float = 0.0
    min_width: float = 0.0
    min_height: float = 0.0
    max_accept_ratio: float | None = None


def _reasons(
    transform: MixingTransform,
    visible: np.ndarray,
    visibility: np.ndarray,
    canvas_hw: tuple[int, int],
    dtype: np.dtype,
    box_shows: np.ndarray | None,
) -> list[tuple[str, str]]:
    """Why each of these dropped boxes (visible parts in output pixels) failed the rule: ``(rule, reason)``.

    ``box_shows``: with instance masks, whether each one's box shows on the output at all (else
    nothing of it is visible, rather than its mask being covered).
    """
    threshold = transform.visibility_threshold()
    params = transform.bbox_params()
    owner = type(transform).__name__ if params is None or transform.min_visibility > params.min_visibility else "BboxParams"
    widths, heights = visible[:, 2] - visible[:, 0], visible[:, 3] - visible[:, 1]
    failed: list[list[tuple[str, str]]] = [[] for _ in visible]
    if params is not None:
        normalized = normalize_bboxes(visible, canvas_hw).astype(dtype)  # judged as returned, as the rule does
        measures = {
            "min_area": (widths * heights, "area {:.4g} < min_area {:g}"),
            "min_width": (widths, "width {:.4g} < min_width {:g}"),
            "min_height": (heights, "height {:.4g} < min_height {:g}"),
            "max_accept_ratio": (np.maximum(widths, heights) / np.maximum(np.minimum(widths, heights), 1e-12), "aspect ratio {:.4g} > max_accept_ratio {:g}"),
        }
        for rule, (measure, text) in measures.items():
            limit = getattr(params, rule)
            if limit is None or (rule != "max_accept_ratio" and not limit):
                continue
            passed = passes_size_rules(normalized, canvas_hw, _OneRule(**{rule: limit}))
            for index in np.flatnonzero(~passed):
                failed[index].append((rule, text.format(measure[index], limit)))
    reasons = []
    for index, (area, fraction) in enumerate(zip(B.box_areas(visible), visibility)):
        if area <= 0 and box_shows is not None and box_shows[index]:
            reasons.append(("mask empty", "mask empty"))
        elif area > 0 and fraction < threshold - VISIBILITY_EPS:
            reasons.append(("min_visibility", f"visible fraction {_below(float(fraction), threshold)} < min_visibility {threshold:g} ({owner})"))
        elif area > 0 and failed[index]:
            reasons.append((failed[index][0][0], "; ".join(text for _, text in failed[index])))
        else:  # no area, or too little for Albumentations to tell from none
            reasons.append(("nothing visible", "nothing visible"))
    return reasons


def _below(fraction: float, threshold: float) -> str:
    """``fraction`` to 2 significant digits, or the fewest more that still show it below ``threshold`` when it is."""
    for digits in range(2, 10):
        text = f"{fraction:.{digits}g}"
        if float(text) < threshold or fraction >= threshold:
            return text
    return repr(fraction)


def _decoded(transform: MixingTransform, field: str, encoded: float) -> Any:
    """One box's value of label field ``field``, as the caller passed it (a class name, an int ...)."""
    if transform.bbox_label_metadata(field) is None:
        return encoded
    manager = transform.get_processor("bboxes").label_manager
    value = np.asarray(manager.restore_field("bboxes", field, np.array([[encoded]]))).ravel()[0]
    return value.item() if isinstance(value, np.generic) else value


def _xyxy(box: np.ndarray) -> XYXY:
    return (float(box[0]), float(box[1]), float(box[2]), float(box[3]))
