"""yolo_seg_collate feeds Ultralytics' YOLOv8 segmentation loss with per-instance masks (overlap_mask=False).

Ultralytics is not a dependency; this module runs only where it is installed. The model is built
from its bundled yaml without weights, so nothing is downloaded.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

import detmix
from tests.data.test_collate_masks import disc_batch

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("error")


@pytest.fixture(scope="module")
def seg_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """An untrained YOLOv8n-seg for 3 classes, its loss set to per-instance masks; Ultralytics
    imported offline with its settings in a temporary folder, not the user's home.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("YOLO_OFFLINE", "1")
        patch.setenv("YOLO_CONFIG_DIR", str(tmp_path_factory.mktemp("ultralytics")))
        pytest.importorskip("ultralytics", reason="Ultralytics is optional; this test needs its segmentation loss")
        from ultralytics.cfg import get_cfg
        from ultralytics.nn.tasks import SegmentationModel

        model = SegmentationModel("yolov8n-seg.yaml", nc=3, verbose=False)
        model.args = get_cfg(overrides={"overlap_mask": False})  # the loss's hyperparameters
        yield model


def ultralytics_batch(images: Any, targets: Any, masks: Any) -> dict[str, Any]:
    """yolo_seg_collate's output under the keys Ultralytics' trainer hands its loss."""
    return {"img": images.float() / 255, "batch_idx": targets[:, 0], "cls": targets[:, 1:2], "bboxes": targets[:, 2:], "masks": masks}


def test_v8_segmentation_loss_is_finite_on_collated_masks(seg_model: Any) -> None:
    batch = disc_batch(hw=(64, 128))  # sides a multiple of the model's stride 32; the middle sample has no boxes
    seg_model.train()
    loss, items = seg_model.loss(ultralytics_batch(*detmix.yolo_seg_collate(batch)))
    assert type(seg_model.criterion).__name__ == "v8SegmentationLoss" and seg_model.criterion.overlap is False
    assert loss.shape == (5,) and all(math.isfinite(value) for value in loss.tolist())
    assert items["seg_loss"].item() > 0  # the mask term ran: some anchor was matched to a box and read its mask
