"""The MixUp family on whole batches, after the DataLoader: MixUp, CutMix, FMix, paired MixUp for
restoration, Manifold Mixup and PatchUp, with soft targets and their cross-entropy.

Needs torch (the ``torch`` extra); ``import detmix`` itself does not. Every draw comes from a
``torch.Generator`` the caller may pass, never from torch's global RNG.
"""

from __future__ import annotations

try:
    import torch  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised by a subprocess test
    raise ImportError(
        "detmix.batch needs torch, which is the optional 'torch' extra of detmix: "
        "pip install 'detmix[torch]' (or install torch yourself)"
    ) from error

from detmix.batch.manifold import ManifoldMixup
from detmix.batch.mixers import CutMix, FMix, MixUp
from detmix.batch.paired import PairedMixUp
from detmix.batch.patchup import PatchUp
from detmix.batch.sampling import Draw
from detmix.batch.targets import mixed_cross_entropy

__all__ = ["CutMix", "Draw", "FMix", "ManifoldMixup", "MixUp", "PairedMixUp", "PatchUp", "mixed_cross_entropy"]
