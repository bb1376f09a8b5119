"""The dataset behaviour COCO and YOLO folders share: sample dicts, mixer feeding, seeding, schedules.

A subclass reads each image's header with :meth:`DetectionDataset.check_image` (on the
threads of :func:`detmix.data.scanning.scan`), builds its :class:`~detmix.data.records.Record` with
:meth:`DetectionDataset.make_record` (path, loaded size, orientation, COCO-style pixel boxes,
contiguous class indices), and may add pixel targets through
:meth:`DetectionDataset.decode_pixels` and its objects' outlines, for ``masks="instance"``,
through :meth:`DetectionDataset.segmentations` (passing ``mask_mode`` to the constructor).
"""

from __future__ import annotations

import functools
import multiprocessing
from collections.abc import Callable, Sequence
from multiprocessing.context import get_spawning_popen
from pathlib import Path
from typing import Any, Literal, TypedDict

import albumentations as A
import numpy as np

from detmix.data.arguments import bool_argument, integer_argument
from detmix.data.feeding import Deferred, LazySample, find_mixers, metadata_for
from detmix.data.formats import MIN_BOX_SIDE, convert_bboxes
from detmix.data.headers import Header, probe_file
from detmix.data.images import loaded_hw, read_rgb
from detmix.data.instance_masks import Segmentation, paired_sample, rasterize
from detmix.data.pool import Pixels, PixelStore
from detmix.data.records import Record
from detmix.data.scanning import Skip
from detmix.data.seeding import worker_seed
from detmix.transforms.base import mixing_off
from detmix.transforms.instances import MASK_INDICES, pair_masks

#: Label field the datasets fill; a Compose given to them must declare it.
LABEL_FIELD = "class_labels"
MIB = 1 << 20
DEFAULT_CACHE_IMAGES = 64
#: 64 images of up to 4 MiB (1280 x 1024 RGB) within the count; fewer of larger ones.
DEFAULT_CACHE_BYTES = 256 * MIB
#: Ultralytics' buffer holds min(n, 8 * batch, 1000) images at ``imgsz``: 128 at batch 16, about
#: 118-157 MB at 640. 64 samples of a COCO-sized set take 60-80 MB; the bytes bound caps large frames.
DEFAULT_POOL_SIZE = 64
DEFAULT_POOL_BYTES = 256 * MIB
EXTRAS = ("pool", "uniform")
#: Images with more pixels are skipped: 3 x 8-bit channels of this many pixels make 256 MiB
#: (the same number as Pillow's default ``Image.MAX_IMAGE_PIXELS``, without touching that global).
DEFAULT_MAX_IMAGE_PIXELS = 89_478_485


class LoadingOptions(TypedDict, total=False):
    """Keywords both datasets pass on to :class:`DetectionDataset`, which documents them."""

    cache_images: int
    cache_bytes: int
    extras: Literal["pool", "uniform"]
    pool_size: int
    pool_bytes: int
    max_size: int | None
    follow_symlinks: bool
    max_image_pixels: int
    verbose: bool


class DetectionDataset:
    """Base of :class:`CocoDetection` and :class:`YoloDetection` (``torch.utils.data.Dataset``-shaped).

    Keyword arguments both datasets take after their own (:class:`LoadingOptions`):

    Args:
        cache_images: most decoded samples kept per process, least recently used dropped first
            (0: none). Default: 64.
        cache_bytes: most bytes those may take per process; a sample larger than this is never
            cached. Default: 256 MiB (64 images of 1280 x 1024; 13000 x 13000 images would take
            31 GB at 64, so a count alone bounds nothing). A sample both the cache and the pool
            hold is stored once.
        extras: where the mixers' extra samples come from. ``"pool"``: from the samples this
            process loaded last (its primaries), as Ultralytics' mosaic buffer and MMDetection's
            ``CachedMosaic`` / ``CachedMixUp`` do, so each sample costs about one decode instead
            of one per image mixed in (3.3-4 for Mosaic on a dataset larger than the cache).
            While the pool holds too few other samples (a worker's first sample), the rest are
            drawn from the whole dataset, decoded, and join the pool. ``"uniform"``: every extra
            drawn from the whole dataset, each decoded unless cached. Either way extras are
            drawn with the pipeline's own RNG, distinct, never the primary; the pool is used
            only while some mixer runs (not with :meth:`set_mixing` off or without mixers). The
            pool is its process's history: DataLoader workers start with empty pools, so a run
            replays exactly with the same seeds, while a second pass in the main process starts
            from what the first left. Default: "pool".
        pool_size: most samples in the pool of each process, oldest dropped first. A partner is
            one of the last ``pool_size`` samples this worker loaded: with a shuffled sampler
            those are a random subset of the dataset, and every sample still serves as a partner
            about ``extras_needed`` times an epoch, as with uniform draws; a smaller pool brings
            the same partners back in nearby batches, a larger one costs ``pool_size`` loaded
            images of memory per worker. Keep it well above the largest ``extras_needed`` (3,
            Mosaic). MMDetection uses 40 (mosaic) and 20 (MixUp); Ultralytics min(n, 8 x batch,
            1000). Default: 64.
        pool_bytes: most bytes the pool may take per process; an image larger than this never
            enters it. Default: 256 MiB (64 images of 4 MiB; 41 full-HD frames). 64 COCO-sized
            images take about 60 MB, under Ultralytics' buffer of 128 at batch 16 (118-157 MB).
        max_size: load every image with its long side at most this many pixels, aspect kept
            (scaled down only, never up), as YOLO trainers load at ``imgsz``: a JPEG at least
            2, 4 or 8 times larger is decoded at that reduced size by libjpeg (less work), then
            resized (``INTER_AREA`` from 2x, ``INTER_LINEAR`` below). Sizes, boxes and masks are all in loaded pixels
            (``records[i].image_hw``); the caches and the pool hold loaded images. None: load
            at full size. Default: None.
        follow_symlinks: read files whose path resolves outside the dataset's folders through a
            symlink (symlinked stores such as DVC caches). Default: False, such a path is
            refused (a ValueError naming it).
        max_image_pixels: images with more pixels in the file (by their header) are skipped
            with a warning, never decoded. Default: 89,478,485 (Pillow's default; 256 MiB as
            8-bit RGB).
        verbose: show a progress bar (tqdm, on stderr) while a large dataset is built.
            Default: True.
    """

    records: list[Record]
    classes: list[str]

    def __init__(
        self,
        transform: A.Compose | None,
        *,
        mask_mode: Literal["semantic", "instance"] | None = None,
        cache_images: int = DEFAULT_CACHE_IMAGES,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        extras: Literal["pool", "uniform"] = "pool",
        pool_size: int = DEFAULT_POOL_SIZE,
        pool_bytes: int = DEFAULT_POOL_BYTES,
        max_size: int | None = None,
        follow_symlinks: bool = False,
        max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
        verbose: bool = True,
    ) -> None:
        self.follow_symlinks = bool_argument(follow_symlinks, "follow_symlinks")
        self.verbose = bool_argument(verbose, "verbose")
        self.max_image_pixels = integer_argument(max_image_pixels, "max_image_pixels", 1)
        self.max_size = integer_argument(max_size, "max_size", 1, or_none=True)
        if extras not in EXTRAS:
            raise ValueError(f"extras: expected one of {EXTRAS}, got {extras!r}")
        self.extras = extras
        self._cache = PixelStore(integer_argument(cache_images, "cache_images", 0), integer_argument(cache_bytes, "cache_bytes", 0), lru=True)
        self._pool = PixelStore(integer_argument(pool_size, "pool_size", 1), integer_argument(pool_bytes, "pool_bytes", 1), lru=False, per_process=True)
        self._mixing = multiprocessing.Value("b", 1, lock=False)
        self._mask_mode = mask_mode
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
            needed = [LABEL_FIELD, MASK_INDICES] if self._mask_mode == "instance" else [LABEL_FIELD]
            if processor is None or not set(needed) <= set(label_fields):
                why = f"masks='instance' binds each box to its mask through '{MASK_INDICES}': " if len(needed) > 1 else ""
                raise ValueError(
                    f"transform: {why}the Compose needs bbox_params=A.BboxParams(format=..., label_fields={needed}), "
                    f"got label_fields={label_fields if processor else None}",
                )
        self._transform = transform
        self._label_fields = label_fields
        self.mixers = find_mixers(transform)
        self._base_seed = getattr(transform, "seed", None)
        self._seeded_for: int | None = None

    @property
    def masks(self) -> Literal[False, "semantic", "instance"]:
        """What masks samples carry (the ``masks`` argument; True reads "semantic"); fixed at construction."""
        return self._mask_mode or False

    def __getstate__(self) -> dict[str, Any]:
        """Picklable: the shared mixing flag travels as is to spawned workers, as a plain copy elsewhere."""
        state = self.__dict__.copy()
        if get_spawning_popen() is None:
            state["_mixing"] = _Flag(self._mixing.value)
        return state

    def __len__(self) -> int:
        return len(self.records)

    # ----- construction ------------------------------------------------------------------------

    def check_image(self, path: Path) -> Header | Skip:
        """``path``'s header, read without decoding, or why it is skipped (safe to call from threads).

        Unreadable, truncated (where the header shows it), empty or unsupported files and images
        over ``max_image_pixels`` are skipped by name; the rest of the dataset stays intact.
        """
        try:
            header = probe_file(path)
        except OSError as error:
            return Skip("unreadable image files, skipped", f"{path} ({error})")
        height, width = header.stored_hw
        if height * width > self.max_image_pixels:
            return Skip(f"images over max_image_pixels={self.max_image_pixels}, skipped", f"{path} ({height}x{width})")
        return header

    def min_box_side(self, header: Header) -> tuple[float, float]:
        """:data:`MIN_BOX_SIDE` as ``(width, height)`` in the pixels of the image's file, per axis.

        Boxes are checked before ``max_size`` scales them, and the two axes may scale differently
        (each loaded side is rounded, and at least one pixel).
        """
        file_hw = header.upright_hw
        image_hw = loaded_hw(file_hw, self.max_size)
        return MIN_BOX_SIDE * file_hw[1] / image_hw[1], MIN_BOX_SIDE * file_hw[0] / image_hw[0]

    def make_record(
        self,
        path: Path,
        header: Header,
        bboxes: np.ndarray,
        class_labels: np.ndarray,
        image_id: Any,
        annotation_ids: tuple[Any, ...] = (),
        polygons: tuple[np.ndarray | None, ...] = (),
    ) -> Record:
        """The record of an image: ``bboxes`` (COCO pixels of the upright file, clipped) scaled to its loaded size."""
        file_hw = header.upright_hw
        image_hw = loaded_hw(file_hw, self.max_size)
        if image_hw != file_hw and len(bboxes):
            scale = np.array([image_hw[1] / file_hw[1], image_hw[0] / file_hw[0]] * 2)
            corners = np.hstack([bboxes[:, :2], bboxes[:, :2] + bboxes[:, 2:]]) * scale
            corners = np.minimum(corners, [image_hw[1], image_hw[0]] * 2)
            bboxes = np.hstack([corners[:, :2], corners[:, 2:] - corners[:, :2]])
        return Record(path, image_hw, bboxes, class_labels, image_id, annotation_ids, header.orientation, file_hw, polygons)

    # ----- samples -----------------------------------------------------------------------------

    def decode_pixels(self, index: int) -> Pixels:
        """Pixel targets of sample ``index``, freshly decoded at its loaded size: the image, and whatever a subclass adds."""
        record = self.records[index]
        return {"image": read_rgb(record.path, record.stored_hw, record.orientation, record.image_hw)}

    def load_pixels(self, index: int) -> Pixels:
        """Pixel targets of sample ``index`` as private arrays (copies of what the cache or pool hold)."""
        return private(self._stored_pixels(index))

    def _stored_pixels(self, index: int) -> Pixels:
        """The pool's or the cache's read-only pixels of ``index``, else decoded ones (stored in the cache if it takes them)."""
        pixels = self._pool.get(index)
        if pixels is None:
            pixels = self._cache.get(index)
        if pixels is None:
            pixels = self.decode_pixels(index)
            self._cache.put(index, pixels)
        return pixels

    def _pooled_pixels(self, index: int) -> Pixels:
        """The pixels of ``index``, made the newest of this process's pool."""
        pixels = self._stored_pixels(index)
        self._pool.put(index, pixels)
        return pixels

    def segmentations(self, index: int) -> tuple[Segmentation, ...]:
        """Per object of sample ``index`` its segmentation in the upright file's pixels, or None (masked by its box).

        A subclass that takes ``masks="instance"`` provides it.
        """
        raise NotImplementedError

    def instance_masks(self, index: int) -> np.ndarray:
        """Sample ``index``'s instance masks: a new uint8 0/1 ``(N, H, W)`` array, one per box, drawn now (never stored).

        See :mod:`detmix.data.instance_masks` for the rules, the box-as-mask one among them.
        """
        record = self.records[index]
        return rasterize(self.segmentations(index), record.bboxes, record.image_hw, record.scale_xy)

    def annotations(self, index: int, bbox_format: str = "coco") -> dict[str, Any]:
        """Boxes (in ``bbox_format``), labels and the image id of sample ``index``, without pixels.

        These are the boxes as annotated; with ``masks="instance"`` a sample's are refit to its masks.
        """
        record = self.records[index]
        return {"bboxes": convert_bboxes(record.bboxes, "coco", bbox_format, record.image_hw, np.float64), **self._labels(index, ())}

    def _labels(self, index: int, label_fields: Sequence[str]) -> dict[str, Any]:
        """Class labels and image id of sample ``index``, each box's own index for :data:`MASK_INDICES`,
        and ones for every other of ``label_fields``."""
        record = self.records[index]
        labels: dict[str, Any] = {LABEL_FIELD: record.class_labels.copy(), "image_id": record.image_id}
        for field in label_fields:
            if field == MASK_INDICES:  # box i's mask is masks[i]
                labels[field] = np.arange(len(record.bboxes))
            elif field != LABEL_FIELD:  # e.g. MixUp's weight_field: ones until a mixer writes it
                labels[field] = np.ones(len(record.bboxes), dtype=np.float32)
        return labels

    def _sample(self, index: int, bbox_format: str) -> dict[str, Any]:
        record = self.records[index]
        return {"bboxes": convert_bboxes(record.bboxes, "coco", bbox_format, record.image_hw, np.float64), **self._labels(index, self._label_fields)}

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"{type(self).__name__} index {index} out of range for {len(self)} samples")
        index %= len(self)
        instances = self._mask_mode == "instance"
        if self.transform is None:
            sample = {**self.annotations(index), **self.load_pixels(index), "bbox_format": "coco"}
            return paired_sample({**sample, "masks": self.instance_masks(index)}, LABEL_FIELD) if instances else sample
        self._seed_for_worker()
        bbox_format = self.transform.processors["bboxes"].params.format
        pooled = self.extras == "pool" and self.mixing_enabled and bool(self.mixers)
        pixels = private(self._pooled_pixels(index)) if pooled else self.load_pixels(index)
        sample = {**self._sample(index, bbox_format), **pixels}
        if instances:  # Albumentations takes no empty stack: a list, empty for none
            masks = self.instance_masks(index)
            sample["masks"] = masks if len(masks) else []
        image_id = sample.pop("image_id")
        if not self.mixing_enabled:
            with mixing_off():
                out = self.transform(**sample)
        else:
            recent = self._pool.indices() if pooled else None
            make_extra = (lambda i: self._lazy(i, bbox_format, self._pool_loader(i))) if pooled else (lambda i: self._lazy(i, bbox_format))
            extras = metadata_for(self.mixers, len(self), index, self.transform.py_random, make_extra, recent)
            out = self.transform(**sample, **extras)
            for key in extras:
                out.pop(key, None)
        if instances:
            out = pair_masks(out, self.transform)
        out["image_id"] = image_id
        out["bbox_format"] = bbox_format
        return out

    def _pool_loader(self, index: int) -> Callable[[], Pixels]:
        """How an extra gets its pixels in pool mode: the pool's own (read-only, not copied: mixers
        never write into extras), or loaded on first use and then entered into the pool."""
        held = self._pool.get(index)
        return (lambda: held) if held is not None else (lambda: self._pooled_pixels(index))

    def _lazy(self, index: int, bbox_format: str, pixels: Callable[[], Pixels] | None = None) -> LazySample:
        """Sample ``index`` as an extra: annotations now, ``pixels`` (default: private copies) on first use."""
        record = self.records[index]
        validated = convert_bboxes(record.bboxes, "coco", "albumentations", record.image_hw)
        # The mixers read the validated boxes; the Compose-format ones only when something asks.
        bboxes = Deferred(functools.partial(convert_bboxes, validated, "albumentations", bbox_format, record.image_hw))
        annotations = {"bboxes": bboxes, **self._labels(index, self._label_fields)}
        if self._mask_mode == "instance":  # drawn only when a mixer that fires reads them
            annotations["masks"] = Deferred(functools.partial(self.instance_masks, index))
        return LazySample(annotations, pixels or (lambda: self.load_pixels(index)), self.pixel_keys, validated)

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



def private(pixels: Pixels) -> Pixels:
    """``pixels`` the caller may keep and write: read-only (stored) arrays copied, fresh ones as they are."""
    return {key: array if array.flags.writeable else array.copy() for key, array in pixels.items()}


class _Flag:
    """A process-local stand-in for the shared flag, in pickled or copied datasets."""

    def __init__(self, value: int) -> None:
        self.value = value
