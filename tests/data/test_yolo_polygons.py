"""YoloDetection on segment (polygon) label rows: the box of the drawn polygon, mixed files, malformed rows named."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import detmix
from tests.data.builders import png_with_orientation, polygon_row, write_image, yolo_dataset

pytestmark = pytest.mark.filterwarnings("error")

GOOD_BOX = "1 0.5 0.5 0.2 0.2"


def star(rng: np.random.Generator, n_vertices: int, center_xy: tuple[float, float], radius: float) -> np.ndarray:
    """A random star-shaped polygon, normalized ``(n, 2)`` vertices around ``center_xy``."""
    angles = np.sort(rng.uniform(0, 2 * np.pi, n_vertices))
    radii = rng.uniform(0.6, 1.0, n_vertices) * radius
    return np.stack([center_xy[0] + radii * np.cos(angles), center_xy[1] + radii * np.sin(angles)], axis=1)


def written(vertices_xy: np.ndarray) -> np.ndarray:
    """The vertices as a 6-decimal label row holds them."""
    return np.round(vertices_xy, 6)


def drawn_extent(image: np.ndarray) -> np.ndarray:
    """``x0 y0 x1 y1`` of the inked pixels of ``image``, pixel edges included."""
    ys, xs = np.nonzero(image[..., 0])
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float64)


@pytest.mark.parametrize(("orientation", "max_size"), [(1, None), (1, 70), (6, None), (6, 70)])
def test_the_box_of_a_polygon_is_the_extent_of_its_drawn_pixels(tmp_path: Path, orientation: int, max_size: int | None) -> None:
    height, width = 90, 140  # upright; max_size 70 halves it, each loaded pixel inked when one of its 2 x 2 is
    vertices = written(star(np.random.default_rng(orientation), 17, (0.45, 0.55), 0.35))
    upright = np.zeros((height, width, 3), np.uint8)
    centers = vertices * [width, height] - 0.5  # OpenCV draws pixel i centred on i; boxes put its centre at i + 0.5
    cv2.fillPoly(upright, [np.round(centers * 256).astype(np.int32)], (255, 255, 255), shift=8)
    png_with_orientation(tmp_path / "images" / "a.png", upright, orientation)
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.txt").write_text(polygon_row(0, vertices) + "\n")
    dataset = detmix.YoloDetection(tmp_path / "images", max_size=max_size)
    sample = dataset[0]
    x, y, w, h = sample["bboxes"][0]
    # OpenCV inks every pixel the polygon touches, at 1/256 px: the inked extent is at most 1 px wider.
    np.testing.assert_allclose([x, y, x + w, y + h], drawn_extent(sample["image"]), atol=1 + 2**-7)
    np.testing.assert_allclose(dataset.records[0].polygons[0], vertices, atol=1e-7)


def test_mixed_box_and_polygon_rows_keep_their_order(tmp_path: Path) -> None:
    images = yolo_dataset(tmp_path)  # 64 x 96 images
    triangle = np.array([[0.1, 0.2], [0.4, 0.25], [0.3, 0.6]])
    (tmp_path / "labels" / "train" / "im0.txt").write_text(f"2 0.5 0.5 0.2 0.4\n{polygon_row(0, triangle)}\n{GOOD_BOX}\n")
    dataset = detmix.YoloDetection(images)
    sample, record = dataset[0], dataset.records[0]
    np.testing.assert_array_equal(sample["class_labels"], [2, 0, 1])
    np.testing.assert_allclose(sample["bboxes"], [[38.4, 19.2, 19.2, 25.6], [9.6, 12.8, 28.8, 25.6], [38.4, 25.6, 19.2, 12.8]], atol=1e-4)
    assert record.polygons[0] is None and record.polygons[2] is None
    assert record.polygons[1].dtype == np.float32 and not record.polygons[1].flags.writeable
    np.testing.assert_allclose(record.polygons[1], triangle, atol=1e-7)
    assert dataset.records[1].polygons == ()  # box rows only


def test_an_ultralytics_segment_export_keeps_every_object(tmp_path: Path) -> None:
    write_image(tmp_path / "images" / "a.png", 480, 640, seed=0)
    rng = np.random.default_rng(0)
    polygons = [written(star(rng, int(rng.integers(3, 300)), tuple(rng.uniform(0.2, 0.8, 2)), 0.15)) for _ in range(80)]
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.txt").write_text("".join(polygon_row(k % 5, p) + "\n" for k, p in enumerate(polygons)))
    dataset = detmix.YoloDetection(tmp_path / "images")
    expected = np.array([np.concatenate([p.min(0), p.max(0) - p.min(0)]) * [640, 480, 640, 480] for p in polygons])
    np.testing.assert_allclose(dataset.records[0].bboxes, expected, atol=1e-3)
    assert [len(p) for p in dataset.records[0].polygons] == [len(p) for p in polygons]


def test_a_polygon_off_the_image_by_rounding_is_clipped_and_kept_as_written(tmp_path: Path) -> None:
    images = yolo_dataset(tmp_path)  # 64 x 96 images
    square = np.array([[-0.0008, -0.0005], [1.0009, -0.0005], [1.0009, 0.5], [-0.0008, 0.5]])
    (tmp_path / "labels" / "train" / "im0.txt").write_text(polygon_row(0, square) + "\n")
    dataset = detmix.YoloDetection(images)
    np.testing.assert_allclose(dataset[0]["bboxes"], [[0, 0, 96, 32]], atol=1e-4)
    np.testing.assert_allclose(dataset.records[0].polygons[0], square, atol=1e-7)


@pytest.mark.parametrize(
    ("row", "kind", "reason"),
    [
        ("0 0.1 0.1 0.5 0.1 0.5 0.5 0.9", "malformed label rows, skipped", "7 coordinates after the class do not pair into x y vertices"),
        ("0 0.1 0.1 0.5 0.1 0.5", "malformed label rows, skipped", "expected 5 columns .* got 6"),
        ("0 0.5 0.5", "malformed label rows, skipped", "a polygon needs 3 or more vertices, got 1"),
        ("0", "malformed label rows, skipped", "a polygon needs 3 or more vertices, got 0"),
        ("0 0.1 0.1 0.5 x0.1 0.5 0.5", "malformed label rows, skipped", "non-numeric value"),
        ("0 0.1 0.1 0.5 nan 0.5 0.5", "malformed label rows, skipped", "non-finite value"),
        ("0 0.1 0.1 0.5 0.1 -inf 0.5", "malformed label rows, skipped", "non-finite value"),
        ("3 0.1 0.1 0.5 0.1 0.5 0.5", "malformed label rows, skipped", "class 3 outside 0..2"),
        ("0 0.1 0.1 1.002 0.1 0.5 0.5", "malformed label rows, skipped", "polygon vertex outside \\[0, 1\\]"),
        ("0 0.1 -0.002 0.5 0.1 0.5 0.5", "malformed label rows, skipped", "polygon vertex outside \\[0, 1\\]"),
        ("0 0.1 0.3 0.5 0.3 0.7 0.3", "malformed label rows, skipped", "polygon of zero width or height"),
        ("0 0.2 0.1 0.2 0.5 0.2 0.9", "malformed label rows, skipped", "polygon of zero width or height"),
        ("0 1.0002 0.1 1.0008 0.5 1.0005 0.9", "label rows entirely outside their image, dropped", ""),
        ("0 0.5 0.1 0.50005 0.5 0.5 0.9", "label rows under 0.01 px wide or high as loaded, skipped", ""),
    ],
)
def test_malformed_polygon_rows_are_named_skips(tmp_path: Path, row: str, kind: str, reason: str) -> None:
    images = yolo_dataset(tmp_path)
    (tmp_path / "labels" / "train" / "im0.txt").write_text(f"{GOOD_BOX}\n{row}\n")
    with pytest.warns(UserWarning, match=f"{kind} \\(1\\): .*im0.txt:2" + (f" \\(.*{reason}" if reason else "")):
        dataset = detmix.YoloDetection(images, names=["a", "b", "c"])
    np.testing.assert_array_equal(dataset[0]["class_labels"], [1])
    assert dataset.records[0].polygons == ()
