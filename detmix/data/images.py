"""Reading images: sizes from headers (cheap, at dataset construction), pixels as 8-bit RGB.

Both honour the EXIF orientation tag, as image viewers, annotation tools and Ultralytics do:
sizes and pixels are those of the upright image.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np
from PIL import Image


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
ORIENTATION_TAG = 0x0112


def read_orientation_and_size(path: Path) -> tuple[int, tuple[int, int]]:
    """EXIF orientation (1 when absent) and the stored ``(height, width)``, from the header only."""
    with Image.open(path) as image:
        return image.getexif().get(ORIENTATION_TAG, 1), (image.height, image.width)


def read_size(path: Path) -> tuple[int, int]:
    """``(height, width)`` of the upright image, from the file header, without decoding the pixels."""
    orientation, (height, width) = read_orientation_and_size(path)
    return (width, height) if orientation in (5, 6, 7, 8) else (height, width)


def read_rgb(path: Path) -> np.ndarray:
    """Decode ``path`` as upright H x W x 3 uint8 RGB: gray, alpha, palette and 16-bit images converted."""
    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise OSError(f"cannot decode image file {path}")
    if pixels.dtype == np.uint16:
        pixels = (pixels / 257.0).round().astype(np.uint8)
    elif pixels.dtype != np.uint8:
        raise OSError(f"unsupported pixel type {pixels.dtype} in image file {path}")
    if pixels.ndim == 2:
        rgb = cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB)
    else:
        rgb = cv2.cvtColor(pixels, cv2.COLOR_BGRA2RGB if pixels.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    upright = UPRIGHT.get(read_orientation_and_size(path)[0])
    return np.ascontiguousarray(upright(rgb)) if upright else rgb


class ImageCache:
    """A bounded least-recently-used cache of decoded images that hands out copies."""

    def __init__(self, capacity: int) -> None:
        if capacity < 0:
            raise ValueError(f"cache_images must be >= 0, got {capacity}")
        self.capacity = capacity
        self._images: OrderedDict[Path, np.ndarray] = OrderedDict()

    def get(self, path: Path) -> np.ndarray:
        """The image at ``path`` (a private copy), decoded once while it stays cached."""
        image = self._images.get(path)
        if image is not None:
            self._images.move_to_end(path)
            return image.copy()
        image = read_rgb(path)
        if not self.capacity:
            return image
        self._images[path] = image
        if len(self._images) > self.capacity:
            self._images.popitem(last=False)
        return image.copy()

    def __len__(self) -> int:
        return len(self._images)
