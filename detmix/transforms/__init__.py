"""Thin Albumentations transforms: sample parameters, hand each target to one kernel."""

from detmix.transforms.colour import HSVJitter
from detmix.transforms.copy_paste import CopyPaste
from detmix.transforms.cutmix import CutMix
from detmix.transforms.mixup import MixUp
from detmix.transforms.mosaic import Mosaic

__all__ = ["CopyPaste", "CutMix", "HSVJitter", "MixUp", "Mosaic"]
