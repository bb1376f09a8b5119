"""Feeding mixing transforms from a dataset: find them in a pipeline, hand them lazy extras.

A dataset does not know before the Compose call which mixers will fire (each has its own
``p``), so extras are :class:`LazySample` mappings: their boxes are ready, their image is only
decoded when a mixer that fires reads ``"image"``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import albumentations as A
import numpy as np

from detmix.transforms.base import MixingTransform


def find_mixers(transform: Any) -> list[MixingTransform]:
    """Every detmix mixing transform inside ``transform``, at any depth (OneOf, SomeOf, nested Compose)."""
    if isinstance(transform, MixingTransform):
        return [transform]
    if isinstance(transform, A.BaseCompose):
        return [mixer for child in transform.transforms for mixer in find_mixers(child)]
    return []


class Deferred(NamedTuple):
    """An annotation of a :class:`LazySample` computed on first access."""

    compute: Callable[[], Any]


class LazySample(Mapping[str, Any]):
    """A sample whose annotations are ready (or :class:`Deferred`) and whose pixels (``pixel_keys``) load on first access.

    ``validated_bboxes`` (the attribute the mixers look for, see
    :data:`detmix.transforms.extras.VALIDATED_BBOXES`) holds the same boxes in Albumentations'
    normalized xyxy, for a dataset whose boxes were checked at construction.
    """

    def __init__(
        self,
        annotations: dict[str, Any],
        load_pixels: Callable[[], dict[str, Any]],
        pixel_keys: tuple[str, ...] = ("image",),
        validated_bboxes: np.ndarray | None = None,
    ) -> None:
        self.validated_bboxes = validated_bboxes
        self._values = dict(annotations)
        self._load_pixels: Callable[[], dict[str, Any]] | None = load_pixels
        self._keys = (*self._values, *(k for k in pixel_keys if k not in self._values))

    def __getitem__(self, key: str) -> Any:
        if key not in self._values and key in self._keys and self._load_pixels is not None:
            self._values.update(self._load_pixels())
            self._load_pixels = None
        value = self._values[key]
        if isinstance(value, Deferred):
            value = self._values[key] = value.compute()
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._keys


def metadata_for(
    mixers: list[MixingTransform],
    dataset_size: int,
    exclude: int,
    py_random: random.Random,
    make_extra: Callable[[int], LazySample],
    recent: Sequence[int] | None = None,
) -> dict[str, list[LazySample]]:
    """For each mixer's metadata key, as many lazy extras as it needs (see :func:`draw_extras`)."""
    needed: dict[str, int] = {}
    for mixer in mixers:
        needed[mixer.metadata_key] = max(needed.get(mixer.metadata_key, 0), mixer.extras_needed)
    return {key: [make_extra(i) for i in draw_extras(count, dataset_size, exclude, py_random, recent)] for key, count in needed.items()}


def draw_extras(count: int, dataset_size: int, exclude: int, py_random: random.Random, recent: Sequence[int] | None = None) -> list[int]:
    """``count`` distinct sample indices other than ``exclude``, drawn with ``py_random``.

    With ``recent`` (the indices of a pool of recently loaded samples) they are drawn from those;
    while it holds fewer than ``count`` others, all of them are taken and the rest drawn from the
    whole dataset. Without it, all are drawn from the whole dataset. A dataset smaller than
    ``count`` repeats samples (the primary included) rather than fail.
    """
    if recent is None:
        return draw_others(count, dataset_size, [exclude], py_random)
    usable = [i for i in recent if i != exclude]
    if len(usable) >= count:
        return py_random.sample(usable, count)
    picks = py_random.sample(usable, len(usable))
    return picks + draw_others(count - len(picks), dataset_size, sorted([exclude, *picks]), py_random)


def draw_others(count: int, dataset_size: int, excluded: list[int], py_random: random.Random) -> list[int]:
    """``count`` distinct indices below ``dataset_size`` outside the sorted, distinct ``excluded``.

    Too few others: ``count`` draws from the whole range, with repeats.
    """
    others = dataset_size - len(excluded)
    if others < count:
        return [py_random.randrange(dataset_size) for _ in range(count)]
    picks = py_random.sample(range(others), count)
    for taken in excluded:  # the i-th other index: step over each excluded one at or below it
        picks = [i + (i >= taken) for i in picks]
    return picks
