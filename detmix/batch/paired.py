"""Paired MixUp for image restoration: the targets and the inputs of a batch mixed alike.

Denoising, deblurring or super-resolution batches come as (clean, degraded) pairs; MixUp can
only augment them if both halves of a pair get the same partner and the same weight, so the
mixed degraded image is still the degraded version of the mixed clean one (exactly so for a
linear degradation such as noise added per pixel or downscaling).
"""

from __future__ import annotations

import torch

from detmix.batch.checks import check_batch, check_generator, check_positive
from detmix.batch.functional import mix_images
from detmix.batch.sampling import Draw, sample_beta, sample_permutation


class PairedMixUp:
    """``(clean, noisy) -> (clean_mixed, noisy_mixed)``, one ``lam`` per sample, one permutation.

    Sample ``i`` of both batches becomes ``lam[i] * x[i] + (1 - lam[i]) * x[index[i]]`` with
    ``lam ~ Beta(alpha, alpha)``. The two batches may differ in channels, size (super-resolution)
    and dtype (float or uint8), and may sit on different devices; they must hold as many samples.
    ``last`` records ``lam`` (``(B,)`` float64) and ``index``.

    Args:
        alpha: Beta concentration, ``> 0`` (default 1.2, as used for restoration training).
        generator: The ``torch.Generator`` every draw comes from; None makes a fresh one.
    """

    def __init__(self, alpha: float = 1.2, generator: torch.Generator | None = None) -> None:
        self.alpha = check_positive(alpha, "PairedMixUp", "alpha")
        self.generator = check_generator(generator, "PairedMixUp")
        self.last: Draw | None = None

    def __call__(self, clean: torch.Tensor, noisy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mix both ``(B, C, H, W)`` batches with the same draw; return new tensors."""
        batch = check_batch(clean, "PairedMixUp", "clean")[0]
        if check_batch(noisy, "PairedMixUp", "noisy")[0] != batch:
            raise ValueError(f"PairedMixUp: expected clean and noisy to hold as many samples, got {batch} and {len(noisy)}")
        lam = sample_beta(self.alpha, self.generator, batch)
        index = sample_permutation(batch, self.generator, clean.device)
        mixed = mix_images(clean, index, lam), mix_images(noisy, index.to(noisy.device), lam)
        self.last = Draw(lam, index)
        return mixed

    def __repr__(self) -> str:
        return f"PairedMixUp(alpha={self.alpha})"
