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
from typing import Literal

import albumentations as A
import numpy as np

from detmix import draw
from detmix.data import CocoDetection, YoloDetection
from detmix.transforms import CopyPaste, CutMix, MixUp, Mosaic
from detmix.transforms.dropped import DroppedBox, dropped_boxes
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
    compose.set_random_seed(seed)
    compose.save_applied_params = record_dropped
    return compose


def one_line(error: BaseException) -> str:
    """``error``'s message on one line (pydantic and YAML errors span several)."""
    return " ".join(str(error).split()) or type(error).__name__


def dataset_kind(path: Path) -> DatasetKind:
    """``coco`` for a ``.json`` file, ``data.yaml`` for a ``.yaml``/``.yml`` file, ``yolo`` for a folder.

    Raises:
        ValueError: ``path`` does not exist or is another kind of file.
    """
    if path.is_dir():
        return "yolo"
    if not path.exists():
        raise ValueError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "coco"
    if suffix in (".yaml", ".yml"):
        return "data.yaml"
    raise ValueError(f"{path}: expected a COCO annotation .json, a YOLO data.yaml, or a YOLO images folder or dataset root")


def find_names(images_dir: Path) -> Path | None:
    """The ``*.yaml`` beside (or inside) a YOLO images folder, if there is one: its class names."""
    for folder in (images_dir.parent, images_dir):
        for candidate in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
            return candidate
    return None


def coco_images_dir(annotation_file: Path) -> Path:
    """Where a COCO set's images are by default: the ``images`` folder beside the JSON, else the JSON's own folder."""
    beside = annotation_file.parent / "images"
    return beside if beside.is_dir() else annotation_file.parent


def open_dataset(
    path: Path,
    kind: DatasetKind,
    transform: A.Compose | None = None,
    masks: bool = False,
    *,
    images: Path | None = None,
    split: str = "train",
) -> Dataset:
    """A detmix dataset over ``path`` that runs ``transform``, with instance masks if ``masks``.

    ``coco``: ``path`` is the annotation JSON; its images are in ``images`` (default:
    :func:`coco_images_dir`). ``data.yaml``: an Ultralytics data.yaml, read for ``split``.
    ``yolo``: an images folder, or a dataset root holding ``images/``; labels are the sibling
    ``labels`` folder, class names come from a ``*.yaml`` beside the images when there is one.
    """
    mode = "instance" if masks else False
    if kind == "coco":
        return CocoDetection(images or coco_images_dir(path), path, transform, masks=mode)
    if kind == "data.yaml":
        return YoloDetection(path, transform=transform, split=split, masks=mode)
    images_dir = path / "images" if (path / "images").is_dir() else path
    return YoloDetection(images_dir, names=find_names(images_dir), transform=transform, masks=mode)


def has_segmentations(dataset: Dataset) -> bool:
    """Whether any object of ``dataset`` has a segmentation: a COCO polygon or RLE, a YOLO polygon row."""
    if isinstance(dataset, CocoDetection):
        return any(ann.get("segmentation") for ann in dataset.coco.dataset.get("annotations", []))
    return any(polygon is not None for record in dataset.records for polygon in record.polygons)


@dataclass
class Shown:
    """What :func:`show` drew."""

    image: np.ndarray  # the RGB grid
    titles: list[str]  # row titles, top to bottom
    indices: list[int]  # dataset index of each column's primary
    names: list[str]  # file name of each column's primary
    classes: list[str]  # the dataset's class names
    dropped: list[tuple[str, int, DroppedBox]] = field(default_factory=list)  # (row title, column, box) of every dropped box


def show(
    open_with: Callable[[bool], Dataset],
    pipelines: Sequence[tuple[str, A.Compose]],
    samples: int,
    seed: int,
    cell: int,
    *,
    originals: bool = False,
    dropped: bool = False,
    progress: Callable[[int], Callable[[], None]] | None = None,
) -> Shown:
    """Draw ``samples`` primaries (chosen with ``seed``) through each of ``pipelines`` into one grid.

    Args:
        open_with: opens the dataset without a transform, with instance masks when passed True.
        pipelines: ``(row title, Compose)`` per row; with ``dropped`` each must be made with
            ``save_applied_params=True``. A pipeline with :class:`~detmix.CopyPaste` needs a
            dataset with segmentations.
        samples: columns; fewer when the dataset has fewer images.
        seed: seeds the choice of primaries (the pipelines carry their own seeds).
        cell: side of one cell in pixels.
        originals: add a first row, ``Original``: each primary as loaded, above its augmentations.
        dropped: draw the boxes the mixers dropped (:func:`detmix.draw.draw_dropped`).
        progress: called with the number of cells to draw; returns what to call after each.

    Raises:
        ValueError: the dataset has no images, or no pipeline can run on it.
    """
    dataset, pipelines = _opened(open_with, pipelines)
    indices = random.Random(seed).sample(range(len(dataset)), min(samples, len(dataset)))
    rows: list[tuple[str, list[np.ndarray]]] = []
    drawn: list[tuple[str, int, DroppedBox]] = []
    step = progress((len(pipelines) + originals) * len(indices)) if progress else lambda: None
    if originals:
        dataset.transform = None
        rows.append(("Original", [_drawn(dataset[i], dataset.classes, cell, step) for i in indices]))
    for title, compose in pipelines:
        dataset.transform = compose
        cells = []
        for column, index in enumerate(indices):
            sample = dataset[index]
            boxes = dropped_boxes(sample) if dropped else []
            drawn += [(title, column, box) for box in boxes]
            cells.append(_drawn(sample, dataset.classes, cell, step, boxes))
        rows.append((title, cells))
    names = [dataset.records[i].path.name for i in indices]
    return Shown(draw.grid(rows), [title for title, _ in rows], indices, names, list(dataset.classes), drawn)


def _opened(open_with: Callable[[bool], Dataset], pipelines: Sequence[tuple[str, A.Compose]]) -> tuple[Dataset, Sequence[tuple[str, A.Compose]]]:
    """The dataset, read with instance masks when it has segmentations and every pipeline binds
    masks to boxes, and the pipelines that can run on it (those with CopyPaste need masks)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = open_with(False)
    segmented = has_segmentations(dataset)
    masked = segmented and all(MASK_INDICES in _label_fields(compose) for _, compose in pipelines)
    if masked:  # read again with masks: its warnings are the ones to show
        dataset = open_with(True)
    else:
        for warning in caught:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    if not len(dataset):
        raise ValueError("the dataset has no images")
    if masked:
        return dataset, pipelines
    runnable = [(title, compose) for title, compose in pipelines if not _has_copy_paste(compose)]
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


def _has_copy_paste(compose: A.BaseCompose) -> bool:
    """Whether ``compose`` holds a CopyPaste at any depth."""
    return any(isinstance(t, CopyPaste) or (isinstance(t, A.BaseCompose) and _has_copy_paste(t)) for t in compose.transforms)
