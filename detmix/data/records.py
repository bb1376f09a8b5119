"""The record of one image of a dataset: what is known about it once the dataset is built."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Record:
    """One image of a dataset: where it is, its upright size as loaded and in the file, its orientation, its objects.

    The arrays are made read-only: samples are built from copies of them.
    """

    path: Path
    image_hw: tuple[int, int]  # upright (height, width) as loaded, what the boxes refer to
    bboxes: np.ndarray  # (N, 4) float64 COCO [x, y, w, h] pixels, inside the image: the annotation to float64 rounding
    class_labels: np.ndarray  # (N,) int64 contiguous class indices
    image_id: Any
    annotation_ids: tuple[Any, ...] = ()  # COCO: the ids of the annotations behind the boxes
    orientation: int = 1  # EXIF orientation read from the header at construction
    file_hw: tuple[int, int] | None = None  # upright (height, width) in the file, where max_size scales it down
    polygons: tuple[np.ndarray | None, ...] = ()  # YOLO: per box its normalized (K, 2) float32 polygon or None; () without polygons

    def __post_init__(self) -> None:
        self.bboxes.flags.writeable = False
        self.class_labels.flags.writeable = False

    @property
    def stored_hw(self) -> tuple[int, int]:
        """``(height, width)`` of the pixels as stored in the file, before the orientation."""
        height, width = self.file_hw or self.image_hw
        return (width, height) if self.orientation in (5, 6, 7, 8) else (height, width)

    @property
    def scale_xy(self) -> tuple[float, float]:
        """Loaded pixels per file pixel, along x and y (1.0 unless ``max_size`` scaled the image down)."""
        height, width = self.file_hw or self.image_hw
        return self.image_hw[1] / width, self.image_hw[0] / height
