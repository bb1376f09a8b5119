"""Test helpers shared by test_pixel_truth and test_properties: box formats and flat-colour scenes.

A scene is a uint8 RGB image of a flat background with non-overlapping, axis-aligned, flat
rectangles, each in a colour no other object, no background and the fill (114) has, so that an
object can be found in any output image by its colour alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FORMATS = ("coco", "pascal_voc", "yolo", "albumentations")
FILL = 114
#: One background per source (primary, extras...), none grey, none an object colour.
BACKGROUNDS = ((0, 0, 0), (255, 255, 255), (0, 0, 255), (255, 0, 255), (0, 255, 0))
MAX_OBJECTS = 256


def object_colour(object_id: int) -> tuple[int, int, int]:
    """A colour unique to ``object_id`` (< MAX_OBJECTS); the red channel alone identifies it."""
    return (37 * object_id + 11) % 256, (91 * object_id + 157) % 256, (53 * object_id + 71) % 256


_RESERVED = {*BACKGROUNDS, (FILL, FILL, FILL)}
assert len({object_colour(i) for i in range(MAX_OBJECTS)}) == MAX_OBJECTS
assert not _RESERVED & {object_colour(i) for i in range(MAX_OBJECTS)}


def colour_keys(image: np.ndarray) -> np.ndarray:
    """``(H, W)`` int array packing each RGB pixel into one integer (for fast colour lookup)."""
    pixels = image.astype(np.int32)
    return (pixels[..., 0] << 16) | (pixels[..., 1] << 8) | pixels[..., 2]


def colour_key(colour: tuple[int, int, int]) -> int:
    return (colour[0] << 16) | (colour[1] << 8) | colour[2]


# ----- box formats ----------------------------------------------------------------------------


def to_format(xyxy: np.ndarray, fmt: str, hw: tuple[int, int]) -> np.ndarray:
    """Pixel ``x_min, y_min, x_max, y_max`` boxes ``(N, 4)`` in ``fmt`` for an image of ``hw``."""
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    height, width = hw
    x0, y0, x1, y1 = xyxy.T
    if fmt == "pascal_voc":
        out = np.stack([x0, y0, x1, y1], axis=1)
    elif fmt == "coco":
        out = np.stack([x0, y0, x1 - x0, y1 - y0], axis=1)
    elif fmt == "albumentations":
        out = np.stack([x0 / width, y0 / height, x1 / width, y1 / height], axis=1)
    elif fmt == "yolo":
        out = np.stack([(x0 + x1) / 2 / width, (y0 + y1) / 2 / height, (x1 - x0) / width, (y1 - y0) / height], axis=1)
        out = np.clip(out, 0.0, 1.0)
    else:
        raise ValueError(fmt)
    return out


def from_format(boxes, fmt: str, hw: tuple[int, int]) -> np.ndarray:
    """Boxes in ``fmt`` back to pixel ``x_min, y_min, x_max, y_max``, float64 ``(N, 4)``."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4) if len(boxes) else np.zeros((0, 4))
    height, width = hw
    a, b, c, d = boxes.T
    if fmt == "pascal_voc":
        return np.stack([a, b, c, d], axis=1)
    if fmt == "coco":
        return np.stack([a, b, a + c, b + d], axis=1)
    if fmt == "albumentations":
        return np.stack([a * width, b * height, c * width, d * height], axis=1)
    if fmt == "yolo":
        return np.stack([(a - c / 2) * width, (b - d / 2) * height, (a + c / 2) * width, (b + d / 2) * height], axis=1)
    raise ValueError(fmt)


# ----- scenes ---------------------------------------------------------------------------------


@dataclass
class Scene:
    """A rendered scene: ``rects`` are integer pixel ``xyxy`` boxes, ``ids`` the objects' ids."""

    image: np.ndarray
    rects: np.ndarray
    ids: np.ndarray

    @property
    def hw(self) -> tuple[int, int]:
        return self.image.shape[:2]

    def sample(self, fmt: str, field: str = "ids") -> dict:
        """The scene as a Compose-call sample (or extra): image, boxes in ``fmt``, the id field."""
        return {"image": self.image, "bboxes": to_format(self.rects, fmt, self.hw).tolist(), field: self.ids.tolist()}


def random_rects(
    rng: np.random.Generator,
    hw: tuple[int, int],
    count: int,
    side_range: tuple[int, int],
    gap: int = 3,
    attempts: int = 2000,
) -> np.ndarray:
    """Up to ``count`` integer rectangles of sides in ``side_range``, ``gap`` pixels apart.

    About a third are pushed against an image border so that edge cases get exercised.
    """
    height, width = hw
    rects: list[tuple[int, int, int, int]] = []
    for _ in range(attempts):
        if len(rects) == count:
            break
        w = int(rng.integers(side_range[0], min(side_range[1], width) + 1))
        h = int(rng.integers(side_range[0], min(side_range[1], height) + 1))
        x0, y0 = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
        border = rng.integers(0, 6)
        if border == 0:
            x0 = 0
        elif border == 1:
            x0 = width - w
        elif border == 2:
            y0 = height - h
        candidate = (x0, y0, x0 + w, y0 + h)
        if all(
            candidate[0] >= r[2] + gap or r[0] >= candidate[2] + gap or candidate[1] >= r[3] + gap or r[1] >= candidate[3] + gap
            for r in rects
        ):
            rects.append(candidate)
    return np.array(rects, dtype=np.int64).reshape(-1, 4)


def render_scene(hw: tuple[int, int], rects: np.ndarray, ids: np.ndarray, background: tuple[int, int, int]) -> np.ndarray:
    """A uint8 RGB image of ``hw``: ``background`` with each rect filled in its object's colour."""
    image = np.empty((*hw, 3), dtype=np.uint8)
    image[...] = background
    for (x0, y0, x1, y1), object_id in zip(rects, ids):
        image[y0:y1, x0:x1] = object_colour(int(object_id))
    return image


def make_scene(
    rng: np.random.Generator,
    hw: tuple[int, int],
    count: int,
    side_range: tuple[int, int],
    first_id: int,
    background: tuple[int, int, int],
    gap: int = 3,
) -> Scene:
    """A random scene whose objects have ids ``first_id, first_id + 1, ...``."""
    rects = random_rects(rng, hw, count, side_range, gap)
    ids = np.arange(first_id, first_id + len(rects))
    assert ids.max(initial=0) < MAX_OBJECTS
    return Scene(render_scene(hw, rects, ids, background), rects, ids)
