"""Where a YOLO dataset's images, labels and class names are: an images folder, a dataset root, or an Ultralytics data.yaml.

Ultralytics' conventions, as its documentation and its users' datasets have them:

* Labels mirror images: an image's label file is its path with the last folder named ``images``
  replaced by ``labels`` and the suffix by ``.txt`` (beside the image when no folder is so named).
* A dataset root holds ``images/`` and ``labels/``, either whole or split into subfolders
  (``images/train``, ``images/val``, ... beside ``labels/train``, ``labels/val``, ...).
* A data.yaml names the root (``path``), the splits (``train``, ``val``, ``test``: each a folder,
  a ``.txt`` file listing image paths, or a list of those, relative to ``path``) and the classes
  (``names``, a list or an index -> name mapping; ``nc``, their number). A list file's relative
  entries are relative to its own folder (Ultralytics reads ``./x`` so; a list file sits in
  ``path`` in every layout it documents). A split entry starting with ``../`` that does not
  exist is tried without it, as Ultralytics does for Roboflow's exports (``train: ../train/images``
  beside the yaml). A relative ``path`` is relative to the yaml's own folder, and, when no such
  folder exists there, to the working directory, as Ultralytics tries it (its settings' datasets
  folder, the third place it looks, a library has not).

The YAML is parsed with ``yaml.safe_load`` (plain data, nothing executed) from at most
:data:`MAX_YAML_BYTES`; every error names the file and the key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from detmix.data.arguments import folder_argument
from detmix.data.scanning import Confinement, Problems
from detmix.data.segmentation import short_repr

IMAGE_SUFFIXES = {".bmp", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp"}
YAML_SUFFIXES = (".yaml", ".yml")
#: The split keys of a data.yaml, in Ultralytics' order.
SPLITS = ("train", "val", "test")
#: Largest data.yaml read: Ultralytics' own are a few kB (COCO's 80 names with a download script: 3 kB).
MAX_YAML_BYTES = 1 << 20
#: Without ``names``, class ids 0..MAX_CLASSES_WITHOUT_NAMES - 1 are accepted (and ``classes`` is
#: "0".."K-1" up to the largest id used). The bound keeps one absurd id (1e9), or an absurd ``nc``,
#: from building a billion names; pass ``names`` for more classes.
MAX_CLASSES_WITHOUT_NAMES = 10_000


@dataclass(frozen=True)
class Layout:
    """Where a YOLO dataset's images are and where each image's label file is.

    ``entries`` are folders (searched recursively) and ``.txt`` list files, read in order by
    :meth:`find_images`. With ``labels_dir`` the label files mirror ``images_dir`` there; without,
    each image finds its own by Ultralytics' rule (:func:`label_folder_and_file`).
    """

    entries: tuple[Path, ...]
    images_dir: Path  # image ids are paths relative to it (the whole path outside it)
    labels_dir: Path | None
    names: list[str] | None  # a data.yaml's classes
    description: str

    def find_images(self, follow_symlinks: bool, problems: Problems) -> list[Path]:
        """The images of every entry: a folder's sorted, a list file's in its order."""
        found: list[Path] = []
        for entry in self.entries:
            found += find_images(entry, follow_symlinks, problems) if entry.is_dir() else listed_images(entry, problems)
        return found

    def label_folder_and_file(self, image: Path) -> tuple[Path, Path]:
        """The folder ``image``'s label file must lie in (symlinks followed, unless ``follow_symlinks``) and the file."""
        if self.labels_dir is not None:
            return self.labels_dir, self.labels_dir / image.relative_to(self.images_dir).with_suffix(".txt")
        return label_folder_and_file(image)

    def image_id(self, image: Path) -> str:
        """``image`` relative to ``images_dir``, in POSIX form; its whole path when it lies elsewhere (a list's absolute entry)."""
        try:
            return image.relative_to(self.images_dir).as_posix()
        except ValueError:
            return image.as_posix()


def find_layout(source: Any, labels_dir: Any, split: Any) -> Layout:
    """The layout ``source`` names: a data.yaml, a dataset root (a folder holding ``images/``) or an images folder.

    TypeError or ValueError naming ``source``, ``labels_dir``, ``split`` or the data.yaml's file and key.
    """
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"source: expected an images folder, a dataset root or a data.yaml path, got {type(source).__name__} {source!r}")
    if split is not None and not isinstance(split, str):
        raise TypeError(f"split: expected a split name (str) or None, got {type(split).__name__} {split!r}")
    path = Path(source)
    if path.is_dir():
        return root_layout(path, labels_dir, split) if (path / "images").is_dir() else folder_layout(path, labels_dir, split)
    if path.is_file() and path.suffix.lower() in YAML_SUFFIXES:
        return yaml_layout(path, labels_dir, split)
    kind = "a file" if path.exists() else "missing"
    raise ValueError(f"source: {path} is {kind}, not a folder or a data.yaml ({', '.join(YAML_SUFFIXES)})")


def folder_layout(images_dir: Path, labels_dir: Any, split: str | None) -> Layout:
    """An images folder, its labels in ``labels_dir`` or the sibling ``labels`` folder."""
    if split is not None:
        raise ValueError(f"split: {images_dir} is an images folder; split chooses among a dataset root's images/<split> folders or a data.yaml's splits")
    labels = folder_argument(labels_dir if labels_dir is not None else sibling_labels_dir(images_dir), "labels_dir")
    return Layout((images_dir,), images_dir, labels, None, str(images_dir))


def root_layout(root: Path, labels_dir: Any, split: str | None) -> Layout:
    """A dataset root: ``images/`` and ``labels/``, whole or (with ``split``) one split subfolder of each."""
    images = root / "images"
    try:
        with os.scandir(images) as listing:
            splits = sorted(entry.name for entry in listing if is_folder_entry(entry))
    except OSError as error:
        raise ValueError(f"source: cannot list {images}: {error}") from error
    if split is None and splits:
        raise ValueError(
            f"split: the dataset root {root} has the splits {splits} (the folders in images/); "
            f"pass split= one of them, or {images} as source for all of them",
        )
    if split is not None and split not in splits:
        raise ValueError(f"split: the dataset root {root} has no images/{split} folder; its splits are {splits or 'none'}")
    images_dir = images / split if split else images
    default_labels = root / "labels" / split if split else root / "labels"
    labels = folder_argument(labels_dir if labels_dir is not None else default_labels, "labels_dir")
    return Layout((images_dir,), images_dir, labels, None, str(images_dir))


def yaml_layout(path: Path, labels_dir: Any, split: str | None) -> Layout:
    """The split ``split`` of an Ultralytics data.yaml (see the module's docstring)."""
    if labels_dir is not None:
        raise ValueError(f"labels_dir: {path} is a data.yaml; its label files are where Ultralytics looks (the last images folder of each image's path replaced by labels): drop labels_dir")
    config = load_yaml(path, "source", "a data.yaml")
    if not isinstance(config, dict):
        raise ValueError(f"source: {path} is not a data.yaml: expected a mapping of keys (path, train, val, names, ...), got {type(config).__name__}")
    root = dataset_root(config, path)
    entries = tuple(split_entry(root, item, f"{path}: '{split}'") for item in split_items(config, path, split))
    return Layout(entries, root, None, yaml_names(config, path), f"{path} ({split})")


def load_yaml(path: Path, argument: str, what: str) -> Any:
    """The plain data of a YAML file of at most :data:`MAX_YAML_BYTES` (``yaml.safe_load``).

    ValueError naming ``argument``, ``what`` was to be read and the file.
    """
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_YAML_BYTES + 1)
        if len(data) > MAX_YAML_BYTES:
            raise ValueError(f"over {MAX_YAML_BYTES} bytes, too large for a data.yaml")
        return yaml.safe_load(data)
    except (OSError, ValueError, yaml.YAMLError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise ValueError(f"{argument}: cannot read {what} from {path}: {error}") from error


def dataset_root(config: dict[Any, Any], path: Path) -> Path:
    """The data.yaml's ``path``: absolute, or relative to the yaml's folder (else to the working
    directory, when only there is it a folder); the yaml's folder when missing or empty."""
    value = config.get("path")
    if value is None or value == "":
        return Path(os.path.normpath(path.parent))
    if not isinstance(value, str):
        raise ValueError(f"{path}: 'path' must be a folder path, got {type(value).__name__} {short_repr(value)}")
    root = Path(value)
    if root.is_absolute():
        return Path(os.path.normpath(root))
    beside = Path(os.path.normpath(path.parent / root))
    return beside if beside.is_dir() or not root.is_dir() else Path(os.path.normpath(root.absolute()))


def split_items(config: dict[Any, Any], path: Path, split: str | None) -> list[str]:
    """The entries of split ``split`` (a folder or list-file path each); ValueError naming what is missing or wrong."""
    available = [key for key in SPLITS if config.get(key) not in (None, "", [])]
    has = f"it has {', '.join(available)}" if available else "it has none"
    if split is None:
        raise ValueError(f"split: {path} is a data.yaml: pass split= one of its splits; {has}")
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {', '.join(SPLITS)} for a data.yaml, got {split!r}; {path}: {has}")
    if split not in available:
        raise ValueError(f"split: {path} has no '{split}' entry; {has}")
    value = config[split]
    items = value if isinstance(value, list) else [value]
    for index, item in enumerate(items):
        if not isinstance(item, str) or not item.strip():
            at = f" item {index}" if isinstance(value, list) else ""
            raise ValueError(f"{path}: '{split}'{at}: expected a folder, a .txt list of image paths or a list of those, got {type(item).__name__} {short_repr(item)}")
    return items


def split_entry(root: Path, item: str, where: str) -> Path:
    """A split's folder or ``.txt`` list file, relative to ``root`` (a missing ``../x`` tried as ``x``); ValueError otherwise."""
    candidate = Path(item)
    path = Path(os.path.normpath(candidate if candidate.is_absolute() else root / candidate))
    if not path.exists() and item.startswith("../"):
        path = Path(os.path.normpath(root / item[3:])) if (root / item[3:]).exists() else path
    if path.is_dir() or (path.is_file() and path.suffix.lower() == ".txt"):
        return path
    why = "is neither a folder nor a .txt list of image paths" if path.exists() else "does not exist"
    raise ValueError(f"{where}: {item!r} -> {path} {why}")


def listed_images(list_file: Path, problems: Problems) -> list[Path]:
    """The image paths a ``.txt`` list names, one a line, relative ones relative to the list's folder.

    Blank lines are passed over; entries without an image suffix are skipped and reported to
    ``problems``. Whether each image exists is found out when it is read (a named skip).
    """
    try:
        lines = list_file.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"source: cannot read the list file {list_file}: {error}") from error
    images = []
    for number, line in enumerate(lines, start=1):
        entry = line.strip()
        if not entry:
            continue
        path = Path(entry)
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            problems.add(f"list entries without an image suffix ({', '.join(sorted(IMAGE_SUFFIXES))}), skipped", f"{list_file}:{number}")
            continue
        images.append(Path(os.path.normpath(path if path.is_absolute() else list_file.parent / path)))
    return images


def label_folder_and_file(image: Path) -> tuple[Path, Path]:
    """Ultralytics' rule: the last ``images`` folder of ``image``'s path becomes ``labels``, the suffix ``.txt``.

    Returns that ``labels`` folder and the label file; without an ``images`` folder, the image's
    own folder and the label file beside the image.
    """
    index = last_images_component(image.parts[:-1])
    if index is None:
        return image.parent, image.with_suffix(".txt")
    labels = Path(*image.parts[:index], "labels")
    return labels, labels.joinpath(*image.parts[index + 1 :]).with_suffix(".txt")


def sibling_labels_dir(images_dir: Path) -> Path:
    """Ultralytics' rule for a folder: the last ``images`` component of the path becomes ``labels``."""
    index = last_images_component(images_dir.parts)
    if index is None:
        raise ValueError(f"labels_dir: source {images_dir} has no 'images' folder to find the sibling 'labels' of; pass labels_dir")
    return Path(*images_dir.parts[:index], "labels", *images_dir.parts[index + 1 :])


def last_images_component(parts: tuple[str, ...]) -> int | None:
    """The index of the last of ``parts`` named ``images``, or None."""
    return next((index for index in range(len(parts) - 1, -1, -1) if parts[index] == "images"), None)


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


# ----- class names -----------------------------------------------------------------------------


def read_names(names: Any) -> list[str]:
    """Class names from a list, an index -> name mapping, or the ``names`` of a data.yaml (either form)."""
    if isinstance(names, (str, os.PathLike)):
        path = Path(names)
        data = load_yaml(path, "names", "class names")
        listed = data.get("names") if isinstance(data, dict) else None
        if not isinstance(listed, (list, dict)):
            raise ValueError(f"names: {path} has no 'names' list or mapping")
        return names_from(listed, f"names: {path}: ")
    if isinstance(names, (list, tuple, Mapping)):
        return names_from(names, "names: ")
    raise TypeError(f"names: expected a list of class names, an index -> name mapping or a data.yaml path, got {type(names).__name__} {short_repr(names)}")


def yaml_names(config: dict[Any, Any], path: Path) -> list[str] | None:
    """A data.yaml's classes: its ``names``; "0".."nc-1" with ``nc`` alone; None with neither. ``nc`` must match ``names``."""
    names, count = config.get("names"), config.get("nc")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ValueError(f"{path}: 'nc' must be a positive int (the number of classes), got {type(count).__name__} {short_repr(count)}")
    if names is None:
        if count is not None and count > MAX_CLASSES_WITHOUT_NAMES:
            raise ValueError(f"{path}: 'nc' is {count} without 'names'; list the names for more than {MAX_CLASSES_WITHOUT_NAMES} classes")
        return None if count is None else [str(i) for i in range(count)]
    if not isinstance(names, (list, dict)):
        raise ValueError(f"{path}: 'names' must be a list of class names or an index -> name mapping, got {type(names).__name__} {short_repr(names)}")
    listed = names_from(names, f"{path}: 'names': ")
    if count is not None and count != len(listed):
        raise ValueError(f"{path}: 'nc' is {count} but 'names' has {len(listed)} classes")
    return listed


def names_from(names: list[Any] | tuple[Any, ...] | Mapping[Any, Any], where: str) -> list[str]:
    """Class names from a sequence or an index -> name mapping (indices 0..K-1); each a string or a number."""
    listed = names_in_order(names, where) if isinstance(names, Mapping) else list(names)
    if not listed:
        raise ValueError(f"{where}no class names")
    for index, name in enumerate(listed):
        if not isinstance(name, (str, int, float)):
            raise ValueError(f"{where}class {index}: expected a name (a string), got {type(name).__name__} {short_repr(name)}")
    return [str(n) for n in listed]


def names_in_order(mapping: Mapping[Any, Any], where: str = "") -> list[Any]:
    """The values of an index -> name mapping, in index order; the indices must be 0..K-1."""
    try:
        indices = sorted(mapping, key=int)
    except (TypeError, ValueError):
        raise ValueError(f"{where}the mapping must have integer keys, got {short_repr(list(mapping))}") from None
    if [int(k) for k in indices] != list(range(len(indices))):
        raise ValueError(f"{where}the mapping must number classes 0..{len(indices) - 1}, got {short_repr(indices)}")
    return [mapping[k] for k in indices]
