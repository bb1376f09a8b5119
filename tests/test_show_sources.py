"""``detmix show``: finding a dataset's layout, images, class names, split and masks from its path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from detmix import show
from tests.test_cli import CELL, run, yolo_root
from tests.test_tools import COCO_JSON, FIXTURES, YOLO_IMAGES


@pytest.mark.parametrize("others", [{"aaa.yaml": "[1, 2]"}, {"args.yaml": "epochs: 3", "broken.yml": "{x"}, {"a.yaml": "epochs: 3", "z.yaml": None}])
def test_class_names_come_from_data_yaml_else_the_first_yaml_with_names(tmp_path: Path, others: dict[str, str | None]) -> None:
    data = yolo_root(tmp_path, {"": 2})
    names = {"names": ["zebra"]}
    for name, text in others.items():
        (data / name).write_text(text if text is not None else yaml.safe_dump(names))
    if "z.yaml" not in others:
        (data / "data.yaml").write_text(yaml.safe_dump(names))
    for source in (data, data / "images"):
        assert show.open_dataset(source, show.dataset_kind(source)).classes == ["zebra"]


@pytest.mark.parametrize(("layout", "message"), [("roboflow", "{tmp} holds data.yaml: pass {tmp}/data.yaml"), ("flat", "{tmp}: expected a YOLO dataset root holding images/ and labels/, or an images folder with labels/ beside it (.../images/... -> .../labels/...)")])
def test_a_folder_of_another_layout_says_what_to_pass(capsys: pytest.CaptureFixture[str], tmp_path: Path, layout: str, message: str) -> None:
    if layout == "roboflow":
        yolo_root(tmp_path / "train", {"": 1})
        (tmp_path / "data.yaml").write_text(yaml.safe_dump({"train": "train/images", "names": ["a"]}))
    else:
        (tmp_path / "photo.jpg").write_bytes(next(YOLO_IMAGES.iterdir()).read_bytes())
    status, _, stderr = run(capsys, str(tmp_path), "--out", str(tmp_path / "x.png"))
    assert (status, stderr) == (2, f"detmix show: error: DATA {message.replace('{tmp}', str(tmp_path))}\n")


def coco_set(json_path: Path, images: Path | None) -> Path:
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_bytes(COCO_JSON.read_bytes())
    if images is not None:
        images.mkdir(parents=True)
        for path in (FIXTURES / "coco" / "images").iterdir():
            (images / path.name).write_bytes(path.read_bytes())
    return json_path


@pytest.mark.parametrize(("json_path", "images"), [("annotations/instances_train2017.json", "train2017"), ("annotations/instances_val.json", "images"), ("set/labels.json", "set")])
def test_a_coco_set_finds_its_images_in_the_usual_places(capsys: pytest.CaptureFixture[str], tmp_path: Path, json_path: str, images: str) -> None:
    annotations = coco_set(tmp_path / json_path, None if images == "set" else tmp_path / images)
    if images == "set":
        for path in (FIXTURES / "coco" / "images").iterdir():
            (tmp_path / "set" / path.name).write_bytes(path.read_bytes())
    status, stdout, _ = run(capsys, str(annotations), "--pipeline", "mixup", "--samples", "2", "--cell", str(CELL), "--out", str(tmp_path / "x.png"))
    assert status == 0 and "MixUp x 2 samples" in stdout


@pytest.mark.parametrize("images", [None, "elsewhere"])
def test_a_coco_set_whose_images_are_nowhere_says_pass_images(capsys: pytest.CaptureFixture[str], tmp_path: Path, images: str | None) -> None:
    annotations = coco_set(tmp_path / "annotations" / "instances_train2017.json", None)
    (tmp_path / "elsewhere").mkdir()
    status, _, stderr = run(capsys, str(annotations), *(["--images", str(tmp_path / images)] if images else []), "--out", str(tmp_path / "x.png"))
    where = tmp_path / images if images else tmp_path / "annotations"
    assert (status, stderr) == (1, f"detmix show: error: {annotations}: none of the 17 images were found in {where}; pass --images DIR\n")


@pytest.mark.parametrize(("data", "polygons", "masks"), [(COCO_JSON, None, ["instance"]), ("yolo", True, ["instance"]), ("yolo", False, [False])])
def test_the_dataset_is_built_once_with_masks_decided_from_its_annotations(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: Path | str, polygons: bool | None, masks: list[object]) -> None:
    if polygons is not None:
        data = yolo_root(tmp_path / "set", {"": 3}, polygons=polygons)
    built: list[object] = []
    for name in ("CocoDetection", "YoloDetection"):

        class Counted(getattr(show, name)):  # type: ignore[misc]
            def __init__(self, *args: object, **options: object) -> None:
                built.append(options["masks"])
                super().__init__(*args, **options)

        monkeypatch.setattr(show, name, Counted)
    assert run(capsys, str(data), "--pipeline", "mixup", "--samples", "1", "--cell", str(CELL), "--out", str(tmp_path / "x.png"))[0] == 0
    assert built == masks


def test_split_chooses_a_dataset_roots_images_split_folder_train_by_default(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = yolo_root(tmp_path / "set", {"train": 2, "val": 1})
    common = ["--pipeline", "mixup", "--samples", "5", "--cell", str(CELL), "--out", str(tmp_path / "x.png")]
    assert "x 2 samples" in run(capsys, str(data), *common)[1]
    assert "x 1 sample of" in run(capsys, str(data), "--split", "val", *common)[1]
    status, _, stderr = run(capsys, str(data), "--split", "test", *common)
    assert (status, stderr) == (2, f"detmix show: error: --split test: expected one of train, val ({data})\n")
    only_val = yolo_root(tmp_path / "other", {"val": 1})
    status, _, stderr = run(capsys, str(only_val), *common)
    assert (status, stderr) == (2, f"detmix show: error: DATA {only_val} has the splits val (images/<split>), no train: pass --split\n")
