"""detmix: box-correct Mosaic, MixUp and CutMix for object detection, as Albumentations transforms."""

from detmix.transforms import CutMix, MixUp, Mosaic

__version__ = "0.1.0"
__all__ = ["CutMix", "MixUp", "Mosaic", "__version__"]
