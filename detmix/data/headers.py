"""Image headers read without decoding: format, stored size, EXIF orientation, and completeness.

Dataset construction calls :func:`probe_file` for every image. It reads only the structure —
JPEG markers up to the first scan, PNG chunk headers (seeking over IDAT, never decompressing),
the BMP header, WebP RIFF chunk headers, the first TIFF directory — so its cost follows the
header, never the pixel count a file claims. ``__getitem__`` reads a file's bytes once and calls
:func:`read_file`'s check on those same bytes before they are decoded: the same parse, plus
JPEG's end-of-image marker, so a truncated file is an error, never a partly grey sample.

PIL is not used here: its ``Image.open`` enforces the process-wide ``Image.MAX_IMAGE_PIXELS``
(a warning or an error the caller did not ask for, and a global a library must not change),
PNG's ``getexif`` decodes every pixel, and its WebP opener reads the whole file.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

FORMATS = "JPEG, PNG, BMP, TIFF or WebP"
ORIENTATION_TAG = 0x0112
_JPEG_FRAMES = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_TIFF_SIZES = {1: 1, 3: 2, 4: 4, 16: 8}  # BYTE, SHORT, LONG, LONG8: the integer types of the tags read here
_BMP_INFO_SIZES = {40, 52, 56, 64, 108, 124}


@dataclass(frozen=True)
class Header:
    """What a file's header says about its image."""

    format: str
    stored_hw: tuple[int, int]  # the pixels as stored, before orientation
    orientation: int = 1  # EXIF orientation 1..8 (1: stored upright)
    scan_start: int = 0  # JPEG: where the image data starts; its end-of-image marker must follow
    orientation_patch: tuple[int, bytes] | None = None  # TIFF: (offset, bytes) that set the tag to 1

    @property
    def upright_hw(self) -> tuple[int, int]:
        """``(height, width)`` once the orientation is applied."""
        height, width = self.stored_hw
        return (width, height) if self.orientation in (5, 6, 7, 8) else (height, width)


class _Source:
    """Bounds-checked reads of ``count`` bytes at ``offset`` from a file or a buffer of ``size`` bytes."""

    def __init__(self, size: int, read_at: Callable[[int, int], bytes]) -> None:
        self.size = size
        self._read_at = read_at

    @classmethod
    def of_file(cls, fp: BinaryIO, size: int) -> _Source:
        def read_at(offset: int, count: int) -> bytes:
            fp.seek(offset)
            return fp.read(count)

        return cls(size, read_at)

    @classmethod
    def of_bytes(cls, data: bytes | bytearray) -> _Source:
        return cls(len(data), lambda offset, count: bytes(data[offset : offset + count]))

    def read(self, offset: int, count: int, what: str) -> bytes:
        if offset < 0 or count < 0 or offset + count > self.size:
            raise OSError(f"truncated or corrupt: {what} needs bytes {offset}..{offset + count}, the file has {self.size}")
        data = self._read_at(offset, count)
        if len(data) != count:
            raise OSError(f"truncated: {what} needs bytes {offset}..{offset + count}, the file ended early")
        return data


def open_regular(path: Path) -> tuple[BinaryIO, int]:
    """``path`` opened for reading and its size; OSError unless it is a regular file (never blocks on a FIFO)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError("not a regular file")
        return os.fdopen(fd, "rb"), info.st_size
    except BaseException:
        os.close(fd)
        raise


def probe_file(path: Path) -> Header:
    """The header of the image file at ``path``, reading its structure only (OSError saying what is wrong)."""
    fp, size = open_regular(path)
    with fp:
        return read_header(_Source.of_file(fp, size))


def read_file(path: Path) -> tuple[bytearray, Header]:
    """All bytes of ``path`` (read once) and their header, checked complete (OSError saying what is wrong)."""
    fp, size = open_regular(path)
    with fp:
        data = bytearray(size)
        del data[fp.readinto(data) :]
    header = read_header(_Source.of_bytes(data), orientation=False)
    if header.format == "JPEG" and data.find(b"\xff\xd9", header.scan_start) < 0:
        raise OSError("truncated: no JPEG end-of-image marker after the image data")
    return data, header


def read_header(source: _Source, orientation: bool = True) -> Header:
    """Dispatch on the file's signature; ``orientation=False`` skips the EXIF lookup (TIFF reads it anyway)."""
    if source.size == 0:
        raise OSError("empty file")
    magic = source.read(0, min(source.size, 12), "signature")
    if magic.startswith(b"\xff\xd8"):
        header = _jpeg(source, orientation)
    elif magic.startswith(b"\x89PNG\r\n\x1a\n"):
        header = _png(source, orientation)
    elif magic.startswith(b"BM"):
        header = _bmp(source)
    elif magic[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        header = _tiff(source)
    elif magic[:4] == b"RIFF" and magic[8:12] == b"WEBP":
        header = _webp(source, orientation)
    else:
        raise OSError(f"not a {FORMATS} image (signature {magic[:8].hex()})")
    height, width = header.stored_hw
    if height < 1 or width < 1:
        raise OSError(f"empty image: {header.format} header says {height}x{width}")
    return header


def _jpeg(source: _Source, orientation: bool) -> Header:
    """Walk the marker segments up to the first scan: the frame size and the first Exif APP1."""
    position, image_hw, found = 2, None, None
    while True:
        # the marker and, in the same read where the file goes on, the segment length after it
        marker = source.read(position, 4 if position + 4 <= source.size else 2, "JPEG marker")
        if marker[0] != 0xFF:
            raise OSError(f"corrupt JPEG: expected a marker at byte {position}, got 0x{marker[0]:02x}")
        kind = marker[1]
        if kind == 0xFF:  # fill byte
            position += 1
            continue
        if kind == 0x01 or 0xD0 <= kind <= 0xD9:
            raise OSError(f"corrupt JPEG: marker 0x{kind:02x} at byte {position} before the first scan")
        if len(marker) < 4:
            raise OSError(f"truncated: JPEG segment length needs bytes {position + 2}..{position + 4}, the file has {source.size}")
        length = int.from_bytes(marker[2:], "big")
        if length < 2:
            raise OSError(f"corrupt JPEG: segment length {length} at byte {position}")
        if kind in _JPEG_FRAMES:
            frame = source.read(position + 4, 5, "JPEG frame header")
            image_hw = (int.from_bytes(frame[1:3], "big"), int.from_bytes(frame[3:5], "big"))
        elif kind == 0xE1 and orientation and found is None:
            payload = source.read(position + 4, length - 2, "JPEG APP1 segment")
            found = exif_orientation(payload) if payload.startswith(b"Exif\x00\x00") else None
        elif kind == 0xDA:
            if image_hw is None:
                raise OSError("corrupt JPEG: no frame header before the image data")
            return Header("JPEG", image_hw, found or 1, scan_start=position + 2 + length)
        position += 2 + length


def _png(source: _Source, orientation: bool) -> Header:
    """Walk every chunk header to IEND (seeking over the data): IHDR's size, eXIf's orientation."""
    position, image_hw, found = 8, None, 1
    while True:
        head = source.read(position, 8, "PNG chunk header")
        length, kind = int.from_bytes(head[:4], "big"), head[4:]
        if not kind.isalpha() or length >= 1 << 31:
            raise OSError(f"corrupt PNG: chunk {kind!r} of length {length} at byte {position}")
        end = position + 12 + length
        if end > source.size:
            raise OSError(f"truncated: PNG chunk {kind.decode()} at byte {position} ends at {end}, the file has {source.size}")
        if image_hw is None:
            if kind != b"IHDR" or length != 13:
                raise OSError(f"corrupt PNG: the first chunk is {kind!r}, not IHDR")
            size = source.read(position + 8, 8, "PNG IHDR")
            image_hw = (int.from_bytes(size[4:], "big"), int.from_bytes(size[:4], "big"))
        elif kind == b"eXIf" and orientation:
            found = exif_orientation(source.read(position + 8, length, "PNG eXIf chunk"))
        elif kind == b"IEND":
            return Header("PNG", image_hw, found)
        position = end


def _bmp(source: _Source) -> Header:
    """The BMP file and info headers; the pixel array they describe must lie inside the file."""
    head = source.read(0, 18, "BMP header")
    offset, info_size = int.from_bytes(head[10:14], "little"), int.from_bytes(head[14:18], "little")
    if info_size == 12:
        info = source.read(18, 8, "BMP core header")
        width, height = int.from_bytes(info[0:2], "little"), int.from_bytes(info[2:4], "little")
        bits, compression, data_size = int.from_bytes(info[6:8], "little"), 0, 0
    elif info_size in _BMP_INFO_SIZES:
        info = source.read(18, 20, "BMP info header")
        width, height = int.from_bytes(info[0:4], "little", signed=True), abs(int.from_bytes(info[4:8], "little", signed=True))
        bits, compression = int.from_bytes(info[10:12], "little"), int.from_bytes(info[12:16], "little")
        data_size = int.from_bytes(info[16:20], "little")
    else:
        raise OSError(f"unsupported BMP: info header size {info_size}")
    if bits not in (1, 4, 8, 16, 24, 32):
        raise OSError(f"unsupported BMP: {bits} bits per pixel")
    if compression in (0, 3, 6):  # uncompressed rows, padded to 4 bytes
        data_size = (max(width, 0) * bits + 31) // 32 * 4 * height
    elif compression not in (1, 2) or not data_size:  # RLE must say how long its data is
        raise OSError(f"unsupported BMP: compression {compression} with image size {data_size}")
    if offset + data_size > source.size:
        raise OSError(f"truncated: the BMP pixel array ends at byte {offset + data_size}, the file has {source.size}")
    return Header("BMP", (height, width))


def _webp(source: _Source, orientation: bool) -> Header:
    """Walk the RIFF chunks the RIFF size announces: the canvas size and the EXIF chunk's orientation."""
    end = 8 + int.from_bytes(source.read(4, 4, "WebP RIFF size"), "little")
    if end > source.size:
        raise OSError(f"truncated: the WebP RIFF size says {end} bytes, the file has {source.size}")
    position, image_hw, found = 12, None, 1
    while position + 8 <= end:
        head = source.read(position, 8, "WebP chunk header")
        kind, length = head[:4], int.from_bytes(head[4:], "little")
        if position + 8 + length > end:
            raise OSError(f"truncated: WebP chunk {kind!r} at byte {position} runs past the RIFF end {end}")
        if kind == b"VP8X":
            canvas = source.read(position + 12, 6, "WebP VP8X canvas")
            image_hw = (1 + int.from_bytes(canvas[3:], "little"), 1 + int.from_bytes(canvas[:3], "little"))
        elif kind == b"VP8 " and image_hw is None:
            frame = source.read(position + 8, 10, "WebP VP8 frame header")
            if frame[3:6] != b"\x9d\x01\x2a":
                raise OSError("corrupt WebP: VP8 start code missing")
            image_hw = (int.from_bytes(frame[8:10], "little") & 0x3FFF, int.from_bytes(frame[6:8], "little") & 0x3FFF)
        elif kind == b"VP8L" and image_hw is None:
            frame = source.read(position + 8, 5, "WebP VP8L header")
            bits = int.from_bytes(frame[1:], "little")
            if frame[0] != 0x2F:
                raise OSError("corrupt WebP: VP8L signature missing")
            image_hw = (1 + (bits >> 14 & 0x3FFF), 1 + (bits & 0x3FFF))
        elif kind == b"EXIF" and orientation:
            found = exif_orientation(source.read(position + 8, length, "WebP EXIF chunk"))
        position += 8 + length + (length & 1)
    if image_hw is None:
        raise OSError("corrupt WebP: no VP8, VP8L or VP8X chunk")
    return Header("WebP", image_hw, found)


def _tiff(source: _Source) -> Header:
    """The first directory: size, orientation, and strips or tiles that must lie inside the file.

    OpenCV's TIFF decoder applies the orientation tag itself for some flags and not for others,
    so the header also says which bytes set that tag to 1; the reader patches them before
    decoding and applies the orientation like every other format's.
    """
    directory = _Directory(source)
    height, width = directory.first(257), directory.first(256)
    if height is None or width is None:
        raise OSError("corrupt TIFF: no image width or length")
    offsets = directory.values(273) or directory.values(324)
    counts = directory.values(279) or directory.values(325)
    if not offsets or len(offsets) != len(counts):
        raise OSError("unsupported TIFF: no strip or tile offsets with their byte counts")
    end = max(offset + count for offset, count in zip(offsets, counts))
    if end > source.size:
        raise OSError(f"truncated: TIFF image data ends at byte {end}, the file has {source.size}")
    found = directory.first(ORIENTATION_TAG) or 1
    patch = directory.patch_to_one(ORIENTATION_TAG)
    return Header("TIFF", (height, width), found if 1 <= found <= 8 else 1, orientation_patch=patch)


class _Directory:
    """The integer entries of the first image file directory of a TIFF structure (classic or BigTIFF)."""

    def __init__(self, source: _Source) -> None:
        self.source = source
        head = source.read(0, 8, "TIFF header")
        self.order = "little" if head[:2] == b"II" else "big"
        if head[:2] not in (b"II", b"MM"):
            raise OSError(f"corrupt TIFF: byte order {head[:2]!r}")
        big = int.from_bytes(head[2:4], self.order) == 43
        self.word, count_size, entry_size = (8, 8, 20) if big else (4, 2, 12)
        first = int.from_bytes(source.read(8, 8, "BigTIFF header") if big else head[4:8], self.order)
        count = int.from_bytes(source.read(first, count_size, "TIFF directory"), self.order)
        table = source.read(first + count_size, count * entry_size, "TIFF directory entries")
        self.entries: dict[int, tuple[int, int, int]] = {}
        for start in range(0, len(table), entry_size):
            tag, kind = int.from_bytes(table[start : start + 2], self.order), int.from_bytes(table[start + 2 : start + 4], self.order)
            number = int.from_bytes(table[start + 4 : start + 4 + self.word], self.order)
            self.entries.setdefault(tag, (kind, number, first + count_size + start + 4 + self.word))

    def values(self, tag: int) -> list[int]:
        """The integers of ``tag`` (empty when absent); OSError for a non-integer type or data past the end."""
        if tag not in self.entries:
            return []
        kind, number, at = self.entries[tag]
        if kind not in _TIFF_SIZES:
            raise OSError(f"corrupt TIFF: tag {tag} has type {kind}, expected an integer type")
        size = _TIFF_SIZES[kind]
        if number * size > self.word:
            at = int.from_bytes(self.source.read(at, self.word, f"TIFF tag {tag} offset"), self.order)
        raw = self.source.read(at, number * size, f"TIFF tag {tag} values")
        return [int.from_bytes(raw[i : i + size], self.order) for i in range(0, len(raw), size)]

    def first(self, tag: int) -> int | None:
        values = self.values(tag)
        return values[0] if values else None

    def patch_to_one(self, tag: int) -> tuple[int, bytes] | None:
        """``(offset, bytes)`` that make an inline single value of ``tag`` read 1, or None when absent."""
        if tag not in self.entries or self.entries[tag][1] != 1:
            return None
        kind, _, at = self.entries[tag]
        return at, (1).to_bytes(_TIFF_SIZES[kind], self.order)


def exif_orientation(payload: bytes) -> int:
    """The orientation (1..8) in an Exif payload (TIFF structure, optionally after ``Exif\\0\\0``); 1 if absent or unreadable."""
    data = payload[6:] if payload.startswith(b"Exif\x00\x00") else payload
    try:
        value = _Directory(_Source.of_bytes(data)).first(ORIENTATION_TAG)
    except OSError:
        return 1
    return value if value is not None and 1 <= value <= 8 else 1
