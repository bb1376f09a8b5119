"""detmix: box- and mask-correct Mosaic, MixUp, CutMix and CopyPaste for object detection, as Albumentations transforms."""

from detmix.data import CocoDetection, YoloDetection, torchvision_collate, yolo_collate, yolo_seg_collate
from detmix.transforms import CopyPaste, CutMix, HSVJitter, MixUp, Mosaic
from detmix.transforms.base import mixing_off
from detmix.transforms.dropped import DroppedBox, dropped_boxes
from detmix.transforms.instances import MASK_INDICES, pair_masks

__version__ = "0.1.0"
__all__ = [
    "CocoDetection",
    "CopyPaste",
    "CutMix",
    "DroppedBox",
    "HSVJitter",
    "MASK_INDICES",
    "MixUp",
    "Mosaic",
    "YoloDetection",
    "__version__",
    "dropped_boxes",
    "mixing_off",
    "pair_masks",
    "torchvision_collate",
    "yolo_collate",
    "yolo_seg_collate",
]
