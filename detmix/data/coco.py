"""COCO-format detection datasets, read with pycocotools."""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from pathlib import Path
from typing import Any

import albumentations as A
import cv2
import numpy as np
from pycocotools.coco import COCO

from detmix.data.dataset import DEFAULT_CACHE_IMAGES, DetectionDataset, Problems, Record
from detmix.data.images import read_size


def load_coco(annotation_file: Path) -> COCO:
    """Parse ``annotation_file`` into a pycocotools ``COCO`` index, with errors that name the file."""
    try:
        with open(annotation_file, encoding="utf-8") as file:
            data = json.load(file)
    except OSError as error:
        raise OSError(f"cannot read COCO annotation file {annotation_file}: {error}") from error
    except json.JSONDecodeError as error:
        raise ValueError(f"broken JSON in COCO annotation file {annotation_file}: {error}") from error
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) or not isinstance(data.get("categories"), list):
        raise ValueError(f"COCO annotation file {annotation_file}: expected an object with 'images' and 'categories' lists")
    data.setdefault("annotations", [])
    coco = COCO()
    coco.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        coco.createIndex()
    return coco


def resolve_inside(images_dir: Path, file_name: Any, image_id: Any) -> Path:
    """``images_dir / file_name``, refusing names that escape the folder."""
    if not isinstance(file_name, str) or not file_name:
        raise ValueError(f"COCO image id {image_id}: expected a file_name string, got {file_name!r}")
    relative = Path(file_name)
    if relative.is_absolute() or ".." in relative.parts:
        raise ValueError(f"COCO image id {image_id}: file_name {file_name!r} escapes images_dir {images_dir}")
    return images_dir / relative


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
    ) -> None:
        super().__init__(transform, cache_images)
        self.images_dir = Path(images_dir)
        self.annotation_file = Path(annotation_file)
        self.include_crowd = include_crowd
        self.masks = masks
        self.coco = load_coco(self.annotation_file)
        categories = sorted(self.coco.dataset["categories"], key=lambda c: c["id"])
        self.category_ids = [c["id"] for c in categories]
        self.classes = [str(c.get("name", c["id"])) for c in categories]
        problems = Problems(type(self).__name__)
        self._annotation_ids: list[list[int]] = []
        self.records = self._build_records(problems)
        problems.warn()

    def _build_records(self, problems: Problems) -> list[Record]:
        class_of = {category_id: index for index, category_id in enumerate(self.category_ids)}
        image_ids = {image["id"] for image in self.coco.dataset["images"]}
        for ann in self.coco.dataset["annotations"]:
            if ann.get("image_id") not in image_ids:
                problems.add("annotations with an unknown image_id, skipped", f"annotation {ann.get('id')} (image_id {ann.get('image_id')})")
        records = []
        for image in self.coco.dataset["images"]:
            path = resolve_inside(self.images_dir, image.get("file_name"), image.get("id"))
            if not path.is_file():
                problems.add("missing image files, skipped", str(path))
                continue
            try:
                disk_hw = read_size(path)
            except OSError:
                problems.add("unreadable image files, skipped", str(path))
                continue
            if (image.get("height"), image.get("width")) != disk_hw:
                problems.add(
                    "images whose size on disk differs from the JSON (the disk wins)",
                    f"{path.name}: JSON {image.get('height')}x{image.get('width')}, disk {disk_hw[0]}x{disk_hw[1]}",
                )
            boxes, labels, kept = self._objects(image["id"], disk_hw, class_of, problems)
            records.append(Record(path, disk_hw, boxes, labels, image["id"]))
            self._annotation_ids.append(kept)
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
            if not (isinstance(bbox, (list, tuple)) and len(bbox) == 4 and all(isinstance(v, (int, float)) for v in bbox)):
                problems.add("annotations with a malformed bbox, skipped", f"{name} (bbox {bbox!r})")
                continue
            x, y, w, h = (float(v) for v in bbox)
            if w <= 0 or h <= 0:
                problems.add("annotations with non-positive width or height, skipped", f"{name} (bbox {bbox})")
                continue
            x0, y0, x1, y1 = max(x, 0.0), max(y, 0.0), min(x + w, width), min(y + h, height)
            if x1 <= x0 or y1 <= y0:
                problems.add("annotations entirely outside their image, dropped", f"{name} (bbox {bbox}, image {width}x{height})")
                continue
            boxes.append([x0, y0, x1 - x0, y1 - y0])
            labels.append(class_of[ann["category_id"]])
            kept.append(ann["id"])
        return np.array(boxes, np.float32).reshape(-1, 4), np.array(labels, np.int64), kept

    def load_pixels(self, index: int) -> dict[str, np.ndarray]:
        """The image, and with ``masks=True`` its semantic mask decoded by pycocotools."""
        pixels = super().load_pixels(index)
        if self.masks:
            pixels["mask"] = self._semantic_mask(index, pixels["image"].shape[:2])
        return pixels

    def _semantic_mask(self, index: int, image_hw: tuple[int, int]) -> np.ndarray:
        record = self.records[index]
        mask = np.zeros(image_hw, np.uint8)
        for ann_id, label in zip(self._annotation_ids[index], record.class_labels):
            ann = self.coco.anns[ann_id]
            if not ann.get("segmentation"):
                continue
            with warnings.catch_warnings():  # pycocotools' decoder predates numpy 2's copy keyword
                warnings.simplefilter("ignore", DeprecationWarning)
                object_mask = self.coco.annToMask(ann)
            if object_mask.shape != image_hw:
                object_mask = cv2.resize(object_mask, image_hw[::-1], interpolation=cv2.INTER_NEAREST)
            mask[object_mask > 0] = label + 1
        return mask
