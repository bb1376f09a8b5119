"""Decoding images as upright 8-bit RGB, and the bounded cache of decoded images.

A file's bytes are read once, checked against the header the dataset recorded at construction
(:mod:`detmix.data.headers`), and decoded from that buffer with ``cv2.imdecode``: the pixels
decoded are the bytes checked, a file that changed, was truncated or now claims another size is
an ``OSError`` naming it, and a file over the pixel limit is never decoded. The EXIF orientation
recorded at construction is applied here, as image viewers, annotation tools and Ultralytics do.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
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


def read_rgb(path: Path, stored_hw: tuple[int, int], orientation: int = 1) -> np.ndarray:
    """Decode ``path`` as upright H x W x 3 uint8 RGB: gray, alpha, palette and 16-bit images converted.

    Args:
        path: the image file.
        stored_hw: ``(height, width)`` of the stored pixels, as its header said at construction;
            a file whose header now says otherwise is refused before decoding.
        orientation: the EXIF orientation read at construction (1: upright as stored).

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
    try:
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as error:  # OpenCV's own size limits, among others
        raise OSError(f"cannot decode image file {path}: {error}") from error
    if pixels is None:
        raise OSError(f"cannot decode image file {path}")
    if pixels.shape[:2] != tuple(stored_hw):
        raise OSError(f"cannot decode image file {path}: decoded {pixels.shape[0]}x{pixels.shape[1]}, its header says {stored_hw[0]}x{stored_hw[1]}")
    if pixels.dtype == np.uint16:
        pixels = (pixels / 257.0).round().astype(np.uint8)
    elif pixels.dtype != np.uint8:
        raise OSError(f"cannot decode image file {path}: unsupported pixel type {pixels.dtype}")
    if pixels.ndim == 2:
        rgb = cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB)
    else:
        rgb = cv2.cvtColor(pixels, cv2.COLOR_BGRA2RGB if pixels.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    upright = UPRIGHT.get(orientation)
    return np.ascontiguousarray(upright(rgb)) if upright else rgb


class ImageCache:
    """A bounded least-recently-used cache of decoded images that hands out private copies.

    Cached arrays are read-only, so nothing handed out can be a view a caller writes through.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._images: OrderedDict[Hashable, np.ndarray] = OrderedDict()

    def get(self, key: Hashable, load: Callable[[], np.ndarray]) -> np.ndarray:
        """A private copy of the image under ``key``, ``load`` ed once while it stays cached."""
        image = self._images.get(key)
        if image is not None:
            self._images.move_to_end(key)
            return image.copy()
        image = load()
        if not self.capacity:
            return image
        image.flags.writeable = False
        self._images[key] = image
        if len(self._images) > self.capacity:
            self._images.popitem(last=False)
        return image.copy()

    def __len__(self) -> int:
        return len(self._images)
