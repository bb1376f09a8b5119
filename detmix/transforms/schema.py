"""Constructor arguments the mixing transforms share, as pydantic types: checked once, by name.

Albumentations validates every transform's arguments with its ``InitSchema``; a bad value fails
there with pydantic's message, which names the field. Numbers must be finite: a NaN fill
writes NaN pixels into float images, an infinite Beta parameter draws NaN weights.
"""

from __future__ import annotations

from typing import Annotated, Literal

import cv2
from albumentations.core.composition import AVAILABLE_KEYS
from albumentations.core.transforms_interface import BaseTransformInitSchema
from pydantic import Field, FiniteFloat, field_validator

#: Interpolations a single affine warp implements exactly (no INTER_AREA: a warp cannot average).
Interpolation = Literal[cv2.INTER_NEAREST, cv2.INTER_LINEAR, cv2.INTER_CUBIC, cv2.INTER_LANCZOS4]
#: A fill: one finite number or a non-empty tuple of them (one per channel).
FillValue = FiniteFloat | Annotated[tuple[FiniteFloat, ...], Field(min_length=1)]
#: A Beta distribution parameter: positive and finite.
BetaParameter = Annotated[float, Field(gt=0, allow_inf_nan=False)]
#: Call keys Albumentations gives a meaning of its own: its targets, the legacy "labels" field
#: and Compose's record of applied transforms. Extras under one of them would be taken for it.
RESERVED_KEYS = frozenset({*AVAILABLE_KEYS, "images", "labels", "applied_transforms"})


class MixingInitSchema(BaseTransformInitSchema):
    """Arguments every mixing transform takes; subclasses add their own."""

    interpolation: Interpolation
    mask_interpolation: Interpolation
    metadata_key: str

    @field_validator("metadata_key")
    @classmethod
    def _not_reserved(cls, key: str) -> str:
        if key in RESERVED_KEYS:
            raise ValueError(f"metadata_key '{key}' is a key Albumentations reserves ({', '.join(sorted(RESERVED_KEYS))}); use another")
        return key


class FillingInitSchema(MixingInitSchema):
    """Arguments of a mixer that fills uncovered area: ``fill`` besides the common ones."""

    fill: FillValue
