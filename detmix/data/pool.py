"""Bounded stores of decoded pixels: a dataset's cache, and its pool of recent samples for the mixers.

Both hold, per sample index, the sample's pixel targets (``image``, and ``mask`` where the
dataset has masks) as read-only arrays, bounded by a count and by bytes: a store of 64 decoded
13000 x 13000 images would take 31 GB, so a count alone bounds nothing. The cache forgets the
least recently used sample first; the pool, the oldest sample it was given (first in, first out).

Nothing a store holds is ever handed to a dataset's caller: the dataset copies what it returns.
The arrays are read-only so that a slip would raise rather than corrupt later samples.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import numpy as np

Pixels = dict[str, np.ndarray]


class PixelStore:
    """Pixel targets by sample index, as read-only arrays, bounded by count and by bytes.

    Args:
        max_count: most samples held (0: none).
        max_bytes: most bytes of array data held; a sample larger than this is not stored.
        lru: a sample read with :meth:`get` becomes the newest (least recently used goes first,
            a cache); otherwise samples leave in the order they were put (first in, first out).
    """

    def __init__(self, max_count: int, max_bytes: int, lru: bool) -> None:
        self.max_count = max_count
        self.max_bytes = max_bytes
        self.lru = lru
        self.nbytes = 0
        self._entries: OrderedDict[int, Pixels] = OrderedDict()

    def get(self, index: int) -> Pixels | None:
        """The read-only pixels of sample ``index``, or None when not held."""
        pixels = self._entries.get(index)
        if pixels is not None and self.lru:
            self._entries.move_to_end(index)
        return pixels

    def put(self, index: int, pixels: Pixels) -> bool:
        """Hold ``pixels`` (made read-only) as the newest sample, evicting the oldest until both bounds hold.

        Returns whether they are held: not when larger than ``max_bytes`` (or ``max_count`` is 0).
        """
        self.discard(index)
        size = sum(array.nbytes for array in pixels.values())
        if not self.max_count or size > self.max_bytes:
            return False
        for array in pixels.values():
            array.flags.writeable = False
        self._entries[index] = pixels
        self.nbytes += size
        while len(self._entries) > self.max_count or self.nbytes > self.max_bytes:
            self._forget(next(iter(self._entries)))
        return True

    def discard(self, index: int) -> None:
        """Forget sample ``index`` if held."""
        if index in self._entries:
            self._forget(index)

    def _forget(self, index: int) -> None:
        self.nbytes -= sum(array.nbytes for array in self._entries.pop(index).values())

    def indices(self) -> list[int]:
        """The samples held, oldest first."""
        return list(self._entries)

    def arrays(self) -> Iterator[np.ndarray]:
        """Every array held."""
        return (array for pixels in self._entries.values() for array in pixels.values())

    def clear(self) -> None:
        self._entries.clear()
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, index: object) -> bool:
        return index in self._entries

    def __getstate__(self) -> dict[str, Any]:
        """Pickled empty: decoded pixels stay in their process (a spawned worker fills its own)."""
        return {**self.__dict__, "_entries": OrderedDict(), "nbytes": 0}


class RecentPool(PixelStore):
    """The samples this process loaded last, first in first out: where the mixers' extras come from.

    A forked DataLoader worker inherits its parent's pool; :meth:`of_this_process` empties it on
    first use there, so that every worker draws from its own samples only and a run replays
    exactly whatever the parent did before starting the workers.
    """

    def __init__(self, max_count: int, max_bytes: int) -> None:
        super().__init__(max_count, max_bytes, lru=False)
        self._pid = os.getpid()

    def of_this_process(self) -> RecentPool:
        """This pool, emptied first when this is not the process it was filled in."""
        if self._pid != os.getpid():
            self.clear()
            self._pid = os.getpid()
        return self
