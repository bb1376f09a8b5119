"""MixUp, CutMix and FMix on whole ``(B, C, H, W)`` batches, with soft targets.

Each is a callable ``mixer(images, labels) -> (mixed_images, soft_targets)``: every sample ``i``
is mixed with sample ``index[i]`` of a random permutation of the batch, and its target row is
``lam * y[i] + (1 - lam) * y[index[i]]``. The draw (``lam``, ``index``, and CutMix's box or
FMix's mask) comes from the mixer's ``torch.Generator`` and is kept as ``mixer.last``. Inputs
are never written into; outputs are new tensors with the images' shape, dtype and device.

dtypes: float images are mixed in their own dtype. uint8 images stay uint8: CutMix and FMix copy
bytes, MixUp blends a few samples at a time in float32 and rounds to nearest, so no float copy
of the whole batch is made. Soft targets are float32 for class indices, or the dtype of given
``(B, K)`` targets.

Per-sample ``lam``: MixUp only (``per_sample=True``), where each sample's blend is independent.
CutMix and FMix use one box or mask per batch, as their papers do.
"""

from __future__ import annotations

import torch

from detmix.batch.checks import check_batch, check_fraction, check_generator, check_num_classes, check_positive
from detmix.batch.functional import cutmix_box, cutmix_images, mix_images, select_images, top_k_mask
from detmix.batch.sampling import Draw, sample_beta, sample_box_centre, sample_fourier_noise, sample_permutation
from detmix.batch.targets import check_labels, soft_targets

Shape = tuple[int, int, int, int]


class BatchMixer:
    """The shared call: check, turn labels into soft targets, draw, mix images and targets.

    Subclasses give :meth:`draw` (random numbers only) and :meth:`mix` (one kernel call).

    Args:
        alpha: Concentration of ``Beta(alpha, alpha)``, from which ``lam`` is drawn; ``> 0``.
        num_classes: Width of the soft targets; required when labels are class indices.
        label_smoothing: ``eps`` in ``[0, 1)``, applied to the one-hot rows before mixing.
        generator: The ``torch.Generator`` every draw comes from (a CPU one gives the same draws
            for CPU and CUDA images); None makes a fresh one seeded from the OS.
    """

    def __init__(
        self,
        alpha: float = 1.0,
        num_classes: int | None = None,
        label_smoothing: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> None:
        owner = type(self).__name__
        self.alpha = check_positive(alpha, owner, "alpha")
        self.num_classes = check_num_classes(num_classes, owner)
        self.label_smoothing = check_fraction(label_smoothing, owner, "label_smoothing", zero_ok=True)
        self.generator = check_generator(generator, owner)
        self.last: Draw | None = None

    def __call__(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mix ``images`` with a permutation of themselves.

        Args:
            images: ``(B, C, H, W)`` float or uint8 tensor, on any device.
            labels: ``(B,)`` integer class indices (``num_classes`` required) or ``(B, K)`` float targets.

        Returns:
            ``(mixed_images, soft_targets)``: a new batch like ``images`` and ``(B, K)`` float
            targets on the labels' device.
        """
        owner = type(self).__name__
        shape = check_batch(images, owner)
        check_labels(labels, shape[0], self.num_classes, owner)
        draw = self.draw(shape, images.device)
        mixed = self.mix(images, draw)
        self.last = draw
        return mixed, soft_targets(labels, self.num_classes, self.label_smoothing, draw.index, draw.lam)

    def draw(self, shape: Shape, device: torch.device) -> Draw:
        """Everything random about one call on a batch of ``shape`` held on ``device``."""
        raise NotImplementedError

    def mix(self, images: torch.Tensor, draw: Draw) -> torch.Tensor:
        """The mixed batch for ``draw``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(alpha={self.alpha}, num_classes={self.num_classes}, label_smoothing={self.label_smoothing})"


class MixUp(BatchMixer):
    """MixUp (Zhang et al. 2018): ``lam * x + (1 - lam) * x[index]``, ``lam ~ Beta(alpha, alpha)``.

    One fused ``torch.lerp`` against the gathered partners (see ``detmix.batch.functional``);
    uint8 images are blended in float32 chunk by chunk and rounded.

    Args:
        alpha: Beta concentration, ``> 0`` (default 0.2: most draws near 0 or 1).
        num_classes, label_smoothing, generator: As for :class:`BatchMixer`.
        per_sample: Draw one ``lam`` per sample instead of one per batch.
    """

    def __init__(
        self,
        alpha: float = 0.2,
        num_classes: int | None = None,
        label_smoothing: float = 0.0,
        generator: torch.Generator | None = None,
        *,
        per_sample: bool = False,
    ) -> None:
        super().__init__(alpha, num_classes, label_smoothing, generator)
        if not isinstance(per_sample, bool):
            raise TypeError(f"MixUp: expected per_sample as a bool, got {type(per_sample).__name__} {per_sample!r}")
        self.per_sample = per_sample

    def draw(self, shape: Shape, device: torch.device) -> Draw:
        lam = sample_beta(self.alpha, self.generator, shape[0] if self.per_sample else None)
        return Draw(lam, sample_permutation(shape[0], self.generator, device))

    def mix(self, images: torch.Tensor, draw: Draw) -> torch.Tensor:
        return mix_images(images, draw.index, draw.lam)


class CutMix(BatchMixer):
    """CutMix (Yun et al. 2019): one rectangle of each image replaced by its partner's.

    The box covers about ``1 - lam`` of the image (``lam ~ Beta(alpha, alpha)``) around a
    uniformly drawn centre and is clipped to the image; ``lam`` is then recomputed from the
    clipped box, so targets match the pixels. The output is one copy of the batch with only the
    rectangle gathered from the partners.
    """

    def draw(self, shape: Shape, device: torch.device) -> Draw:
        image_hw = shape[2:]
        box, lam = cutmix_box(image_hw, sample_beta(self.alpha, self.generator), sample_box_centre(image_hw, self.generator))
        return Draw(lam, sample_permutation(shape[0], self.generator, device), box=box)

    def mix(self, images: torch.Tensor, draw: Draw) -> torch.Tensor:
        return cutmix_images(images, draw.index, draw.box)


class FMix(BatchMixer):
    """FMix (Harris et al. 2020): a smooth binary mask from low-frequency Fourier noise.

    Noise whose spectrum decays as ``1 / f ** decay_power`` is made at the images' size and its
    ``round(lam * H * W)`` largest pixels (``lam ~ Beta(alpha, alpha)``) keep each image's own
    values; the rest come from its partner. The top-k makes the mask's mean exactly the recorded
    ``lam``. Pixels are copied, not blended, so uint8 stays exact.

    Args:
        alpha: Beta concentration, ``> 0``.
        decay_power: ``> 0``; larger gives smoother masks (the paper uses 3).
        num_classes, label_smoothing, generator: As for :class:`BatchMixer`.
    """

    def __init__(
        self,
        alpha: float = 1.0,
        decay_power: float = 3.0,
        num_classes: int | None = None,
        label_smoothing: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__(alpha, num_classes, label_smoothing, generator)
        self.decay_power = check_positive(decay_power, "FMix", "decay_power")

    def draw(self, shape: Shape, device: torch.device) -> Draw:
        lam = sample_beta(self.alpha, self.generator)
        mask, lam = top_k_mask(sample_fourier_noise(shape[2:], self.decay_power, self.generator), lam)
        return Draw(lam, sample_permutation(shape[0], self.generator, device), mask=mask.to(device))

    def mix(self, images: torch.Tensor, draw: Draw) -> torch.Tensor:
        return select_images(images, draw.index, draw.mask)

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", decay_power={self.decay_power})"
