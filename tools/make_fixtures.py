"""Write the small detection dataset in ``fixtures/``, in COCO and in YOLO layout.

What it makes:
    * 12 synthetic scenes (320x240, 480x360, 256x384 and 640x480, three of each): filled squares
      (some rotated), discs (circles and ellipses) and triangles on gradient-and-texture
      backgrounds. Shapes do not overlap and lie wholly inside their image; each box is the exact
      pixel extent of its drawn shape and each COCO ``segmentation`` is the polygon it was drawn from.
    * 5 photographs bundled with scikit-image (astronaut, chelsea, coffee, rocket, coins), resized
      to a long side of 384 px, with hand-placed boxes (coins: boxes and polygons of a watershed
      segmentation). Their provenance and licences are written to ``fixtures/README.md``.

Both layouts hold the same images and the same objects in the same order:
    * ``coco/annotations.json`` + ``coco/images/`` — COCO instances format with non-contiguous
      category ids (see :data:`CATEGORY_IDS`);
    * ``yolo/images/`` + ``yolo/labels/`` (``class cx cy w h``, normalized, class = the contiguous
      index in category-id order) + ``yolo/data.yaml``.

scikit-image is a tool of this script only, imported when the photos are made; it is no dependency
of detmix, and the tests use the committed files. Everything is seeded: running the script again
rewrites the same bytes (with the same OpenCV and scikit-image).

Usage:
    python tools/make_fixtures.py [--out DIR]      # default: fixtures/ of this repository
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "fixtures"
SEED = 20240601
JPEG_QUALITY = 88
PHOTO_LONG_SIDE = 384

#: Class names in contiguous-index order (the YOLO class numbers).
CLASSES = ["person", "cat", "cup", "rocket", "coin", "square", "disc", "triangle"]
#: COCO category id of each class: increasing, so category-id order is the order of CLASSES, but with gaps.
CATEGORY_IDS = [1, 3, 7, 12, 17, 23, 30, 42]
#: (width, height) of the synthetic scenes, cycled.
SCENE_SIZES = [(320, 240), (480, 360), (256, 384), (640, 480)]
NUM_SCENES = 12

LICENSES = [
    {"id": 1, "name": "CC0 1.0 (synthetic, made by tools/make_fixtures.py)", "url": "https://creativecommons.org/publicdomain/zero/1.0/"},
    {"id": 2, "name": "Public domain", "url": ""},
    {"id": 3, "name": "CC0 1.0", "url": "https://creativecommons.org/publicdomain/zero/1.0/"},
    {"id": 4, "name": "No known copyright restrictions", "url": ""},
]


@dataclass
class Obj:
    """One annotated object: class index, pixel box [x, y, w, h], polygons (may be empty), area."""

    label: int
    box: tuple[int, int, int, int]
    polygons: list[list[int]] = field(default_factory=list)
    area: float = 0.0


@dataclass
class Picture:
    """One image with its objects, as written to both layouts."""

    name: str  # file stem
    image: np.ndarray  # H x W x 3 RGB, or H x W gray
    objects: list[Obj]
    license: int
    source: str


@dataclass(frozen=True)
class Photo:
    """A scikit-image sample photograph, its hand-placed boxes and where it comes from."""

    loader: str  # function name in skimage.data
    boxes: tuple[tuple[str, tuple[int, int, int, int]], ...]  # (class, [x0, y0, x1, y1]) after resizing
    license: int
    source: str


#: Boxes were placed by eye on the images resized to PHOTO_LONG_SIDE (x0, y0, x1, y1 pixels).
PHOTOS = [
    Photo(
        "astronaut",
        (("person", (15, 11, 276, 384)), ("rocket", (264, 0, 341, 201))),
        2,
        "skimage.data.astronaut(): Eileen Collins, NASA Great Images database; "
        "no known copyright restrictions, released into the public domain",
    ),
    Photo(
        "chelsea",
        (("cat", (0, 0, 336, 255)),),
        3,
        "skimage.data.chelsea(): Chelsea the cat; CC0 by the photographer (Stefan van der Walt)",
    ),
    Photo(
        "coffee",
        (("cup", (110, 10, 273, 196)),),
        3,
        "skimage.data.coffee(): coffee cup, courtesy of Pikolo Espresso Bar; CC0 by the photographer (Rachel Michetti)",
    ),
    Photo(
        "rocket",
        (("rocket", (184, 75, 202, 246)),),
        2,
        "skimage.data.rocket(): DSCOVR on Falcon 9, SpaceX; released into the public domain by SpaceX",
    ),
    Photo(
        "coins",
        (),  # found by segmentation, see coin_objects()
        4,
        "skimage.data.coins(): Greek coins from Pompeii, Brooklyn Museum Collection; no known copyright restrictions",
    ),
]


# ----- synthetic scenes ---------------------------------------------------------------------------


def background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A two-colour linear gradient at a random angle, with smooth low-frequency texture."""
    low, high = rng.integers(30, 226, size=(2, 3)).astype(np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    t = xs * math.cos(angle) + ys * math.sin(angle)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
    image = low + t[..., None] * (high - low)
    noise = rng.normal(0, 1, size=(height // 8 + 2, width // 8 + 2)).astype(np.float32)
    noise = cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    image += 14 * noise[..., None]
    if rng.random() < 0.5:  # faint stripes on some backgrounds
        period = rng.uniform(12, 30)
        image += 8 * np.sin(2 * math.pi * (xs * math.sin(angle) - ys * math.cos(angle)) / period)[..., None]
    return np.clip(image, 0, 255).astype(np.uint8)


def shape_polygon(rng: np.random.Generator, kind: str, cx: float, cy: float, size: float) -> np.ndarray:
    """Integer vertices (N x 2) of a square, disc or triangle of about ``size`` pixels across."""
    if kind == "square":
        angle = rng.choice([0.0, 0.0, rng.uniform(0, math.pi / 2)])
        half = size / 2 / (abs(math.cos(angle)) + abs(math.sin(angle)))  # fits in size x size
        corners = [(-half, -half), (half, -half), (half, half), (-half, half)]
        points = [(cx + x * math.cos(angle) - y * math.sin(angle), cy + x * math.sin(angle) + y * math.cos(angle)) for x, y in corners]
        return np.round(points).astype(np.int32)
    if kind == "disc":
        ratio = rng.choice([1.0, rng.uniform(0.5, 0.9)])
        axes = (round(size / 2), round(size / 2 * ratio))
        angle = int(rng.integers(0, 180)) if ratio < 1 else 0
        return cv2.ellipse2Poly((round(cx), round(cy)), axes, angle, 0, 360, 8).astype(np.int32)
    # triangle: three vertices on a circle, spread at least 80 degrees apart
    start = rng.uniform(0, 2 * math.pi)
    gaps = rng.dirichlet([4, 4, 4]) * (2 * math.pi - 3 * math.radians(80)) + math.radians(80)
    angles = start + np.concatenate([[0], np.cumsum(gaps[:2])])
    points = [(cx + size / 2 * math.cos(a), cy + size / 2 * math.sin(a)) for a in angles]
    return np.round(points).astype(np.int32)


def shape_colour(rng: np.random.Generator, under: np.ndarray) -> tuple[int, int, int]:
    """A saturated colour that stands out from the mean colour ``under`` it."""
    for _ in range(50):
        hue = int(rng.integers(0, 180))
        hsv = np.uint8([[[hue, int(rng.integers(170, 256)), int(rng.integers(150, 256))]]])
        colour = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)
        if np.abs(colour - under).sum() > 150:
            break
    return tuple(int(c) for c in colour)


def scene(rng: np.random.Generator, index: int) -> Picture:
    """One synthetic scene with 2 to 6 non-overlapping shapes wholly inside the image."""
    width, height = SCENE_SIZES[index % len(SCENE_SIZES)]
    image = background(rng, width, height)
    taken = np.zeros((height, width), bool)
    objects: list[Obj] = []
    wanted = int(rng.integers(2, 7))
    shorter = min(width, height)
    for _ in range(200):
        if len(objects) == wanted:
            break
        kind = ["square", "disc", "triangle"][int(rng.integers(0, 3))]
        size = rng.uniform(0.06, 0.4) * shorter if rng.random() < 0.85 else rng.uniform(12, 20)  # a few small ones
        cx, cy = rng.uniform(size / 2 + 2, width - size / 2 - 2), rng.uniform(size / 2 + 2, height - size / 2 - 2)
        polygon = shape_polygon(rng, kind, cx, cy, size)
        mask = np.zeros((height, width), np.uint8)
        cv2.fillPoly(mask, [polygon], 1)
        drawn = mask.astype(bool)
        if not drawn.any() or polygon.min() < 0 or (polygon[:, 0].max() >= width) or (polygon[:, 1].max() >= height):
            continue
        if (cv2.dilate(mask, np.ones((7, 7), np.uint8)).astype(bool) & taken).any():
            continue
        colour = shape_colour(rng, image[drawn].mean(axis=0))
        cv2.fillPoly(image, [polygon], colour)
        taken |= drawn
        ys, xs = np.nonzero(drawn)
        box = (int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))
        objects.append(Obj(CLASSES.index(kind), box, [polygon.reshape(-1).tolist()], float(drawn.sum())))
    return Picture(f"scene_{index:02d}", image, objects, 1, "synthetic scene drawn by tools/make_fixtures.py")


# ----- photographs --------------------------------------------------------------------------------


def resize_long_side(image: np.ndarray, long_side: int) -> np.ndarray:
    """``image`` scaled (INTER_AREA) so its longer side is ``long_side``; unchanged when it already is."""
    height, width = image.shape[:2]
    scale = long_side / max(height, width)
    if scale == 1:
        return image
    return cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)


def coin_objects(gray: np.ndarray) -> list[Obj]:
    """Boxes and polygons of the coins: watershed on the Sobel edges from dark/bright markers."""
    from scipy import ndimage
    from skimage import filters, measure, segmentation

    markers = np.zeros(gray.shape, np.int32)
    markers[gray < 30] = 1
    markers[gray > 150] = 2
    coins = ndimage.binary_fill_holes(segmentation.watershed(filters.sobel(gray), markers) == 2)
    labelled = measure.label(coins)
    objects = []
    for region in sorted(measure.regionprops(labelled), key=lambda r: (round(r.centroid[0] / 60), r.centroid[1])):
        if region.area < 300:  # specks, not coins
            continue
        y0, x0, y1, x1 = region.bbox
        mask = (labelled == region.label).astype(np.uint8)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        outline = cv2.approxPolyDP(max(contours, key=cv2.contourArea), 0.7, True).reshape(-1)
        objects.append(Obj(CLASSES.index("coin"), (x0, y0, x1 - x0, y1 - y0), [outline.tolist()], float(region.area)))
    return objects


def photo(spec: Photo) -> Picture:
    """A bundled scikit-image photograph, resized, with its objects."""
    try:
        from skimage import data
    except ImportError:
        sys.exit("make_fixtures: the photographs come from scikit-image's bundled samples: pip install scikit-image")
    image = resize_long_side(getattr(data, spec.loader)(), PHOTO_LONG_SIDE)
    if spec.loader == "coins":
        objects = coin_objects(image)
    else:
        objects = [Obj(CLASSES.index(name), (x0, y0, x1 - x0, y1 - y0), [], float((x1 - x0) * (y1 - y0))) for name, (x0, y0, x1, y1) in spec.boxes]
    return Picture(f"photo_{spec.loader}", image, objects, spec.license, spec.source)


# ----- writing ------------------------------------------------------------------------------------


def encode_jpeg(image: np.ndarray) -> bytes:
    """JPEG bytes of an RGB or gray image (baseline, fixed quality)."""
    pixels = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    ok, encoded = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY, cv2.IMWRITE_JPEG_OPTIMIZE, 1])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return encoded.tobytes()


def coco_json(pictures: Sequence[Picture]) -> dict:
    """The COCO instances document of ``pictures``."""
    images, annotations = [], []
    for image_id, picture in enumerate(pictures, start=1):
        height, width = picture.image.shape[:2]
        images.append(
            {"id": image_id, "file_name": f"{picture.name}.jpg", "width": width, "height": height, "license": picture.license, "source": picture.source},
        )
        for obj in picture.objects:
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": CATEGORY_IDS[obj.label],
                    "bbox": list(obj.box),
                    "area": obj.area,
                    "iscrowd": 0,
                    "segmentation": obj.polygons,
                },
            )
    categories = [{"id": cid, "name": name, "supercategory": "photo" if i < 5 else "shape"} for i, (cid, name) in enumerate(zip(CATEGORY_IDS, CLASSES))]
    return {
        "info": {"description": "detmix test fixtures (tools/make_fixtures.py)", "version": "1.0"},
        "licenses": LICENSES,
        "images": images,
        "annotations": annotations,
        "categories": categories,
    }


def dump_json(document: dict) -> str:
    """``document`` as JSON with one list item (image, annotation, ...) per line: small, diffable."""
    parts = []
    for key, value in document.items():
        if isinstance(value, list):
            items = ",\n".join(f"  {json.dumps(item)}" for item in value)
            parts.append(f"{json.dumps(key)}: [\n{items}\n ]")
        else:
            parts.append(f"{json.dumps(key)}: {json.dumps(value)}")
    return "{\n " + ",\n ".join(parts) + "\n}\n"


def yolo_rows(picture: Picture) -> str:
    """The YOLO label file of ``picture``: ``class cx cy w h``, normalized, 6 decimals."""
    height, width = picture.image.shape[:2]
    lines = []
    for obj in picture.objects:
        x, y, w, h = obj.box
        lines.append(f"{obj.label} {(x + w / 2) / width:.6f} {(y + h / 2) / height:.6f} {w / width:.6f} {h / height:.6f}")
    return "".join(line + "\n" for line in lines)


def readme(pictures: Sequence[Picture]) -> str:
    """fixtures/README.md: layout, classes and the provenance of every photograph."""
    photos = [p for p in pictures if p.license != 1]
    lines = [
        "# Test fixtures",
        "",
        "Generated by `python tools/make_fixtures.py` (seeded; rerunning rewrites the same files). Do not edit by hand.",
        "",
        f"{len(pictures)} images, {sum(len(p.objects) for p in pictures)} objects, in two layouts holding the same images and objects in the same order:",
        "",
        "- `coco/annotations.json` + `coco/images/` — COCO instances format; synthetic shapes and coins have polygon",
        "  `segmentation`s, the other photo objects an empty one (boxes only).",
        "- `yolo/images/` + `yolo/labels/` (`class cx cy w h`, normalized) + `yolo/data.yaml`.",
        "",
        "| class index (YOLO) | COCO category id | name |",
        "|---|---|---|",
        *[f"| {i} | {cid} | {name} |" for i, (cid, name) in enumerate(zip(CATEGORY_IDS, CLASSES))],
        "",
        "## Provenance and licences",
        "",
        "- `scene_*.jpg`: synthetic, drawn by the generator; CC0 1.0. Boxes are the exact pixel extent of each drawn shape.",
        "- `photo_*.jpg`: sample photographs bundled with scikit-image (`skimage.data`, loaded from the installed wheel,",
        f"  no download), resized to a long side of {PHOTO_LONG_SIDE} px. Boxes placed by hand; coins segmented",
        "  (watershed). Licences as stated in scikit-image's own docstrings of `skimage.data`:",
        "",
        *[f"  - `{p.name}.jpg`: {p.source}." for p in photos],
        "",
    ]
    return "\n".join(lines)


def build() -> list[Picture]:
    """Every picture of the fixtures, in file-name order (the order both layouts list them in)."""
    rng = np.random.default_rng(SEED)
    pictures = [scene(rng, i) for i in range(NUM_SCENES)] + [photo(spec) for spec in PHOTOS]
    return sorted(pictures, key=lambda p: p.name)


def write(out: Path, pictures: Sequence[Picture]) -> None:
    """Write both layouts and the README under ``out``, removing stale generated files first."""
    coco_images, yolo_images, yolo_labels = out / "coco" / "images", out / "yolo" / "images", out / "yolo" / "labels"
    for folder, pattern in ((coco_images, "*.jpg"), (yolo_images, "*.jpg"), (yolo_labels, "*.txt")):
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob(pattern):
            stale.unlink()
    for picture in pictures:
        encoded = encode_jpeg(picture.image)
        (coco_images / f"{picture.name}.jpg").write_bytes(encoded)
        (yolo_images / f"{picture.name}.jpg").write_bytes(encoded)
        (yolo_labels / f"{picture.name}.txt").write_text(yolo_rows(picture), encoding="utf-8")
    (out / "coco" / "annotations.json").write_text(dump_json(coco_json(pictures)), encoding="utf-8")
    names = "".join(f"  {i}: {name}\n" for i, name in enumerate(CLASSES))
    (out / "yolo" / "data.yaml").write_text(f"path: .\ntrain: images\nval: images\nnames:\n{names}", encoding="utf-8")
    (out / "README.md").write_text(readme(pictures), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Generate the fixtures; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    pictures = build()
    write(args.out, pictures)
    size = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    print(f"wrote {len(pictures)} images, {sum(len(p.objects) for p in pictures)} objects to {args.out} ({size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
