"""Tiny COCO and YOLO datasets written to a temporary folder."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np

CATEGORIES = [{"id": 3, "name": "cat"}, {"id": 7, "name": "dog"}, {"id": 12, "name": "bird"}]


def write_image(path: Path, height: int, width: int, seed: int, channels: int = 3, dtype: type = np.uint8) -> np.ndarray:
    """A random image saved losslessly (PNG); returns what was written."""
    rng = np.random.default_rng(seed)
    high = 65536 if dtype == np.uint16 else 256
    shape = (height, width) if channels == 1 else (height, width, channels)
    pixels = rng.integers(0, high, shape).astype(dtype)
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), pixels)
    return pixels


def coco_dataset(root: Path, n_images: int = 6, grow: bool = True, **overrides: Any) -> tuple[Path, Path, dict[str, Any]]:
    """``root/images`` with PNGs and ``root/annotations.json``; returns (images_dir, json, data).

    Image ``i`` is ``60 + 10 i`` x ``80 + 8 i`` pixels, or 60 x 80 for all without ``grow``.
    """
    images, annotations = [], []
    for index in range(n_images):
        height, width = (60 + 10 * index, 80 + 8 * index) if grow else (60, 80)
        write_image(root / "images" / f"img{index}.png", height, width, seed=index)
        images.append({"id": 100 + index, "file_name": f"img{index}.png", "height": height, "width": width})
        for k in range(index % 3 + 1):
            annotations.append(
                {
                    "id": 1000 + 10 * index + k,
                    "image_id": 100 + index,
                    "category_id": CATEGORIES[k % 3]["id"],
                    "bbox": [5 + 10 * k, 4 + 5 * k, 20, 15],
                    "area": 300,
                    "iscrowd": 0,
                    "segmentation": [[5 + 10 * k, 4 + 5 * k, 25 + 10 * k, 4 + 5 * k, 25 + 10 * k, 19 + 5 * k, 5 + 10 * k, 19 + 5 * k]],
                },
            )
    data = {"images": images, "annotations": annotations, "categories": CATEGORIES, **overrides}
    return root / "images", save_json(root / "annotations.json", data), data


def save_json(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data))
    return path


def yolo_dataset(root: Path, n_images: int = 5) -> Path:
    """``root/images/train`` and ``root/labels/train`` in the Ultralytics layout; returns the images dir."""
    for index in range(n_images):
        write_image(root / "images" / "train" / f"im{index}.png", 64, 96, seed=index)
        rows = [f"{k % 3} {0.2 + 0.2 * k:.4f} 0.5 0.1 0.2" for k in range(index % 3 + 1)]
        label = root / "labels" / "train" / f"im{index}.txt"
        label.parent.mkdir(parents=True, exist_ok=True)
        label.write_text("\n".join(rows) + "\n")
    return root / "images" / "train"


def encode(path: Path, pixels: np.ndarray) -> bytes:
    """``pixels`` (BGR) written to ``path`` in the format its suffix names (WebP lossless); returns the bytes."""
    params = [cv2.IMWRITE_WEBP_QUALITY, 101] if path.suffix == ".webp" else []
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), pixels, params)
    return path.read_bytes()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC."""
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


def png_claiming(height: int, width: int, idat: bytes = b"\x78\x9c\x03\x00\x00\x00\x00\x01", extra: bytes = b"") -> bytes:
    """A tiny PNG whose IHDR claims ``height`` x ``width`` RGB; ``extra`` chunks follow IDAT."""
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + extra + png_chunk(b"IEND", b"")


def exif_orientation_payload(orientation: int) -> bytes:
    """A little-endian TIFF structure holding only the EXIF orientation tag."""
    entry = (0x0112).to_bytes(2, "little") + (3).to_bytes(2, "little") + (1).to_bytes(4, "little") + orientation.to_bytes(4, "little")
    return b"II*\x00" + (8).to_bytes(4, "little") + (1).to_bytes(2, "little") + entry + bytes(4)


def coco_rle(mask: np.ndarray, compressed: bool = True) -> dict[str, Any]:
    """A 0/1 ``mask`` as a JSON-ready COCO RLE: pycocotools' compressed string, or the plain run list."""
    from pycocotools import mask as mask_utils

    if compressed:
        rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}
    flat = mask.astype(np.uint8).flatten(order="F")  # COCO runs are column-major, background first
    runs = np.diff(np.concatenate(([0], np.flatnonzero(flat[1:] != flat[:-1]) + 1, [flat.size])))
    return {"size": list(mask.shape), "counts": ([0] if flat[0] else []) + [int(v) for v in runs]}


def polygon_row(class_id: int, vertices_xy: np.ndarray) -> str:
    """A YOLO segment label row, ``class x1 y1 ... xn yn``, 6 decimals as Ultralytics' exporters write them."""
    return f"{class_id} " + " ".join(f"{v:.6f}" for v in np.asarray(vertices_xy).ravel())


def png_with_orientation(path: Path, upright: np.ndarray, orientation: int) -> None:
    """``upright`` (BGR) saved as a PNG stored turned so that EXIF ``orientation`` 1 or 6 shows it upright."""
    stored = np.ascontiguousarray(np.rot90(upright, 1)) if orientation == 6 else upright
    png = encode(path, stored)
    if orientation != 1:
        png = png[:-12] + png_chunk(b"eXIf", exif_orientation_payload(orientation)) + png[-12:]  # before IEND
    path.write_bytes(png)
