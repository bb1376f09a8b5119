"""COCO segmentations: cheap structural checks at dataset construction, decoding at sample time.

A segmentation is a list of polygons (``[[x0, y0, x1, y1, ...], ...]``) or an RLE
(``{"size": [h, w], "counts": [...] or "..."}``, column-major runs starting with background).
:func:`segmentation_problem` says why one cannot be drawn, without drawing it; one it accepts
decodes in :func:`decode_segmentation` without an error and with work and memory bounded by the
JSON's length and the image's size, whatever the numbers in it are. That matters because
pycocotools trusts its input: a polygon vertex at 1e8 costs its rasterizer 20 s and 12 GB, one
at 1e12 crashes the process, and RLE counts that add up to less than ``h * w`` decode to
uninitialised memory. Polygons are rasterized by pycocotools once checked; RLEs are decoded here.
"""

from __future__ import annotations

import math
import reprlib
import sys
import warnings
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

#: pycocotools stores run lengths as 32-bit unsigned integers.
MAX_RUN = 2**32 - 1
#: Largest RLE side accepted: index arithmetic stays inside int64.
MAX_RLE_SIDE = 2**31 - 1
#: A compressed count takes at most 7 characters (34 bits with the sign) in pycocotools' encoding.
MAX_COUNT_CHARS = 7
#: A segmentation's polygon outlines may add up to this many times the image's outline.
MAX_OUTLINE = 100


def is_json_number(value: Any) -> bool:
    """A JSON int or float that is finite as a float; bools, strings and None are not numbers here."""
    if type(value) is float:
        return math.isfinite(value)
    return type(value) is int and abs(value) <= sys.float_info.max


def segmentation_problem(segmentation: Any, image_hw: tuple[int, int]) -> str | None:
    """Why ``segmentation`` cannot be drawn on an ``image_hw`` image, or None when it can.

    Polygons: each a list of an even number (at least 6) of finite numbers, none more than the
    image's longer side outside the image, outlines adding up to at most ``MAX_OUTLINE`` times
    the image's (pycocotools' rasterizer walks every edge at 5 steps a pixel, so its time and
    memory follow the outline's length, not the vertex count).
    RLE: a ``size`` of two positive integers and ``counts`` (a list of integers, or
    pycocotools' compressed string) of runs in ``[0, 2**32)`` adding up to ``height * width``.
    """
    try:
        if isinstance(segmentation, list):
            check_polygons(segmentation, image_hw)
        elif isinstance(segmentation, dict):
            rle_runs(segmentation)
        else:
            return f"expected a list of polygons or an RLE dict, got {short_repr(segmentation)}"
    except ValueError as error:
        return str(error)
    return None


def check_polygons(polygons: list[Any], image_hw: tuple[int, int]) -> None:
    """ValueError unless every polygon passes :func:`check_polygon` and their outlines fit ``MAX_OUTLINE``."""
    for polygon in polygons:
        check_polygon(polygon, image_hw)
    budget = MAX_OUTLINE * 2 * sum(image_hw)
    longest_edge = 3 * max(image_hw)  # Chebyshev length, vertices being at most one side outside
    if sum(len(polygon) for polygon in polygons) // 2 * longest_edge <= budget:
        return  # the usual case, decided without measuring
    outline = sum(chebyshev_outline(polygon) for polygon in polygons)
    if outline > budget:
        raise ValueError(f"polygon outlines add up to {outline:.0f} pixels, more than {MAX_OUTLINE} times the image's")


def chebyshev_outline(polygon: list[float]) -> float:
    """Sum over the closed polygon's edges of ``max(|dx|, |dy|)``: the pixels a rasterizer walks."""
    xy = np.array(polygon, np.float64).reshape(-1, 2)
    return float(np.abs(np.roll(xy, -1, axis=0) - xy).max(axis=1).sum())


def check_polygon(polygon: Any, image_hw: tuple[int, int]) -> None:
    """ValueError unless ``polygon`` is ``[x0, y0, x1, y1, x2, y2, ...]`` near an ``image_hw`` image."""
    if not isinstance(polygon, list) or len(polygon) < 6 or len(polygon) % 2:
        raise ValueError(f"a polygon is an even number (at least 6) of coordinates, got {short_repr(polygon)}")
    if not set(map(type, polygon)) <= {int, float}:
        raise ValueError(f"polygon coordinates must be numbers, got {short_repr(polygon)}")
    height, width = image_hw
    side = max(image_hw)
    xs, ys = polygon[0::2], polygon[1::2]
    # min/max skip a NaN that is not first, the sum does not: together they see every value
    inside = -side <= min(xs) <= max(xs) <= width + side and -side <= min(ys) <= max(ys) <= height + side
    if not inside or not math.isfinite(sum(polygon)):
        raise ValueError(
            f"polygon coordinates must be finite and at most {side} (the longer side) outside the {width}x{height} "
            f"image, got {short_repr(polygon)}",
        )


def rle_runs(rle: dict[str, Any]) -> tuple[np.ndarray, tuple[int, int]]:
    """The int64 run lengths and ``(height, width)`` of a COCO RLE; ValueError saying what is wrong."""
    size, counts = rle.get("size"), rle.get("counts")
    if not isinstance(size, list) or len(size) != 2 or not all(type(v) is int and 0 < v <= MAX_RLE_SIDE for v in size):
        raise ValueError(f"RLE size must be [height, width], two positive integers up to 2**31 - 1, got {short_repr(size)}")
    if isinstance(counts, str):
        runs = runs_from_string(counts)
    elif isinstance(counts, list):
        if not set(map(type, counts)) <= {int}:
            raise ValueError(f"RLE counts must be integers, got {short_repr(counts)}")
        if counts and not 0 <= min(counts) <= max(counts) <= MAX_RUN:
            raise ValueError(f"RLE counts must lie in [0, 2**32), got {short_repr(counts)}")
        runs = np.array(counts, np.int64)
    else:
        raise ValueError(f"RLE counts must be a list of integers or a compressed string, got {short_repr(counts)}")
    height, width = size
    total = int(runs.sum())
    if total != height * width:
        raise ValueError(f"RLE counts add up to {total}, not {height}x{width} = {height * width}")
    return runs, (height, width)


def runs_from_string(counts: str) -> np.ndarray:
    """Run lengths of pycocotools' compressed RLE string, decoded with numpy.

    Each count is a little-endian group of 5-bit chunks written as ``chr(48 + chunk)`` with bit
    0x20 meaning "more follows" and bit 0x10 of the last chunk the sign; from the fourth count on
    it is stored as the difference to the count two before.
    """
    if not counts.isascii():
        raise ValueError("compressed RLE counts must be ASCII")
    codes = np.frombuffer(counts.encode("ascii"), np.uint8).astype(np.int64) - 48
    if not codes.size:
        return codes
    if codes.min() < 0 or codes.max() > 63:
        raise ValueError("compressed RLE counts may only hold the characters '0' to 'o'")
    last = np.flatnonzero((codes & 0x20) == 0)
    if not last.size or last[-1] != codes.size - 1:
        raise ValueError("compressed RLE counts end inside a number")
    starts = np.concatenate(([0], last[:-1] + 1))
    lengths = last - starts + 1
    if lengths.max() > MAX_COUNT_CHARS:
        raise ValueError(f"compressed RLE counts hold a number longer than {MAX_COUNT_CHARS} characters")
    shifts = 5 * (np.arange(codes.size) - np.repeat(starts, lengths))
    values = np.add.reduceat((codes & 0x1F) << shifts, starts)
    values -= ((codes[last] & 0x10) != 0) << (5 * lengths)
    runs = values.copy()
    runs[1::2] = np.cumsum(values[1::2])
    runs[2::2] = np.cumsum(values[2::2])
    if runs.min() < 0 or runs.max() > MAX_RUN:
        raise ValueError("compressed RLE counts hold a run outside [0, 2**32)")
    return runs


def decode_segmentation(segmentation: list | dict, image_hw: tuple[int, int], scale_xy: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """An ``image_hw`` uint8 0/1 map of a segmentation :func:`segmentation_problem` accepted.

    Polygons are scaled by ``scale_xy`` (image pixels per pixel of the coordinates, for an
    image loaded smaller than its file), then drawn at ``image_hw``; an RLE of another size is
    resampled to ``image_hw`` (nearest pixel).
    """
    if isinstance(segmentation, dict):
        return decode_rle(*rle_runs(segmentation), image_hw)
    if scale_xy != (1.0, 1.0):
        segmentation = [(np.asarray(polygon, np.float64).reshape(-1, 2) * scale_xy).ravel().tolist() for polygon in segmentation]
    height, width = image_hw
    with warnings.catch_warnings():  # pycocotools' decoder predates numpy 2's copy keyword
        warnings.simplefilter("ignore", DeprecationWarning)
        return mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width)))


def decode_rle(runs: np.ndarray, rle_hw: tuple[int, int], image_hw: tuple[int, int]) -> np.ndarray:
    """Column-major ``runs`` (background first) of an ``rle_hw`` mask as an ``image_hw`` uint8 0/1 map.

    An RLE of another size is sampled at the source pixel under each image pixel's centre, so
    a mask scaled down with its image stays aligned with it, and the work is that of the image,
    not of the size the RLE claims.
    """
    values = (np.arange(len(runs)) & 1).astype(np.uint8)
    if rle_hw == image_hw:
        return np.repeat(values, runs).reshape(image_hw[1], image_hw[0]).T.copy()
    rows = (2 * np.arange(image_hw[0], dtype=np.int64) + 1) * rle_hw[0] // (2 * image_hw[0])
    cols = (2 * np.arange(image_hw[1], dtype=np.int64) + 1) * rle_hw[1] // (2 * image_hw[1])
    return values[np.searchsorted(np.cumsum(runs), cols[None, :] * rle_hw[0] + rows[:, None], side="right")]


def short_repr(value: Any) -> str:
    """``repr(value)`` with long lists, strings, numbers and deep nesting abbreviated, in bounded time."""
    return _REPR.repr(value)


_REPR = reprlib.Repr()
_REPR.maxlist = _REPR.maxtuple = 8
_REPR.maxlevel = 3
