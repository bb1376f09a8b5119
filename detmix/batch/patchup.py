"""PatchUp (Faramarzi et al. 2020): CutMix-like mixing of hidden feature maps in random blocks.

Blocks are ``block_size`` squares dropped at random, DropBlock fashion, independently per
channel and shared by the batch (as in the paper). Inside the blocks each sample's features
are swapped for its partner's ("hard") or blended with them ("soft"); outside they are kept.
Targets are mixed by what the features received: the swapped fraction of features (hard), or
``1 - lam`` of it (soft), so a sample's own label keeps weight
``1 - changed`` (hard) or ``1 - (1 - lam) * changed`` (soft), ``changed`` being the blocks' share
of the ``C * H * W`` features — the reweighted target of the PatchUp paper.
"""

from __future__ import annotations

from typing import Literal

import torch

from detmix.batch.checks import check_batch, check_count, check_fraction, check_generator, check_num_classes, check_positive
from detmix.batch.functional import block_keep_mask, mix_images, select_images
from detmix.batch.sampling import Draw, sample_beta, sample_block_seeds, sample_permutation
from detmix.batch.targets import check_labels, soft_targets


class PatchUp:
    """``patchup(features, labels, num_classes=None) -> (mixed_features, soft_targets)``.

    Call it inside a model's forward on a ``(B, C, H, W)`` feature map during training (it is
    differentiable); ``last`` records ``lam`` (the own label's weight), ``index``, ``mask``
    (``(C, H, W)`` bool, True outside the blocks) and, for "soft", ``blend``.

    Args:
        block_size: Side of the square blocks, ``>= 1`` and at most the feature map's sides.
        gamma: In ``(0, 1]``: about the share of features inside blocks before overlaps
            merge them (the realised share is ``1 - mask.mean()``).
        mode: ``"hard"`` swaps the features in the blocks; ``"soft"`` blends them with weight
            ``lam ~ Beta(alpha, alpha)`` for each sample's own.
        alpha: Beta concentration of "soft" mode's ``lam``, ``> 0``.
        generator: The ``torch.Generator`` every draw comes from; None makes a fresh one.
    """

    def __init__(
        self,
        block_size: int = 7,
        gamma: float = 0.9,
        mode: Literal["hard", "soft"] = "hard",
        alpha: float = 2.0,
        generator: torch.Generator | None = None,
    ) -> None:
        self.block_size = check_count(block_size, "PatchUp", "block_size")
        self.gamma = check_fraction(gamma, "PatchUp", "gamma", zero_ok=False)
        if mode not in ("hard", "soft"):
            raise ValueError(f"PatchUp: expected mode 'hard' or 'soft', got {mode!r}")
        self.mode = mode
        self.alpha = check_positive(alpha, "PatchUp", "alpha")
        self.generator = check_generator(generator, "PatchUp")
        self.last: Draw | None = None

    def __call__(self, features: torch.Tensor, labels: torch.Tensor, num_classes: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Mix ``features`` in random blocks with a permutation of the batch.

        Args:
            features: ``(B, C, H, W)`` float tensor (a hidden feature map; grads flow through).
            labels: ``(B,)`` class indices (``num_classes`` required) or ``(B, K)`` float targets.
            num_classes: Width of the soft targets for class-index labels.

        Returns:
            ``(mixed_features, soft_targets)``, both new tensors.
        """
        batch, channels, height, width = check_batch(features, "PatchUp", "features", uint8_ok=False)
        if self.block_size > min(height, width):
            raise ValueError(f"PatchUp: block_size {self.block_size} exceeds the feature map's {height}x{width} (H x W)")
        num_classes = check_num_classes(num_classes, "PatchUp")
        check_labels(labels, batch, num_classes, "PatchUp")
        seeds = sample_block_seeds((channels, height, width), self.block_size, self.gamma, self.generator)
        keep = block_keep_mask(seeds, self.block_size).to(features.device)
        blend = sample_beta(self.alpha, self.generator) if self.mode == "soft" else None
        index = sample_permutation(batch, self.generator, features.device)
        changed = 1.0 - int(keep.sum()) / keep.numel()
        if blend is None:
            mixed, lam = select_images(features, index, keep), 1.0 - changed
        else:
            weight = torch.where(keep, 1.0, blend).to(features.dtype)
            mixed, lam = mix_images(features, index, weight), 1.0 - (1.0 - blend) * changed
        self.last = Draw(lam, index, mask=keep, blend=blend)
        return mixed, soft_targets(labels, num_classes, 0.0, index, lam)

    def __repr__(self) -> str:
        return f"PatchUp(block_size={self.block_size}, gamma={self.gamma}, mode={self.mode!r}, alpha={self.alpha})"
