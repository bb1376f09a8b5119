"""Shared checks for the detmix.batch tests: float64 references, input untouched, RNG untouched."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def mix_reference(x: torch.Tensor, index: torch.Tensor, lam: float | torch.Tensor) -> torch.Tensor:
    """``lam * x + (1 - lam) * x[index]`` in float64 on the CPU, ``lam`` a float or one per sample."""
    x64, index = x.double().cpu(), index.cpu()
    if isinstance(lam, torch.Tensor):
        lam = lam.double().cpu().reshape(-1, *([1] * (x.ndim - 1)))
    return lam * x64 + (1 - lam) * x64[index]


def targets_reference(labels: torch.Tensor, num_classes: int, index: torch.Tensor, lam: float | torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """Smoothed one-hot rows mixed by ``lam``, in float64, written out the slow way."""
    rows = torch.full((len(labels), num_classes), eps / num_classes, dtype=torch.float64)
    for i, label in enumerate(labels.tolist()):
        rows[i, label] += 1 - eps
    return mix_reference(rows, index, lam)


def images(shape: tuple[int, ...], dtype: torch.dtype = torch.float32, device: str = "cpu", seed: int = 0) -> torch.Tensor:
    """A seeded batch: floats in [0, 1), or uint8 over the full range."""
    generator = torch.Generator().manual_seed(seed)
    if dtype == torch.uint8:
        return torch.randint(0, 256, shape, generator=generator, dtype=torch.uint8).to(device)
    return torch.rand(shape, generator=generator, dtype=torch.float64).to(device=device, dtype=dtype)


def shares_memory(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether two tensors' storages overlap."""
    sa, sb = a.untyped_storage(), b.untyped_storage()
    return sa.data_ptr() < sb.data_ptr() + sb.nbytes() and sb.data_ptr() < sa.data_ptr() + sa.nbytes()


def check_untouched(call: Callable[..., tuple[torch.Tensor, ...]], *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Run ``call(*inputs)``; assert the inputs kept their values and no output shares their memory."""
    before = [tensor.clone() for tensor in inputs]
    outputs = call(*inputs)
    for tensor, copy in zip(inputs, before):
        assert torch.equal(tensor, copy), "an input was written into"
        for out in outputs:
            assert not shares_memory(out, tensor), "an output shares memory with an input"
    return outputs


@contextmanager
def global_rngs_untouched() -> Iterator[None]:
    """Assert that torch's (CPU and CUDA), Python's and numpy's global generators did not move."""
    states = (torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy())
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    yield
    assert torch.equal(torch.get_rng_state(), states[0]), "torch's global RNG advanced"
    assert random.getstate() == states[1], "Python's global RNG advanced"
    assert np.array_equal(np.random.get_state()[1], states[2]), "numpy's global RNG advanced"
    for now, then in zip(torch.cuda.get_rng_state_all() if cuda else [], cuda):
        assert torch.equal(now, then), "a CUDA global RNG advanced"
