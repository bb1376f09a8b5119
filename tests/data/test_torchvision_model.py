"""torchvision_collate feeds real torchvision detectors: label 0 stays background, and Mask R-CNN trains on its masks.

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


def light_mask_rcnn(num_classes: int) -> Any:
    """Mask R-CNN on an untrained MobileNetV3-FPN backbone at 64-128 px: one step takes about 2 s on a CPU."""
    from torchvision.models.detection import MaskRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.backbone_utils import mobilenet_backbone
    from torchvision.ops import MultiScaleRoIAlign

    backbone = mobilenet_backbone(backbone_name="mobilenet_v3_large", weights=None, fpn=True)
    levels = ["0", "1", "pool"]  # the feature maps this backbone gives
    return MaskRCNN(
        backbone,
        num_classes=num_classes,
        min_size=64,
        max_size=128,
        rpn_anchor_generator=AnchorGenerator(((16, 32, 64),) * len(levels), ((0.5, 1.0, 2.0),) * len(levels)),
        box_roi_pool=MultiScaleRoIAlign(levels, output_size=7, sampling_ratio=2),
        mask_roi_pool=MultiScaleRoIAlign(levels, output_size=14, sampling_ratio=2),
    )


def test_mask_rcnn_trains_one_step_on_collated_masks() -> None:
    from tests.data.test_collate_masks import disc_batch

    model = light_mask_rcnn(num_classes=3 + 1)
    model.train()
    seen: list[list[dict[str, Any]]] = []
    model.roi_heads.register_forward_pre_hook(lambda _module, args: seen.append(args[3]))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

    batch = disc_batch()  # flat-colour discs, masks from cv2.circle; the middle sample has no boxes
    images, targets = next(iter(DataLoader(batch, batch_size=len(batch), collate_fn=detmix.torchvision_collate)))
    assert [tuple(t["masks"].shape) for t in targets] == [(len(s["bboxes"]), 50, 100) for s in batch]

    losses = model([image.float() / 255 for image in images], targets)
    assert set(losses) == {"loss_classifier", "loss_box_reg", "loss_mask", "loss_objectness", "loss_rpn_box_reg"}
    assert all(math.isfinite(loss.item()) for loss in losses.values()) and losses["loss_mask"].item() > 0
    optimizer.zero_grad()
    sum(losses.values()).backward()
    optimizer.step()

    (reaching_heads,) = seen  # what the mask head trained on: the collated masks, resized with their images
    assert [t["masks"].shape[0] for t in reaching_heads] == [2, 0, 3]
