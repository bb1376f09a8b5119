"""tools/make_bench_data.py: the benchmark's dataset, one set of files in COCO and YOLO layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import detmix
from tests.test_tools import load_tool

pytestmark = pytest.mark.filterwarnings("error")


@pytest.fixture(scope="module")
def bench_data():
    return load_tool("make_bench_data")


@pytest.fixture(scope="module")
def written(bench_data, tmp_path_factory: pytest.TempPathFactory):
    """Both presets written once: four images each (the fourth 1080p frame is stored sideways)."""
    root = tmp_path_factory.mktemp("bench_data")
    for preset in ("coco", "1080p"):
        bench_data.write_dataset(root / preset, preset, count=4, workers=1)
    return root


@pytest.mark.parametrize("preset", ["coco", "1080p"])
def test_coco_and_yolo_layouts_describe_the_same_objects(bench_data, written: Path, preset: str) -> None:
    tmp_path = written / preset
    coco = detmix.CocoDetection(tmp_path / "images", tmp_path / "annotations.json")
    yolo = detmix.YoloDetection(tmp_path / "images", names=tmp_path / "data.yaml")
    assert len(coco) == len(yolo) == 4 and coco.classes == yolo.classes == bench_data.CLASSES
    for a, b in zip(coco.records, yolo.records):
        assert a.path == b.path and a.image_hw == b.image_hw
        np.testing.assert_allclose(a.bboxes, b.bboxes, atol=0.01 * max(a.image_hw))
        np.testing.assert_array_equal(a.class_labels, b.class_labels)
    assert sum(len(r.bboxes) for r in coco.records) > 0


def test_1080p_frames_carry_orientation_and_read_upright(written: Path) -> None:
    tmp_path = written / "1080p"
    tags = []
    for i in range(4):
        with Image.open(tmp_path / "images" / f"{i:06d}.jpg") as image:
            tags.append(image.getexif().get(0x0112))
    assert tags == [1, 1, 1, 6]
    coco = detmix.CocoDetection(tmp_path / "images", tmp_path / "annotations.json")
    assert [r.image_hw for r in coco.records] == [(1080, 1920)] * 3 + [(1920, 1080)]
    assert coco[3]["image"].shape == (1920, 1080, 3)


def test_same_seed_same_files(bench_data, tmp_path: Path) -> None:
    bench_data.write_dataset(tmp_path / "a", "coco", count=2, workers=1)
    bench_data.write_dataset(tmp_path / "b", "coco", count=2, workers=2)
    for name in ("images/000001.jpg", "labels/000001.txt", "annotations.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_bench_loader_measures_detmix_and_the_floor(bench_data, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The end-to-end benchmark runs its detmix and decode rows (Ultralytics rows only where it is installed)."""
    pytest.importorskip("torch")
    bench_data.write_dataset(tmp_path, "coco", count=32, workers=2)  # two batches: a warm-up and a timed one
    bench_loader = load_tool("bench_loader")
    code = bench_loader.main(["--data", str(tmp_path), "--paths", "detmix yolov8-like", "decode x1", "--workers", "0", "--samples", "16"])
    out = capsys.readouterr().out
    assert code == 0, out
    rows = [line.split() for line in out.splitlines() if line.startswith(("detmix yolov8-like", "decode x1"))]
    assert len(rows) == 2, out
    assert all(float(row[-4]) > 0 and 0.9 <= float(row[-2]) <= 1.1 for row in rows), out  # samples/s, decodes/sample
