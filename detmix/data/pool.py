"""Bounded stores of decoded pixels: a dataset's cache, and its pool of recent samples for the mixers.

Both hold, per sample index, the sample's pixel targets (``image``, and ``mask`` where the
dataset has masks) as read-only arrays, bounded by a count and by bytes: a store of 64 decoded
13000 x 13000 images would take 31 GB, so a count alone bounds nothing. The cache forgets the
least recently used sample first; the pool, the oldest sample it was given (first in, first out).

Nothing a store holds is ever handed to a dataset's caller: the dataset copies what it returns.
The mixers do get the pool's arrays uncopied, as extras: they only read extras and always
return new arrays (tested for every mixer). The arrays are read-only so that a slip would raise
rather than corrupt later samples. A store
may be used from several threads (a thread-based loader): a lock guards its bookkeeping, and a
forked process (a DataLoader worker) makes itself a new one, in case another thread of the
parent held it at the fork.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
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
        per_process: start empty in each process: a forked child forgets what it inherited
            (a pool of recent samples is the process's own history), and pickling drops the
            contents either way.
    """

    def __init__(self, max_count: int, max_bytes: int, lru: bool, per_process: bool = False) -> None:
        self.max_count = max_count
        self.max_bytes = max_bytes
        self.lru = lru
        self.per_process = per_process
        self.nbytes = 0
        self._entries: OrderedDict[int, Pixels] = OrderedDict()
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def _locked(self) -> threading.Lock:
        """The lock, made anew (and the contents dropped, for a per-process store) in a forked child."""
        if self._pid != os.getpid():
            self._lock, self._pid = threading.Lock(), os.getpid()
            if self.per_process:
                self._entries, self.nbytes = OrderedDict(), 0
        return self._lock

    def get(self, index: int) -> Pixels | None:
        """The read-only pixels of sample ``index``, or None when not held."""
        with self._locked():
            pixels = self._entries.get(index)
            if pixels is not None and self.lru:
                self._entries.move_to_end(index)
            return pixels

    def put(self, index: int, pixels: Pixels) -> bool:
        """Hold ``pixels`` (made read-only) as the newest sample, evicting the oldest until both bounds hold.

        Returns whether they are held: not when larger than ``max_bytes`` (or ``max_count`` is 0).
        """
        size = sum(array.nbytes for array in pixels.values())
        with self._locked():
            self._forget(index)
            if not self.max_count or size > self.max_bytes:
                return False
            for array in pixels.values():
                array.flags.writeable = False
            self._entries[index] = pixels
            self.nbytes += size
            while len(self._entries) > self.max_count or self.nbytes > self.max_bytes:
                self._forget(next(iter(self._entries)))
            return True

    def _forget(self, index: int) -> None:
        """Drop sample ``index`` if held (the caller holds the lock)."""
        pixels = self._entries.pop(index, None)
        if pixels is not None:
            self.nbytes -= sum(array.nbytes for array in pixels.values())

    def indices(self) -> list[int]:
        """The samples held, oldest first."""
        with self._locked():
            return list(self._entries)

    def arrays(self) -> list[np.ndarray]:
        """Every array held."""
        with self._locked():
            return [array for pixels in self._entries.values() for array in pixels.values()]

    def __len__(self) -> int:
        with self._locked():
            return len(self._entries)

    def __contains__(self, index: object) -> bool:
        with self._locked():
            return index in self._entries

    def __getstate__(self) -> dict[str, Any]:
        """Pickled empty: decoded pixels stay in their process (a spawned worker fills its own)."""
        return {key: value for key, value in self.__dict__.items() if key not in ("_entries", "nbytes", "_lock", "_pid")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, nbytes=0, _entries=OrderedDict(), _lock=threading.Lock(), _pid=os.getpid())
