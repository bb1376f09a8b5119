"""The committed fixtures (fixtures/) and the tools that make and show them (tools/make_fixtures.py, tools/visualize.py)."""

from __future__ import annotations

import importlib.util
import json
import sys
import warnings
from pathlib import Path
from types import ModuleType

import albumentations as A
import cv2
import numpy as np
import pytest
import yaml

import detmix
from detmix import draw

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
COCO_JSON = FIXTURES / "coco" / "annotations.json"
COCO_IMAGES = FIXTURES / "coco" / "images"
YOLO_IMAGES = FIXTURES / "yolo" / "images"
YOLO_YAML = FIXTURES / "yolo" / "data.yaml"


def load_tool(name: str) -> ModuleType:
    """Import ``tools/<name>.py`` (tools/ is no package) under a private module name."""
    module_name = f"_detmix_tool_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, REPO / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def make_fixtures() -> ModuleType:
    return load_tool("make_fixtures")


@pytest.fixture(scope="module")
def visualize() -> ModuleType:
    return load_tool("visualize")


def strict_coco(**kwargs) -> detmix.CocoDetection:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return detmix.CocoDetection(COCO_IMAGES, COCO_JSON, **kwargs)


def strict_yolo(**kwargs) -> detmix.YoloDetection:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return detmix.YoloDetection(YOLO_IMAGES, names=YOLO_YAML, **kwargs)


# ----- the fixtures ---------------------------------------------------------------------------------


def test_fixtures_are_small() -> None:
    total = sum(f.stat().st_size for f in FIXTURES.rglob("*") if f.is_file())
    assert total < 3_000_000, f"fixtures/ holds {total / 1e6:.2f} MB"


def test_both_layouts_hold_the_same_images_and_objects(make_fixtures: ModuleType) -> None:
    coco, yolo = strict_coco(), strict_yolo()
    assert coco.classes == yolo.classes == make_fixtures.CLASSES
    assert coco.category_ids == make_fixtures.CATEGORY_IDS
    assert coco.category_ids != list(range(1, len(coco.category_ids) + 1)), "category ids should have gaps"
    assert len(coco) == len(yolo) >= 16
    assert [r.path.name for r in coco.records] == [r.path.name for r in yolo.records]
    objects = 0
    for c, y in zip(coco.records, yolo.records):
        assert c.image_hw == y.image_hw
        assert (c.path.read_bytes() == y.path.read_bytes()), c.path.name
        np.testing.assert_array_equal(c.class_labels, y.class_labels, err_msg=c.path.name)
        np.testing.assert_allclose(c.bboxes, y.bboxes, atol=0.01, err_msg=c.path.name)
        objects += len(c.bboxes)
    assert objects >= 50
    assert {int(label) for r in coco.records for label in r.class_labels} == set(range(len(coco.classes))), "every class is used"


def test_samples_are_rgb_uint8_with_boxes_inside() -> None:
    for ds in (strict_coco(), strict_yolo()):
        for i in range(len(ds)):
            sample = ds[i]
            height, width = sample["image"].shape[:2]
            assert sample["image"].shape == (height, width, 3) and sample["image"].dtype == np.uint8
            boxes = np.asarray(sample["bboxes"]).reshape(-1, 4)
            assert len(boxes) == len(sample["class_labels"]) > 0
            assert (boxes[:, :2] >= 0).all() and (boxes[:, 2:] > 0).all()
            assert (boxes[:, 0] + boxes[:, 2] <= width).all() and (boxes[:, 1] + boxes[:, 3] <= height).all()


def test_polygon_masks_fill_their_boxes() -> None:
    ds = strict_coco(masks=True)
    document = json.loads(COCO_JSON.read_text(encoding="utf-8"))
    checked = 0
    for i, record in enumerate(ds.records):
        mask = ds[i]["mask"]
        for ann in document["annotations"]:
            if ann["image_id"] != record.image_id or not ann["segmentation"]:
                continue  # other images; photo objects with a box only
            x, y, w, h = ann["bbox"]
            inside = mask[y : y + h, x : x + w]
            label = ds.category_ids.index(ann["category_id"])
            assert (inside == label + 1).mean() > 0.3, f"{record.path.name}: annotation {ann['id']}"
            checked += 1
    assert checked >= 40


def test_fixture_datasets_feed_the_mixers() -> None:
    for make in (strict_coco, strict_yolo):
        transform = A.Compose(
            [detmix.Mosaic(target_size=(256, 256), p=1.0), detmix.MixUp(p=1.0), detmix.CutMix(p=1.0)],
            bbox_params=A.BboxParams(format="pascal_voc", label_fields=["class_labels"]),
            seed=1,
        )
        ds = make(transform=transform)
        sample = ds[3]
        assert sample["image"].shape == (256, 256, 3)
        assert len(sample["bboxes"]) == len(sample["class_labels"])


# ----- tools/make_fixtures.py -----------------------------------------------------------------------


def test_make_fixtures_is_importable_and_matches_the_files(make_fixtures: ModuleType) -> None:
    assert callable(make_fixtures.main)
    assert len(make_fixtures.CLASSES) == len(make_fixtures.CATEGORY_IDS)
    assert make_fixtures.CATEGORY_IDS == sorted(make_fixtures.CATEGORY_IDS)
    top_level = [line for line in (REPO / "tools" / "make_fixtures.py").read_text(encoding="utf-8").splitlines() if line.startswith(("import ", "from "))]
    assert not [line for line in top_level if "skimage" in line or "scipy" in line], "scikit-image is imported only when the photos are made"
    names = yaml.safe_load(YOLO_YAML.read_text(encoding="utf-8"))["names"]
    assert [names[i] for i in sorted(names)] == make_fixtures.CLASSES


def test_make_fixtures_reproduces_the_committed_files(make_fixtures: ModuleType, tmp_path: Path) -> None:
    pytest.importorskip("skimage", reason="the generator's photographs come from scikit-image")
    assert make_fixtures.main(["--out", str(tmp_path)]) == 0
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(FIXTURES) for p in FIXTURES.rglob("*") if p.is_file())
    assert made == committed
    for relative in made:
        new, old = tmp_path / relative, FIXTURES / relative
        if relative.suffix == ".jpg":  # same pixels up to JPEG codec differences between OpenCV builds
            a, b = cv2.imread(str(new)), cv2.imread(str(old))
            assert a.shape == b.shape and np.abs(a.astype(int) - b.astype(int)).max() <= 3, relative
        else:
            assert new.read_text(encoding="utf-8") == old.read_text(encoding="utf-8"), relative


# ----- tools/visualize.py: a thin wrapper over `detmix show` -----------------------------------------


@pytest.mark.parametrize("pipeline", ["mosaic", "mixup", "cutmix", "all", "copypaste", "grid"])
def test_visualize_writes_a_grid_for_each_pipeline(visualize: ModuleType, tmp_path: Path, pipeline: str) -> None:
    out = tmp_path / "grid.png"
    assert visualize.main(["--pipeline", pipeline, "--samples", "2", "--cell", "96", "--out", str(out)]) == 0
    grid = cv2.imread(str(out))
    rows = 5 if pipeline == "grid" else 1
    assert grid.shape == (rows * 96 + (rows - 1) * draw.GAP, draw.LABEL_WIDTH + 2 * (96 + draw.GAP), 3)


def test_visualize_defaults_write_out_augmented_png(visualize: ModuleType) -> None:
    assert visualize.DEFAULT_OUT == REPO / "out" / "augmented.png"
    assert visualize.parse_args([]) == ["show", str(COCO_JSON), "--pipeline", "grid", "--samples", "4", "--seed", "0", "--cell", "320", "--out", str(visualize.DEFAULT_OUT)]


def test_visualize_imports_only_public_detmix_names() -> None:
    imports = [line for line in (REPO / "tools" / "visualize.py").read_text(encoding="utf-8").splitlines() if line.startswith(("import ", "from "))]
    assert [line for line in imports if "detmix" in line] == ["from detmix import cli, show  # noqa: E402"]


@pytest.mark.parametrize("dataset", ["yolo/images", "yolo"])
def test_visualize_reads_the_yolo_fixtures(visualize: ModuleType, tmp_path: Path, dataset: str) -> None:
    out = tmp_path / "nested" / "yolo.png"
    assert visualize.main(["--dataset", str(FIXTURES / dataset), "--pipeline", "mosaic", "--samples", "2", "--cell", "64", "--out", str(out)]) == 0
    assert cv2.imread(str(out)).shape[:2] == (64, draw.LABEL_WIDTH + 2 * (64 + draw.GAP))


def test_visualize_grid_leaves_out_copypaste_without_segmentations_and_refuses_it_alone(
    visualize: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "grid.png"
    assert visualize.main(["--dataset", str(YOLO_IMAGES), "--samples", "1", "--cell", "64", "--out", str(out)]) == 0
    assert cv2.imread(str(out)).shape[0] == 4 * 64 + 3 * draw.GAP
    assert visualize.main(["--dataset", str(YOLO_IMAGES), "--pipeline", "copypaste", "--out", str(tmp_path / "x.png")]) == 1
    assert "needs instance masks" in capsys.readouterr().err and not (tmp_path / "x.png").exists()


def test_visualize_is_seeded(visualize: ModuleType, tmp_path: Path) -> None:
    args = ["--pipeline", "all", "--samples", "2", "--cell", "64", "--seed", "5"]
    assert visualize.main([*args, "--out", str(tmp_path / "a.png")]) == 0
    assert visualize.main([*args, "--out", str(tmp_path / "b.png")]) == 0
    assert visualize.main([*args[:-1], "6", "--out", str(tmp_path / "c.png")]) == 0
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes() != (tmp_path / "c.png").read_bytes()


@pytest.mark.parametrize(
    "argv",
    [["--dataset", "no/such/place"], ["--dataset", str(YOLO_IMAGES), "--format", "coco"], ["--dataset", str(COCO_JSON), "--format", "yolo"], ["--samples", "0"]],
)
def test_visualize_rejects_bad_arguments(visualize: ModuleType, tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert visualize.main([*argv, "--out", str(tmp_path / "x.png")]) == 2
    assert not (tmp_path / "x.png").exists()
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "error:" in err
