"""detmix: box- and mask-correct Mosaic, MixUp, CutMix and CopyPaste for object detection, as Albumentations transforms."""

import os as _os
import sys as _sys

# The detmix command (its console script, or python -m detmix) turns off Albumentations' update
# check, a network request at import, before anything imports albumentations; a program that
# imports detmix keeps its own setting.
_ARGV = list(getattr(_sys, "orig_argv", _sys.argv))
if _os.path.basename(_sys.argv[0] if _sys.argv else "").split(".")[0] == "detmix" or ("-m" in _ARGV and _ARGV[_ARGV.index("-m") + 1 :][:1] == ["detmix"]):
    _os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

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
