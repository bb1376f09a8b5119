"""detmix: box-correct Mosaic, MixUp and CutMix for object detection, as Albumentations transforms."""

from detmix.data import CocoDetection, YoloDetection, torchvision_collate, yolo_collate, yolo_seg_collate
from detmix.transforms import CutMix, HSVJitter, MixUp, Mosaic
from detmix.transforms.base import mixing_off

__version__ = "0.1.0"
__all__ = [
    "CocoDetection",
    "CutMix",
    "HSVJitter",
    "MixUp",
    "Mosaic",
    "YoloDetection",
    "__version__",
    "mixing_off",
    "torchvision_collate",
    "yolo_collate",
    "yolo_seg_collate",
]
