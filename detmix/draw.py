"""Drawing detection samples: boxes, class names, instance masks and dropped boxes, in grid cells.

Used by ``detmix show`` (:mod:`detmix.cli`) and ``tools/visualize.py``; usable on any sample a
detmix dataset or an ``A.Compose`` gives. Every image is RGB ``uint8``. A sample is drawn into a
square cell: letterboxed by detmix's own letterbox geometry, then its masks, boxes and names
drawn at the cell's scale with OpenCV, so a thin box stays visible however large the image.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from detmix.boxes import scale_offset_boxes
from detmix.data.formats import convert_bboxes
from detmix.functional.placement import Placement, letterbox_placement
from detmix.transforms.dropped import DroppedBox

#: Weight of a mask's colour in its translucent fill.
MASK_ALPHA = 0.45
BACKGROUND = (32, 32, 32)
#: Width of the title strip on the left of each row, and the gap between cells and rows.
LABEL_WIDTH = 120
GAP = 4
FONT = cv2.FONT_HERSHEY_SIMPLEX
#: Dashes and gaps (pixels along the edge) of a dropped box's outline.
DASH = 6
DASH_GAP = 4
#: One colour per class index (RGB), cycled.
PALETTE = [
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
    (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212),
]  # fmt: skip


def class_colour(label: Any) -> tuple[int, int, int]:
    """The RGB colour of class index ``label``."""
    return PALETTE[int(label) % len(PALETTE)]


def class_name(label: Any, classes: Sequence[str]) -> str:
    """``classes[label]``, or the label itself when it indexes no class."""
    return classes[int(label)] if 0 <= int(label) < len(classes) else str(label)


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, Placement]:
    """``image`` fitted into a new ``size`` x ``size`` cell (aspect kept, centred): ``(cell, placement)``."""
    placement = letterbox_placement(image.shape[:2], (size, size))
    (new_h, new_w), (dx, dy) = placement.scaled_hw, placement.offset_xy
    cell = np.full((size, size, 3), BACKGROUND, np.uint8)
    interpolation = cv2.INTER_AREA if max(new_h, new_w) < max(image.shape[:2]) else cv2.INTER_LINEAR
    cell[dy : dy + new_h, dx : dx + new_w] = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    return cell, placement


def draw_masks(cell: np.ndarray, masks: Sequence[np.ndarray], labels: Sequence[Any], placement: Placement) -> None:
    """Draw each instance mask (image-sized, nonzero is the object) as a translucent fill of its
    class colour with a solid outline, into ``cell`` in place."""
    (new_h, new_w), (dx, dy) = placement.scaled_hw, placement.offset_xy
    view = cell[dy : dy + new_h, dx : dx + new_w]
    for mask, label in zip(masks, labels):
        shown = cv2.resize(mask, (new_w, new_h), interpolation=cv2.INTER_NEAREST) > 0
        colour = class_colour(label)
        view[shown] = (view[shown] * (1 - MASK_ALPHA) + np.array(colour, np.float32) * MASK_ALPHA).astype(np.uint8)
        contours, _ = cv2.findContours(shown.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(view, contours, -1, colour, 1, cv2.LINE_AA)


def draw_tag(cell: np.ndarray, text: str, box: tuple[int, int, int, int], colour: tuple[int, int, int], filled: bool = True) -> None:
    """Write ``text`` by the cell-pixel ``box`` (inclusive corners): above it, else at the top border
    inside a tall box, else below it; kept inside the cell. ``filled``: on a patch of ``colour``,
    else in ``colour`` on the background."""
    x0, y0, _, y1 = box
    size = cell.shape[0]
    (text_w, text_h), baseline = cv2.getTextSize(text, FONT, 0.4, 1)
    left = max(0, min(x0, cell.shape[1] - text_w - 4))
    label_h = text_h + baseline + 2
    if y0 - label_h >= 0:
        top = y0 - label_h
    elif y1 - y0 < 2 * label_h and y1 + 1 + label_h <= size:
        top = y1 + 1
    else:
        top = y0
    cv2.rectangle(cell, (left, top), (left + text_w + 4, top + label_h), colour if filled else BACKGROUND, cv2.FILLED)
    text_colour = ((0, 0, 0) if sum(colour) > 380 else (255, 255, 255)) if filled else colour
    cv2.putText(cell, text, (left + 2, top + text_h + 1), FONT, 0.4, text_colour, 1, cv2.LINE_AA)


def dashed_rectangle(cell: np.ndarray, box: tuple[int, int, int, int], colour: tuple[int, int, int], thickness: int = 2) -> None:
    """Outline the cell-pixel ``box`` (inclusive corners ``x0, y0, x1, y1``) inside its edges with
    dashes of :data:`DASH` pixels and gaps of :data:`DASH_GAP`, counted from the top-left corner."""
    x0, y0, x1, y1 = box
    if x1 < x0 or y1 < y0:
        return
    period = DASH + DASH_GAP
    along_x = np.arange(x1 - x0 + 1) % period < DASH
    along_y = np.arange(y1 - y0 + 1) % period < DASH
    for rows in (slice(y0, y0 + thickness), slice(max(y0, y1 - thickness + 1), y1 + 1)):
        cell[rows, x0 : x1 + 1][:, along_x] = colour
    for columns in (slice(x0, x0 + thickness), slice(max(x0, x1 - thickness + 1), x1 + 1)):
        cell[y0 : y1 + 1, columns][along_y] = colour


def _cell_boxes(boxes: np.ndarray, placement: Placement) -> list[tuple[int, int, int, int]]:
    """Pixel ``x_min, y_min, x_max, y_max`` boxes of the image as inclusive cell-pixel corners."""
    cell = scale_offset_boxes(np.asarray(boxes, np.float64).reshape(-1, 4), placement.scale_xy, placement.offset_xy)
    return [(round(x0), round(y0), round(x1) - 1, round(y1) - 1) for x0, y0, x1, y1 in cell.tolist()]


def draw_sample(sample: dict[str, Any], classes: Sequence[str], size: int, dropped: Sequence[DroppedBox] = ()) -> np.ndarray:
    """One grid cell: the sample's image letterboxed to ``size``, its instance masks, boxes and class names.

    Args:
        sample: ``image`` (RGB uint8), ``bboxes`` in ``sample["bbox_format"]`` (the format detmix's
            datasets report; default ``pascal_voc``), ``class_labels`` (class indices), and
            optionally ``masks`` (one per box).
        classes: class names by index.
        size: side of the square cell in pixels.
        dropped: boxes a mixer dropped on the way to this sample (:func:`detmix.dropped_boxes`),
            drawn by :func:`draw_dropped`.

    Returns:
        The ``(size, size, 3)`` uint8 RGB cell.
    """
    image = sample["image"]
    cell, placement = letterbox(image, size)
    if "masks" in sample:
        draw_masks(cell, sample["masks"], sample["class_labels"], placement)
    boxes = np.asarray(sample["bboxes"], np.float64).reshape(-1, 4)
    if sample.get("bbox_format", "pascal_voc") != "pascal_voc":
        boxes = convert_bboxes(boxes, sample["bbox_format"], "pascal_voc", image.shape[:2])
    for (x0, y0, x1, y1), label in zip(_cell_boxes(boxes, placement), sample["class_labels"]):
        cv2.rectangle(cell, (x0, y0), (x1, y1), class_colour(label), 2, cv2.LINE_AA)
        draw_tag(cell, class_name(label, classes), (x0, y0, x1, y1), class_colour(label))
    draw_dropped(cell, dropped, classes, placement, image.shape[:2])
    return cell


def dropped_outline(box: DroppedBox, image_hw: tuple[int, int]) -> tuple[float, float, float, float] | None:
    """Where :func:`draw_dropped` outlines ``box`` on an image of ``image_hw``, in its pixels: its
    visible part, scaled when the record was made at another size; None when nothing of it was
    visible. Right only when nothing after the mixer moved pixels, at most a whole-image resize:
    :func:`~detmix.transforms.dropped.dropped_and_moved` tells, and :func:`detmix.show.show`
    draws only those boxes."""
    if box.bbox is None:
        return None
    scale = np.array([image_hw[1] / box.image_hw[1], image_hw[0] / box.image_hw[0]] * 2)
    x0, y0, x1, y1 = np.clip(np.array(box.bbox) * scale, 0, [image_hw[1], image_hw[0]] * 2).tolist()
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def dropped_name(box: DroppedBox, classes: Sequence[str]) -> str:
    """The class name of a dropped box: its ``class_labels`` looked up in ``classes`` when it is an index."""
    label = box.labels.get("class_labels")
    return class_name(label, classes) if isinstance(label, (int, float, np.number)) else str(label)


def draw_dropped(cell: np.ndarray, dropped: Sequence[DroppedBox], classes: Sequence[str], placement: Placement, image_hw: tuple[int, int]) -> None:
    """Draw each dropped box at its :func:`dropped_outline` as a dashed outline in its class colour
    (white for a class that is not an index), labelled with its class, the rule that dropped it and
    its visible fraction (``disc: min_visibility, vis 0.07``), into ``cell`` in place."""
    for box in dropped:
        outline = dropped_outline(box, image_hw)
        if outline is None:
            continue
        (corners,) = _cell_boxes(np.array(outline), placement)
        label = box.labels.get("class_labels")
        colour = class_colour(label) if isinstance(label, (int, float, np.number)) else (255, 255, 255)
        dashed_rectangle(cell, corners, colour)
        draw_tag(cell, f"{dropped_name(box, classes)}: {box.rule}, vis {box.visibility_text}", corners, colour, filled=False)


def row_label(title: str, height: int) -> np.ndarray:
    """The title strip on the left of a row: ``(height, LABEL_WIDTH, 3)``."""
    strip = np.full((height, LABEL_WIDTH, 3), BACKGROUND, np.uint8)
    (text_w, text_h), _ = cv2.getTextSize(title, FONT, 0.6, 2)
    cv2.putText(strip, title, ((LABEL_WIDTH - text_w) // 2, (height + text_h) // 2), FONT, 0.6, (240, 240, 240), 2, cv2.LINE_AA)
    return strip


def grid(rows: Sequence[tuple[str, Sequence[np.ndarray]]]) -> np.ndarray:
    """Rows of equal cells, each row titled on its left, :data:`GAP` pixels between cells and rows.

    Args:
        rows: ``(title, cells)`` per row; every cell ``(size, size, 3)`` uint8 of one ``size``,
            every row with as many cells.

    Returns:
        The RGB grid, ``len(rows) * size + (len(rows) - 1) * GAP`` high and
        ``LABEL_WIDTH + cells * (GAP + size)`` wide.
    """
    drawn = []
    for title, cells in rows:
        size = cells[0].shape[0]
        parts = [row_label(title, size)]
        for cell in cells:
            parts += [np.full((size, GAP, 3), BACKGROUND, np.uint8), cell]
        drawn.append(np.hstack(parts))
    separator = np.full((GAP, drawn[0].shape[1], 3), BACKGROUND, np.uint8)
    return np.vstack([part for row in drawn for part in (separator, row)][1:])
