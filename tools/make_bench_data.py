"""Write a reproducible, realistic detection dataset for the end-to-end loader benchmark.

Every image is photo-like without being a photograph anyone has to license: a background of
coloured 1/f noise (the power spectrum natural images have, so it compresses like a photo, not
like flat colour or white noise) under a soft horizon gradient, with Poisson(7) objects of 10
classes pasted on it, each a window of one of the bundled fixture photographs (scaled, flipped,
tinted per class). Boxes are the pasted rectangles; later objects may occlude earlier ones, as in
real annotations.

Presets:
    ``coco``:  COCO-like sizes (long side 640, short side 360-512, a quarter portrait), ~90 KB JPEGs.
    ``1080p``: 1920x1080 camera frames; every fourth is stored sideways with EXIF orientation 6
               (upright 1080x1920), the others carry orientation 1.

Layout written under ``--out`` (one set of files, both annotation formats):
    images/NAME.jpg, annotations.json (COCO, upright pixel boxes), labels/NAME.txt + data.yaml (YOLO).

Usage:
    python tools/make_bench_data.py --out bench_data/coco --preset coco --count 2000
    python tools/make_bench_data.py --out bench_data/1080p --preset 1080p --count 500
"""

from __future__ import annotations

import argparse
import functools
import io
import json
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import yaml
from PIL import Image

FIXTURE_PHOTOS = Path(__file__).resolve().parent.parent / "fixtures" / "coco" / "images"
CLASSES = [f"class_{i}" for i in range(10)]
OBJECTS_PER_IMAGE = 7  # Poisson mean
#: JPEG quality per preset, set so files come out at the sizes of real COCO images and phone frames.
JPEG_QUALITY = {"coco": 91, "1080p": 88}
ORIENTATION_TAG = 0x0112
#: Upright (height, width) choices per preset; the first entry of a row is drawn most.
COCO_SIZES = [(480, 640), (427, 640), (426, 640), (360, 640), (512, 640), (640, 480), (640, 427)]
HD_SIZE = (1080, 1920)


def pink_noise(rng: np.random.Generator, image_hw: tuple[int, int], exponent: float = 1.2) -> np.ndarray:
    """Three channels of zero-mean, unit-variance noise whose amplitude spectrum falls as 1/f**exponent."""
    height, width = image_hw
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    frequency = np.hypot(fx, fy)
    frequency[0, 0] = 1.0
    amplitude = frequency**-exponent
    amplitude[0, 0] = 0.0
    shape = (3, height, width // 2 + 1)
    spectrum = (rng.normal(size=shape) + 1j * rng.normal(size=shape)) * amplitude
    noise = np.fft.irfft2(spectrum, s=(height, width)).transpose(1, 2, 0)
    return (noise - noise.mean()) / noise.std()


def background(rng: np.random.Generator, image_hw: tuple[int, int]) -> np.ndarray:
    """Coloured 1/f noise under a sky-to-ground gradient, uint8 RGB."""
    height, width = image_hw
    mixing = rng.dirichlet([2, 2, 2], size=3)  # correlated channels, as in photographs
    texture = pink_noise(rng, image_hw) @ mixing
    sky, ground = rng.integers(60, 200, size=(2, 3)).astype(np.float32)
    horizon = rng.uniform(0.3, 0.7) * height
    t = 1 / (1 + np.exp(-(np.arange(height, dtype=np.float32) - horizon) / (0.05 * height)))
    base = sky + t[:, None, None] * (ground - sky)
    return np.clip(base + 38 * texture, 0, 255).astype(np.uint8)


@functools.cache
def load_photos() -> tuple[np.ndarray, ...]:
    """The fixture photographs as RGB arrays (the objects are cut from them), read once per process."""
    paths = sorted(FIXTURE_PHOTOS.glob("photo_*.jpg"))
    if not paths:
        raise SystemExit(f"make_bench_data: no fixture photographs under {FIXTURE_PHOTOS}")
    return tuple(np.asarray(Image.open(path).convert("RGB")) for path in paths)


def paste_objects(rng: np.random.Generator, image: np.ndarray, photos: Sequence[np.ndarray]) -> list[tuple[int, list[int]]]:
    """Paste Poisson(7) objects into ``image`` in place; returns ``(class, [x, y, w, h])`` per object."""
    height, width = image.shape[:2]
    short = min(height, width)
    objects = []
    for _ in range(int(rng.poisson(OBJECTS_PER_IMAGE))):
        label = int(rng.integers(len(CLASSES)))
        photo = photos[label % len(photos)]
        side = float(np.exp(rng.uniform(np.log(0.04), np.log(0.5)))) * short
        aspect = float(np.exp(rng.uniform(np.log(0.5), np.log(2.0))))
        w, h = max(4, round(side * aspect**0.5)), max(4, round(side / aspect**0.5))
        w, h = min(w, width), min(h, height)
        x, y = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
        ph, pw = photo.shape[:2]
        cw, ch = int(rng.integers(pw // 4, pw + 1)), int(rng.integers(ph // 4, ph + 1))
        cx, cy = int(rng.integers(0, pw - cw + 1)), int(rng.integers(0, ph - ch + 1))
        patch = cv2.resize(photo[cy : cy + ch, cx : cx + cw], (w, h), interpolation=cv2.INTER_AREA if w < cw else cv2.INTER_LINEAR)
        if label >= len(photos):  # the second five classes: mirrored and tinted
            patch = np.clip(patch[:, ::-1] * np.array([1.15, 0.9, 0.8]), 0, 255).astype(np.uint8)
        image[y : y + h, x : x + w] = patch
        objects.append((label, [x, y, w, h]))
    return objects


def encode(image: np.ndarray, orientation: int | None, quality: int) -> bytes:
    """JPEG bytes of the upright ``image``, stored sideways with EXIF orientation 6 when asked."""
    stored = np.rot90(image, 1) if orientation == 6 else image
    exif = Image.Exif()
    if orientation is not None:
        exif[ORIENTATION_TAG] = orientation
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(stored)).save(buffer, "JPEG", quality=quality, exif=exif.tobytes())
    return buffer.getvalue()


def make_image(args: tuple[int, int, str, Path]) -> dict:
    """Write image ``index`` and its YOLO label file; return its COCO entries."""
    seed, index, preset, out = args
    rng = np.random.default_rng([seed, index])
    if preset == "1080p":
        image_hw = HD_SIZE[::-1] if index % 4 == 3 else HD_SIZE
        orientation = 6 if index % 4 == 3 else 1
    else:
        image_hw = COCO_SIZES[int(rng.integers(len(COCO_SIZES)))]
        orientation = None
    image = background(rng, image_hw)
    objects = paste_objects(rng, image, load_photos())
    name = f"{index:06d}.jpg"
    (out / "images" / name).write_bytes(encode(image, orientation, JPEG_QUALITY[preset]))
    height, width = image_hw
    rows = [f"{label} {(x + w / 2) / width:.6f} {(y + h / 2) / height:.6f} {w / width:.6f} {h / height:.6f}" for label, (x, y, w, h) in objects]
    (out / "labels" / f"{index:06d}.txt").write_text("\n".join(rows) + ("\n" if rows else ""), encoding="utf-8")
    return {"image": {"id": index + 1, "file_name": name, "height": height, "width": width}, "objects": objects}


def write_dataset(out: Path, preset: str, count: int, seed: int = 0, workers: int = 2) -> None:
    """Write ``count`` images of ``preset`` with COCO and YOLO annotations under ``out``."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    jobs = [(seed, index, preset, out) for index in range(count)]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            made = list(pool.map(make_image, jobs, chunksize=16))
    else:
        made = [make_image(job) for job in jobs]
    annotations = []
    for entry in made:
        for label, (x, y, w, h) in entry["objects"]:
            annotations.append(
                {"id": len(annotations) + 1, "image_id": entry["image"]["id"], "category_id": label + 1, "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0},
            )
    coco = {
        "images": [entry["image"] for entry in made],
        "annotations": annotations,
        "categories": [{"id": i + 1, "name": name} for i, name in enumerate(CLASSES)],
    }
    (out / "annotations.json").write_text(json.dumps(coco), encoding="utf-8")
    (out / "data.yaml").write_text(yaml.safe_dump({"path": str(out.resolve()), "train": "images", "val": "images", "names": dict(enumerate(CLASSES))}), encoding="utf-8")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write (created)")
    parser.add_argument("--preset", choices=["coco", "1080p"], default="coco")
    parser.add_argument("--count", type=int, default=2000, help="number of images (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="processes drawing images (default 2)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.count < 1:
        raise SystemExit(f"make_bench_data: --count must be at least 1, got {args.count}")
    write_dataset(args.out, args.preset, args.count, args.seed, args.workers)
    total = sum(p.stat().st_size for p in (args.out / "images").glob("*.jpg"))
    print(f"wrote {args.count} {args.preset} images to {args.out} ({total / args.count / 1024:.0f} KB per image on average)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
