"""max_size: images decoded small (libjpeg's reduced decoding for JPEGs), boxes and masks scaled to match the pixels."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

import detmix
from detmix.data import images
from detmix.data.images import loaded_hw
from tests.data.builders import CATEGORIES, coco_rle, save_json

pytestmark = pytest.mark.filterwarnings("error")

UPRIGHT_HW = (1000, 1600)
#: The object: a flat rectangle, x 400..1240 and y 300..780 of the upright image.
BOX = [400, 300, 840, 480]
COLOUR = (200, 40, 90)


def upright_image() -> np.ndarray:
    """RGB: dark background, one flat-coloured rectangle at :data:`BOX`."""
    image = np.full((*UPRIGHT_HW, 3), 20, np.uint8)
    x, y, w, h = BOX
    image[y : y + h, x : x + w] = COLOUR
    return image


def write(path: Path, orientation: int = 1) -> None:
    """The upright image as a PNG, or as a JPEG stored sideways for EXIF orientation 6."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = upright_image()
    if path.suffix == ".png":
        assert cv2.imwrite(str(path), image[..., ::-1])
        return
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = np.rot90(image, 1) if orientation == 6 else image  # orientation 6: turn 90 degrees clockwise to view
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(stored)).save(buffer, "JPEG", quality=95, exif=exif.tobytes())
    path.write_bytes(buffer.getvalue())


def coco(root: Path, name: str, segmentation: object = None, **kwargs: object) -> detmix.CocoDetection:
    annotation = {"id": 1, "image_id": 1, "category_id": CATEGORIES[0]["id"], "bbox": BOX, "iscrowd": 0}
    if segmentation is not None:
        annotation["segmentation"] = segmentation
    data = {"images": [{"id": 1, "file_name": name, "height": UPRIGHT_HW[0], "width": UPRIGHT_HW[1]}], "annotations": [annotation], "categories": CATEGORIES}
    return detmix.CocoDetection(root / "images", save_json(root / "annotations.json", data), **kwargs)


def extent(where: np.ndarray) -> np.ndarray:
    """COCO ``[x, y, w, h]`` of the pixels where ``where`` holds."""
    rows, cols = np.flatnonzero(where.any(axis=1)), np.flatnonzero(where.any(axis=0))
    return np.array([cols[0], rows[0], cols[-1] + 1 - cols[0], rows[-1] + 1 - rows[0]], np.float64)


def object_pixels(image: np.ndarray) -> np.ndarray:
    """Where the rectangle's colour dominates (half way from the background in the first channel)."""
    return image[..., 0] > (20 + COLOUR[0]) / 2


@pytest.fixture
def flags(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The OpenCV flags of every decode."""
    seen: list[int] = []
    original = images.decode
    monkeypatch.setattr(images, "decode", lambda data, flag: seen.append(flag) or original(data, flag))
    return seen


@pytest.mark.parametrize(
    ("name", "orientation", "max_size", "flag"),
    [
        ("a.png", 1, 400, cv2.IMREAD_UNCHANGED),
        ("a.png", 1, 333, cv2.IMREAD_UNCHANGED),
        ("a.jpg", 1, 400, cv2.IMREAD_REDUCED_COLOR_4 | cv2.IMREAD_IGNORE_ORIENTATION),
        ("a.jpg", 1, 333, cv2.IMREAD_REDUCED_COLOR_4 | cv2.IMREAD_IGNORE_ORIENTATION),
        ("a.jpg", 1, 700, cv2.IMREAD_REDUCED_COLOR_2 | cv2.IMREAD_IGNORE_ORIENTATION),
        ("a.jpg", 1, 1000, cv2.IMREAD_UNCHANGED),
        ("a.jpg", 6, 333, cv2.IMREAD_REDUCED_COLOR_4 | cv2.IMREAD_IGNORE_ORIENTATION),
        ("a.jpg", 6, 150, cv2.IMREAD_REDUCED_COLOR_8 | cv2.IMREAD_IGNORE_ORIENTATION),
    ],
)
def test_boxes_land_on_the_pixels_of_their_object(tmp_path: Path, flags: list[int], name: str, orientation: int, max_size: int, flag: int) -> None:
    write(tmp_path / "images" / name, orientation)
    ds = coco(tmp_path, name, max_size=max_size, cache_images=0)
    record = ds.records[0]
    expected_hw = loaded_hw(UPRIGHT_HW, max_size)
    assert record.image_hw == expected_hw and record.file_hw == UPRIGHT_HW
    assert record.stored_hw == (UPRIGHT_HW[::-1] if orientation == 6 else UPRIGHT_HW)
    sample = ds[0]
    assert sample["image"].shape == (*expected_hw, 3) and flags == [flag]
    np.testing.assert_allclose(sample["bboxes"][0], extent(object_pixels(sample["image"])), atol=1.0)
    np.testing.assert_allclose(sample["bboxes"][0], np.array(BOX) * expected_hw[1] / UPRIGHT_HW[1], atol=0.5)


@pytest.mark.parametrize("kind", ["polygon", "rle"])
def test_masks_are_scaled_with_their_image(tmp_path: Path, kind: str) -> None:
    write(tmp_path / "images" / "a.png")
    x, y, w, h = BOX
    full = np.zeros(UPRIGHT_HW, np.uint8)
    full[y : y + h, x : x + w] = 1
    segmentation = [[x, y, x + w, y, x + w, y + h, x, y + h]] if kind == "polygon" else coco_rle(full)
    sample = coco(tmp_path, "a.png", segmentation, masks=True, max_size=333)[0]
    assert sample["mask"].shape == sample["image"].shape[:2] == (208, 333)
    np.testing.assert_allclose(extent(sample["mask"] == 1), extent(object_pixels(sample["image"])), atol=1.0)


def test_yolo_boxes_follow_the_loaded_size(tmp_path: Path) -> None:
    write(tmp_path / "images" / "a.png")
    (tmp_path / "labels").mkdir()
    x, y, w, h = BOX
    (tmp_path / "labels" / "a.txt").write_text(f"0 {(x + w / 2) / 1600} {(y + h / 2) / 1000} {w / 1600} {h / 1000}\n")
    sample = detmix.YoloDetection(tmp_path / "images", max_size=500)[0]
    assert sample["image"].shape == (312, 500, 3)
    np.testing.assert_allclose(sample["bboxes"][0], extent(object_pixels(sample["image"])), atol=1.0)


def test_images_within_max_size_load_as_they_are(tmp_path: Path) -> None:
    write(tmp_path / "images" / "a.jpg")
    plain, bounded = coco(tmp_path, "a.jpg")[0], coco(tmp_path, "a.jpg", max_size=1600)[0]
    np.testing.assert_array_equal(plain["image"], bounded["image"])
    np.testing.assert_array_equal(plain["bboxes"], bounded["bboxes"])


def test_loaded_size_keeps_the_aspect_and_never_grows() -> None:
    assert loaded_hw((1000, 1600), None) == (1000, 1600)
    assert loaded_hw((1000, 1600), 2000) == (1000, 1600)
    assert loaded_hw((1000, 1600), 640) == (400, 640)
    assert loaded_hw((1600, 1000), 640) == (640, 400)
    assert loaded_hw((3, 10000), 100) == (1, 100)


@pytest.mark.parametrize(("stored_hw", "size_hw", "expected"), [((90, 120), (60, 80), cv2.INTER_LINEAR), ((180, 240), (60, 80), cv2.INTER_AREA)])
def test_the_last_resize_averages_only_from_a_factor_of_two(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stored_hw: tuple[int, int],
    size_hw: tuple[int, int],
    expected: int,
) -> None:
    """Shrinking by under 2, bilinear already samples every source pixel; INTER_AREA would cost several times more."""
    path = tmp_path / "image.png"
    cv2.imwrite(str(path), np.zeros((*stored_hw, 3), np.uint8))
    used = []
    resize = cv2.resize
    monkeypatch.setattr(images.cv2, "resize", lambda *args, **kwargs: used.append(kwargs["interpolation"]) or resize(*args, **kwargs))
    assert images.read_rgb(path, stored_hw, 1, size_hw).shape == (*size_hw, 3)
    assert used == [expected]


@pytest.mark.parametrize("orientation", [1, 3])
@pytest.mark.parametrize("max_size", [125, 250, 500])
def test_reduced_decoding_of_sides_that_are_no_multiple_keeps_pixels_under_their_boxes(tmp_path: Path, orientation: int, max_size: int) -> None:
    """A 1001-pixel JPEG decoded at 1/8, 1/4, 1/2: libjpeg's padded last column must not shift the image."""
    upright = np.full((1001, 1001, 3), 10, np.uint8)
    upright[:, 961:] = 250  # a 40-pixel strip at the right edge
    stored = np.rot90(upright, 2) if orientation == 3 else upright  # orientation 3: turn 180 degrees to view
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(stored)).save(buffer, "JPEG", quality=95, exif=exif.tobytes())
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "strip.jpg").write_bytes(buffer.getvalue())
    images_ = [{"id": 1, "file_name": "strip.jpg", "height": 1001, "width": 1001}]
    annotation = {"id": 1, "image_id": 1, "category_id": CATEGORIES[0]["id"], "bbox": [961, 0, 40, 1001], "iscrowd": 0}
    data = {"images": images_, "annotations": [annotation], "categories": CATEGORIES}
    dataset = detmix.CocoDetection(tmp_path / "images", save_json(tmp_path / "a.json", data), max_size=max_size)
    sample = dataset[0]
    x0 = sample["bboxes"][0][0]
    row = sample["image"][max_size // 2, :, 1].astype(int)
    assert x0 == pytest.approx(961 * max_size / 1001, abs=1e-3)
    before = int(np.floor(x0))
    assert row[: before - 1].max() < 60 and row[before - 1] < 160, row[before - 4 :]  # dark outside the box, half a pixel of blur
    assert row[int(np.ceil(x0)) + 1 :].min() > 200, row[int(x0) - 4 :]  # bright from a pixel after its start
