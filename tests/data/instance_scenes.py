"""Flat-colour scenes for instance-mask tests: objects drawn into image files by a plainly correct reference.

Each object is painted, in its own colour, on the pixels whose centres lie inside its outline
(a per-edge crossing test on the exact vertices, nothing shared with the library), so an
instance mask can be checked against the image it came with. Objects of a scene never overlap.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from tests.data.builders import coco_rle, png_with_orientation, polygon_row

CATEGORIES = [{"id": 3, "name": "red"}, {"id": 7, "name": "green"}, {"id": 12, "name": "blue"}]
#: RGB colour of each class index: the pipeline tests read an object's class from its pixels.
CLASS_COLOURS = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255]], np.uint8)
#: pycocotools draws polygons with their vertices on a 1/5 px grid (each moves up to 0.1 px per
#: axis, 0.14 px in all) and then applies the pixel-centre rule exactly on that grid: a pixel it
#: gets wrong has its centre within 0.15 px of the true outline; 0.25 px leaves margin. A
#: rasterizer inking every pixel an edge touches (OpenCV's fillPoly) disagrees up to 1 px out.
OUTLINE_TOLERANCE = 0.25


def inside_polygon(vertices_xy: np.ndarray, image_hw: tuple[int, int]) -> np.ndarray:
    """Where the pixel centres ``(x + 0.5, y + 0.5)`` of an ``image_hw`` image lie inside the polygon (even-odd rule)."""
    ys, xs = np.mgrid[0 : image_hw[0], 0 : image_hw[1]] + 0.5
    inside = np.zeros(image_hw, bool)
    vertices = np.asarray(vertices_xy, np.float64)
    for (x1, y1), (x2, y2) in zip(vertices, np.roll(vertices, -1, axis=0)):
        if y1 == y2:
            continue
        spans = (y1 > ys) != (y2 > ys)
        inside ^= spans & (xs < x1 + (ys - y1) * (x2 - x1) / (y2 - y1))
    return inside


def outline_distance(vertices_xy: np.ndarray, points_xy: np.ndarray) -> np.ndarray:
    """Each point's distance to the closed polygon's outline."""
    a = np.asarray(vertices_xy, np.float64)
    b = np.roll(a, -1, axis=0)
    p = np.asarray(points_xy, np.float64)[:, None, :]
    edge = b - a
    t = np.clip(((p - a) * edge).sum(-1) / (edge * edge).sum(-1), 0, 1)
    return np.linalg.norm(p - (a + t[..., None] * edge), axis=-1).min(axis=1)


def box_pixels(box_xywh: tuple[float, float, float, float], image_hw: tuple[int, int]) -> np.ndarray:
    """Where the pixel centres lie in the box, ``x0 < x + 0.5 <= x1`` (the rule pycocotools' polygons follow)."""
    ys, xs = np.mgrid[0 : image_hw[0], 0 : image_hw[1]] + 0.5
    x, y, w, h = box_xywh
    return (xs > x) & (xs <= x + w) & (ys > y) & (ys <= y + h)


def star(rng: np.random.Generator, center_xy: tuple[float, float], radius: float, n_vertices: int = 9) -> np.ndarray:
    """A random star-shaped (simple) polygon around ``center_xy``, ``(n, 2)`` pixels."""
    angles = np.sort(rng.uniform(0, 2 * np.pi, n_vertices))
    radii = rng.uniform(0.55, 1.0, n_vertices) * radius
    return np.stack([center_xy[0] + radii * np.cos(angles), center_xy[1] + radii * np.sin(angles)], axis=1)


def blob(rng: np.random.Generator, center_xy: tuple[float, float], radius: float, image_hw: tuple[int, int]) -> np.ndarray:
    """A random 0/1 blob (two overlapping ellipses) of up to ``radius`` around ``center_xy``."""
    mask = np.zeros(image_hw, np.uint8)
    for _ in range(2):
        cx, cy = (np.array(center_xy) + rng.uniform(-radius / 3, radius / 3, 2)).round().astype(int)
        axes = tuple(int(v) for v in rng.integers(2, int(radius * 2 / 3), 2))
        cv2.ellipse(mask, (int(cx), int(cy)), axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    return mask


@dataclass
class SceneObject:
    """One object: its class, its annotation, and the pixels it was painted on (upright, file size)."""

    label: int
    pixels: np.ndarray  # (H, W) bool
    polygons: list[np.ndarray] = field(default_factory=list)  # pixel vertices; empty for RLE and box-only
    segmentation: Any = None  # COCO JSON; None: box-only
    box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # COCO [x, y, w, h]
    crowd: bool = False


def make_object(kind: str, rng: np.random.Generator, label: int, cell_xywh: tuple[int, int, int, int], image_hw: tuple[int, int]) -> SceneObject:
    """An object of ``kind`` ("polygon", "multipolygon", "rle", "rle_list", "crowd", "box") inside a cell."""
    x, y, w, h = cell_xywh
    center, radius = (x + w / 2, y + h / 2), min(w, h) / 2 - 1.5
    if kind in ("polygon", "multipolygon"):
        halves = [(x + w / 4, y + h / 2), (x + 3 * w / 4, y + h / 2)]  # a multipolygon: one part in each half
        parts = [star(rng, center, radius)] if kind == "polygon" else [star(rng, c, min(w / 4, h / 2) - 1.5) for c in halves]
        parts = [np.round(p, 2) for p in parts]
        pixels = np.logical_or.reduce([inside_polygon(p, image_hw) for p in parts])
        lo, hi = np.concatenate(parts).min(0), np.concatenate(parts).max(0)
        return SceneObject(label, pixels, parts, [p.ravel().tolist() for p in parts], (*lo, *(hi - lo)))
    if kind == "box":
        box = (x + 2.3, y + 3.7, w - 4.6, h - 7.4)  # edges at .3 and .7: no tie, and any other rounding moves one
        return SceneObject(label, box_pixels(box, image_hw), box=box)
    pixels = blob(rng, center, radius, image_hw).astype(bool)
    ys, xs = np.nonzero(pixels)
    box = (float(xs.min()), float(ys.min()), float(xs.max() + 1 - xs.min()), float(ys.max() + 1 - ys.min()))
    return SceneObject(label, pixels, segmentation=coco_rle(pixels, compressed=kind == "rle"), box=box, crowd=kind == "crowd")


def paint(objects: list[SceneObject], image_hw: tuple[int, int], colours: np.ndarray) -> np.ndarray:
    """A black RGB image with each object's pixels in its colour (``colours[i]`` for object ``i``)."""
    image = np.zeros((*image_hw, 3), np.uint8)
    for obj, colour in zip(objects, colours):
        image[obj.pixels] = colour
    return image


def object_scene(seed: int, kinds: tuple[str, ...], image_hw: tuple[int, int]) -> tuple[np.ndarray, list[SceneObject], np.ndarray]:
    """An image with one object of each kind (classes 0, 1, 2, 0, ...) in its own cell of a 2 x 3
    grid, each in a colour of its own: the image, the objects and their colours."""
    rng = np.random.default_rng(seed)
    objects = [make_object(kind, rng, k % 3, cell, image_hw) for k, (kind, cell) in enumerate(zip(kinds, grid_cells(image_hw, 2, 3)))]
    colours = np.array([[40 * (k + 1), 255 - 30 * k, 90 + 20 * k] for k in range(len(objects))], np.uint8)
    return paint(objects, image_hw, colours), objects, colours


def grid_cells(image_hw: tuple[int, int], rows: int, cols: int) -> list[tuple[int, int, int, int]]:
    """The ``rows x cols`` cells of an image, row by row, as ``[x, y, w, h]``."""
    h, w = image_hw[0] // rows, image_hw[1] // cols
    return [(c * w, r * h, w, h) for r in range(rows) for c in range(cols)]


def write_coco(root: Path, scenes: list[tuple[np.ndarray, list[SceneObject]]], orientation: int = 1) -> tuple[Path, Path]:
    """Each ``(upright RGB image, objects)`` as ``root/images/img{i}.png`` (stored turned for ``orientation``) and a COCO JSON."""
    images, annotations = [], []
    for index, (image, objects) in enumerate(scenes):
        png_with_orientation(root / "images" / f"img{index}.png", image[..., ::-1], orientation)
        images.append({"id": index + 1, "file_name": f"img{index}.png", "height": image.shape[0], "width": image.shape[1]})
        for k, obj in enumerate(objects):
            annotation = {"id": 100 * (index + 1) + k, "image_id": index + 1, "category_id": CATEGORIES[obj.label]["id"], "bbox": list(obj.box), "iscrowd": int(obj.crowd)}
            if obj.segmentation is not None:
                annotation["segmentation"] = obj.segmentation
            annotations.append(annotation)
    path = root / "annotations.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": CATEGORIES}))
    return root / "images", path


def write_yolo(root: Path, scenes: list[tuple[np.ndarray, list[SceneObject]]], orientation: int = 1) -> Path:
    """Each scene as ``root/images/img{i}.png`` and a label file: polygon rows, box rows for box-only objects."""
    (root / "labels").mkdir(parents=True, exist_ok=True)
    for index, (image, objects) in enumerate(scenes):
        png_with_orientation(root / "images" / f"img{index}.png", image[..., ::-1], orientation)
        height, width = image.shape[:2]
        rows = []
        for obj in objects:
            if obj.polygons:
                rows.append(polygon_row(obj.label, obj.polygons[0] / [width, height]))
            else:
                x, y, w, h = obj.box
                rows.append(f"{obj.label} {(x + w / 2) / width:.6f} {(y + h / 2) / height:.6f} {w / width:.6f} {h / height:.6f}")
        (root / "labels" / f"img{index}.txt").write_text("\n".join(rows) + "\n")
    return root / "images"


def assert_mask_is_object(mask: np.ndarray, truth: np.ndarray, polygons: list[np.ndarray]) -> None:
    """``mask`` equals ``truth`` exactly, or (for polygons) but for pixels whose centres lie within
    :data:`OUTLINE_TOLERANCE` of an outline."""
    assert mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 1}
    wrong = np.argwhere(mask.astype(bool) != truth)
    if not polygons:
        assert not len(wrong), f"{len(wrong)} pixels differ from the object's, e.g. (row, col) {wrong[:5].tolist()}"
        return
    centres = wrong[:, ::-1] + 0.5
    distance = np.min([outline_distance(p, centres) for p in polygons], axis=0) if len(wrong) else np.zeros(0)
    assert (distance <= OUTLINE_TOLERANCE).all(), f"pixels {wrong[distance > OUTLINE_TOLERANCE][:5].tolist()} are {distance.max():.2f} px from the outline"


def assert_boxes_are_mask_extents(bboxes: np.ndarray, masks: np.ndarray) -> None:
    """Each COCO ``[x, y, w, h]`` box is the tight pixel extent of its mask, and every mask has a pixel."""
    assert len(bboxes) == len(masks)
    for box, mask in zip(np.asarray(bboxes, np.float64).reshape(-1, 4), masks):
        ys, xs = np.nonzero(mask)
        assert len(xs), "an empty mask was handed out"
        np.testing.assert_allclose(box, [xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()], atol=1e-3)


def assert_sample_shows_scene(sample: dict[str, Any], objects: list[SceneObject], colours: np.ndarray) -> None:
    """A sample of an :func:`object_scene` loaded at full size: each object's mask is the pixels
    the image file shows in its colour, its label is its class, its box its mask's extent."""
    masks = sample["masks"]
    assert masks.shape == (len(objects), *sample["image"].shape[:2])
    np.testing.assert_array_equal(sample["class_labels"], [obj.label for obj in objects])
    for mask, obj, colour in zip(masks, objects, colours):
        drawn = (sample["image"] == colour).all(axis=-1)  # the object's pixels, as the image file holds them
        np.testing.assert_array_equal(drawn, obj.pixels)
        assert_mask_is_object(mask, drawn, obj.polygons)
    assert_boxes_are_mask_extents(sample["bboxes"], masks)
