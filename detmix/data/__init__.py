"""Data layer: COCO and YOLO datasets that feed the mixing transforms, and training-loop collates."""

from detmix.data.coco import CocoDetection
from detmix.data.collate import torchvision_collate, yolo_collate, yolo_seg_collate
from detmix.data.yolo import YoloDetection

__all__ = ["CocoDetection", "YoloDetection", "torchvision_collate", "yolo_collate", "yolo_seg_collate"]
