"""COCO-format detection datasets, read with pycocotools."""

from __future__ import annotations

import contextlib
import io
import json
import math
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import albumentations as A
import cv2
import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from detmix.data.dataset import DEFAULT_CACHE_IMAGES, DEFAULT_MAX_IMAGE_PIXELS, DetectionDataset, Problems, Record, folder_argument, refuse_outside
from detmix.data.formats import clip_xywh


def load_coco(annotation_file: Path, problems: Problems) -> COCO:
    """Parse ``annotation_file`` into a pycocotools ``COCO`` index, with errors that name the file.

    Images and categories without an ``id``, and duplicate image ids, are errors; annotations
    missing ``id``, ``image_id`` or ``category_id`` are skipped and reported to ``problems``.
    """
    try:
        with open(annotation_file, encoding="utf-8") as file:
            data = json.load(file)
    except OSError as error:
        raise OSError(f"cannot read COCO annotation file {annotation_file}: {error}") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"broken JSON in COCO annotation file {annotation_file}: {error}") from error
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) or not isinstance(data.get("categories"), list):
        raise ValueError(f"COCO annotation file {annotation_file}: expected an object with 'images' and 'categories' lists")
    for kind in ("images", "categories"):
        for position, entry in enumerate(data[kind]):
            if not isinstance(entry, dict) or "id" not in entry:
                raise ValueError(f"COCO annotation file {annotation_file}: {kind}[{position}] has no 'id': {entry!r}")
    duplicates = sorted((i for i, n in Counter(image["id"] for image in data["images"]).items() if n > 1), key=str)
    if duplicates:
        raise ValueError(f"COCO annotation file {annotation_file}: duplicate image ids {duplicates}")
    annotations = []
    for position, ann in enumerate(data.get("annotations") or []):
        if isinstance(ann, dict) and all(key in ann for key in ("id", "image_id", "category_id")):
            annotations.append(ann)
        else:
            problems.add("annotations without id, image_id or category_id, skipped", f"annotations[{position}]")
    coco = COCO()
    coco.dataset = {**data, "annotations": annotations}
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        coco.createIndex()
    return coco


def resolve_inside(images_dir: Path, file_name: Any, image_id: Any, real_images_dir: Path | None = None) -> Path:
    """``images_dir / file_name``, refusing names that escape the folder (ValueError naming the image).

    ``..`` and absolute names are always refused; with ``real_images_dir`` (``images_dir``
    resolved) so is a name that resolves outside it through a symlink. None allows symlinks.
    """
    if not isinstance(file_name, str) or not file_name:
        raise ValueError(f"COCO image id {image_id}: expected a file_name string, got {file_name!r}")
    relative = Path(file_name)
    if relative.is_absolute() or ".." in relative.parts:
        raise ValueError(f"COCO image id {image_id}: file_name {file_name!r} escapes images_dir {images_dir}")
    path = images_dir / relative
    if real_images_dir is not None:
        refuse_outside(path, real_images_dir, "images_dir", f"COCO image id {image_id}: file_name {file_name!r}")
    return path


class CocoDetection(DetectionDataset):
    """A COCO detection dataset that feeds detmix's mixing transforms.

    ``ds[i]`` is a dict: ``image`` (H x W x 3 uint8 RGB), ``bboxes``, ``class_labels``
    (contiguous 0..K-1 in category-id order; names in ``ds.classes``, COCO ids in
    ``ds.category_ids``), ``image_id``, ``bbox_format``, and with ``masks=True`` a ``mask``
    (H x W semantic map: class index + 1, 0 for background). Without a transform boxes are COCO
    ``[x, y, w, h]`` pixels; with one they are in the Compose's format. Every mixing transform
    inside ``transform`` is fed the extras it needs, drawn from this dataset.

    Args:
        images_dir: folder the ``file_name`` s are relative to.
        annotation_file: COCO instances JSON.
        transform: an ``A.Compose`` whose ``BboxParams`` declare ``label_fields=["class_labels"]``.
        include_crowd: keep ``iscrowd`` annotations. Default: False.
        masks: also return the semantic ``mask``. Default: False.
        cache_images: how many decoded images to keep per process (0: none). Default: 64.
        follow_symlinks: read images whose path resolves outside ``images_dir`` through a
            symlink (symlinked stores such as DVC caches). Default: False, such a ``file_name``
            is refused like ``..``.
        max_image_pixels: images with more pixels (by their header) are skipped with a warning,
            never decoded. Default: 89,478,485 (Pillow's default; 256 MiB as 8-bit RGB).
    """

    def __init__(
        self,
        images_dir: str | Path,
        annotation_file: str | Path,
        transform: A.Compose | None = None,
        *,
        include_crowd: bool = False,
        masks: bool = False,
        cache_images: int = DEFAULT_CACHE_IMAGES,
        follow_symlinks: bool = False,
        max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    ) -> None:
        super().__init__(transform, cache_images, follow_symlinks, max_image_pixels)
        self.images_dir = folder_argument(images_dir, "images_dir")
        self.annotation_file = Path(annotation_file)
        self.include_crowd = include_crowd
        self.masks = masks
        problems = Problems(type(self).__name__)
        self.coco = load_coco(self.annotation_file, problems)
        categories = sorted(self.coco.dataset["categories"], key=lambda c: c["id"])
        self.category_ids = [c["id"] for c in categories]
        self.classes = [str(c.get("name", c["id"])) for c in categories]
        self.records = self._build_records(problems)
        problems.warn()

    def _build_records(self, problems: Problems) -> list[Record]:
        class_of = {category_id: index for index, category_id in enumerate(self.category_ids)}
        image_ids = {image["id"] for image in self.coco.dataset["images"]}
        for ann in self.coco.dataset["annotations"]:
            if ann.get("image_id") not in image_ids:
                problems.add("annotations with an unknown image_id, skipped", f"annotation {ann.get('id')} (image_id {ann.get('image_id')})")
        records = []
        real_images_dir = None if self.follow_symlinks else self.images_dir.resolve()
        for image in self.coco.dataset["images"]:
            path = resolve_inside(self.images_dir, image.get("file_name"), image.get("id"), real_images_dir)
            if not path.exists():
                problems.add("missing image files, skipped", str(path))
                continue
            header = self.probe_image(path, problems)
            if header is None:
                continue
            disk_hw = header.upright_hw
            json_hw = (image.get("height"), image.get("width"))
            if None not in json_hw and json_hw != disk_hw:
                problems.add(
                    "images whose size on disk differs from the JSON (the disk wins)",
                    f"{path.name}: JSON {image.get('height')}x{image.get('width')}, disk {disk_hw[0]}x{disk_hw[1]}",
                )
            boxes, labels, kept = self._objects(image["id"], disk_hw, class_of, problems)
            records.append(Record(path, disk_hw, boxes, labels, image["id"], tuple(kept), header.orientation))
        return records

    def _objects(
        self,
        image_id: Any,
        image_hw: tuple[int, int],
        class_of: dict[Any, int],
        problems: Problems,
    ) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """Clipped COCO boxes, class indices and annotation ids of the usable annotations."""
        boxes, labels, kept = [], [], []
        height, width = image_hw
        for ann in self.coco.imgToAnns.get(image_id, []):
            name = f"annotation {ann.get('id')}"
            if ann.get("iscrowd", 0) and not self.include_crowd:
                continue
            if ann.get("category_id") not in class_of:
                problems.add("annotations with an unknown category_id, skipped", f"{name} (category_id {ann.get('category_id')})")
                continue
            bbox = ann.get("bbox")
            numbers = isinstance(bbox, (list, tuple)) and len(bbox) == 4 and all(isinstance(v, (int, float)) for v in bbox)
            if not numbers or not all(math.isfinite(v) for v in bbox):
                problems.add("annotations with a malformed bbox, skipped", f"{name} (bbox {bbox!r})")
                continue
            if bbox[2] <= 0 or bbox[3] <= 0:
                problems.add("annotations with non-positive width or height, skipped", f"{name} (bbox {bbox})")
                continue
            clipped = clip_xywh(*(float(v) for v in bbox), image_hw)
            if clipped is None:
                problems.add("annotations entirely outside their image, dropped", f"{name} (bbox {bbox}, image {width}x{height})")
                continue
            boxes.append(clipped)
            labels.append(class_of[ann["category_id"]])
            kept.append(ann["id"])
        return np.array(boxes, np.float32).reshape(-1, 4), np.array(labels, np.int64), kept

    @property
    def pixel_keys(self) -> tuple[str, ...]:
        """``image``, and ``mask`` with ``masks=True``."""
        return ("image", "mask") if self.masks else ("image",)

    def load_pixels(self, index: int) -> dict[str, np.ndarray]:
        """The image, and with ``masks=True`` its semantic mask decoded by pycocotools."""
        pixels = super().load_pixels(index)
        if self.masks:
            pixels["mask"] = self._semantic_mask(index, pixels["image"].shape[:2])
        return pixels

    def _semantic_mask(self, index: int, image_hw: tuple[int, int]) -> np.ndarray:
        """Class index + 1 per pixel (uint8, or uint16 past 254 classes), later objects on top."""
        record = self.records[index]
        mask = np.zeros(image_hw, np.uint8 if len(self.classes) < 255 else np.uint16)
        for ann_id, label in zip(record.annotation_ids, record.class_labels):
            segmentation = self.coco.anns[ann_id].get("segmentation")
            if segmentation:
                mask[decode_segmentation(segmentation, image_hw) > 0] = label + 1
        return mask


def decode_segmentation(segmentation: Any, image_hw: tuple[int, int]) -> np.ndarray:
    """An object's polygons or RLE as an ``image_hw`` 0/1 map (polygons drawn at the disk size)."""
    height, width = image_hw
    with warnings.catch_warnings():  # pycocotools' decoder predates numpy 2's copy keyword
        warnings.simplefilter("ignore", DeprecationWarning)
        if isinstance(segmentation, list):
            rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
        elif isinstance(segmentation.get("counts"), list):
            rle = mask_utils.frPyObjects(segmentation, *segmentation["size"])
        else:
            rle = segmentation
        decoded = mask_utils.decode(rle)
    if decoded.shape != image_hw:  # an RLE made for the JSON's size, which the disk overrides
        decoded = cv2.resize(decoded, (width, height), interpolation=cv2.INTER_NEAREST)
    return decoded
