"""The dataset behaviour COCO and YOLO folders share: sample dicts, mixer feeding, seeding, schedules.

A subclass fills :class:`Record` s (one per image: path, size and orientation from its header,
COCO-style pixel boxes, contiguous class indices), checking each image with
:meth:`DetectionDataset.probe_image`, and may add pixel targets through
:meth:`DetectionDataset.load_pixels`.
"""

from __future__ import annotations

import multiprocessing
import numbers
import os
import warnings
from dataclasses import dataclass
from multiprocessing.context import get_spawning_popen
from pathlib import Path
from typing import Any

import albumentations as A
import numpy as np

from detmix.data.feeding import LazySample, find_mixers, metadata_for
from detmix.data.formats import convert_bboxes
from detmix.data.headers import Header, probe_file
from detmix.data.images import ImageCache, read_rgb
from detmix.data.seeding import worker_seed
from detmix.transforms.base import mixing_off

#: Label field the datasets fill; a Compose given to them must declare it.
LABEL_FIELD = "class_labels"
DEFAULT_CACHE_IMAGES = 64
#: Images with more pixels are skipped: 3 x 8-bit channels of this many pixels make 256 MiB
#: (the same number as Pillow's default ``Image.MAX_IMAGE_PIXELS``, without touching that global).
DEFAULT_MAX_IMAGE_PIXELS = 89_478_485


@dataclass(frozen=True)
class Record:
    """One image of a dataset: where it is, its upright size and orientation on disk, and its objects.

    The arrays are made read-only: samples are built from copies of them.
    """

    path: Path
    image_hw: tuple[int, int]  # upright (height, width), what the boxes refer to
    bboxes: np.ndarray  # (N, 4) float32 COCO [x, y, w, h] pixels, inside the image
    class_labels: np.ndarray  # (N,) int64 contiguous class indices
    image_id: Any
    annotation_ids: tuple[int, ...] = ()  # COCO: the annotations behind the boxes
    orientation: int = 1  # EXIF orientation read from the header at construction

    def __post_init__(self) -> None:
        self.bboxes.flags.writeable = False
        self.class_labels.flags.writeable = False

    @property
    def stored_hw(self) -> tuple[int, int]:
        """``(height, width)`` of the pixels as stored in the file, before the orientation."""
        height, width = self.image_hw
        return (width, height) if self.orientation in (5, 6, 7, 8) else (height, width)


def integer_argument(value: Any, name: str, minimum: int) -> int:
    """``value`` as an int of at least ``minimum``; TypeError or ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int >= {minimum}, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value}")
    return int(value)


def folder_argument(value: Any, name: str) -> Path:
    """``value`` as the Path of an existing folder; TypeError or ValueError naming ``name``."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name}: expected a folder path, got {type(value).__name__} {value!r}")
    path = Path(value)
    if not path.is_dir():
        raise ValueError(f"{name}: {path} is not a folder")
    return path


def refuse_outside(path: Path, real_folder: Path, argument: str, culprit: str) -> None:
    """ValueError naming ``culprit`` when ``path``, symlinks followed, lies outside ``real_folder``.

    ``real_folder`` is the dataset's ``argument`` folder already resolved (once per dataset). A
    symlink loop resolves to itself (inside), and then fails to open as a named skip.
    """
    real = Path(os.path.realpath(path))
    if not real.is_relative_to(real_folder):
        raise ValueError(
            f"{culprit}: {path} resolves to {real}, outside {argument} {real_folder} (a symlink); "
            "pass follow_symlinks=True to read symlinked stores",
        )


class DetectionDataset:
    """Base of :class:`CocoDetection` and :class:`YoloDetection` (``torch.utils.data.Dataset``-shaped)."""

    records: list[Record]
    classes: list[str]

    def __init__(
        self,
        transform: A.Compose | None,
        cache_images: int,
        follow_symlinks: bool,
        max_image_pixels: int,
    ) -> None:
        if not isinstance(follow_symlinks, bool):
            raise TypeError(f"follow_symlinks: expected True or False, got {type(follow_symlinks).__name__} {follow_symlinks!r}")
        self.follow_symlinks = follow_symlinks
        self.max_image_pixels = integer_argument(max_image_pixels, "max_image_pixels", 1)
        self._cache = ImageCache(integer_argument(cache_images, "cache_images", 0))
        self._mixing = multiprocessing.Value("b", 1, lock=False)
        self.transform = transform

    @property
    def transform(self) -> A.Compose | None:
        """The pipeline; setting it checks it and finds its mixers again."""
        return self._transform

    @transform.setter
    def transform(self, transform: A.Compose | None) -> None:
        label_fields: list[str] = []
        if transform is not None:
            if not isinstance(transform, A.Compose):
                raise TypeError(f"transform: expected an albumentations Compose, got {type(transform).__name__}")
            processor = transform.processors.get("bboxes")
            label_fields = list(processor.params.label_fields or []) if processor else []
            if processor is None or LABEL_FIELD not in label_fields:
                raise ValueError(
                    f"transform: the Compose needs bbox_params=A.BboxParams(format=..., label_fields=['{LABEL_FIELD}']), "
                    f"got label_fields={label_fields if processor else None}",
                )
        self._transform = transform
        self._label_fields = label_fields
        self.mixers = find_mixers(transform)
        self._base_seed = getattr(transform, "seed", None)
        self._seeded_for: int | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Picklable: the shared mixing flag travels as is to spawned workers, as a plain copy elsewhere."""
        state = self.__dict__.copy()
        if get_spawning_popen() is None:
            state["_mixing"] = _Flag(self._mixing.value)
        return state

    def __len__(self) -> int:
        return len(self.records)

    # ----- construction ------------------------------------------------------------------------

    def probe_image(self, path: Path, problems: Problems) -> Header | None:
        """``path``'s header, read without decoding; None (reported to ``problems``) when unusable.

        Unreadable, truncated (where the header shows it), empty or unsupported files and images
        over ``max_image_pixels`` are skipped by name; the rest of the dataset stays intact.
        """
        try:
            header = probe_file(path)
        except OSError as error:
            problems.add("unreadable image files, skipped", f"{path} ({error})")
            return None
        height, width = header.stored_hw
        if height * width > self.max_image_pixels:
            problems.add(f"images over max_image_pixels={self.max_image_pixels}, skipped", f"{path} ({height}x{width})")
            return None
        return header

    # ----- samples -----------------------------------------------------------------------------

    def load_pixels(self, index: int) -> dict[str, np.ndarray]:
        """Pixel targets of sample ``index``: the image (a private copy), and whatever a subclass adds."""
        record = self.records[index]
        return {"image": self._cache.get(record.path, lambda: read_rgb(record.path, record.stored_hw, record.orientation))}

    def annotations(self, index: int, bbox_format: str = "coco") -> dict[str, Any]:
        """Boxes (in ``bbox_format``), labels and the image id of sample ``index``, without pixels."""
        record = self.records[index]
        return {
            "bboxes": convert_bboxes(record.bboxes, "coco", bbox_format, record.image_hw),
            LABEL_FIELD: record.class_labels.copy(),
            "image_id": record.image_id,
        }

    def _sample(self, index: int, bbox_format: str) -> dict[str, Any]:
        sample = self.annotations(index, bbox_format)
        for field in self._label_fields:
            if field != LABEL_FIELD:  # e.g. MixUp's weight_field: ones until a mixer writes it
                sample[field] = np.ones(len(sample["bboxes"]), dtype=np.float32)
        return sample

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"{type(self).__name__} index {index} out of range for {len(self)} samples")
        index %= len(self)
        if self.transform is None:
            return {**self.annotations(index), **self.load_pixels(index), "bbox_format": "coco"}
        self._seed_for_worker()
        bbox_format = self.transform.processors["bboxes"].params.format
        sample = {**self._sample(index, bbox_format), **self.load_pixels(index)}
        image_id = sample.pop("image_id")
        if not self.mixing_enabled:
            with mixing_off():
                out = self.transform(**sample)
        else:
            extras = metadata_for(self.mixers, len(self), index, self.transform.py_random, lambda i: self._lazy(i, bbox_format))
            out = self.transform(**sample, **extras)
            for key in extras:
                out.pop(key, None)
        out["image_id"] = image_id
        out["bbox_format"] = bbox_format
        return out

    def _lazy(self, index: int, bbox_format: str) -> LazySample:
        record = self.records[index]
        validated = convert_bboxes(record.bboxes, "coco", "albumentations", record.image_hw)
        return LazySample(self._sample(index, bbox_format), lambda: self.load_pixels(index), self.pixel_keys, validated)

    @property
    def pixel_keys(self) -> tuple[str, ...]:
        """The keys :meth:`load_pixels` returns."""
        return ("image",)

    # ----- seeding and schedules ---------------------------------------------------------------

    def _seed_for_worker(self) -> None:
        """In a DataLoader worker, reseed the transform once from the seed torch gave the worker."""
        seed = worker_seed(self._base_seed)
        if seed is not None and seed != self._seeded_for:
            self.transform.set_random_seed(seed)
            self._seeded_for = seed

    @property
    def mixing_enabled(self) -> bool:
        """Whether the mixing transforms run (shared with DataLoader workers)."""
        return bool(self._mixing.value)

    def set_mixing(self, enabled: bool) -> None:
        """Switch every mixing transform on or off, in this process and in live DataLoader workers.

        The flag lives in shared memory, so persistent workers see it from their next sample on
        (YOLOX/Ultralytics switch mixing off for the last epochs this way). A copy of the dataset
        made by pickling outside worker start-up (``copy.deepcopy``, ``pickle.dumps``) keeps the
        flag's value but no longer shares it.
        """
        self._mixing.value = int(bool(enabled))



class _Flag:
    """A process-local stand-in for the shared flag, in pickled or copied datasets."""

    def __init__(self, value: int) -> None:
        self.value = value


class Problems:
    """Bad-data findings collected while a dataset is built, reported as one warning per kind."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._found: dict[str, list[str]] = {}

    def add(self, kind: str, culprit: str) -> None:
        """Record that ``culprit`` (a file, an id, a file:line) had problem ``kind``."""
        self._found.setdefault(kind, []).append(culprit)

    def warn(self, show: int = 10) -> None:
        """One ``warnings.warn`` per kind, naming up to ``show`` culprits."""
        for kind, culprits in self._found.items():
            listed = ", ".join(culprits[:show]) + (f" and {len(culprits) - show} more" if len(culprits) > show else "")
            warnings.warn(f"{self.owner}: {kind} ({len(culprits)}): {listed}", stacklevel=3)
