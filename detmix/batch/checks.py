"""Argument checks shared by the batch mixers: early, clear errors that name the argument.

Wrong kinds of objects raise ``TypeError``, wrong shapes and values ``ValueError``, each worded
"Owner: expected ..., got ...".
"""

from __future__ import annotations

import math
import numbers

import torch

from detmix.batch.sampling import fresh_generator

#: Image dtypes the mixers take; the kernels document what each does with them.
IMAGE_DTYPES = (torch.uint8, torch.float16, torch.bfloat16, torch.float32, torch.float64)


def check_real(value: object, owner: str, name: str) -> float:
    """``value`` as a finite float; bools and non-numbers are a ``TypeError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: expected {name} as a real number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{owner}: expected a finite {name}, got {value!r}")
    return float(value)


def check_positive(value: object, owner: str, name: str) -> float:
    """``value`` as a float ``> 0`` (Beta concentrations, FMix's decay power)."""
    number = check_real(value, owner, name)
    if number <= 0:
        raise ValueError(f"{owner}: expected {name} > 0, got {value!r}")
    return number


def check_fraction(value: object, owner: str, name: str, *, zero_ok: bool) -> float:
    """``value`` as a float in ``[0, 1)`` (``zero_ok``) or in ``(0, 1]``."""
    number = check_real(value, owner, name)
    inside = 0 <= number < 1 if zero_ok else 0 < number <= 1
    if not inside:
        raise ValueError(f"{owner}: expected {name} in {'[0, 1)' if zero_ok else '(0, 1]'}, got {value!r}")
    return number


def check_count(value: object, owner: str, name: str) -> int:
    """``value`` as an int ``>= 1`` (numbers of classes, block sizes)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: expected {name} as an int, got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{owner}: expected {name} >= 1, got {value!r}")
    return int(value)


def check_num_classes(value: object, owner: str) -> int | None:
    """``num_classes``: None (labels are already soft targets) or an int ``>= 1``."""
    return None if value is None else check_count(value, owner, "num_classes")


def check_generator(value: object, owner: str) -> torch.Generator:
    """The caller's ``torch.Generator``, or a fresh one seeded from the OS when ``value`` is None."""
    if value is None:
        return fresh_generator()
    if not isinstance(value, torch.Generator):
        raise TypeError(f"{owner}: expected generator as a torch.Generator or None, got {type(value).__name__}")
    return value


def check_batch(images: object, owner: str, name: str = "images", *, uint8_ok: bool = True) -> tuple[int, int, int, int]:
    """The ``(B, C, H, W)`` shape of a non-empty float (or uint8) tensor batch."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{owner}: expected {name} as a torch.Tensor, got {type(images).__name__}")
    if images.ndim != 4:
        raise ValueError(f"{owner}: expected {name} of shape (B, C, H, W), got shape {tuple(images.shape)}")
    allowed = IMAGE_DTYPES if uint8_ok else IMAGE_DTYPES[1:]
    if images.dtype not in allowed:
        kinds = "a float or uint8" if uint8_ok else "a float"
        raise TypeError(f"{owner}: expected {name} of {kinds} dtype, got {images.dtype}")
    if images.numel() == 0:
        raise ValueError(f"{owner}: expected a non-empty {name} batch, got shape {tuple(images.shape)}")
    return tuple(images.shape)
