"""Draw augmented samples of a detection dataset as one grid PNG, with boxes, class names and instance masks.

Each row runs one pipeline — an ``A.Compose`` holding detmix's Mosaic, MixUp, CutMix or all three
(every transform at ``p=1``), and CopyPaste where the dataset has instance masks — over the same
primary images, drawn from a ``CocoDetection`` or ``YoloDetection`` that feeds the mixers their
extra samples. A dataset with segmentations (COCO polygons or RLEs, YOLO polygon rows) is read
with ``masks="instance"`` and each object's mask is drawn as a translucent fill with its outline.
Cells are letterboxed to one size; boxes and masks are drawn after that resize, with OpenCV only.

Usage:
    python tools/visualize.py                              # fixture COCO set, every pipeline -> out/augmented.png
    python tools/visualize.py --pipeline mosaic --samples 6 --seed 3
    python tools/visualize.py --dataset fixtures/yolo/images --out out/yolo.png
    python tools/visualize.py --dataset path/to/instances.json --format coco   # images/ beside the JSON
    python tools/visualize.py --seed 23 --cell 224 --out docs/augmented.png    # the README picture
    python tools/visualize.py --pipeline copypaste --samples 4 --out out/copypaste.png
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # before albumentations is imported

import albumentations as A  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402

import detmix  # noqa: E402
from detmix.boxes import scale_offset_boxes  # noqa: E402
from detmix.functional.placement import Placement, letterbox_placement  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATASET = REPO / "fixtures" / "coco" / "annotations.json"
DEFAULT_OUT = REPO / "out" / "augmented.png"
MOSAIC_SIZE = (512, 512)
#: Row titles, in grid order; ``grid`` draws every one of them.
PIPELINES = {"mosaic": "Mosaic", "mixup": "MixUp", "cutmix": "CutMix", "all": "All three", "copypaste": "CopyPaste"}
#: Pipelines that need instance masks: left out of the grid for a dataset without segmentations.
MASK_PIPELINES = ("copypaste",)
#: Weight of a mask's colour in its translucent fill.
MASK_ALPHA = 0.45
BACKGROUND = (32, 32, 32)
LABEL_WIDTH = 120
GAP = 4
FONT = cv2.FONT_HERSHEY_SIMPLEX
#: One colour per class index (RGB), cycled.
PALETTE = [
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
    (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212),
]  # fmt: skip


def build_pipeline(name: str, seed: int) -> A.Compose:
    """The seeded Compose of one pipeline: ``mosaic``, ``mixup``, ``cutmix``, ``all`` or ``copypaste``.

    Its boxes carry ``detmix.MASK_INDICES`` too, so a dataset with instance masks can run it.
    """
    transforms: dict[str, list[A.BasicTransform]] = {
        "mosaic": [detmix.Mosaic(target_size=MOSAIC_SIZE, p=1.0)],
        "mixup": [detmix.MixUp(p=1.0)],
        "cutmix": [detmix.CutMix(p=1.0)],
        "all": [detmix.Mosaic(target_size=MOSAIC_SIZE, p=1.0), detmix.MixUp(p=1.0), detmix.CutMix(p=1.0)],
        "copypaste": [detmix.CopyPaste(scale_range=(0.5, 1.5), instance_p=0.7, p=1.0)],
    }
    bbox_params = A.BboxParams(format="pascal_voc", label_fields=["class_labels", detmix.MASK_INDICES], min_visibility=0.1)
    return A.Compose(transforms[name], bbox_params=bbox_params, seed=seed)


def has_segmentations(path: Path, dataset_format: str) -> bool:
    """Whether the dataset at ``path`` segments any object: a COCO segmentation, a YOLO polygon row."""
    if dataset_format == "coco":
        return any(ann.get("segmentation") for ann in json.loads(path.read_text()).get("annotations", []))
    images_dir = path / "images" if (path / "images").is_dir() else path
    dataset = detmix.YoloDetection(images_dir, names=find_names(images_dir), verbose=False)
    return any(polygon is not None for record in dataset.records for polygon in record.polygons)


def detect_format(path: Path) -> str:
    """``coco`` for a JSON file, ``yolo`` for a folder."""
    if path.is_file() and path.suffix.lower() == ".json":
        return "coco"
    if path.is_dir():
        return "yolo"
    raise ValueError(f"--dataset {path}: expected a COCO annotation JSON or a YOLO images folder")


def find_names(images_dir: Path) -> Path | None:
    """The data.yaml beside (or inside) a YOLO images folder, if there is one."""
    for folder in (images_dir.parent, images_dir):
        for candidate in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
            return candidate
    return None


def open_dataset(path: Path, dataset_format: str, transform: A.Compose, masks: bool) -> detmix.CocoDetection | detmix.YoloDetection:
    """A detmix dataset over ``path`` that runs ``transform``, with instance masks if ``masks``.

    COCO: ``path`` is the annotation JSON and its images are in the ``images`` folder beside it
    (or beside the JSON itself when there is none). YOLO: ``path`` is the images folder, or a
    dataset root holding ``images/``; labels are the sibling ``labels`` folder, class names come
    from a ``*.yaml`` next to the images folder when there is one.
    """
    if dataset_format == "coco":
        if not path.is_file():
            raise ValueError(f"--dataset {path}: a COCO dataset is given by its annotation JSON file")
        images_dir = path.parent / "images" if (path.parent / "images").is_dir() else path.parent
        return detmix.CocoDetection(images_dir, path, transform, masks="instance" if masks else False)
    if not path.is_dir():
        raise ValueError(f"--dataset {path}: a YOLO dataset is given by its images folder")
    images_dir = path / "images" if (path / "images").is_dir() else path
    return detmix.YoloDetection(images_dir, names=find_names(images_dir), transform=transform, masks="instance" if masks else False)


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, Placement]:
    """``image`` fitted into a ``size`` x ``size`` cell by detmix's letterbox geometry: (cell, placement)."""
    placement = letterbox_placement(image.shape[:2], (size, size))
    (new_h, new_w), (dx, dy) = placement.scaled_hw, placement.offset_xy
    cell = np.full((size, size, 3), BACKGROUND, np.uint8)
    interpolation = cv2.INTER_AREA if max(new_h, new_w) < max(image.shape[:2]) else cv2.INTER_LINEAR
    cell[dy : dy + new_h, dx : dx + new_w] = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    return cell, placement


def draw_masks(cell: np.ndarray, masks: np.ndarray, labels: Sequence[Any], placement: Placement) -> None:
    """Each instance mask as a translucent fill of its class colour with a solid outline, in place."""
    (new_h, new_w), (dx, dy) = placement.scaled_hw, placement.offset_xy
    view = cell[dy : dy + new_h, dx : dx + new_w]
    for mask, label in zip(masks, labels):
        shown = cv2.resize(mask, (new_w, new_h), interpolation=cv2.INTER_NEAREST) > 0
        colour = np.array(PALETTE[int(label) % len(PALETTE)], np.float32)
        view[shown] = (view[shown] * (1 - MASK_ALPHA) + colour * MASK_ALPHA).astype(np.uint8)
        contours, _ = cv2.findContours(shown.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(view, contours, -1, PALETTE[int(label) % len(PALETTE)], 1, cv2.LINE_AA)


def draw_sample(sample: dict[str, Any], classes: Sequence[str], size: int) -> np.ndarray:
    """One grid cell: the sample's image letterboxed to ``size``, its instance masks, pascal_voc boxes and class names on it."""
    cell, placement = letterbox(sample["image"], size)
    if "masks" in sample:
        draw_masks(cell, sample["masks"], sample["class_labels"], placement)
    boxes = np.asarray(sample["bboxes"], dtype=np.float64).reshape(-1, 4)
    cell_boxes = scale_offset_boxes(boxes, placement.scale_xy, placement.offset_xy)
    for box, label in zip(cell_boxes, sample["class_labels"]):
        x0, y0, x1, y1 = (round(float(v)) for v in box)
        p0, p1 = (x0, y0), (x1 - 1, y1 - 1)
        colour = PALETTE[int(label) % len(PALETTE)]
        cv2.rectangle(cell, p0, p1, colour, 2, cv2.LINE_AA)
        name = classes[int(label)] if 0 <= int(label) < len(classes) else str(label)
        (text_w, text_h), baseline = cv2.getTextSize(name, FONT, 0.4, 1)
        left = max(0, min(p0[0], size - text_w - 4))  # keep the name inside the cell
        label_h = text_h + baseline + 2
        if p0[1] - label_h >= 0:  # above the box; at the top border inside a tall box, else below it
            top = p0[1] - label_h
        elif p1[1] - p0[1] < 2 * label_h and p1[1] + 1 + label_h <= size:
            top = p1[1] + 1
        else:
            top = p0[1]
        cv2.rectangle(cell, (left, top), (left + text_w + 4, top + label_h), colour, cv2.FILLED)
        text_colour = (0, 0, 0) if sum(colour) > 380 else (255, 255, 255)
        cv2.putText(cell, name, (left + 2, top + text_h + 1), FONT, 0.4, text_colour, 1, cv2.LINE_AA)
    return cell


def row_label(title: str, height: int) -> np.ndarray:
    """The title strip on the left of a row."""
    strip = np.full((height, LABEL_WIDTH, 3), BACKGROUND, np.uint8)
    (text_w, text_h), _ = cv2.getTextSize(title, FONT, 0.6, 2)
    cv2.putText(strip, title, ((LABEL_WIDTH - text_w) // 2, (height + text_h) // 2), FONT, 0.6, (240, 240, 240), 2, cv2.LINE_AA)
    return strip


def make_grid(dataset: Path, dataset_format: str, pipelines: Sequence[str], samples: int, seed: int, cell: int) -> np.ndarray:
    """The RGB grid: one row per pipeline, ``samples`` cells per row, the same primaries in every row."""
    rows = []
    masks = has_segmentations(dataset, dataset_format)
    if not masks:
        if set(pipelines) <= set(MASK_PIPELINES):
            raise ValueError(f"--pipeline {pipelines[0]} needs instance masks: {dataset} has no segmentations (COCO) or polygon rows (YOLO)")
        pipelines = [name for name in pipelines if name not in MASK_PIPELINES]
    ds = open_dataset(dataset, dataset_format, build_pipeline(pipelines[0], seed), masks)  # read (and warned about) once
    primaries = random.Random(seed).sample(range(len(ds)), min(samples, len(ds)))
    for name in pipelines:
        ds.transform = build_pipeline(name, seed)
        cells = [draw_sample(ds[i], ds.classes, cell) for i in primaries]
        gap = np.full((cell, GAP, 3), BACKGROUND, np.uint8)
        parts = [row_label(PIPELINES[name], cell)]
        for drawn in cells:
            parts += [gap, drawn]
        rows.append(np.hstack(parts))
    separator = np.full((GAP, rows[0].shape[1], 3), BACKGROUND, np.uint8)
    return np.vstack([part for row in rows for part in (separator, row)][1:])


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET, help="COCO annotation JSON (images/ beside it) or YOLO images folder (default: the fixture COCO set)")
    parser.add_argument("--format", choices=["coco", "yolo"], default=None, help="dataset layout (default: detected from --dataset)")
    parser.add_argument("--pipeline", choices=[*PIPELINES, "grid"], default="grid", help="one pipeline, or grid: one row for each (default)")
    parser.add_argument("--samples", type=int, default=4, help="samples per row (default: 4)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the primaries and of the transforms (default: 0)")
    parser.add_argument("--cell", type=int, default=320, help="side of one grid cell in pixels (default: 320)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"PNG to write (default: {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    if args.samples < 1:
        parser.error("--samples must be at least 1")
    if args.cell < 32:
        parser.error("--cell must be at least 32")
    try:
        args.format = args.format or detect_format(args.dataset)
    except ValueError as error:
        parser.error(str(error))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Write the grid PNG and print where; returns the exit status."""
    args = parse_args(argv)
    pipelines = list(PIPELINES) if args.pipeline == "grid" else [args.pipeline]
    try:
        grid = make_grid(args.dataset, args.format, pipelines, args.samples, args.seed, args.cell)
    except (OSError, ValueError) as error:
        print(f"visualize: {error}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(args.out), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        print(f"visualize: cannot write {args.out}", file=sys.stderr)
        return 1
    print(f"wrote {args.out} ({grid.shape[1]}x{grid.shape[0]}: {', '.join(pipelines)} x {args.samples} samples of {args.dataset})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
