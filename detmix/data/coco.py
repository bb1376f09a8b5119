"""COCO-format detection datasets, read with pycocotools."""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import albumentations as A
import numpy as np
from pycocotools.coco import COCO

from detmix.data.arguments import bool_argument, folder_argument, mask_mode
from detmix.data.dataset import DetectionDataset, LoadingOptions
from detmix.data.formats import MIN_BOX_SIDE, clip_xywh
from detmix.data.headers import Header
from detmix.data.instance_masks import UNSEGMENTED
from detmix.data.pool import Pixels
from detmix.data.records import Record
from detmix.data.scanning import Confinement, Problems, Skip, scan
from detmix.data.segmentation import decode_segmentation, is_json_number, segmentation_problem, short_repr

if TYPE_CHECKING:
    from typing_extensions import Unpack


#: Keys an annotation cannot be used without.
ANNOTATION_KEYS = ("id", "image_id", "category_id")
SINGULAR = {"images": "image", "categories": "category"}


def load_coco(annotation_file: Path, problems: Problems) -> COCO:
    """Parse ``annotation_file`` into a pycocotools ``COCO`` index, with errors that name the file.

    Checked before pycocotools indexes anything (it keys dicts by these ids): images and
    categories need unique ids, all integers or all strings (no floats, bools or None: 1.0 and
    True would pass for 1), positive integer ``height``/``width`` when given, string category
    ``name`` s; anything else is a ValueError naming the entry. Annotations that are not objects,
    lack ``id``, ``image_id`` or ``category_id``, or whose ids are of another type than the images'
    and categories' are skipped and reported to ``problems``; so are shared annotation ids.
    """
    data = read_json(annotation_file)
    id_types = {kind: check_entries(data[kind], kind, annotation_file) for kind in SINGULAR}
    annotations = data.get("annotations", [])
    if not isinstance(annotations, list):
        raise ValueError(
            f"COCO annotation file {annotation_file}: expected 'annotations' to be a list, got {type(annotations).__name__}",
        )
    usable = []
    for position, ann in enumerate(annotations):
        if not isinstance(ann, dict) or not all(key in ann for key in ANNOTATION_KEYS):
            problems.add("annotations without id, image_id or category_id, skipped", f"annotations[{position}]")
        elif wrong := wrongly_typed_id(ann, id_types):
            problems.add(
                "annotations with an id, image_id or category_id of the wrong type, skipped",
                f"annotations[{position}] ({wrong})",
            )
        else:
            usable.append(ann)
    for ann_id, count in Counter(ann["id"] for ann in usable).items():
        if count > 1:
            problems.add(
                "annotation ids used more than once (each annotation keeps its own box and mask)",
                f"id {short_repr(ann_id)} ({count} times)",
            )
    coco = COCO()
    coco.dataset = {**data, "annotations": usable}
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        coco.createIndex()
    return coco


def read_json(annotation_file: Path) -> dict[str, Any]:
    """The JSON object in ``annotation_file``, with ``images`` and ``categories`` lists."""
    try:
        with open(annotation_file, encoding="utf-8") as file:
            data = json.load(file)
    except OSError as error:
        raise OSError(f"cannot read COCO annotation file {annotation_file}: {error}") from error
    except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError, too many digits or levels
        raise ValueError(f"broken JSON in COCO annotation file {annotation_file}: {error}") from error
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) or not isinstance(data.get("categories"), list):
        raise ValueError(f"COCO annotation file {annotation_file}: expected an object with 'images' and 'categories' lists")
    return data


def check_entries(entries: list[Any], kind: str, annotation_file: Path) -> type | None:
    """The one id type (int or str) of the ``images`` or ``categories`` entries; ValueError naming a bad one."""
    where = f"COCO annotation file {annotation_file}: {kind}"
    id_type = None
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict) or "id" not in entry:
            raise ValueError(f"{where}[{position}] has no 'id': {short_repr(entry)}")
        entry_id = entry["id"]
        if type(entry_id) not in (int, str):
            raise ValueError(f"{where}[{position}]: expected an integer or string id, got {short_repr(entry_id)}")
        id_type = id_type or type(entry_id)
        if type(entry_id) is not id_type:
            raise ValueError(
                f"{where}[{position}]: id {short_repr(entry_id)} ({type(entry_id).__name__}) is not of the type of {kind}[0]'s "
                f"({id_type.__name__}); ids must be all integers or all strings",
            )
        if problem := entry_problem(entry, kind):
            raise ValueError(f"{where}[{position}] (id {short_repr(entry_id)}): {problem}")
    duplicates = sorted(i for i, n in Counter(entry["id"] for entry in entries).items() if n > 1)
    if duplicates:
        raise ValueError(f"COCO annotation file {annotation_file}: duplicate {SINGULAR[kind]} ids {short_repr(duplicates)}")
    return id_type


def entry_problem(entry: dict[str, Any], kind: str) -> str | None:
    """What is wrong with an image's ``height``/``width`` or a category's ``name``, if anything."""
    if kind == "categories":
        name = entry.get("name", "")
        return None if isinstance(name, str) else f"expected a string name, got {short_repr(name)}"
    for key in ("height", "width"):
        value = entry.get(key)
        if value is not None and not (type(value) is int and value > 0):
            return f"expected a positive integer {key}, got {short_repr(value)}"
    return None


def wrongly_typed_id(ann: dict[str, Any], id_types: dict[str, type | None]) -> str | None:
    """``"key value"`` for the first of an annotation's ids whose type cannot match, else None.

    ``id_types`` holds the images' and categories' id type (None where there are no entries).
    """
    expected = {"id": None, "image_id": id_types["images"], "category_id": id_types["categories"]}
    for key, id_type in expected.items():
        if type(ann[key]) not in ((id_type,) if id_type else (int, str)):
            return f"{key} {short_repr(ann[key])}"
    return None


def resolve_inside(images_dir: Path, file_name: Any, image_id: Any, confinement: Confinement | None = None) -> Path:
    """``images_dir / file_name``, refusing names that escape the folder (ValueError naming the image).

    ``..`` and absolute names are always refused; with ``confinement`` (of ``images_dir``) so is
    a name that resolves outside it through a symlink. None allows symlinks.
    """
    if not isinstance(file_name, str) or not file_name:
        raise ValueError(f"COCO image id {image_id}: expected a file_name string, got {file_name!r}")
    if os.path.isabs(file_name) or (".." in file_name and ".." in Path(file_name).parts):
        raise ValueError(f"COCO image id {image_id}: file_name {file_name!r} escapes images_dir {images_dir}")
    path = images_dir / file_name
    if confinement is not None:
        confinement.refuse_outside(path, f"COCO image id {image_id}: file_name {file_name!r}")
    return path


class CocoDetection(DetectionDataset):
    """A COCO detection dataset that feeds detmix's mixing transforms.

    ``ds[i]`` is a dict: ``image`` (H x W x 3 uint8 RGB), ``bboxes``, ``class_labels``
    (contiguous 0..K-1 in category-id order; names in ``ds.classes``, COCO ids in
    ``ds.category_ids``), ``image_id``, ``bbox_format``, with ``masks="semantic"`` a ``mask``
    (H x W semantic map: class index + 1, 0 for background), and with ``masks="instance"``
    ``masks`` (N x H x W uint8 0/1, one per box, in box order; each box is its mask's extent).
    Without a transform boxes are COCO
    ``[x, y, w, h]`` pixels; with one they are in the Compose's format. Every mixing transform
    inside ``transform`` is fed the extras it needs, drawn from this dataset. ``include_crowd`` and
    ``masks`` are fixed at construction; an annotation's ``area`` is not read. With ``max_size``
    boxes and masks are scaled with their image (polygons before they are drawn, RLEs resampled).

    Args:
        images_dir: folder the ``file_name`` s are relative to.
        annotation_file: COCO instances JSON.
        transform: an ``A.Compose`` whose ``BboxParams`` declare ``label_fields=["class_labels"]``.
        include_crowd: keep ``iscrowd`` annotations, as ordinary objects. Default: False.
        masks: ``"semantic"`` (or True): also return the semantic ``mask``. ``"instance"``: also
            return instance ``masks``, drawn from polygons or RLEs (crowd ones too, with
            ``include_crowd``) when a sample needs them, never cached (see
            :mod:`detmix.data.instance_masks`); ``transform`` must then declare
            ``label_fields=["class_labels", "mask_indices"]``, and its output is paired with
            :func:`detmix.pair_masks`. Either way segmentations are checked at construction
            (structure only, nothing is decoded); an annotation whose segmentation is malformed
            is skipped whole, box too, and named in a warning, so no object is half there. One
            without a segmentation (missing, null or ``[]``) is a box-only object: kept; absent
            from the semantic mask, as in datasets that mask only some objects (if no object
            has one, a warning says every mask will be empty); its instance mask is its box
            (the pixels whose centres lie in it), and a warning counts such objects. Default: False.
        **loading: ``cache_images``, ``cache_bytes``, ``extras``, ``pool_size``, ``pool_bytes``,
            ``max_size``, ``follow_symlinks``, ``max_image_pixels``, ``verbose``: loading,
            caching and feeding, as documented on :class:`~detmix.data.dataset.DetectionDataset`.
            A ``file_name`` resolving outside ``images_dir`` through a symlink is refused like
            ``..`` unless ``follow_symlinks``.
    """

    def __init__(
        self,
        images_dir: str | Path,
        annotation_file: str | Path,
        transform: A.Compose | None = None,
        *,
        include_crowd: bool = False,
        masks: bool | Literal["semantic", "instance"] = False,
        **loading: Unpack[LoadingOptions],
    ) -> None:
        bool_argument(include_crowd, "include_crowd")
        super().__init__(transform, mask_mode=mask_mode(masks, (True, "semantic", "instance"), type(self).__name__), **loading)
        self.images_dir = folder_argument(images_dir, "images_dir")
        self.annotation_file = Path(annotation_file)
        self._include_crowd = include_crowd
        self._segmentations: dict[Any, tuple[Any, ...]] = {}  # image id -> segmentations of its kept objects
        problems = Problems(type(self).__name__)
        self.coco = load_coco(self.annotation_file, problems)
        categories = sorted(self.coco.dataset["categories"], key=lambda c: c["id"])
        self.category_ids = [c["id"] for c in categories]
        self.classes = [str(c.get("name", c["id"])) for c in categories]
        self.records = self._build_records(problems)
        segmentations = [s for kept in self._segmentations.values() for s in kept]
        if self.masks == "semantic" and segmentations and not any(segmentations):
            problems.add("masks=True, but no annotation has a segmentation: every mask is empty", str(self.annotation_file))
        problems.warn()

    @property
    def include_crowd(self) -> bool:
        """Whether ``iscrowd`` annotations are objects; fixed at construction, where records are built."""
        return self._include_crowd

    def _build_records(self, problems: Problems) -> list[Record]:
        class_of = {category_id: index for index, category_id in enumerate(self.category_ids)}
        image_ids = {image["id"] for image in self.coco.dataset["images"]}
        for ann in self.coco.dataset["annotations"]:
            if ann.get("image_id") not in image_ids:
                problems.add("annotations with an unknown image_id, skipped", f"annotation {short_repr(ann.get('id'))} (image_id {short_repr(ann.get('image_id'))})")
        records = []
        confinement = None if self.follow_symlinks else Confinement(self.images_dir, "images_dir")

        def probe(image: dict[str, Any]) -> tuple[Path, Header | Skip]:
            path = resolve_inside(self.images_dir, image.get("file_name"), image.get("id"), confinement)
            return path, (self.check_image(path) if path.exists() else Skip("missing image files, skipped", str(path)))

        images = self.coco.dataset["images"]
        for image, (path, header) in zip(images, scan(probe, images, f"{type(self).__name__}: reading {self.images_dir}", self.verbose)):
            if isinstance(header, Skip):
                problems.add(*header)
                continue
            disk_hw = header.upright_hw
            json_hw = (image.get("height"), image.get("width"))
            if None not in json_hw and json_hw != disk_hw:
                problems.add(
                    "images whose size on disk differs from the JSON (the disk wins)",
                    f"{path.name}: JSON {image.get('height')}x{image.get('width')}, disk {disk_hw[0]}x{disk_hw[1]}",
                )
            boxes, labels, kept = self._objects(image["id"], disk_hw, self.min_box_side(header), class_of, problems)
            records.append(self.make_record(path, header, boxes, labels, image["id"], tuple(kept)))
        return records

    def _objects(
        self,
        image_id: Any,
        image_hw: tuple[int, int],
        min_side: tuple[float, float],
        class_of: dict[Any, int],
        problems: Problems,
    ) -> tuple[np.ndarray, np.ndarray, list[Any]]:
        """Clipped COCO boxes, class indices and annotation ids of the usable annotations of one image.

        With ``masks`` the segmentations of the objects kept are remembered by image id: the
        annotations' own data, never looked up by annotation id again, so shared ids cannot mix them up.
        With ``masks="instance"`` the objects without one are reported (their masks are their boxes).
        """
        boxes, labels, kept, segmentations = [], [], [], []
        for ann in self.coco.imgToAnns.get(image_id, []):
            try:
                box = object_box(ann, image_hw, class_of, include_crowd=self.include_crowd, masks=bool(self.masks), min_side=min_side)
            except SkippedAnnotation as skip:
                problems.add(skip.kind, f"annotation {short_repr(ann['id'])} ({skip.detail})")
                continue
            if box is None:
                continue
            boxes.append(box)
            labels.append(class_of[ann["category_id"]])
            kept.append(ann["id"])
            segmentations.append(ann.get("segmentation") or None)
            if self.masks == "instance" and segmentations[-1] is None:
                problems.add(UNSEGMENTED, f"annotation {short_repr(ann['id'])}")
        if self.masks:
            self._segmentations[image_id] = tuple(segmentations)
        return np.array(boxes, np.float64).reshape(-1, 4), np.array(labels, np.int64), kept

    @property
    def pixel_keys(self) -> tuple[str, ...]:
        """``image``, and ``mask`` with ``masks="semantic"``."""
        return ("image", "mask") if self.masks == "semantic" else ("image",)

    def decode_pixels(self, index: int) -> Pixels:
        """The image, and with ``masks="semantic"`` its semantic mask."""
        pixels = super().decode_pixels(index)
        if self.masks == "semantic":
            pixels["mask"] = self._semantic_mask(index)
        return pixels

    def _semantic_mask(self, index: int) -> np.ndarray:
        """Class index + 1 per pixel at the loaded size, later objects on top, in the smallest dtype that leaves its top value free.

        uint8 up to 254 classes, uint16 up to 65534, int32 beyond.
        """
        classes = len(self.classes)
        record = self.records[index]
        mask = np.zeros(record.image_hw, np.uint8 if classes < 255 else np.uint16 if classes < 65535 else np.int32)
        for segmentation, label in zip(self._segmentations[record.image_id], record.class_labels):
            if segmentation:  # box-only objects have none
                mask[decode_segmentation(segmentation, record.image_hw, record.scale_xy) > 0] = label + 1
        return mask

    def segmentations(self, index: int) -> tuple[Any, ...]:
        """The segmentations (COCO's JSON, checked at construction) of sample ``index``'s objects, None where absent."""
        return self._segmentations[self.records[index].image_id]


class SkippedAnnotation(ValueError):
    """An annotation that cannot become an object: the kind of problem and what was found."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


def object_box(
    ann: dict[str, Any],
    image_hw: tuple[int, int],
    class_of: dict[Any, int],
    *,
    include_crowd: bool,
    masks: bool,
    min_side: tuple[float, float] = (0.0, 0.0),
) -> tuple[float, ...] | None:
    """The clipped ``[x, y, w, h]`` of an annotation on an ``image_hw`` image; None for a crowd left out.

    SkippedAnnotation says why an annotation cannot be an object. ``iscrowd`` must be 0 or 1, or
    false/true (a JSON flag either way; "0" or 0.0 would be guesses); ``bbox`` four finite JSON
    numbers (not bools, not strings) with positive width and height, partly inside the image.
    With ``masks`` a segmentation, where there is one, must pass :func:`segmentation_problem`. A
    malformed one skips the whole annotation: the record is broken, and its box alone would paint
    as background an object the data says has a mask, where a box-only object has none.
    """
    crowd = ann.get("iscrowd", 0)
    if type(crowd) not in (int, bool) or crowd not in (0, 1):
        raise SkippedAnnotation("annotations whose iscrowd is not 0 or 1, skipped", f"iscrowd {short_repr(crowd)}")
    if crowd and not include_crowd:
        return None
    if ann["category_id"] not in class_of:
        detail = f"category_id {short_repr(ann['category_id'])}"
        raise SkippedAnnotation("annotations with an unknown category_id, skipped", detail)
    bbox = ann.get("bbox")
    if not isinstance(bbox, list) or len(bbox) != 4 or not all(map(is_json_number, bbox)):
        raise SkippedAnnotation("annotations with a malformed bbox, skipped", f"bbox {short_repr(bbox)}")
    if bbox[2] <= 0 or bbox[3] <= 0:
        raise SkippedAnnotation("annotations with non-positive width or height, skipped", f"bbox {bbox}")
    clipped = clip_xywh(*map(float, bbox), image_hw)
    if clipped is None:
        height, width = image_hw
        raise SkippedAnnotation("annotations entirely outside their image, dropped", f"bbox {bbox}, image {width}x{height}")
    if clipped[2] < min_side[0] or clipped[3] < min_side[1]:
        raise SkippedAnnotation(f"annotations under {MIN_BOX_SIDE} px wide or high as loaded, skipped", f"bbox {bbox}")
    segmentation = ann.get("segmentation")
    if masks and segmentation not in (None, []) and (reason := segmentation_problem(segmentation, image_hw)):
        raise SkippedAnnotation("annotations with a malformed segmentation, skipped", reason)
    return clipped
