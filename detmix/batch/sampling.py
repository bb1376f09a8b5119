"""Every random draw of ``detmix.batch``, each from a caller's ``torch.Generator``.

The batch mixers never touch torch's global RNG (nor Python's or numpy's), so a seeded generator
replays a run and a call leaves ``torch.get_rng_state()`` as it found it. Draws are made on the
generator's device (a CPU generator is the usual choice, and gives the same draws whatever device
the images are on); the mixers move what they drew to the data.

:class:`Draw` records one call's draw; every mixer keeps its latest as ``mixer.last``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from detmix.batch.functional import fourier_amplitudes


@dataclass(frozen=True)
class Draw:
    """What one mixer call drew, enough to recompute its output.

    Attributes:
        lam: The share of each sample's own label in its soft target (a float, or a ``(B,)``
            float64 tensor when each sample has its own). CutMix's is recomputed from the clipped
            box, FMix's is the mask's mean, PatchUp's is what its mask and blend leave.
        index: ``(B,)`` int64 permutation on the data's device: sample ``i`` is mixed with
            sample ``index[i]``.
        box: CutMix's pasted rectangle as pixel ``(x_min, y_min, x_max, y_max)``, half-open.
        mask: FMix ``(H, W)`` / PatchUp ``(C, H, W)`` bool, True where a sample keeps its own values.
        layer: ManifoldMixup's mixed layer (``"input"`` or a name from ``model.named_modules()``).
        blend: PatchUp "soft": the weight of a sample's own features inside the blocks.
    """

    lam: float | torch.Tensor
    index: torch.Tensor
    box: tuple[int, int, int, int] | None = None
    mask: torch.Tensor | None = None
    layer: str | None = None
    blend: float | None = None


def fresh_generator() -> torch.Generator:
    """A new CPU generator seeded from the operating system, leaving torch's global state alone."""
    generator = torch.Generator()
    generator.seed()
    return generator


def sample_beta(alpha: float, generator: torch.Generator, size: int | None = None) -> float | torch.Tensor:
    """``Beta(alpha, alpha)``: one float, or a ``(size,)`` float64 tensor on the generator's device.

    ``G1 / (G1 + G2)`` for two ``Gamma(alpha)`` draws, each taken in log space as
    ``log Gamma(alpha + 1) + log(U) / alpha`` (the boost that makes small shapes exact), and
    ``lam = sigmoid(log G1 - log G2)``. Gamma draws themselves underflow for tiny alphas
    (Beta(1e-3, 1e-3) draws reach 1e-300): clamped to the same floor, they would make ``lam``
    exactly 0.5 where it belongs near 0 or 1. ``torch._standard_gamma`` is the sampler behind
    ``torch.distributions.Gamma``, called directly because it takes a generator.
    """
    count = 1 if size is None else size
    device = generator.device
    boosted = torch.full((count, 2), float(alpha) + 1.0, dtype=torch.float64, device=device)
    uniform = torch.rand((count, 2), dtype=torch.float64, generator=generator, device=device)
    log_gamma = torch._standard_gamma(boosted, generator=generator).log() + uniform.clamp_min(torch.finfo(torch.float64).tiny).log() / alpha
    lam = torch.sigmoid(log_gamma[:, 0] - log_gamma[:, 1])
    return float(lam[0]) if size is None else lam


def sample_permutation(batch_size: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """A uniformly random permutation of ``range(batch_size)`` as int64 on ``device``."""
    index = torch.randperm(batch_size, generator=generator, device=generator.device)
    return index.to(device)


def sample_integer(high: int, generator: torch.Generator) -> int:
    """A uniform integer in ``[0, high)``."""
    return int(torch.randint(high, (1,), generator=generator, device=generator.device)[0])


def sample_fourier_noise(image_hw: tuple[int, int], decay_power: float, generator: torch.Generator) -> torch.Tensor:
    """``(H, W)`` float32 noise whose spectrum falls off as ``1 / frequency ** decay_power`` (FMix).

    Real and imaginary parts of every frequency are standard normal, scaled by
    :func:`~detmix.batch.functional.fourier_amplitudes`; the inverse real FFT gives a smooth field.
    """
    amplitudes = fourier_amplitudes(image_hw, decay_power).to(generator.device)
    parts = torch.randn((2, *amplitudes.shape), generator=generator, device=generator.device)
    spectrum = torch.complex(parts[0], parts[1]) * amplitudes
    return torch.fft.irfft2(spectrum, s=image_hw)


def sample_block_seeds(
    features_chw: tuple[int, int, int], block_size: int, gamma: float, generator: torch.Generator
) -> torch.Tensor:
    """Top-left corners of PatchUp's blocks: ``(C, H - b + 1, W - b + 1)`` bool, Bernoulli per cell.

    The seed rate is set, as DropBlock does, so that about ``gamma`` of the features would lie in a
    block if blocks did not overlap: ``gamma * H * W / (b**2 * (H - b + 1) * (W - b + 1))``, at most 1.
    """
    channels, height, width = features_chw
    rows, cols = height - block_size + 1, width - block_size + 1
    rate = min(1.0, gamma * height * width / (block_size**2 * rows * cols))
    draws = torch.rand((channels, rows, cols), generator=generator, device=generator.device)
    return draws < rate


def sample_box_centre(image_hw: tuple[int, int], generator: torch.Generator) -> tuple[int, int]:
    """CutMix's box centre ``(y, x)``, uniform over the image's pixels."""
    height, width = image_hw
    flat = sample_integer(height * width, generator)
    return flat // width, flat % width

