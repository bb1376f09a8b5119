"""What ``detmix show`` draws: a dataset opened from a path, pipelines run over it, a grid of samples.

The command line is :mod:`detmix.cli`; this module is the work, callable from Python. A grid
has one row per pipeline (an ``A.Compose`` run by a detmix dataset, which feeds its mixers their
extra samples), the same primary images in every row, and optionally an ``Original`` row of
those primaries as loaded. A dataset with segmentations (COCO polygons or RLEs, YOLO polygon
rows) is read with ``masks="instance"`` when the pipelines bind masks to boxes
(:data:`~detmix.MASK_INDICES`), and each object's mask is drawn.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

import albumentations as A
import numpy as np
from albumentations.augmentations.mixing import transforms as albumentations_mixing

from detmix import draw
from detmix.data import CocoDetection, YoloDetection
from detmix.data.coco import read_json
from detmix.data.instance_masks import UNSEGMENTED
from detmix.data.scanning import Problems
from detmix.data.yolo import parse_row
from detmix.data.yolo_layout import YAML_SUFFIXES, find_layout, last_images_component, load_yaml, sibling_labels_dir
from detmix.transforms import CopyPaste, CutMix, MixUp, Mosaic
from detmix.transforms.dropped import DroppedBox, dropped_and_moved
from detmix.transforms.instances import MASK_INDICES

Dataset = CocoDetection | YoloDetection
DatasetKind = Literal["coco", "data.yaml", "yolo"]
#: Output size of the built-in pipelines' Mosaic.
MOSAIC_SIZE = (512, 512)
#: Built-in pipelines and their row titles, in grid order; ``grid`` draws every one.
PIPELINES = {"mosaic": "Mosaic", "mixup": "MixUp", "cutmix": "CutMix", "all": "All three", "copypaste": "CopyPaste"}
#: The label field detmix's datasets fill; a pipeline they run must declare it.
CLASS_LABELS = "class_labels"


def build_pipeline(name: str, seed: int, record_dropped: bool = False) -> A.Compose:
    """The seeded Compose of built-in pipeline ``name`` (every transform at ``p=1``).

    Its boxes are ``pascal_voc`` with ``class_labels`` and :data:`~detmix.MASK_INDICES`
    (so a dataset with instance masks can run it) and ``min_visibility=0.1``.
    ``record_dropped`` sets ``save_applied_params`` so :func:`detmix.dropped_boxes` can read
    what the mixers dropped.
    """
    transforms: dict[str, Callable[[], list[A.BasicTransform]]] = {
        "mosaic": lambda: [Mosaic(target_size=MOSAIC_SIZE, p=1.0)],
        "mixup": lambda: [MixUp(p=1.0)],
        "cutmix": lambda: [CutMix(p=1.0)],
        "all": lambda: [Mosaic(target_size=MOSAIC_SIZE, p=1.0), MixUp(p=1.0), CutMix(p=1.0)],
        "copypaste": lambda: [CopyPaste(scale_range=(0.5, 1.5), instance_p=0.7, p=1.0)],
    }
    if name not in transforms:
        raise ValueError(f"pipeline: expected one of {list(transforms)}, got {name!r}")
    bbox_params = A.BboxParams(format="pascal_voc", label_fields=[CLASS_LABELS, MASK_INDICES], min_visibility=0.1)
    return A.Compose(transforms[name](), bbox_params=bbox_params, seed=seed, save_applied_params=record_dropped)


def load_pipeline(path: Path, seed: int, record_dropped: bool = False) -> A.Compose:
    """The Compose saved at ``path`` by ``A.save`` (JSON, or YAML for ``.yaml``/``.yml``), seeded with ``seed``.

    Raises:
        ValueError: the file does not hold an Albumentations pipeline, or not an ``A.Compose``
            whose ``BboxParams`` declare ``class_labels`` (what detmix's datasets fill).
    """
    data_format = "yaml" if path.suffix.lower() in (".yaml", ".yml") else "json"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Albumentations' notes on the saved arguments
            compose = A.load(str(path), data_format=data_format)
    except Exception as error:  # A.load raises whatever its parser or a constructor raises
        raise ValueError(f"{path}: not an Albumentations pipeline saved with A.save ({one_line(error)})") from None
    if not isinstance(compose, A.Compose):
        raise ValueError(f"{path}: expected an A.Compose, got {type(compose).__name__}")
    processor = compose.processors.get("bboxes")
    fields = list(processor.params.label_fields or []) if processor else None
    if not fields or CLASS_LABELS not in fields:
        raise ValueError(
            f"{path}: the pipeline needs bbox_params=A.BboxParams(format=..., label_fields=['{CLASS_LABELS}', ...]) "
            f"(detmix's datasets fill '{CLASS_LABELS}'), got label_fields={fields}",
        )
    foreign = _holds(compose, (albumentations_mixing.Mosaic, albumentations_mixing.OverlayElements))
    if foreign is not None:
        raise ValueError(
            f"{path}: holds Albumentations' own A.{type(foreign).__name__}, which takes its extra images from metadata; "
            "detmix's datasets feed detmix.Mosaic, MixUp, CutMix and CopyPaste only",
        )
    compose.set_random_seed(seed)
    compose.save_applied_params = record_dropped
    return compose


def one_line(error: BaseException) -> str:
    """``error``'s message on one line (pydantic and YAML errors span several)."""
    return " ".join(str(error).split()) or type(error).__name__


def dataset_kind(path: Path) -> DatasetKind:
    """``coco`` for a ``.json`` file, ``data.yaml`` for a ``.yaml``/``.yml`` file, ``yolo`` for a YOLO folder.

    Raises:
        ValueError: ``path`` does not exist, is another kind of file, or is a folder of neither
            YOLO layout (a folder holding a data.yaml is told to pass it).
    """
    if path.is_dir():
        if (path / "images").is_dir() and (path / "labels").is_dir():
            return "yolo"
        labels = sibling_labels(path)
        if labels is not None and labels.is_dir():
            return "yolo"
        for name in ("data.yaml", "data.yml"):
            if (path / name).is_file():
                raise ValueError(f"{path} holds {name}: pass {path / name}")
        raise ValueError(f"{path}: expected a YOLO dataset root holding images/ and labels/, or an images folder with labels/ beside it (.../images/... -> .../labels/...)")
    if not path.exists():
        raise ValueError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "coco"
    if suffix in YAML_SUFFIXES:
        return "data.yaml"
    raise ValueError(f"{path}: expected a COCO annotation .json, a YOLO data.yaml, or a YOLO images folder or dataset root")


def sibling_labels(images_dir: Path) -> Path | None:
    """The labels folder of a YOLO images folder by Ultralytics' rule (its last ``images`` becomes ``labels``); None without one."""
    return sibling_labels_dir(images_dir.absolute()) if last_images_component(images_dir.absolute().parts) is not None else None


def root_splits(path: Path) -> list[str]:
    """The splits of a YOLO dataset root: the folders in its ``images/``, sorted (none for another folder)."""
    images = path / "images"
    return sorted(entry.name for entry in images.iterdir() if entry.is_dir()) if images.is_dir() else []


def find_names(folders: Sequence[Path]) -> Path | None:
    """The YAML of a YOLO folder's class names: ``data.yaml``/``data.yml`` in ``folders`` if it has
    ``names``, else the first other ``*.yaml``/``*.yml`` (by name, folder by folder) that has;
    YAML files that are something else, or cannot be read, are passed over."""
    found = [path for folder in dict.fromkeys(folders) for path in sorted(folder.iterdir()) if path.suffix.lower() in YAML_SUFFIXES and path.is_file()]
    preferred = [path for path in found if path.name.lower() in ("data.yaml", "data.yml")]
    return next((path for path in preferred + [p for p in found if p not in preferred] if _has_names(path)), None)


def _has_names(path: Path) -> bool:
    try:
        data = load_yaml(path, "names", "class names")
    except ValueError:
        return False
    return isinstance(data, dict) and isinstance(data.get("names"), (list, dict))


def coco_images_dir(annotation_file: Path, images: Sequence[object], chosen: Path | None = None) -> Path:
    """The folder of a COCO set's images: ``chosen`` (``--images``), else the first of ``images/``
    beside the JSON, the JSON's folder, ``../<name after 'instances_'>`` (COCO's own
    ``annotations/instances_train2017.json`` -> ``train2017/``) and ``../images``, that holds one of
    the files the JSON's ``images`` name (tried in their order).

    Raises:
        ValueError: no such folder holds any of them.
    """
    folder = annotation_file.parent
    stem = annotation_file.stem
    candidates = [chosen] if chosen is not None else [folder / "images", folder]
    if chosen is None:
        candidates += [folder.parent / stem[len("instances_") :]] if stem.startswith("instances_") else []
        candidates += [folder.parent / "images"]
    names = [entry["file_name"] for entry in images if isinstance(entry, dict) and isinstance(entry.get("file_name"), str)]
    folders = list(dict.fromkeys(c for c in candidates if c.is_dir()))
    if not images:
        return folders[0] if folders else folder
    found = next((c for c in folders if any((c / name).is_file() for name in names)), None)
    if found is None:
        where = " or ".join(str(c) for c in folders) or "no folder"
        raise ValueError(f"{annotation_file}: none of the {len(images)} images were found in {where}; pass --images DIR")
    return found


@dataclass(frozen=True)
class Source:
    """A dataset to open (see :func:`open_dataset`), and whether its annotations hold segmentations."""

    path: Path
    kind: DatasetKind
    images: Path | None  # COCO: its images folder
    split: str | None
    segmented: bool  # a COCO polygon or RLE, a YOLO polygon row

    def open(self, masks: bool = False) -> Dataset:
        """The dataset, without a transform; with instance masks if ``masks``."""
        return open_dataset(self.path, self.kind, masks=masks, images=self.images, split=self.split)


def look(path: Path, kind: DatasetKind, *, images: Path | None = None, split: str | None = None) -> Source:
    """The :class:`Source` at ``path``, from a first read of its annotations (the COCO JSON, the
    YOLO label files up to the first polygon row): its images folder and whether it has
    segmentations, so the dataset is built once, with masks or without.

    Raises:
        ValueError: the JSON is not COCO, or no folder holds its images (:func:`coco_images_dir`).
    """
    if kind == "coco":
        data = read_json(path)
        annotations = data.get("annotations")
        segmented = isinstance(annotations, list) and any(isinstance(ann, dict) and ann.get("segmentation") for ann in annotations)
        return Source(path, kind, coco_images_dir(path, data["images"], images), None, segmented)
    layout = find_layout(*_yolo_source(path, kind, split))
    segmented = any(_has_polygon(layout.label_folder_and_file(image)[1]) for image in layout.find_images(False, Problems("YoloDetection")))
    return Source(path, kind, None, split, segmented)


def _has_polygon(label_file: Path) -> bool:
    try:
        with open(label_file, encoding="utf-8-sig") as file:
            return any(_is_polygon(line) for line in file)
    except (OSError, UnicodeDecodeError):
        return False  # the dataset reports it


def _is_polygon(line: str) -> bool:
    try:
        return parse_row(line, None)[2] is not None
    except ValueError:
        return False


def _yolo_source(path: Path, kind: DatasetKind, split: str | None) -> tuple[Path, None, str | None]:
    """``YoloDetection``'s source, labels_dir and split: an images folder as an absolute path
    (Ultralytics' labels rule reads its path), a split only for a data.yaml or a root with splits."""
    if kind == "data.yaml":
        return path, None, split or "train"
    if (path / "images").is_dir():
        return path, None, split if root_splits(path) else None
    return path.absolute(), None, None


def open_dataset(
    path: Path,
    kind: DatasetKind,
    transform: A.Compose | None = None,
    masks: bool = False,
    *,
    images: Path | None = None,
    split: str | None = None,
) -> Dataset:
    """A detmix dataset over ``path`` that runs ``transform``, with instance masks if ``masks``.

    ``coco``: ``path`` is the annotation JSON; its images are in ``images`` (default:
    :func:`coco_images_dir`). ``data.yaml``: an Ultralytics data.yaml, read for ``split`` (default
    train). ``yolo``: an images folder, or a dataset root holding ``images/`` (one of its
    ``images/<split>`` folders when it has them: ``split``); labels by Ultralytics' rule, class
    names from :func:`find_names`.
    """
    mode = "instance" if masks else False
    if kind == "coco":
        return CocoDetection(images or coco_images_dir(path, read_json(path)["images"]), path, transform, masks=mode)
    source, _, split = _yolo_source(path, kind, split)
    if kind == "data.yaml":
        return YoloDetection(source, transform=transform, split=split, masks=mode)
    index = last_images_component(source.parts)
    root = [Path(*source.parts[:index])] if index is not None else []
    folders = [path] if (path / "images").is_dir() else [*root, source.parent, source]
    return YoloDetection(source, names=find_names(folders), transform=transform, split=split, masks=mode)


class Dropped(NamedTuple):
    """A box a mixer dropped on the way to one cell of the grid."""

    row: str  # the row's title
    column: int
    box: DroppedBox
    moved_by: str | None  # the transform after the mixer that moved pixels: the box is listed, not drawn


@dataclass
class Shown:
    """What :func:`show` drew."""

    image: np.ndarray  # the RGB grid
    titles: list[str]  # row titles, top to bottom
    indices: list[int]  # dataset index of each column's primary
    names: list[str]  # file name of each column's primary
    classes: list[str]  # the dataset's class names
    dropped: list[Dropped] = field(default_factory=list)  # every dropped box, row by row


def show(
    open_with: Callable[[bool], Dataset],
    pipelines: Sequence[tuple[str, A.Compose]],
    samples: int,
    seed: int,
    cell: int,
    *,
    segmented: bool,
    originals: bool = False,
    dropped: bool = False,
    progress: Callable[[int], Callable[[], None]] | None = None,
) -> Shown:
    """Draw ``samples`` primaries (chosen with ``seed``) through each of ``pipelines`` into one grid.

    Args:
        open_with: opens the dataset without a transform, with instance masks when passed True
            (called once: with True when ``segmented`` and every pipeline binds masks to boxes).
        pipelines: ``(row title, Compose)`` per row; with ``dropped`` each must be made with
            ``save_applied_params=True``. A pipeline with :class:`~detmix.CopyPaste` needs a
            dataset with segmentations.
        samples: columns; fewer when the dataset has fewer images.
        seed: seeds the choice of primaries (the pipelines carry their own seeds).
        cell: side of one cell in pixels.
        segmented: whether the dataset's annotations hold segmentations (:attr:`Source.segmented`).
        originals: add a first row, ``Original``: each primary as loaded, above its augmentations.
        dropped: draw the boxes the mixers dropped (:func:`detmix.draw.draw_dropped`), those
            that nothing after their mixer moved
            (:func:`~detmix.transforms.dropped.dropped_and_moved`); :attr:`Shown.dropped` lists them all.
        progress: called with the number of cells to draw; returns what to call after each.

    Raises:
        ValueError: the dataset has no images, or no pipeline can run on it.
    """
    dataset, pipelines = _opened(open_with, pipelines, segmented)
    indices = random.Random(seed).sample(range(len(dataset)), min(samples, len(dataset)))
    rows: list[tuple[str, list[np.ndarray]]] = []
    listed: list[Dropped] = []
    step = progress((len(pipelines) + originals) * len(indices)) if progress else lambda: None
    if originals:
        dataset.transform = None
        rows.append(("Original", [_drawn(dataset[i], dataset.classes, cell, step) for i in indices]))
    for title, compose in pipelines:
        dataset.transform = compose
        cells = []
        for column, index in enumerate(indices):
            sample = dataset[index]
            boxes = [Dropped(title, column, box, mover) for box, mover in (dropped_and_moved(sample) if dropped else [])]
            listed += boxes
            cells.append(_drawn(sample, dataset.classes, cell, step, [d.box for d in boxes if d.moved_by is None]))
        rows.append((title, cells))
    names = [dataset.records[i].path.name for i in indices]
    return Shown(draw.grid(rows), [title for title, _ in rows], indices, names, list(dataset.classes), listed)


def _opened(open_with: Callable[[bool], Dataset], pipelines: Sequence[tuple[str, A.Compose]], segmented: bool) -> tuple[Dataset, Sequence[tuple[str, A.Compose]]]:
    """The dataset, read with instance masks when it has segmentations and every pipeline binds
    masks to boxes, and the pipelines that can run on it (those with CopyPaste need masks)."""
    masked = segmented and all(MASK_INDICES in _label_fields(compose) for _, compose in pipelines)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = open_with(masked)
    for warning in caught:  # show chose the masks: its words for what that means, the rest as they are
        text = str(warning.message)
        if UNSEGMENTED in text:
            text = "objects without a segmentation are drawn and mixed with their box as their mask" + text.split(UNSEGMENTED, 1)[1]
        warnings.warn_explicit(text, warning.category, warning.filename, warning.lineno)
    if not len(dataset):
        raise ValueError("the dataset has no images")
    if masked:
        return dataset, pipelines
    runnable = [(title, compose) for title, compose in pipelines if not _holds(compose, CopyPaste)]
    if not runnable:
        why = f"declare '{MASK_INDICES}' in the pipeline's BboxParams label_fields" if segmented else "the dataset has no segmentations (COCO) or polygon rows (YOLO)"
        raise ValueError(f"CopyPaste needs instance masks: {why}")
    return dataset, runnable


def _drawn(sample: dict, classes: Sequence[str], cell: int, step: Callable[[], None], dropped: Sequence[DroppedBox] = ()) -> np.ndarray:
    image = draw.draw_sample(sample, classes, cell, dropped)
    step()
    return image


def _label_fields(compose: A.Compose) -> list[str]:
    processor = compose.processors.get("bboxes")
    return list(processor.params.label_fields or []) if processor else []


def _holds(compose: A.BaseCompose, kind: type | tuple[type, ...]) -> A.BasicTransform | None:
    """The first transform of ``kind`` in ``compose``, at any depth; None without one."""
    for transform in compose.transforms:
        found = _holds(transform, kind) if isinstance(transform, A.BaseCompose) else transform if isinstance(transform, kind) else None
        if found is not None:
            return found
    return None
