"""Per-worker, per-rank seeds for the transforms, derived from what torch gives each worker.

torch seeds each DataLoader worker with ``base_seed + worker_id``, ``base_seed`` drawn from the
DataLoader's generator when an epoch's iterator starts. Mixing that seed with the distributed
rank (and the Compose's own seed, if it has one) gives every worker of every rank its own
stream, while the same generator seed replays the same streams.
"""

from __future__ import annotations

import sys

import numpy as np


def worker_seed(base_seed: int | None = None) -> int | None:
    """The seed this process's transforms should use, or None to leave them as they are.

    In a DataLoader worker: derived from ``torch.initial_seed()`` (the worker's seed), the rank
    and ``base_seed``. In the main process of a distributed run with a seeded Compose: from the
    rank and ``base_seed``. Elsewhere (an unseeded Compose stays unseeded), or when torch was
    never imported: None.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    info = torch.utils.data.get_worker_info()
    rank = distributed_rank()
    if info is None and (rank is None or base_seed is None):
        return None
    entropy = [rank or 0, 0 if base_seed is None else base_seed + 1]
    if info is not None:
        entropy.append(torch.initial_seed())
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def distributed_rank() -> int | None:
    """This process's rank in an initialized ``torch.distributed`` group, else None."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.distributed.is_available() or not torch.distributed.is_initialized():
        return None
    return torch.distributed.get_rank()
