"""The ``detmix`` command: ``detmix show`` end to end, its errors, and the drawing it uses."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import albumentations as A
import cv2
import numpy as np
import pytest
import yaml

import detmix
from detmix import cli, draw, show
from detmix.transforms.dropped import DroppedBox
from tests.test_tools import COCO_JSON, FIXTURES, REPO, YOLO_IMAGES, YOLO_YAML

YAML_SPLITS = "split" in inspect.signature(detmix.YoloDetection).parameters
needs_yaml_splits = pytest.mark.skipif(not YAML_SPLITS, reason="YoloDetection takes no data.yaml with split= yet (issue 11, YOLO half)")
CELL = 64


def yolo_root(folder: Path, splits: dict[str, int], polygons: bool = False) -> Path:
    """A YOLO dataset root in ``folder``: for each split ("" for none) that many fixture images, one box (or polygon) each."""
    for split, count in splits.items():
        for sub in ("images", "labels"):
            (folder / sub / split).mkdir(parents=True, exist_ok=True)
        for path in sorted(YOLO_IMAGES.iterdir())[:count]:
            (folder / "images" / split / path.name).write_bytes(path.read_bytes())
            row = "0 0.3 0.3 0.7 0.3 0.5 0.7" if polygons else "0 0.5 0.5 0.4 0.4"
            (folder / "labels" / split / f"{path.stem}.txt").write_text(row + "\n")
    return folder


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = cli.main(["show", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def grid_shape(rows: int, columns: int, cell: int = CELL) -> tuple[int, int, int]:
    return rows * cell + (rows - 1) * draw.GAP, draw.LABEL_WIDTH + columns * (cell + draw.GAP), 3


def assert_real_picture(path: Path, shape: tuple[int, int, int]) -> np.ndarray:
    """``path`` decodes to a grid of ``shape`` whose every cell shows an image, not a blank."""
    picture = cv2.imread(str(path))
    assert picture is not None and picture.shape == shape
    rows, columns = (shape[0] + draw.GAP) // (CELL + draw.GAP), (shape[1] - draw.LABEL_WIDTH) // (CELL + draw.GAP)
    for r in range(rows):
        for c in range(columns):
            x = draw.LABEL_WIDTH + draw.GAP + c * (CELL + draw.GAP)
            cell = picture[r * (CELL + draw.GAP) : r * (CELL + draw.GAP) + CELL, x : x + CELL]
            assert cell.std() > 20 and len(np.unique(cell.reshape(-1, 3), axis=0)) > 200, (r, c)
    return picture


# ----- end to end ---------------------------------------------------------------------------------


def test_show_draws_a_coco_set_with_masks_and_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "deep" / "coco.png"
    status, stdout, stderr = run(capsys, str(COCO_JSON), "--samples", "2", "--cell", str(CELL), "--out", str(out))
    assert status == 0
    assert_real_picture(out, grid_shape(5, 2))
    assert stdout == f"wrote {out} ({grid_shape(5, 2)[1]}x{grid_shape(5, 2)[0]}: Mosaic, MixUp, CutMix, All three, CopyPaste x 2 samples of {COCO_JSON})\n"
    # the fixture's 5 objects without a segmentation are masked by their boxes: said in the command's words, once
    assert stderr == "detmix show: warning: objects without a segmentation are drawn and mixed with their box as their mask (5): annotation 1, annotation 2, annotation 3, annotation 4, annotation 29\n"


@pytest.mark.parametrize("data", [FIXTURES / "yolo", YOLO_IMAGES])
def test_show_draws_a_yolo_root_or_images_folder_with_its_class_names(capsys: pytest.CaptureFixture[str], tmp_path: Path, data: Path) -> None:
    out = tmp_path / "yolo.png"
    assert run(capsys, str(data), "--pipeline", "mixup", "--samples", "3", "--cell", str(CELL), "--out", str(out))[0] == 0
    assert_real_picture(out, grid_shape(1, 3))
    assert show.open_dataset(data, "yolo").classes[0] == "person"


@needs_yaml_splits
@pytest.mark.parametrize("split", [None, "val"])
def test_show_draws_a_data_yaml_split(capsys: pytest.CaptureFixture[str], tmp_path: Path, split: str | None) -> None:
    out = tmp_path / "yaml.png"
    status, stdout, _ = run(capsys, str(YOLO_YAML), *(["--split", split] if split else []), "--pipeline", "cutmix", "--samples", "2", "--cell", str(CELL), "--out", str(out))
    assert status == 0 and "CutMix x 2 samples" in stdout
    assert_real_picture(out, grid_shape(1, 2))


@needs_yaml_splits
def test_show_names_a_missing_split_in_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = tmp_path / "data.yaml"
    data.write_text(yaml.safe_dump({"path": str(FIXTURES / "yolo"), "train": "images", "names": ["a"]}))
    status, _, stderr = run(capsys, str(data), "--split", "test", "--out", str(tmp_path / "x.png"))
    assert status == 1 and len(stderr.splitlines()) == 1 and "test" in stderr


def test_data_warnings_are_one_line_each_and_said_once(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    for path in sorted(YOLO_IMAGES.iterdir())[:3]:
        (tmp_path / "images" / path.name).write_bytes(path.read_bytes())
        (tmp_path / "labels" / f"{path.stem}.txt").write_text("0 0.5 0.5 0.2 0.2\n7 0.5 0.5 2 0.2\n")
    status, _, stderr = run(capsys, str(tmp_path), "--pipeline", "mixup", "--samples", "2", "--cell", str(CELL), "--out", str(tmp_path / "x.png"))
    assert status == 0
    assert len(stderr.splitlines()) == 1 and stderr.startswith("detmix show: warning: YoloDetection: ") and ":2" in stderr


def test_python_m_detmix_runs_the_command(tmp_path: Path) -> None:
    out = tmp_path / "m.png"
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_ALBUMENTATIONS_UPDATE": "1"}
    argv = [sys.executable, "-m", "detmix", "show", str(YOLO_IMAGES), "--pipeline", "mosaic", "--samples", "1", "--cell", str(CELL), "--out", str(out)]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"wrote {out}") and done.stderr == ""
    assert_real_picture(out, grid_shape(1, 1))


def test_originals_adds_a_first_row_of_the_primaries_as_loaded(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    args = [str(YOLO_IMAGES), "--pipeline", "cutmix", "--samples", "2", "--cell", str(CELL), "--seed", "4"]
    assert run(capsys, *args, "--out", str(tmp_path / "plain.png"))[0] == 0
    status, stdout, _ = run(capsys, *args, "--originals", "--out", str(tmp_path / "both.png"))
    assert status == 0 and "Original, CutMix x 2" in stdout
    both = assert_real_picture(tmp_path / "both.png", grid_shape(2, 2))
    np.testing.assert_array_equal(both[CELL + draw.GAP :], cv2.imread(str(tmp_path / "plain.png")))  # the same augmentations below
    dataset = show.open_dataset(YOLO_IMAGES, "yolo")
    shown = show.show(lambda masks: dataset, [("CutMix", show.build_pipeline("cutmix", 4))], 2, 4, CELL, segmented=False, originals=True)
    first = draw.draw_sample(show.open_dataset(YOLO_IMAGES, "yolo")[shown.indices[0]], dataset.classes, CELL)
    np.testing.assert_array_equal(both[:CELL, draw.LABEL_WIDTH + draw.GAP : draw.LABEL_WIDTH + draw.GAP + CELL], cv2.cvtColor(first, cv2.COLOR_RGB2BGR))


def test_the_progress_bar_counts_every_cell(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bars: list[dict[str, int]] = []

    class Bar:
        def __init__(self, total: int, **options: object) -> None:
            assert options["file"] is sys.stderr
            bars.append({"total": total, "done": 0, "closed": 0})

        def update(self, n: int = 1) -> None:
            bars[-1]["done"] += n

        def close(self) -> None:
            bars[-1]["closed"] += 1

    monkeypatch.setattr(cli, "tqdm", Bar)
    assert run(capsys, str(YOLO_IMAGES), "--pipeline", "mixup", "--samples", "3", "--cell", str(CELL), "--originals", "--out", str(tmp_path / "p.png"))[0] == 0
    assert bars == [{"total": 6, "done": 6, "closed": 1}]


# ----- saved pipelines ------------------------------------------------------------------------------


def saved_compose(label_fields: list[str]) -> A.Compose:
    return A.Compose(
        [detmix.Mosaic(target_size=(96, 96), center_range=(0.4, 0.6), p=1.0), detmix.CutMix(alpha=2.0, min_visibility=0.3, p=1.0), A.HorizontalFlip(p=1.0)],
        bbox_params=A.BboxParams(format="coco", label_fields=label_fields, min_visibility=0.2),
    )


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_every_detmix_transform_round_trips_through_a_save_and_a_load(tmp_path: Path, suffix: str) -> None:
    transforms = [
        detmix.Mosaic(target_size=(96, 80), center_range=(0.4, 0.6), scale_range=(0.5, 1.5), translate=0.1, fill=(1, 2, 3), p=0.7),
        detmix.MixUp(alpha=4.0, beta=2.0, weight_field="weights", fill=7, interpolation=cv2.INTER_CUBIC, p=0.6),
        detmix.CutMix(alpha=2.0, min_visibility=0.3, fill_mask=5, metadata_key="cut", p=0.5),
        detmix.CopyPaste(scale_range=(0.5, 2.0), instance_p=0.3, min_visibility=0.4, p=0.4),
        detmix.HSVJitter(p=0.3),
    ]
    compose = A.Compose(transforms, bbox_params=A.BboxParams(format="coco", label_fields=["class_labels", "weights", detmix.MASK_INDICES]))
    path = tmp_path / f"pipeline{suffix}"
    A.save(compose, str(path), data_format=suffix[1:])
    loaded = A.load(str(path), data_format=suffix[1:])
    assert [type(t) for t in loaded.transforms] == [type(t) for t in transforms]
    assert A.to_dict(loaded) == A.to_dict(compose)


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".yml"])
def test_show_runs_a_saved_pipeline_seeded_by_seed(capsys: pytest.CaptureFixture[str], tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"flipped{suffix}"
    A.save(saved_compose(["class_labels"]), str(path), data_format="yaml" if suffix != ".json" else "json")
    args = [str(YOLO_IMAGES), "--pipeline", str(path), "--samples", "2", "--cell", str(CELL)]
    status, stdout, _ = run(capsys, *args, "--out", str(tmp_path / "a.png"))
    assert status == 0 and "flipped x 2 samples" in stdout
    assert_real_picture(tmp_path / "a.png", grid_shape(1, 2))
    assert run(capsys, *args, "--out", str(tmp_path / "b.png"))[0] == 0
    assert run(capsys, *args, "--seed", "9", "--out", str(tmp_path / "c.png"))[0] == 0
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes() != (tmp_path / "c.png").read_bytes()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "needs bbox_params=A.BboxParams(format=..., label_fields=['class_labels', ...])"),
        ('{"transform": 3}', "not an Albumentations pipeline saved with A.save"),
        ("{not json", "not an Albumentations pipeline saved with A.save"),
        ('{"transform": {"__class_fullname__": "NoSuchTransform"}}', "not an Albumentations pipeline saved with A.save"),
        ('{"transform": {"__class_fullname__": "detmix.transforms.mosaic.Mosaic", "target_size": [-1, 5]}}', "not an Albumentations pipeline saved with A.save"),
        ('{"transform": {"__class_fullname__": "HorizontalFlip", "p": 0.5}}', "expected an A.Compose, got HorizontalFlip"),
    ],
)
def test_a_pipeline_file_that_cannot_be_used_is_one_line_exit_1(capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "bad.json"
    if content is None:
        A.save(saved_compose(["labels"]), str(path))
    else:
        path.write_text(content)
    status, stdout, stderr = run(capsys, str(YOLO_IMAGES), "--pipeline", str(path), "--out", str(tmp_path / "x.png"))
    assert (status, stdout) == (1, "")
    assert stderr.startswith(f"detmix show: error: {path}: ") and message in stderr and len(stderr.splitlines()) == 1
    assert not (tmp_path / "x.png").exists()


# ----- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seed", "-1"], "--seed must be a non-negative integer, got -1"),
        (["--seed", "x"], "argument --seed: invalid int value: 'x'"),
        (["--out", "{tmp}/grid"], "--out {tmp}/grid: expected an image file name ending in .png, .jpg, .jpeg, .bmp, .webp, .tif, .tiff, got no extension"),
        (["--out", "{tmp}/grid.txt"], "got '.txt'"),
        (["--samples", "0"], "--samples must be at least 1, got 0"),
        (["--cell", "8"], "--cell must be from 32 to 4096, got 8"),
        (["--cell", "4097"], "--cell must be from 32 to 4096, got 4097"),
        (["--pipeline", "blend"], "--pipeline blend: expected one of mosaic, mixup, cutmix, all, copypaste, grid, or a pipeline file"),
        (["--pipeline", "{tmp}/none.yaml"], "--pipeline {tmp}/none.yaml: no such file"),
        (["--split", "val"], "--split val: applies to a YOLO data.yaml or a dataset root with images/<split> folders"),
        (["--images", "{tmp}"], "--images {tmp}: applies to a COCO annotation .json only"),
        (["--originals", "--nope"], "unrecognized arguments: --nope"),
    ],
)
def test_usage_errors_are_one_line_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], message: str) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    status, stdout, stderr = run(capsys, str(YOLO_IMAGES), *argv)
    assert (status, stdout) == (2, "")
    assert stderr == f"detmix show: error: {message.replace('{tmp}', str(tmp_path))}\n" or (message in stderr and len(stderr.splitlines()) == 1)
    assert "Traceback" not in stderr


@pytest.mark.parametrize("data", ["no/such/data.json", "no/such/folder", "{tmp}/notes.txt"])
def test_data_that_is_not_there_or_not_a_dataset_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path, data: str) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    data = data.replace("{tmp}", str(tmp_path))
    status, _, stderr = run(capsys, data, "--out", str(tmp_path / "x.png"))
    assert status == 2 and stderr.startswith(f"detmix show: error: DATA {data}: ") and len(stderr.splitlines()) == 1


@pytest.mark.parametrize("content", ['{"foo": 1}', "[1, 2]", "{broken"])
def test_a_json_that_is_not_coco_is_one_line_exit_1(capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str) -> None:
    path = tmp_path / "labels.json"
    path.write_text(content)
    status, stdout, stderr = run(capsys, str(path), "--out", str(tmp_path / "x.png"))
    assert (status, stdout) == (1, "")
    assert stderr.startswith("detmix show: error: ") and f"COCO annotation file {path}" in stderr and len(stderr.splitlines()) == 1


def test_no_command_and_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2 and capsys.readouterr().err == "detmix: error: the following arguments are required: COMMAND\n"
    assert cli.main(["show", "--help"]) == 0 and "--dropped" in capsys.readouterr().out
    assert cli.main(["--version"]) == 0 and capsys.readouterr().out == f"detmix {detmix.__version__}\n"


def test_writing_jpeg_prints_no_opencv_warning(capfd: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for suffix in (".jpg", ".JPEG", ".webp", ".bmp", ".tif"):
        out = tmp_path / f"grid{suffix}"
        assert cli.main(["show", str(YOLO_IMAGES), "--pipeline", "mixup", "--samples", "1", "--cell", str(CELL), "--out", str(out)]) == 0
        stdout, stderr = capfd.readouterr()
        assert stderr == "" and stdout.startswith(f"wrote {out}")
        assert cv2.imread(str(out)).shape == grid_shape(1, 1)


@pytest.mark.parametrize("out", ["{tmp}/file/x.png", "{tmp}/file/deeper/x.png", "{tmp}/folder.png"])
def test_an_out_that_cannot_be_a_file_is_a_usage_error_before_any_work(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out: str) -> None:
    (tmp_path / "file").write_text("")
    (tmp_path / "folder.png").mkdir()
    monkeypatch.setattr(show, "look", None)  # no dataset is read
    out = out.replace("{tmp}", str(tmp_path))
    status, _, stderr = run(capsys, str(YOLO_IMAGES), "--out", out)
    why = "is a folder" if out.endswith("folder.png") else f"{tmp_path / 'file'} is a file, not a folder"
    assert (status, stderr) == (2, f"detmix show: error: --out {out}: {why}\n")


@pytest.mark.parametrize("keep", [1, 2])
def test_more_samples_than_images_draws_all_and_says_how_many(capsys: pytest.CaptureFixture[str], tmp_path: Path, keep: int) -> None:
    data = yolo_root(tmp_path, {"": keep})
    noun = "image" if keep == 1 else "images"
    status, stdout, stderr = run(capsys, str(data), "--pipeline", "mixup", "--samples", "5", "--cell", "32", "--out", str(tmp_path / "x.png"))
    samples = "1 sample" if keep == 1 else f"{keep} samples"
    assert status == 0 and f"x {samples} of" in stdout
    assert stderr == f"detmix show: the dataset has {keep} {noun}: drew {samples}, not 5\n"
    assert cv2.imread(str(tmp_path / "x.png")).shape == grid_shape(1, keep, 32)


# ----- --dropped and the drawing ------------------------------------------------------------------


def test_dropped_draws_and_lists_the_boxes_the_mixers_dropped(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    args = [str(COCO_JSON), "--pipeline", "mosaic", "--samples", "4", "--seed", "23", "--cell", "160"]
    assert run(capsys, *args, "--out", str(tmp_path / "plain.png"))[0] == 0
    status, stdout, _ = run(capsys, *args, "--dropped", "--out", str(tmp_path / "dropped.png"))
    assert status == 0
    listed = [line for line in stdout.splitlines() if line.startswith("  Mosaic, sample ")]
    assert listed and all("visible fraction" in line and "< min_visibility 0.1 (BboxParams)" in line for line in listed)
    plain, dropped = (cv2.imread(str(tmp_path / name)) for name in ("plain.png", "dropped.png"))
    changed = (plain != dropped).any(axis=2)
    assert changed.any()
    names = {line.split(": ")[1].split(" (")[0] for line in listed}
    colours = [draw.class_colour(show.open_dataset(COCO_JSON, "coco").classes.index(name))[::-1] for name in names]
    assert any((dropped[changed] == colour).all(axis=1).any() for colour in colours), "a dropped box outlined in its class colour"


def dropped_box(bbox: tuple[float, float, float, float] | None, label: object = 2) -> DroppedBox:
    return DroppedBox("CutMix", "primary", bbox, (10, 10, 50, 30), {"class_labels": label}, 0.07, 0.25, "min_visibility", "visible fraction 0.07 < min_visibility 0.25 (CutMix)", (40, 60))


def test_a_dropped_box_is_a_dashed_outline_labelled_with_rule_and_visible_fraction() -> None:
    sample = {"image": np.full((40, 60, 3), 200, np.uint8), "bboxes": [], "class_labels": []}
    plain = draw.draw_sample(sample, ["a", "b", "disc"], 60)
    cell = draw.draw_sample(sample, ["a", "b", "disc"], 60, [dropped_box((10, 20, 50, 36))])
    colour = np.array(draw.class_colour(2))
    # the cell shows the 40 rows at y 10 .. 50: the box is cell x 10 .. 49, y 30 .. 45, its edges 2 pixels wide inside it
    period = draw.DASH + draw.DASH_GAP
    dashes_x, dashes_y = np.arange(40) % period < draw.DASH, np.arange(16) % period < draw.DASH
    for row in (44, 45):  # between the side edges
        np.testing.assert_array_equal((cell[row, 12:48] == colour).all(axis=1), dashes_x[2:-2])
    for column in (10, 11, 48, 49):  # below the label, above the bottom edge
        np.testing.assert_array_equal((cell[32:44, column] == colour).all(axis=1), dashes_y[2:-2])
    assert not (cell[32:44, 12:48] == colour).all(axis=2).any()  # an outline, not a fill
    label_rows = cell[:30]  # the label is written above the box, in the class colour on the background
    assert ((label_rows != plain[:30]).any(axis=2)).sum() > 50
    assert (np.abs(label_rows.astype(int) - colour).sum(axis=2) < 60).any()


def test_a_dropped_box_with_nothing_visible_is_not_drawn_and_a_resized_one_is_scaled() -> None:
    sample = {"image": np.full((40, 60, 3), 200, np.uint8), "bboxes": [], "class_labels": []}
    plain = draw.draw_sample(sample, [], 60)
    np.testing.assert_array_equal(draw.draw_sample(sample, [], 60, [dropped_box(None)]), plain)
    assert draw.dropped_outline(dropped_box(None), (40, 60)) is None
    assert draw.dropped_outline(dropped_box((10, 20, 50, 36)), (80, 120)) == (20, 40, 100, 72)
    assert draw.dropped_outline(dropped_box((-10, 20, 70, 36)), (40, 60)) == (0, 20, 60, 36)


def test_each_mask_is_a_translucent_fill_inside_its_outline() -> None:
    image = np.full((40, 60, 3), 200, np.uint8)
    mask = np.zeros((40, 60), np.uint8)
    cv2.circle(mask, (30, 20), 10, 1, -1)
    sample = {"image": image, "bboxes": [[20, 10, 41, 31]], "class_labels": [3], "masks": mask[None]}
    plain = draw.draw_sample({**sample, "masks": np.zeros((1, 40, 60), np.uint8)}, ["a", "b", "c", "d"], 60)
    drawn = draw.draw_sample(sample, ["a", "b", "c", "d"], 60)
    changed = (drawn != plain).any(axis=2)
    inside = cv2.erode(mask, np.ones((7, 7), np.uint8)) > 0  # clear of outline and box; the cell shows the 40 rows at y 10 .. 50
    expected = 200 * (1 - draw.MASK_ALPHA) + np.array(draw.PALETTE[3], float) * draw.MASK_ALPHA
    assert changed[10:50][inside].all() and np.abs(drawn[10:50][inside] - expected).max() <= 1
    assert not changed[10:50][cv2.dilate(mask, np.ones((5, 5), np.uint8)) == 0].any()


@pytest.mark.parametrize("bbox_format", ["coco", "yolo", "albumentations"])
def test_boxes_are_drawn_from_the_format_the_sample_names(bbox_format: str) -> None:
    image = np.full((40, 60, 3), 200, np.uint8)
    voc = {"image": image, "bboxes": [[12, 8, 42, 30]], "class_labels": [1]}
    expected = draw.draw_sample(voc, ["a", "b"], 60)
    shape = {"height": 40, "width": 60}
    from albumentations.core.bbox_utils import convert_bboxes_from_albumentations, normalize_bboxes

    boxes = convert_bboxes_from_albumentations(normalize_bboxes(np.array([[12.0, 8, 42, 30]]), (40, 60)), bbox_format, shape) if bbox_format != "albumentations" else normalize_bboxes(np.array([[12.0, 8, 42, 30]]), (40, 60))
    np.testing.assert_array_equal(draw.draw_sample({**voc, "bboxes": boxes, "bbox_format": bbox_format}, ["a", "b"], 60), expected)


@pytest.mark.parametrize("after", [A.HorizontalFlip(p=1.0), A.RandomCrop(400, 400, p=1.0)])
def test_dropped_boxes_moved_after_the_mixer_are_listed_not_drawn(capsys: pytest.CaptureFixture[str], tmp_path: Path, after: A.DualTransform) -> None:
    bbox_params = A.BboxParams(format="pascal_voc", label_fields=["class_labels"], min_visibility=0.1)
    path = tmp_path / "moved.json"
    A.save(A.Compose([detmix.Mosaic(target_size=(512, 512), p=1.0), after], bbox_params=bbox_params), str(path))
    args = [str(COCO_JSON), "--pipeline", str(path), "--samples", "4", "--seed", "23", "--cell", "160"]
    assert run(capsys, *args, "--out", str(tmp_path / "plain.png"))[0] == 0
    status, stdout, _ = run(capsys, *args, "--dropped", "--out", str(tmp_path / "dropped.png"))
    listed = [line for line in stdout.splitlines() if line.startswith("  moved, sample ")]
    assert status == 0 and listed and all(line.endswith(f" (not drawn: moved by {type(after).__name__} after the mixer)") for line in listed)
    assert f"partly visible (0 drawn dashed, {len(listed)} not drawn: moved after the mixer):" in stdout
    assert (tmp_path / "plain.png").read_bytes() == (tmp_path / "dropped.png").read_bytes()


def test_a_saved_albumentations_mosaic_is_named_one_line_exit_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "theirs.json"
    A.save(A.Compose([A.OneOf([A.Mosaic(p=1.0)])], bbox_params=A.BboxParams(format="pascal_voc", label_fields=["class_labels"])), str(path))
    status, _, stderr = run(capsys, str(YOLO_IMAGES), "--pipeline", str(path), "--out", str(tmp_path / "x.png"))
    assert status == 1 and "holds Albumentations' own A.Mosaic" in stderr and "detmix.Mosaic, MixUp, CutMix and CopyPaste only" in stderr


def test_the_command_turns_off_albumentations_update_check_before_importing_it() -> None:
    code = """if True:
        import importlib, os, sys
        sys.argv[0] = '/venv/bin/detmix'  # the console script
        import detmix
        said = [os.environ.pop('NO_ALBUMENTATIONS_UPDATE', None)]
        sys.argv[0] = 'train.py'  # a program importing detmix
        importlib.reload(detmix)
        said.append(os.environ.pop('NO_ALBUMENTATIONS_UPDATE', None))
        sys.orig_argv = [sys.executable, '-m', 'detmix', 'show']
        importlib.reload(detmix)
        print(said + [os.environ.get('NO_ALBUMENTATIONS_UPDATE')])
    """
    env = {k: v for k, v in os.environ.items() if k != "NO_ALBUMENTATIONS_UPDATE"} | {"PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, check=True)
    assert done.stdout == "['1', None, '1']\n"
