"""Building a dataset: visiting every file in order, on threads where that helps, with a progress bar; reporting problems.

A dataset of 100,000 images opens 100,000 files to read their headers. On network or cold
storage each open and read waits far longer than it computes, and a bounded pool of threads
keeps several in flight (8 threads: 6x faster at 0.5 ms a file). On a local disk whose files
are cached the work is Python parsing, which holds the GIL: there threads only contend for it
(8 threads made the header reads 2.8x slower). So :func:`scan` times each chunk of files it
reads itself and hands the rest to threads once a chunk spent most of its time waiting.
Results come in the files' order either way, so every problem is reported, and the first
error raised, exactly as a serial build would.
"""

from __future__ import annotations

import os
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple, TypeVar

from tqdm import tqdm

T = TypeVar("T")
R = TypeVar("R")

#: Threads reading files once reading them waits on the storage.
SCAN_THREADS = 8
#: Files visited per job (a thread's or the calling thread's) between decisions and hand-offs.
SCAN_CHUNK = 128
#: A chunk whose wall time exceeds this many times its CPU time waited on the storage: threads take over.
WAITING_RATIO = 2.0
#: Seconds before the progress bar appears: a small dataset builds without one.
PROGRESS_DELAY = 1.0


def scan(job: Callable[[T], R], items: Sequence[T], description: str, verbose: bool) -> Iterator[R]:
    """``job(item)`` for every item, yielded in ``items``' order; on :data:`SCAN_THREADS` threads once that pays.

    Chunks of :data:`SCAN_CHUNK` items run in the calling thread while each takes no more than
    :data:`WAITING_RATIO` times its CPU time; after the first that does, the rest run on the
    threads, at most two chunks a thread ahead of the one being yielded (memory stays bounded).
    An exception raised by a job is raised here in its turn; chunks not yet started are then
    cancelled. ``verbose`` shows a tqdm progress bar (on stderr) once the scan takes over
    :data:`PROGRESS_DELAY` seconds. ``job`` must be safe to run on several threads at once.
    """
    progress = tqdm(total=len(items), desc=description, unit="file", disable=not verbose, delay=PROGRESS_DELAY)
    try:
        start = 0
        while start < len(items):
            wall, cpu = time.perf_counter(), time.thread_time()
            results = [job(item) for item in items[start : start + SCAN_CHUNK]]
            waited = time.perf_counter() - wall > WAITING_RATIO * (time.thread_time() - cpu)
            start += len(results)
            progress.update(len(results))
            yield from results
            if waited:
                break
        yield from _threaded(job, items[start:], progress)
    finally:
        progress.close()


def _threaded(job: Callable[[T], R], items: Sequence[T], progress: tqdm) -> Iterator[R]:
    """``job`` over ``items`` in chunks on :data:`SCAN_THREADS` threads, yielded in order."""
    if not items:
        return
    threads = SCAN_THREADS
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="detmix-scan")
    pending: deque[Future[list[R]]] = deque()
    try:
        for start in range(0, len(items), SCAN_CHUNK):
            pending.append(pool.submit(_run_chunk, job, items[start : start + SCAN_CHUNK]))
            if len(pending) > 2 * threads:
                yield from _taken(pending, progress)
        while pending:
            yield from _taken(pending, progress)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _run_chunk(job: Callable[[T], R], chunk: Sequence[T]) -> list[R]:
    return [job(item) for item in chunk]


def _taken(pending: deque[Future[list[R]]], progress: tqdm) -> Iterator[R]:
    """The results of the oldest chunk (or the first exception a job raised in it)."""
    results = pending.popleft().result()
    progress.update(len(results))
    yield from results


class Confinement:
    """The folder a dataset's files must resolve inside, symlinks followed (see ``follow_symlinks``).

    ``os.path.realpath`` examines every component of a path, so each parent folder is resolved
    once; for each file, only whether it is itself a symlink is asked. That keeps the build of a
    100,000-image dataset from spending seconds here.
    """

    def __init__(self, folder: Path, argument: str) -> None:
        self.argument = argument
        self.real_folder = folder.resolve()
        self._folder = str(self.real_folder)
        self._prefix = os.path.join(self._folder, "")  # with a trailing separator
        self._real_parents: dict[Path, str] = {}

    def refuse_outside(self, path: Path, culprit: str) -> None:
        """ValueError naming ``culprit`` when ``path``, symlinks followed, lies outside the folder.

        A symlink loop resolves to itself (inside), and then fails to open as a named skip.
        """
        if os.path.islink(path):
            real = os.path.realpath(path)
        else:
            parent = self._real_parents.get(path.parent)
            if parent is None:
                parent = self._real_parents[path.parent] = os.path.realpath(path.parent)
            real = os.path.join(parent, path.name)
        if real != self._folder and not real.startswith(self._prefix):
            raise ValueError(
                f"{culprit}: {path} resolves to {real}, outside {self.argument} {self.real_folder} (a symlink); "
                "pass follow_symlinks=True to read symlinked stores",
            )


class Skip(NamedTuple):
    """A named skip found while a dataset is built, for :meth:`Problems.add`."""

    kind: str
    culprit: str


class Problems:
    """Bad-data findings collected while a dataset is built, reported as one warning per kind."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._found: dict[str, list[str]] = {}

    def add(self, kind: str, culprit: str) -> None:
        """Record that ``culprit`` (a file, an id, a file:line) had problem ``kind``."""
        self._found.setdefault(kind, []).append(culprit)

    def warn(self, show: int = 10) -> None:
        """One ``warnings.warn`` per kind, naming up to ``show`` culprits."""
        for kind, culprits in self._found.items():
            listed = ", ".join(culprits[:show]) + (f" and {len(culprits) - show} more" if len(culprits) > show else "")
            warnings.warn(f"{self.owner}: {kind} ({len(culprits)}): {listed}", stacklevel=3)
