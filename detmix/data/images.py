"""Decoding images as upright 8-bit RGB, at the size a dataset loads them.

A file's bytes are read once, checked against the header the dataset recorded at construction
(:mod:`detmix.data.headers`), and decoded from that buffer with ``cv2.imdecode``: the pixels
decoded are the bytes checked, a file that changed, was truncated or now claims another size is
an ``OSError`` naming it, and a file over the pixel limit is never decoded. The EXIF orientation
recorded at construction is applied here, as image viewers, annotation tools and Ultralytics do.

A dataset built with ``max_size`` loads each image scaled down to :func:`loaded_hw`. A JPEG at
least 2, 4 or 8 times larger than that is decoded at 1/2, 1/4 or 1/8 scale by libjpeg itself
(OpenCV's ``IMREAD_REDUCED_COLOR_*``: fewer pixels are ever produced); every image is then
resized to the exact size: with ``INTER_AREA`` (an average over the pixels each output pixel
covers) where it shrinks by 2 or more, with ``INTER_LINEAR`` below that, where bilinear already
samples every source pixel and ``INTER_AREA`` at a fractional factor costs several times more.
Other formats have no reduced decoder, so they are decoded whole and resized.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from detmix.data.headers import read_file

#: EXIF orientation -> the numpy operation that turns the stored pixels upright.
UPRIGHT = {
    2: np.fliplr,
    3: lambda a: np.rot90(a, 2),
    4: np.flipud,
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}
#: Scale denominator -> OpenCV's flag for a JPEG decoded at that reduced size.
REDUCED_FLAGS = {8: cv2.IMREAD_REDUCED_COLOR_8, 4: cv2.IMREAD_REDUCED_COLOR_4, 2: cv2.IMREAD_REDUCED_COLOR_2}


def loaded_hw(upright_hw: tuple[int, int], max_size: int | None) -> tuple[int, int]:
    """The ``(height, width)`` an ``upright_hw`` image is loaded at: its long side at most ``max_size``.

    Only ever scaled down, aspect kept (each side rounded, at least 1); None keeps every size.
    """
    height, width = upright_hw
    if max_size is None or max(height, width) <= max_size:
        return height, width
    scale = max_size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def reduction(image_format: str, stored_hw: tuple[int, int], target_hw: tuple[int, int]) -> int:
    """The largest of 8, 4, 2 by which a JPEG can be decoded and still cover ``target_hw``; else 1."""
    if image_format != "JPEG":
        return 1
    for denominator in REDUCED_FLAGS:
        if all(stored // denominator >= target for stored, target in zip(stored_hw, target_hw)):
            return denominator
    return 1


def decode(data: bytearray, flags: int) -> np.ndarray | None:
    """``cv2.imdecode`` of a file's bytes: the one place pixels are decoded (tests count the calls)."""
    return cv2.imdecode(np.frombuffer(data, np.uint8), flags)


def read_rgb(path: Path, stored_hw: tuple[int, int], orientation: int = 1, size_hw: tuple[int, int] | None = None) -> np.ndarray:
    """Decode ``path`` as upright H x W x 3 uint8 RGB: gray, alpha, palette and 16-bit images converted.

    Args:
        path: the image file.
        stored_hw: ``(height, width)`` of the stored pixels, as its header said at construction;
            a file whose header now says otherwise is refused before decoding.
        orientation: the EXIF orientation read at construction (1: upright as stored).
        size_hw: the upright ``(height, width)`` to load the image at, at most its own size
            (see :func:`loaded_hw`); None: as stored.

    Raises:
        OSError: naming ``path``, when it cannot be read, is truncated or corrupt, changed size,
            or does not decode to ``stored_hw``.
    """
    try:
        data, header = read_file(path)
    except OSError as error:
        raise OSError(f"cannot decode image file {path}: {error}") from error
    if header.stored_hw != tuple(stored_hw):
        raise OSError(
            f"cannot decode image file {path}: its header says {header.stored_hw[0]}x{header.stored_hw[1]}, "
            f"it was {stored_hw[0]}x{stored_hw[1]} when the dataset was built (the file changed)",
        )
    if header.orientation_patch is not None:  # OpenCV would apply a TIFF's orientation itself
        at, value = header.orientation_patch
        data[at : at + len(value)] = value
    target_hw = tuple(stored_hw) if size_hw is None else tuple(size_hw)[:: -1 if orientation in (5, 6, 7, 8) else 1]
    denominator = reduction(header.format, stored_hw, target_hw)
    # IMREAD_COLOR would turn a JPEG upright by its EXIF tag; the orientation is applied below, once.
    flags = (REDUCED_FLAGS[denominator] | cv2.IMREAD_IGNORE_ORIENTATION) if denominator > 1 else cv2.IMREAD_UNCHANGED
    try:
        pixels = decode(data, flags)
    except cv2.error as error:  # OpenCV's own size limits, among others
        raise OSError(f"cannot decode image file {path}: {error}") from error
    if pixels is None:
        raise OSError(f"cannot decode image file {path}")
    expected = tuple(-(-side // denominator) for side in stored_hw)  # libjpeg rounds a reduced size up
    if pixels.shape[:2] != expected:
        reduced = f", decoded at 1/{denominator}: expected {expected[0]}x{expected[1]}" if denominator > 1 else ""
        raise OSError(
            f"cannot decode image file {path}: decoded {pixels.shape[0]}x{pixels.shape[1]}, its header says {stored_hw[0]}x{stored_hw[1]}{reduced}",
        )
    if pixels.dtype not in (np.uint8, np.uint16):
        raise OSError(f"cannot decode image file {path}: unsupported pixel type {pixels.dtype}")
    # libjpeg's reduced image spans ``denominator`` times its size in file pixels: where a side is
    # no multiple of it, the last row or column averages the encoder's padding. Scale that whole
    # span, then keep the image's own part, so pixels stay where the (scaled) boxes say.
    spanned_hw = tuple(round(t * side * denominator / s) for t, side, s in zip(target_hw, pixels.shape[:2], stored_hw))
    if pixels.shape[:2] != spanned_hw:
        factor = max(pixels.shape[0] / spanned_hw[0], pixels.shape[1] / spanned_hw[1])
        pixels = cv2.resize(pixels, spanned_hw[::-1], interpolation=cv2.INTER_AREA if factor >= 2 else cv2.INTER_LINEAR)
    pixels = pixels[: target_hw[0], : target_hw[1]]
    return upright_rgb(pixels, orientation)


def upright_rgb(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Decoded uint8/uint16 gray, BGR or BGRA ``pixels`` as upright 8-bit RGB."""
    if pixels.dtype == np.uint16:
        pixels = (pixels / 257.0).round().astype(np.uint8)
    if pixels.ndim == 2:
        rgb = cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB)
    else:
        rgb = cv2.cvtColor(pixels, cv2.COLOR_BGRA2RGB if pixels.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    upright = UPRIGHT.get(orientation)
    return np.ascontiguousarray(upright(rgb)) if upright else rgb
