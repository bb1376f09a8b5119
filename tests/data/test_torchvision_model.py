"""torchvision_collate feeds a real torchvision detector: label 0 stays background.

torchvision is not a dependency (its wheels pair with one torch build), so this module runs only
where it is installed.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import albumentations as A
import pytest

import detmix

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision", reason="torchvision is optional; this test needs its detection models")
from torch.utils.data import DataLoader  # noqa: E402

pytestmark = pytest.mark.filterwarnings("error")

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "coco"


def test_faster_rcnn_trains_on_the_collated_batch_with_foreground_labels() -> None:
    transform = A.Compose([A.LongestMaxSize(max_size=160)], bbox_params=A.BboxParams("yolo", label_fields=["class_labels"]))
    dataset = detmix.CocoDetection(FIXTURES / "images", FIXTURES / "annotations.json", transform)
    num_classes = len(dataset.classes) + 1
    model = torchvision.models.detection.fasterrcnn_mobilenet_v3_large_320_fpn(
        weights=None, weights_backbone=None, num_classes=num_classes, min_size=160, max_size=160,  # small: fast on a CPU
    )
    model.train()
    seen: list[list[dict[str, Any]]] = []
    model.roi_heads.register_forward_pre_hook(lambda _module, args: seen.append(args[3]))

    indices = [0, 1]  # image 0 holds class 0 ("person"), the one torchvision would read as background
    images, targets = next(iter(DataLoader(dataset, sampler=indices, batch_size=len(indices), collate_fn=detmix.torchvision_collate)))
    expected = [(dataset[i]["class_labels"] + 1).tolist() for i in indices]
    assert [t["labels"].tolist() for t in targets] == expected

    losses = model([image.float() / 255 for image in images], targets)
    assert set(losses) == {"loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg"}
    assert all(math.isfinite(loss.item()) for loss in losses.values())

    (reaching_heads,) = seen
    labels = torch.cat([t["labels"] for t in reaching_heads])
    assert labels.min() >= 1 and labels.max() <= num_classes - 1 and 1 in labels.tolist()
