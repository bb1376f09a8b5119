"""YoloDetection on what Ultralytics users have: a data.yaml with splits, and a dataset root holding images/ and labels/."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import detmix
from detmix.data import yolo_layout
from tests.data.builders import write_image

pytestmark = pytest.mark.filterwarnings("error")

#: Class of each image's one box, by split and file stem: which images a dataset read shows in its labels.
SPLITS = {"train": {"t0": 0, "t1": 1, "t2": 2}, "val": {"v0": 1, "v1": 2}}


def ultralytics_root(root: Path, splits: dict[str, dict[str, int]] | None = None, sub: bool = True) -> Path:
    """``root/images/<split>/<stem>.png`` (16 x 24) and ``root/labels/<split>/<stem>.txt``; without ``sub``, no split folders."""
    for split, stems in (splits or SPLITS).items():
        for stem, label in stems.items():
            relative = Path(split, stem) if sub else Path(stem)
            write_image(root / "images" / relative.with_suffix(".png"), 16, 24, seed=label)
            label_file = root / "labels" / relative.with_suffix(".txt")
            label_file.parent.mkdir(parents=True, exist_ok=True)
            label_file.write_text(f"{label} 0.5 0.5 0.25 0.5\n")
    return root


def data_yaml(folder: Path, text: str, name: str = "data.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder / name


def labels_by_id(ds: detmix.YoloDetection) -> dict[str, list[int]]:
    return {r.image_id: r.class_labels.tolist() for r in ds.records}


# ----- path ------------------------------------------------------------------------------------


def test_path_missing_is_the_yamls_folder(tmp_path: Path) -> None:
    yaml_file = data_yaml(ultralytics_root(tmp_path), "train: images/train\nval: images/val\nnames: [a, b, c]\n")
    ds = detmix.YoloDetection(yaml_file, split="val")
    assert labels_by_id(ds) == {"images/val/v0.png": [1], "images/val/v1.png": [2]}
    assert ds.classes == ["a", "b", "c"] and ds.images_dir == tmp_path and ds.labels_dir is None
    np.testing.assert_allclose(ds[0]["bboxes"], [[9, 4, 6, 8]], rtol=0, atol=1e-9)
    assert len(detmix.YoloDetection(data_yaml(tmp_path, "path:\ntrain: images/train\n", "empty_path.yaml"), split="train")) == 3


@pytest.mark.parametrize("absolute", [True, False])
def test_path_absolute_or_relative_to_the_yamls_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, absolute: bool) -> None:
    root = ultralytics_root(tmp_path / "data")
    path = root if absolute else "../data"
    yaml_file = data_yaml(tmp_path / "configs", f"path: {path}\ntrain: images/train\nval: images/val\n")
    monkeypatch.chdir(tmp_path / "data" / "images")  # not the working directory's
    ds = detmix.YoloDetection(yaml_file, split="train")
    assert labels_by_id(ds) == {"images/train/t0.png": [0], "images/train/t1.png": [1], "images/train/t2.png": [2]}


def test_a_relative_path_found_only_from_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ultralytics' common `path: datasets/foo`, run from the folder holding datasets/: not beside the yaml, so from the working directory."""
    ultralytics_root(tmp_path / "datasets" / "foo")
    yaml_file = data_yaml(tmp_path / "configs", "path: datasets/foo\ntrain: images/train\nval: images/val\n")
    monkeypatch.chdir(tmp_path)
    ds = detmix.YoloDetection(yaml_file, split="val")
    assert ds.images_dir == tmp_path / "datasets" / "foo" and len(ds) == 2


def test_path_of_a_wrong_kind_names_file_and_key(tmp_path: Path) -> None:
    yaml_file = data_yaml(ultralytics_root(tmp_path), "path: 3\ntrain: images/train\n")
    with pytest.raises(ValueError, match=r"data.yaml: 'path' must be a folder path, got int 3"):
        detmix.YoloDetection(yaml_file, split="train")


# ----- split entries ---------------------------------------------------------------------------


def test_a_list_of_folders(tmp_path: Path) -> None:
    yaml_file = data_yaml(ultralytics_root(tmp_path), "train: [images/train, images/val]\n")
    ds = detmix.YoloDetection(yaml_file, split="train")
    assert [r.image_id for r in ds.records] == [*(f"images/train/t{i}.png" for i in range(3)), "images/val/v0.png", "images/val/v1.png"]
    assert ds.classes == ["0", "1", "2"]


def test_a_list_file_with_relative_and_absolute_entries(tmp_path: Path) -> None:
    root = ultralytics_root(tmp_path / "data")
    outside = ultralytics_root(tmp_path / "elsewhere", {"extra": {"x0": 2}})
    listed = ["./images/train/t1.png", "images/val/v0.png", "", f"{outside / 'images' / 'extra' / 'x0.png'}", "  images/train/t0.png  "]
    (root / "train.txt").write_text("\n".join(listed) + "\n")
    ds = detmix.YoloDetection(data_yaml(root, "path: .\ntrain: train.txt\n"), split="train")
    assert labels_by_id(ds) == {
        "images/train/t1.png": [1],
        "images/val/v0.png": [1],
        (outside / "images" / "extra" / "x0.png").as_posix(): [2],  # outside path: its whole path
        "images/train/t0.png": [0],
    }


def test_a_list_files_relative_entries_are_relative_to_its_own_folder(tmp_path: Path) -> None:
    root = ultralytics_root(tmp_path)
    (root / "splits").mkdir()
    (root / "splits" / "val.txt").write_text("./../images/val/v1.png\n../images/train/t2.png\n")
    ds = detmix.YoloDetection(data_yaml(root, "val: [splits/val.txt, images/train]\n"), split="val")
    assert [r.image_id for r in ds.records] == ["images/val/v1.png", "images/train/t2.png", "images/train/t0.png", "images/train/t1.png", "images/train/t2.png"]


def test_list_entries_that_are_no_images_or_missing_are_named_skips(tmp_path: Path) -> None:
    root = ultralytics_root(tmp_path)
    (root / "val.txt").write_text("images/val/v0.png\nnotes.md\nimages/val/gone.png\n")
    yaml_file = data_yaml(root, "val: val.txt\n")
    with pytest.warns(UserWarning) as caught:
        ds = detmix.YoloDetection(yaml_file, split="val")
    messages = sorted(str(w.message) for w in caught)
    assert len(ds) == 1 and len(messages) == 2
    assert "list entries without an image suffix" in messages[0] and messages[0].endswith("val.txt:2")
    assert messages[1].startswith("YoloDetection: unreadable image files, skipped (1): ") and "gone.png" in messages[1]


def test_roboflow_parent_entries_are_tried_inside_path(tmp_path: Path) -> None:
    """Roboflow writes ``train: ../train/images`` beside its folders; Ultralytics drops the ``../`` when that is missing."""
    for split, stems in SPLITS.items():
        for stem, label in stems.items():
            write_image(tmp_path / split / "images" / f"{stem}.png", 16, 24, seed=label)
            (tmp_path / split / "labels").mkdir(exist_ok=True)
            (tmp_path / split / "labels" / f"{stem}.txt").write_text(f"{label} 0.5 0.5 0.5 0.5\n")
    yaml_file = data_yaml(tmp_path, "train: ../train/images\nval: ../val/images\nnc: 3\nnames: ['a', 'b', 'c']\n")
    assert labels_by_id(detmix.YoloDetection(yaml_file, split="val")) == {"val/images/v0.png": [1], "val/images/v1.png": [2]}


def test_label_files_follow_ultralytics_rule_per_image(tmp_path: Path) -> None:
    """The last ``images`` folder of each path becomes ``labels``; with none, the label file lies beside the image."""
    write_image(tmp_path / "images" / "cam" / "images" / "a.png", 16, 24, seed=0)
    (tmp_path / "images" / "cam" / "labels").mkdir(parents=True)
    (tmp_path / "images" / "cam" / "labels" / "a.txt").write_text("1 0.5 0.5 0.5 0.5\n")
    write_image(tmp_path / "flat" / "b.png", 16, 24, seed=1)
    (tmp_path / "flat" / "b.txt").write_text("2 0.5 0.5 0.5 0.5\n")
    ds = detmix.YoloDetection(data_yaml(tmp_path, "train: [images, flat]\n"), split="train")
    assert labels_by_id(ds) == {"images/cam/images/a.png": [1], "flat/b.png": [2]}


def test_labels_no_image_has_are_reported_with_where_they_were_looked_for(tmp_path: Path) -> None:
    write_image(tmp_path / "pictures" / "a.png", 16, 24, seed=0)
    with pytest.warns(UserWarning, match=r"no label file found for any image \(looked for where Ultralytics looks.*\): e.g. .*pictures/a.txt"):
        detmix.YoloDetection(data_yaml(tmp_path, "val: pictures\n"), split="val")


def test_an_unreadable_list_file_names_it(tmp_path: Path) -> None:
    root = ultralytics_root(tmp_path)
    (root / "train.txt").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match=r"source: cannot read the list file .*train.txt"):
        detmix.YoloDetection(data_yaml(root, "train: train.txt\n"), split="train")


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_a_label_file_symlinked_outside_its_labels_folder_needs_follow_symlinks(tmp_path: Path) -> None:
    root = ultralytics_root(tmp_path / "data")
    (tmp_path / "store.txt").write_text("2 0.5 0.5 0.5 0.5\n")
    (root / "labels" / "val" / "v0.txt").unlink()
    (root / "labels" / "val" / "v0.txt").symlink_to(tmp_path / "store.txt")
    yaml_file = data_yaml(root, "val: images/val\n")
    with pytest.raises(ValueError, match=r"YoloDetection: label file: .*v0.txt resolves to .*store.txt, outside labels folder .*data/labels"):
        detmix.YoloDetection(yaml_file, split="val")
    assert labels_by_id(detmix.YoloDetection(yaml_file, split="val", follow_symlinks=True))["images/val/v0.png"] == [2]


# ----- split -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("split", "message"),
    [
        (None, r"split: .*data.yaml is a data.yaml: pass split= one of its splits; it has train, val$"),
        ("valid", r"split: expected one of train, val, test for a data.yaml, got 'valid'; .*data.yaml: it has train, val$"),
        ("test", r"split: .*data.yaml has no 'test' entry; it has train, val$"),
    ],
)
def test_a_missing_or_unknown_split_lists_the_available_ones(tmp_path: Path, split: str | None, message: str) -> None:
    yaml_file = data_yaml(ultralytics_root(tmp_path), "train: images/train\nval: images/val\ntest:\n")
    with pytest.raises(ValueError, match=message):
        detmix.YoloDetection(yaml_file, split=split)


def test_split_must_be_a_string(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="split: expected a split name \\(str\\) or None, got int 0"):
        detmix.YoloDetection(ultralytics_root(tmp_path), split=0)


def test_labels_dir_is_refused_with_a_data_yaml(tmp_path: Path) -> None:
    yaml_file = data_yaml(ultralytics_root(tmp_path), "train: images/train\n")
    with pytest.raises(ValueError, match="labels_dir: .*data.yaml is a data.yaml; its label files are where Ultralytics looks"):
        detmix.YoloDetection(yaml_file, labels_dir=tmp_path / "labels", split="train")


# ----- names and nc ----------------------------------------------------------------------------


@pytest.mark.parametrize("names", ["[a, b, c]", "{0: a, 1: b, 2: c}", "{2: c, 0: a, 1: b}"])
def test_names_as_list_or_mapping(tmp_path: Path, names: str) -> None:
    yaml_file = data_yaml(ultralytics_root(tmp_path), f"train: images/train\nnc: 3\nnames: {names}\n")
    assert detmix.YoloDetection(yaml_file, split="train").classes == ["a", "b", "c"]


def test_nc_alone_names_classes_by_number_and_bounds_the_ids(tmp_path: Path) -> None:
    yaml_file = data_yaml(ultralytics_root(tmp_path), "train: images/train\nnc: 2\n")
    with pytest.warns(UserWarning, match=r"malformed label rows, skipped \(1\): .*t2.txt:1 \(class 2 outside 0..1\)"):
        ds = detmix.YoloDetection(yaml_file, split="train")
    assert ds.classes == ["0", "1"] and labels_by_id(ds)["images/train/t2.png"] == []


def test_the_names_argument_wins_over_the_yamls(tmp_path: Path) -> None:
    yaml_file = data_yaml(ultralytics_root(tmp_path), "train: images/train\nnames: [a, b, c]\n")
    assert detmix.YoloDetection(yaml_file, names=["x", "y", "z"], split="train").classes == ["x", "y", "z"]


# ----- the yaml itself -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # split entries
        ("train: images/nowhere", r"data.yaml: 'train': 'images/nowhere' -> .*images/nowhere does not exist"),
        ("train: images/train/t0.png", r"data.yaml: 'train': 'images/train/t0.png' -> .* is neither a folder nor a .txt list of image paths"),
        ("train: [images/train, 3]", r"data.yaml: 'train' item 1: expected a folder, a .txt list of image paths or a list of those, got int 3"),
        ("train: {a: b}", r"data.yaml: 'train': expected a folder, a .txt list .* got dict"),
        # names and nc
        ("train: images/train\nnc: 2\nnames: [a, b, c]", r"data.yaml: 'nc' is 2 but 'names' has 3 classes"),
        ("train: images/train\nnc: three\nnames: [a, b, c]", r"data.yaml: 'nc' must be a positive int \(the number of classes\), got str 'three'"),
        ("train: images/train\nnc: 0", r"data.yaml: 'nc' must be a positive int"),
        ("train: images/train\nnc: 1000000000", r"data.yaml: 'nc' is 1000000000 without 'names'; list the names for more than 10000 classes"),
        ("train: images/train\nnames: person", r"data.yaml: 'names' must be a list of class names or an index -> name mapping, got str 'person'"),
        ("train: images/train\nnames: {0: a, 2: c}", r"data.yaml: 'names': the mapping must number classes 0..1, got \[0, 2\]"),
        ("train: images/train\nnames: [a, [b, c]]", r"data.yaml: 'names': class 1: expected a name \(a string\), got list"),
        ("train: images/train\nnames: []", r"data.yaml: 'names': no class names"),
        # the yaml itself: malformed, or not a mapping
        ("train: [images/train", r"(?s)source: cannot read a data.yaml from .*data.yaml: .*expected ',' or ']'"),
        ("- images/train\n- images/val", r"source: .*data.yaml is not a data.yaml: expected a mapping of keys \(path, train, val, names, ...\), got list"),
        ("", r"source: .*data.yaml is not a data.yaml: .* got NoneType"),
        ("[" * 5000, r"source: cannot read a data.yaml from .*data.yaml"),
    ],
)
def test_yaml_errors_name_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    yaml_file = data_yaml(ultralytics_root(tmp_path), text + "\n")
    with pytest.raises(ValueError, match=message):
        detmix.YoloDetection(yaml_file, split="train")


def test_the_yaml_is_parsed_safely_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    yaml_file = data_yaml(ultralytics_root(tmp_path), f"train: !!python/object/apply:pathlib.Path.touch [!!python/object/apply:pathlib.Path ['{marker}']]\n")
    with pytest.raises(ValueError, match=r"source: cannot read a data.yaml from .*data.yaml: could not determine a constructor"):
        detmix.YoloDetection(yaml_file, split="train")
    assert not marker.exists()


@pytest.mark.parametrize(("key", "message"), [("names", r"'names': class 0: expected a name \(a string\), got list \[\[\[\["), ("path", "'path' must be a folder path"), ("train", "'train' item 0")])
def test_aliases_that_nest_a_billion_items_cost_no_more_than_the_file(tmp_path: Path, key: str, message: str) -> None:
    """YAML aliases share one object: nine levels of nine make 9**9 items in 450 bytes; errors must not print them."""
    levels = ["l0: &l0 [x, x, x, x, x, x, x, x, x]", *(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9))]
    yaml_file = data_yaml(ultralytics_root(tmp_path), "\n".join([*levels, "train: images/train" if key != "train" else "", f"{key}: *l8", ""]))
    with pytest.raises(ValueError, match=message) as caught:
        detmix.YoloDetection(yaml_file, split="train")
    assert len(str(caught.value)) < 5000  # abbreviated, not 9**8 items


def test_the_yaml_is_read_within_a_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    yaml_file = data_yaml(ultralytics_root(tmp_path), "train: images/train\n" + "# padding\n" * 20)
    monkeypatch.setattr(yolo_layout, "MAX_YAML_BYTES", 100)
    with pytest.raises(ValueError, match=r"source: cannot read a data.yaml from .*data.yaml: over 100 bytes"):
        detmix.YoloDetection(yaml_file, split="train")
    with pytest.raises(ValueError, match=r"names: cannot read class names from .*data.yaml: over 100 bytes"):
        detmix.YoloDetection(tmp_path / "images" / "train", names=yaml_file)


def test_a_source_that_is_neither_folder_nor_yaml(tmp_path: Path) -> None:
    (tmp_path / "data.json").write_text("{}")
    with pytest.raises(ValueError, match=r"source: .*data.json is a file, not a folder or a data.yaml \(.yaml, .yml\)"):
        detmix.YoloDetection(tmp_path / "data.json")
    with pytest.raises(ValueError, match=r"source: .*nothing.yaml is missing, not a folder or a data.yaml"):
        detmix.YoloDetection(tmp_path / "nothing.yaml", split="val")


# ----- dataset roots ---------------------------------------------------------------------------


def test_a_root_without_split_folders_is_read_whole(tmp_path: Path) -> None:
    root = ultralytics_root(tmp_path, {"all": {"a": 0, "b": 2}}, sub=False)
    ds = detmix.YoloDetection(root)
    assert labels_by_id(ds) == {"a.png": [0], "b.png": [2]} and ds.images_dir == root / "images" and ds.labels_dir == root / "labels"
    with pytest.raises(ValueError, match=r"split: the dataset root .* has no images/val folder; its splits are none"):
        detmix.YoloDetection(root, split="val")


def test_a_root_with_split_folders_reads_the_split_asked_for(tmp_path: Path) -> None:
    root = ultralytics_root(tmp_path)
    ds = detmix.YoloDetection(root, split="val")
    assert labels_by_id(ds) == {"v0.png": [1], "v1.png": [2]} and ds.labels_dir == root / "labels" / "val"
    with pytest.raises(ValueError, match=r"split: the dataset root .* has the splits \['train', 'val'\] \(the folders in images/\); pass split= one of them, or .*images as source for all of them"):
        detmix.YoloDetection(root)
    with pytest.raises(ValueError, match=r"split: the dataset root .* has no images/test folder; its splits are \['train', 'val'\]"):
        detmix.YoloDetection(root, split="test")


def test_a_roots_labels_dir_can_be_given(tmp_path: Path) -> None:
    root = ultralytics_root(tmp_path)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "v0.txt").write_text("0 0.5 0.5 0.5 0.5\n0 0.5 0.5 0.25 0.25\n")
    ds = detmix.YoloDetection(root, labels_dir=tmp_path / "other", split="val")
    assert labels_by_id(ds) == {"v0.png": [0, 0], "v1.png": []}


def test_split_is_refused_for_an_images_folder(tmp_path: Path) -> None:
    root = ultralytics_root(tmp_path)
    with pytest.raises(ValueError, match=r"split: .*images/val is an images folder; split chooses among"):
        detmix.YoloDetection(root / "images" / "val", split="val")
