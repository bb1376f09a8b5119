"""YOLO-format detection datasets as Ultralytics users have them: an images folder, a dataset root or a data.yaml."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import albumentations as A
import numpy as np

from detmix.data.arguments import mask_mode
from detmix.data.dataset import DetectionDataset, LoadingOptions
from detmix.data.formats import MIN_BOX_SIDE, clip_xywh
from detmix.data.headers import Header
from detmix.data.instance_masks import UNSEGMENTED, Segmentation, yolo_segmentation
from detmix.data.records import Record
from detmix.data.scanning import Confinement, Problems, Skip, scan
from detmix.data.yolo_layout import MAX_CLASSES_WITHOUT_NAMES, find_layout, read_names

if TYPE_CHECKING:
    from typing_extensions import Unpack

#: How far outside [0, 1] a normalized coordinate may stray and still count as rounding.
ROUNDING = 1e-3


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


class YoloDetection(DetectionDataset):
    """A YOLO-format dataset (one ``class cx cy w h`` or ``class x1 y1 ... xn yn`` row per object, normalized) feeding the mixers.

    ``source`` is what an Ultralytics user has (see :mod:`detmix.data.yolo_layout` for the rules):

    * an images folder (searched recursively), its labels in the sibling ``labels`` folder;
    * a dataset root holding ``images/`` and ``labels/``: the whole of them, or with ``split``
      the ``images/<split>`` folder and ``labels/<split>``;
    * a data.yaml, with ``split`` one of its ``train``, ``val``, ``test`` entries (a folder, a
      ``.txt`` list of image paths, or a list of those, relative to its ``path``); each image's
      label file is where Ultralytics looks (the last ``images`` folder of its path replaced by
      ``labels``), and its ``names`` (or ``nc``) are the classes unless ``names`` is passed.

    Samples are the same dicts as :class:`CocoDetection`'s; ``image_id`` is the image's path
    relative to ``images_dir`` (the images folder, or the data.yaml's ``path``; an image a list
    names outside it keeps its whole path). A missing label file means an image without objects.
    A polygon row (segment labels, as Ultralytics' ``convert_coco(use_segments=True)`` and
    Roboflow write them; a file may mix them with box rows) gives the box of its vertices'
    extent, and its vertices are kept in ``records[i].polygons``. Malformed rows (wrong column
    count, non-numeric, class out of range, coordinates outside [0, 1] beyond rounding,
    non-positive size, a polygon of zero width or height) are skipped with one warning naming
    file and line; a row repeating an earlier row of its file (the same numbers once parsed) is
    removed with a warning, as Ultralytics does. A class id is the class index as is:
    ``classes[id]`` is its name. Without a transform, boxes are the annotation's to float64
    rounding.

    With ``masks="instance"`` each sample also carries ``masks`` (N x H x W uint8 0/1, one per
    box, in box order; each box is its mask's extent): a polygon row's polygon, a box row's box
    (the pixels whose centres lie in it; a warning counts those rows), drawn at the loaded size
    when a sample needs them, never cached (see :mod:`detmix.data.instance_masks`).

    Args:
        source: an images folder, a dataset root (a folder holding ``images/``) or a data.yaml
            (``.yaml`` / ``.yml``).
        labels_dir: folder of ``.txt`` label files mirroring the images folder; default: the
            sibling ``labels`` folder (the last ``images`` path component replaced by
            ``labels``). Not with a data.yaml, whose images each find their own.
        names: class names, as a list, an index -> name mapping (``{0: "person", ...}``) or a
            data.yaml path; default: a data.yaml source's ``names``, else ``"0"`` up to the
            largest id used, ids at most 9,999 (:data:`MAX_CLASSES_WITHOUT_NAMES`; pass names
            for more).
        transform: an ``A.Compose`` whose ``BboxParams`` declare ``label_fields=["class_labels"]``
            (``["class_labels", "mask_indices"]`` with ``masks="instance"``; its output is then
            paired with :func:`detmix.pair_masks`).
        split: which split to read: required with a data.yaml (``"train"``, ``"val"`` or
            ``"test"``) and with a dataset root split into ``images/<split>`` folders; refused
            with an images folder. Default: None.
        masks: False, or ``"instance"`` for instance masks. There is no semantic map: True is
            refused. Default: False.
        **loading: ``cache_images``, ``cache_bytes``, ``extras``, ``pool_size``, ``pool_bytes``,
            ``max_size``, ``follow_symlinks``, ``max_image_pixels``, ``verbose``: loading,
            caching and feeding, as documented on :class:`~detmix.data.dataset.DetectionDataset`.
            ``follow_symlinks`` covers images, image folders and label files resolving outside
            the images folder they were found in and the labels folder they belong to (a list
            file's images are read where it points).
    """

    def __init__(
        self,
        source: str | Path,
        labels_dir: str | Path | None = None,
        names: list[str] | Mapping[int, str] | str | Path | None = None,
        transform: A.Compose | None = None,
        *,
        split: str | None = None,
        masks: Literal[False, "instance"] = False,
        **loading: Unpack[LoadingOptions],
    ) -> None:
        super().__init__(transform, mask_mode=mask_mode(masks, ("instance",), type(self).__name__), **loading)
        self._layout = find_layout(source, labels_dir, split)
        self.images_dir, self.labels_dir = self._layout.images_dir, self._layout.labels_dir
        self._confinements: dict[Path, Confinement] = {}
        known = read_names(names) if names is not None else self._layout.names
        problems = Problems(type(self).__name__)
        paths = self._layout.find_images(self.follow_symlinks, problems)
        found = scan(self._read_files, paths, f"{type(self).__name__}: reading {self._layout.description}", self.verbose)
        self.records = [r for path, files in zip(paths, found) if (r := self._record(path, *files, known, problems)) is not None]
        if self.records and not any(self._label_file(r.path).is_file() for r in self.records):
            if self.labels_dir is not None:
                problems.add("no label file found for any image; is labels_dir right?", str(self.labels_dir))
            else:
                rule = "looked for where Ultralytics looks: the last images folder of each path replaced by labels"
                problems.add(f"no label file found for any image ({rule})", f"e.g. {self._label_file(self.records[0].path)}")
        problems.warn()
        top = max((int(r.class_labels.max()) for r in self.records if len(r.class_labels)), default=-1)
        self.classes = known if known is not None else [str(i) for i in range(top + 1)]

    def _label_file(self, image_path: Path) -> Path:
        return self._layout.label_folder_and_file(image_path)[1]

    def _read_files(self, path: Path) -> tuple[Header | Skip, list[str] | Skip]:
        """The image's header and its label file's rows (none when missing), or why either is unusable.

        Runs on the threads of :func:`~detmix.data.scanning.scan`: findings are returned, not reported.
        """
        header = self.check_image(path)
        if isinstance(header, Skip):
            return header, []
        folder, label_file = self._layout.label_folder_and_file(path)
        if not self.follow_symlinks:
            argument = "labels_dir" if self.labels_dir is not None else "labels folder"
            confinement = self._confinements.get(folder) or self._confinements.setdefault(folder, Confinement(folder, argument))
            confinement.refuse_outside(label_file, "YoloDetection: label file")
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
        first_line: dict[tuple[Any, ...], int] = {}  # each parsed row -> the line it was first on
        for number, line in enumerate([] if isinstance(lines, Skip) else lines, start=1):
            if not line.strip():
                continue
            try:
                label, (x, y, w, h), polygon = parse_row(line, None if names is None else len(names))
            except ValueError as error:
                problems.add("malformed label rows, skipped", f"{label_file}:{number} ({error})")
                continue
            first = first_line.setdefault((label, x, y, w, h, None if polygon is None else polygon.tobytes()), number)
            if first != number:
                problems.add("duplicate label rows (the same class and coordinates as an earlier row), removed", f"{label_file}:{number} (repeats line {first})")
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
        boxes = np.array(rows, np.float64).reshape(-1, 4)
        kept_polygons = tuple(polygons) if any(p is not None for p in polygons) else ()
        return self.make_record(path, header, boxes, np.array(labels, np.int64), self._layout.image_id(path), polygons=kept_polygons)

    def segmentations(self, index: int) -> tuple[Segmentation, ...]:
        """Each object's polygon in the upright file's pixels; None for a box row (masked by its box)."""
        record = self.records[index]
        file_hw = record.file_hw or record.image_hw
        return tuple(yolo_segmentation(polygon, file_hw) for polygon in record.polygons or (None,) * len(record.bboxes))
