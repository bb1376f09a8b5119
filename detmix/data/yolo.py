"""YOLO-format (Ultralytics layout) detection datasets: ``images/...`` beside ``labels/...``."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import albumentations as A
import numpy as np
import yaml

from detmix.data.arguments import folder_argument, mask_mode
from detmix.data.dataset import DetectionDataset, LoadingOptions
from detmix.data.formats import MIN_BOX_SIDE, clip_xywh
from detmix.data.headers import Header
from detmix.data.instance_masks import UNSEGMENTED, Segmentation, yolo_segmentation
from detmix.data.records import Record
from detmix.data.scanning import Confinement, Problems, Skip, scan

if TYPE_CHECKING:
    from typing_extensions import Unpack

IMAGE_SUFFIXES = {".bmp", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp"}
#: How far outside [0, 1] a normalized coordinate may stray and still count as rounding.
ROUNDING = 1e-3
#: Without ``names``, class ids 0..MAX_CLASSES_WITHOUT_NAMES - 1 are accepted (and ``classes`` is
#: "0".."K-1" up to the largest id used). The bound keeps one absurd id (1e9) from building a
#: billion names; pass ``names`` for more classes.
MAX_CLASSES_WITHOUT_NAMES = 10_000


def sibling_labels_dir(images_dir: Path) -> Path:
    """Ultralytics' rule: the last ``images`` component of the path becomes ``labels``."""
    parts = list(images_dir.parts)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            return Path(*parts)
    raise ValueError(f"labels_dir: images_dir {images_dir} has no 'images' folder to find the sibling 'labels' of; pass labels_dir")


def read_names(names: Any) -> list[str]:
    """Class names from a list, an index -> name mapping, or the ``names`` of a data.yaml (either form)."""
    if isinstance(names, (str, os.PathLike)):
        path = Path(names)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            raise ValueError(f"names: cannot read class names from {path}: {error}") from error
        listed, where = (data.get("names") if isinstance(data, dict) else None), f"{path}: "
        if not isinstance(listed, (list, dict)):
            raise ValueError(f"names: {path} has no 'names' list or mapping")
    elif isinstance(names, (list, tuple, Mapping)):
        listed, where = names, ""
    else:
        raise TypeError(f"names: expected a list of class names, an index -> name mapping or a data.yaml path, got {type(names).__name__} {names!r}")
    if isinstance(listed, Mapping):
        listed = names_in_order(listed, where)
    if not listed:
        raise ValueError(f"names: {where}no class names")
    return [str(n) for n in listed]


def names_in_order(mapping: Mapping[Any, Any], where: str = "") -> list[Any]:
    """The values of an index -> name mapping, in index order; the indices must be 0..K-1."""
    try:
        indices = sorted(mapping, key=int)
    except (TypeError, ValueError):
        raise ValueError(f"names: {where}the mapping must have integer keys, got {list(mapping)}") from None
    if [int(k) for k in indices] != list(range(len(indices))):
        raise ValueError(f"names: {where}the mapping must number classes 0..{len(indices) - 1}, got {indices}")
    return [mapping[k] for k in indices]


def parse_row(line: str, num_classes: int | None) -> tuple[int, tuple[float, float, float, float], np.ndarray | None]:
    """The class, normalized ``x y w h`` extent and polygon of one label row; ValueError saying what is wrong with it.

    A row is a box, ``class cx cy w h`` (5 columns), or a polygon as Ultralytics' segment labels
    write it, ``class x1 y1 ... xn yn`` with n >= 3 (an odd number of columns from 7): its box is
    its vertices' extent and its vertices come back as a read-only float32 ``(n, 2)`` array, as
    written (None for a box). The class must be an integer below ``num_classes`` (below
    :data:`MAX_CLASSES_WITHOUT_NAMES` when None).
    """
    fields = line.split()
    count = len(fields)
    if count != 5 and (count < 7 or count % 2 == 0):
        why = f"{count - 1} coordinates after the class do not pair into x y vertices" if count % 2 == 0 else f"a polygon needs 3 or more vertices, got {count // 2}"
        raise ValueError(f"expected 5 columns (class cx cy w h) or an odd number from 7 (class x1 y1 ... xn yn), got {count}: {why}")
    try:  # plain floats for the 5 values of a box, one numpy pass over a polygon's hundreds
        values = [float(v) for v in fields] if count == 5 else np.array(fields, dtype=np.float64)
    except ValueError:
        raise ValueError(f"non-numeric value in {line.strip()!r}") from None
    if not (all(map(math.isfinite, values)) if count == 5 else np.isfinite(values).all()):
        raise ValueError(f"non-finite value in {line.strip()!r}")
    number = float(values[0])
    limit = MAX_CLASSES_WITHOUT_NAMES if num_classes is None else num_classes
    if not 0 <= number < limit or number != int(number):
        hint = " without names; pass names for more classes" if num_classes is None else ""
        raise ValueError(f"class {fields[0]} outside 0..{limit - 1}{hint}")
    if count == 5:
        cx, cy, w, h = values[1:]
        if w <= 0 or h <= 0:
            raise ValueError(f"non-positive width or height in {line.strip()!r}")
        if min(cx - w / 2, cy - h / 2) < -ROUNDING or max(cx + w / 2, cy + h / 2) > 1 + ROUNDING:
            raise ValueError(f"box outside [0, 1] in {line.strip()!r}")
        return int(number), (cx - w / 2, cy - h / 2, w, h), None
    vertices = values[1:].reshape(-1, 2)
    if vertices.min() < -ROUNDING or vertices.max() > 1 + ROUNDING:
        raise ValueError(f"polygon vertex outside [0, 1] in {line.strip()!r}")
    (x0, y0), (x1, y1) = vertices.min(axis=0).tolist(), vertices.max(axis=0).tolist()
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"polygon of zero width or height in {line.strip()!r}")
    polygon = vertices.astype(np.float32)
    polygon.flags.writeable = False
    return int(number), (x0, y0, x1 - x0, y1 - y0), polygon


def is_folder_entry(entry: os.DirEntry[str]) -> bool:
    """Whether ``entry`` is a folder, symlinks followed; False when that cannot be told (a symlink loop)."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def find_images(images_dir: Path, follow_symlinks: bool, problems: Problems) -> list[Path]:
    """The image files under ``images_dir``, sorted; each real folder is walked once (symlink loops end).

    Without ``follow_symlinks`` a symlinked image or folder that resolves outside ``images_dir``
    is a ValueError naming it. Folders that cannot be listed are reported to ``problems``.
    """
    confinement = Confinement(images_dir, "images_dir")
    found: list[Path] = []
    seen: set[tuple[int, int]] = set()
    pending = [images_dir]
    while pending:
        folder = pending.pop()
        try:
            identity = folder.stat()
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name, reverse=True)
        except OSError as error:
            problems.add("folders that cannot be listed, skipped", f"{folder} ({error})")
            continue
        if (identity.st_dev, identity.st_ino) in seen:
            continue
        seen.add((identity.st_dev, identity.st_ino))
        for entry in entries:
            path, is_folder = Path(entry.path), is_folder_entry(entry)
            if not is_folder and path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            if entry.is_symlink() and not follow_symlinks:
                confinement.refuse_outside(path, "YoloDetection: image" + (" folder" if is_folder else ""))
            (pending if is_folder else found).append(path)
    return sorted(found)


class YoloDetection(DetectionDataset):
    """A YOLO-format dataset (one ``class cx cy w h`` or ``class x1 y1 ... xn yn`` row per object, normalized) feeding the mixers.

    Samples are the same dicts as :class:`CocoDetection`'s; ``image_id`` is the image's path
    relative to ``images_dir``. A missing label file means an image without objects. A polygon
    row (segment labels, as Ultralytics' ``convert_coco(use_segments=True)`` and Roboflow write
    them; a file may mix them with box rows) gives the box of its vertices' extent, and its
    vertices are kept in ``records[i].polygons``. Malformed rows (wrong column count, non-numeric,
    class out of range, coordinates outside [0, 1] beyond rounding, non-positive size, a polygon
    of zero width or height) are skipped with one warning naming file and line. A class id is
    the class index as is: ``classes[id]`` is its name.

    With ``masks="instance"`` each sample also carries ``masks`` (N x H x W uint8 0/1, one per
    box, in box order; each box is its mask's extent): a polygon row's polygon, a box row's box
    (the pixels whose centres lie in it; a warning counts those rows), drawn at the loaded size
    when a sample needs them, never cached (see :mod:`detmix.data.instance_masks`).

    Args:
        images_dir: folder of images (searched recursively, each real folder once).
        labels_dir: folder of ``.txt`` label files mirroring ``images_dir``; default: the sibling
            ``labels`` folder (the last ``images`` path component replaced by ``labels``).
        names: class names, as a list, an index -> name mapping (``{0: "person", ...}``) or a
            data.yaml path; default: ``"0"`` up to the largest id used, ids at most 9,999
            (:data:`MAX_CLASSES_WITHOUT_NAMES`; pass names for more).
        transform: an ``A.Compose`` whose ``BboxParams`` declare ``label_fields=["class_labels"]``
            (``["class_labels", "mask_indices"]`` with ``masks="instance"``; its output is then
            paired with :func:`detmix.pair_masks`).
        masks: False, or ``"instance"`` for instance masks. There is no semantic map: True is
            refused. Default: False.
        **loading: ``cache_images``, ``cache_bytes``, ``extras``, ``pool_size``, ``pool_bytes``,
            ``max_size``, ``follow_symlinks``, ``max_image_pixels``, ``verbose``: loading,
            caching and feeding, as documented on :class:`~detmix.data.dataset.DetectionDataset`.
            ``follow_symlinks`` covers images, image folders and label files resolving outside
            ``images_dir`` / ``labels_dir``.
    """

    def __init__(
        self,
        images_dir: str | Path,
        labels_dir: str | Path | None = None,
        names: list[str] | Mapping[int, str] | str | Path | None = None,
        transform: A.Compose | None = None,
        *,
        masks: Literal[False, "instance"] = False,
        **loading: Unpack[LoadingOptions],
    ) -> None:
        super().__init__(transform, mask_mode=mask_mode(masks, ("instance",), type(self).__name__), **loading)
        self.images_dir = folder_argument(images_dir, "images_dir")
        self.labels_dir = folder_argument(labels_dir if labels_dir is not None else sibling_labels_dir(self.images_dir), "labels_dir")
        self._labels_confinement = Confinement(self.labels_dir, "labels_dir")
        known = read_names(names) if names is not None else None
        problems = Problems(type(self).__name__)
        paths = find_images(self.images_dir, self.follow_symlinks, problems)
        found = scan(self._read_files, paths, f"{type(self).__name__}: reading {self.images_dir}", self.verbose)
        self.records = [r for path, files in zip(paths, found) if (r := self._record(path, *files, known, problems)) is not None]
        if self.records and not any(self._label_file(r.path).is_file() for r in self.records):
            problems.add("no label file found for any image; is labels_dir right?", str(self.labels_dir))
        problems.warn()
        top = max((int(r.class_labels.max()) for r in self.records if len(r.class_labels)), default=-1)
        self.classes = known if known is not None else [str(i) for i in range(top + 1)]

    def _label_file(self, image_path: Path) -> Path:
        return self.labels_dir / image_path.relative_to(self.images_dir).with_suffix(".txt")

    def _read_files(self, path: Path) -> tuple[Header | Skip, list[str] | Skip]:
        """The image's header and its label file's rows (none when missing), or why either is unusable.

        Runs on the threads of :func:`~detmix.data.scanning.scan`: findings are returned, not reported.
        """
        header = self.check_image(path)
        if isinstance(header, Skip):
            return header, []
        label_file = self._label_file(path)
        if not self.follow_symlinks:
            self._labels_confinement.refuse_outside(label_file, "YoloDetection: label file")
        if not label_file.exists():
            return header, []
        try:
            if not label_file.is_file():
                raise OSError("not a regular file")
            return header, label_file.read_text(encoding="utf-8-sig").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            return header, Skip("unreadable label files, their images kept without objects", f"{label_file} ({error})")

    def _record(self, path: Path, header: Header | Skip, lines: list[str] | Skip, names: list[str] | None, problems: Problems) -> Record | None:
        for skip in (s for s in (header, lines) if isinstance(s, Skip)):
            problems.add(*skip)
        if isinstance(header, Skip):
            return None
        image_hw = header.upright_hw
        min_side = self.min_box_side(header)
        label_file = self._label_file(path)
        rows: list[tuple[float, float, float, float]] = []
        labels: list[int] = []
        polygons: list[np.ndarray | None] = []
        for number, line in enumerate([] if isinstance(lines, Skip) else lines, start=1):
            if not line.strip():
                continue
            try:
                label, (x, y, w, h), polygon = parse_row(line, None if names is None else len(names))
            except ValueError as error:
                problems.add("malformed label rows, skipped", f"{label_file}:{number} ({error})")
                continue
            height, width = image_hw
            clipped = clip_xywh(x * width, y * height, w * width, h * height, image_hw)
            if clipped is None:
                problems.add("label rows entirely outside their image, dropped", f"{label_file}:{number}")
                continue
            if clipped[2] < min_side[0] or clipped[3] < min_side[1]:
                problems.add(f"label rows under {MIN_BOX_SIDE} px wide or high as loaded, skipped", f"{label_file}:{number}")
                continue
            rows.append(clipped)
            labels.append(label)
            polygons.append(polygon)
            if polygon is None and self.masks == "instance":
                problems.add(UNSEGMENTED, f"{label_file}:{number}")
        image_id = path.relative_to(self.images_dir).as_posix()
        boxes = np.array(rows, np.float64).reshape(-1, 4)
        kept_polygons = tuple(polygons) if any(p is not None for p in polygons) else ()
        return self.make_record(path, header, boxes, np.array(labels, np.int64), image_id, polygons=kept_polygons)

    def segmentations(self, index: int) -> tuple[Segmentation, ...]:
        """Each object's polygon in the upright file's pixels; None for a box row (masked by its box)."""
        record = self.records[index]
        file_hw = record.file_hw or record.image_hw
        return tuple(yolo_segmentation(polygon, file_hw) for polygon in record.polygons or (None,) * len(record.bboxes))
