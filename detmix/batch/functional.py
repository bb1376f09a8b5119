"""Pure tensor kernels of ``detmix.batch``: a batch mixed with a permutation of itself, and the boxes
and masks that say where.

A kernel is a deterministic function of tensors and numbers (no RNG, no state); it never writes
into its inputs and its output never shares memory with them. Batches are ``(B, ...)`` tensors
(``(B, C, H, W)`` where a kernel says so); ``index`` is a ``(B,)`` int64 permutation on the batch's
device, sample ``i`` being mixed with sample ``index[i]``.

dtypes: float batches (float16, bfloat16, float32, float64) are mixed in their own dtype. uint8
batches are copied byte for byte where a kernel selects (:func:`select_images`,
:func:`cutmix_images`); :func:`mix_images` blends each chunk in float32 and rounds to the
nearest integer, so no float copy of the whole batch is made.

Speed: mixing is memory traffic, and each output element is written once. On the CPU a batch
of large samples (:data:`VIEW_BYTES` or more each) is mixed sample by sample straight from the
partner's view, with no gathered copy; otherwise the partners are gathered with one
``index_select`` into the new output, which is then blended in place (two kernels on a GPU). The
uint8 blend works on chunks of at most :data:`TEMP_BYTES` of float32 temporaries. A batch that
requires grad (features inside a model) is mixed by differentiable out-of-place ops.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

#: On the CPU, samples of at least this many bytes are blended one by one from views of their
#: partners (measured faster than gathering first from about 64 KiB, e.g. 3x96x96 float32).
VIEW_BYTES = 1 << 16
#: Bytes of float32 temporaries per chunk when uint8 samples are blended.
TEMP_BYTES = 1 << 24

#: ``combine(own, partner, rows, out)`` mixes ``own`` (the batch's rows ``rows``) with ``partner``
#: into ``out`` (or a new tensor when ``out`` is None); ``out`` may be ``partner`` itself.
Combine = Callable[[torch.Tensor, torch.Tensor, slice, "torch.Tensor | None"], torch.Tensor]


def _pairwise(batch: torch.Tensor, index: torch.Tensor, combine: Combine, temp_bytes_per_element: int = 0) -> torch.Tensor:
    """Run ``combine`` over the batch and its partners ``batch[index]`` (see the module's Speed note).

    ``temp_bytes_per_element`` > 0 means ``combine`` cannot write into the gathered partners
    (it needs float temporaries of that many bytes per element), so the batch goes in chunks.
    """
    size = len(batch)
    if batch.requires_grad and torch.is_grad_enabled():
        return combine(batch, batch.index_select(0, index), slice(0, size), None)
    if batch.device.type == "cpu" and batch[0].numel() * batch.element_size() >= VIEW_BYTES:
        out = torch.empty_like(batch)
        for i, j in enumerate(index.tolist()):
            combine(batch[i : i + 1], batch[j : j + 1], slice(i, i + 1), out[i : i + 1])
        return out
    if not temp_bytes_per_element:
        gathered = batch.index_select(0, index)
        return combine(batch, gathered, slice(0, size), gathered)
    step = max(1, TEMP_BYTES // (batch[0].numel() * temp_bytes_per_element))
    out = torch.empty_like(batch)
    for start in range(0, size, step):
        rows = slice(start, start + step)
        combine(batch[rows], batch.index_select(0, index[rows]), rows, out[rows])
    return out


def _as_weight(lam: float | torch.Tensor, batch: torch.Tensor, dtype: torch.dtype) -> float | torch.Tensor:
    """``lam`` as ``torch.lerp`` takes it: a float, or a tensor in ``dtype`` on the batch's device.

    A 1-D tensor holds one weight per sample and is shaped ``(B, 1, ..., 1)``; any other tensor
    is broadcast against one sample.
    """
    if not isinstance(lam, torch.Tensor):
        return float(lam)
    weight = lam.to(device=batch.device, dtype=dtype)
    if weight.ndim == 1:
        weight = weight.reshape(-1, *([1] * (batch.ndim - 1)))
    return weight


def mix_images(batch: torch.Tensor, index: torch.Tensor, lam: float | torch.Tensor) -> torch.Tensor:
    """MixUp: ``lam * batch + (1 - lam) * batch[index]``, each output element made by one ``torch.lerp``.

    Args:
        batch: ``(B, ...)`` float or uint8 tensor.
        index: ``(B,)`` int64 permutation on the batch's device.
        lam: The weight of each sample's own values: a float, a ``(B,)`` tensor (one per sample),
            or a tensor broadcastable to one sample (a weight per position, as PatchUp's).

    Returns:
        A new tensor of the batch's shape, dtype and device (uint8 rounded to nearest).
    """
    per_sample = isinstance(lam, torch.Tensor) and lam.ndim == 1
    if batch.is_floating_point():
        weight = _as_weight(lam, batch, batch.dtype)

        def combine(own: torch.Tensor, partner: torch.Tensor, rows: slice, out: torch.Tensor | None) -> torch.Tensor:
            return torch.lerp(partner, own, weight[rows] if per_sample else weight, out=out)

        return _pairwise(batch, index, combine)
    weight = _as_weight(lam, batch, torch.float32)

    def combine_rounded(own: torch.Tensor, partner: torch.Tensor, rows: slice, out: torch.Tensor | None) -> torch.Tensor:
        mixed = torch.lerp(partner.float(), own.float(), weight[rows] if per_sample else weight).round_()
        return out.copy_(mixed)  # uint8 never requires grad, so ``out`` is always given

    return _pairwise(batch, index, combine_rounded, 12)  # two float32 copies and their blend


def select_images(batch: torch.Tensor, index: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """FMix / PatchUp "hard": each sample's own values where ``keep``, its partner's elsewhere.

    Args:
        batch: ``(B, ...)`` tensor of any dtype.
        index: ``(B,)`` int64 permutation on the batch's device.
        keep: bool tensor broadcastable to one sample (``(H, W)`` or ``(C, H, W)`` for images).

    Returns:
        A new tensor of the batch's shape and dtype; values are copied, never blended.
    """
    keep = keep.to(batch.device)

    def combine(own: torch.Tensor, partner: torch.Tensor, rows: slice, out: torch.Tensor | None) -> torch.Tensor:
        return torch.where(keep, own, partner, out=out)

    return _pairwise(batch, index, combine)


def cutmix_images(batch: torch.Tensor, index: torch.Tensor, box: tuple[int, int, int, int]) -> torch.Tensor:
    """CutMix: a copy of the ``(B, C, H, W)`` batch with ``box`` filled from each sample's partner.

    One plain copy of the batch, then one ``index_select`` of the partners' rectangles written
    straight into the copy's rectangle (no gathered temporary; autograd gets one instead).

    Args:
        batch: ``(B, C, H, W)`` tensor of any dtype.
        index: ``(B,)`` int64 permutation on the batch's device.
        box: Pixel ``(x_min, y_min, x_max, y_max)``, half-open, inside the image.
    """
    x_min, y_min, x_max, y_max = box
    out = batch.clone()
    if x_max > x_min and y_max > y_min:
        source, target = batch[:, :, y_min:y_max, x_min:x_max], out[:, :, y_min:y_max, x_min:x_max]
        if batch.requires_grad and torch.is_grad_enabled():
            target.copy_(source.index_select(0, index))
        else:
            torch.index_select(source, 0, index, out=target)
    return out


def cutmix_box(image_hw: tuple[int, int], lam: float, centre_yx: tuple[int, int]) -> tuple[tuple[int, int, int, int], float]:
    """CutMix's rectangle around ``centre_yx`` and the ``lam`` it leaves after clipping.

    The unclipped box has sides ``int(H * sqrt(1 - lam))`` by ``int(W * sqrt(1 - lam))``; clipped
    to the image it may cover less, so ``lam`` is recomputed as the uncovered share of the
    image, as the CutMix paper does.

    Returns:
        ``((x_min, y_min, x_max, y_max), lam)`` with the box in pixels, half-open.
    """
    height, width = image_hw
    scale = math.sqrt(1.0 - lam)
    cut_h, cut_w = int(height * scale), int(width * scale)
    top, left = centre_yx[0] - cut_h // 2, centre_yx[1] - cut_w // 2
    y_min, y_max = max(top, 0), min(top + cut_h, height)
    x_min, x_max = max(left, 0), min(left + cut_w, width)
    covered = max(y_max - y_min, 0) * max(x_max - x_min, 0)
    return (x_min, y_min, x_max, y_max), 1.0 - covered / (height * width)


def fourier_amplitudes(image_hw: tuple[int, int], decay_power: float) -> torch.Tensor:
    """FMix's spectrum scale: ``1 / max(f, 1 / max(H, W)) ** decay_power`` over the rfft2 grid.

    ``f`` is each frequency's magnitude in cycles per pixel; the floor keeps the zero
    frequency finite. A larger ``decay_power`` favours low frequencies: smoother, blobbier masks.
    Computed relative to the floor (the peak is 1): the mask's top-k does not depend on the
    scale, and ``max(H, W) ** decay_power`` would overflow float32 for a large ``decay_power``
    (NaN noise, and a mask of whole rows).

    Returns:
        ``(H, W // 2 + 1)`` float32 tensor.
    """
    height, width = image_hw
    fy = torch.fft.fftfreq(height, dtype=torch.float64)[:, None]
    fx = torch.fft.rfftfreq(width, dtype=torch.float64)[None, :]
    frequency = torch.sqrt(fy**2 + fx**2).clamp_min(1.0 / max(height, width))
    return (frequency * max(height, width)).pow(-decay_power).float()


def top_k_mask(noise: torch.Tensor, lam: float) -> tuple[torch.Tensor, float]:
    """FMix's binarisation: True at the ``round(lam * N)`` largest values of ``noise``.

    A top-k rather than a threshold makes the mask's mean exactly the returned ``lam``
    (``lam`` rounded to a whole number of pixels).

    Returns:
        ``(mask, lam)``: a bool tensor of ``noise``'s shape and its mean.
    """
    count = noise.numel()
    keep = min(count, math.floor(lam * count + 0.5))
    mask = torch.zeros(count, dtype=torch.bool, device=noise.device)
    mask[torch.topk(noise.flatten(), keep, sorted=False).indices] = True
    return mask.reshape(noise.shape), keep / count


def block_keep_mask(seeds: torch.Tensor, block_size: int) -> torch.Tensor:
    """PatchUp's mask: False inside every ``block_size`` square whose top-left corner is a seed.

    Args:
        seeds: ``(C, H - b + 1, W - b + 1)`` bool, True at blocks' top-left corners.
        block_size: The side ``b`` of a block; every block lies inside the ``(H, W)`` map.

    Returns:
        ``(C, H, W)`` bool, True where features keep their own values.
    """
    reach = block_size - 1
    padded = F.pad(seeds[None].float(), (reach, reach, reach, reach))
    holes = F.max_pool2d(padded, block_size, stride=1)[0]
    return holes == 0
