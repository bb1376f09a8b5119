"""Soft targets for mixed batches: labels to (smoothed) one-hot rows, mixed rows, and their loss.

Labels come as ``(B,)`` integer class indices (``num_classes`` then says how wide the one-hot
rows are) or as ``(B, K)`` float targets (one-hot, soft or multi-label), used as given. Label
smoothing follows ``nn.CrossEntropyLoss``: ``eps / K`` everywhere plus ``1 - eps`` on the class.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F


def check_labels(labels: object, batch_size: int, num_classes: int | None, owner: str) -> None:
    """Raise early unless ``labels`` are ``batch_size`` class indices in range or ``(B, K)`` float targets.

    Args:
        labels: ``(B,)`` integer class indices in ``[0, num_classes)``, or ``(B, K)`` float targets.
        batch_size: ``B``, the number of images the labels must match.
        num_classes: ``K``; required for class indices, checked against ``(B, K)`` targets.
        owner: The caller's name, for messages.
    """
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"{owner}: expected labels as a torch.Tensor, got {type(labels).__name__}")
    if labels.ndim not in (1, 2):
        raise ValueError(f"{owner}: expected labels of shape (B,) class indices or (B, K) targets, got shape {tuple(labels.shape)}")
    if len(labels) != batch_size:
        raise ValueError(f"{owner}: expected {batch_size} labels (one per image), got {len(labels)}")
    if labels.ndim == 2:
        if not labels.is_floating_point():
            raise TypeError(f"{owner}: expected (B, K) targets of a float dtype, got {labels.dtype}")
        if labels.shape[1] == 0 or (num_classes is not None and labels.shape[1] != num_classes):
            expected = "at least one column" if num_classes is None else f"num_classes={num_classes} columns"
            raise ValueError(f"{owner}: expected targets with {expected}, got shape {tuple(labels.shape)}")
        return
    if labels.dtype == torch.bool or labels.is_floating_point() or labels.is_complex():
        raise TypeError(f"{owner}: expected class indices of an integer dtype, got {labels.dtype}")
    if num_classes is None:
        raise ValueError(f"{owner}: num_classes is required when labels are class indices (shape {tuple(labels.shape)})")
    outside = (labels < 0) | (labels >= num_classes)
    if bool(outside.any()):
        position = int(outside.nonzero()[0, 0])
        raise ValueError(f"{owner}: expected labels in [0, {num_classes}), got {int(labels[position])} at position {position}")


def soft_targets(
    labels: torch.Tensor,
    num_classes: int | None = None,
    label_smoothing: float = 0.0,
    index: torch.Tensor | None = None,
    lam: float | torch.Tensor = 1.0,
) -> torch.Tensor:
    """New ``(B, K)`` targets on the labels' device: smoothed, then ``lam * y + (1 - lam) * y[index]``.

    Class indices become float32 rows built directly by two ``scatter_add_`` calls (no one-hot
    matrix is mixed); ``(B, K)`` float targets keep their dtype. Labels are assumed checked
    (:func:`check_labels`).

    Args:
        labels: ``(B,)`` class indices in ``[0, num_classes)`` or ``(B, K)`` float targets.
        num_classes: ``K`` for class indices.
        label_smoothing: ``eps`` in ``[0, 1)``.
        index: ``(B,)`` partners, or None for unmixed targets.
        lam: Each sample's own share: a float or one per sample ``(B,)``.
    """
    if index is not None:
        index = index.to(labels.device)
    if labels.ndim == 2:
        smoothed = labels * (1.0 - label_smoothing) + label_smoothing / labels.shape[1]
        if index is None:
            return smoothed
        return torch.lerp(smoothed.index_select(0, index), smoothed, _column(lam, len(labels), smoothed))
    rows = torch.full((len(labels), num_classes), label_smoothing / num_classes, dtype=torch.float32, device=labels.device)
    classes = labels.long().unsqueeze(1)
    if index is None:
        return rows.scatter_add_(1, classes, torch.full_like(classes, 1.0 - label_smoothing, dtype=torch.float32))
    own = _column(lam, len(labels), rows)
    rows.scatter_add_(1, classes, own * (1.0 - label_smoothing))
    return rows.scatter_add_(1, classes.index_select(0, index), (1.0 - own) * (1.0 - label_smoothing))


def _column(lam: float | torch.Tensor, batch_size: int, like: torch.Tensor) -> torch.Tensor:
    """``lam`` as a ``(B, 1)`` tensor in ``like``'s dtype and device."""
    if isinstance(lam, torch.Tensor):
        return lam.to(device=like.device, dtype=like.dtype).reshape(batch_size, 1)
    return torch.full((batch_size, 1), float(lam), dtype=like.dtype, device=like.device)


def mixed_cross_entropy(
    logits: torch.Tensor, soft_targets: torch.Tensor, reduction: Literal["mean", "sum", "none"] = "mean"
) -> torch.Tensor:
    """Cross-entropy against soft targets: ``-sum(targets * log_softmax(logits))`` per sample.

    With MixUp's targets ``lam * y_a + (1 - lam) * y_b`` this equals
    ``lam * CE(logits, a) + (1 - lam) * CE(logits, b)``, the two-term form used with
    ``nn.CrossEntropyLoss``, in one pass.

    Args:
        logits: ``(B, K)`` float scores.
        soft_targets: ``(B, K)`` float targets, as the mixers return them.
        reduction: ``"mean"`` over the batch (default), ``"sum"``, or ``"none"`` for ``(B,)``.
    """
    for name, tensor in (("logits", logits), ("soft_targets", soft_targets)):
        if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point():
            kind = tensor.dtype if isinstance(tensor, torch.Tensor) else type(tensor).__name__
            raise TypeError(f"mixed_cross_entropy: expected {name} as a float tensor, got {kind}")
    if logits.ndim != 2 or logits.shape != soft_targets.shape:
        raise ValueError(
            f"mixed_cross_entropy: expected logits and soft_targets of one (B, K) shape, "
            f"got {tuple(logits.shape)} and {tuple(soft_targets.shape)}"
        )
    if logits.device != soft_targets.device:
        raise ValueError(
            f"mixed_cross_entropy: logits on {logits.device} but soft_targets on {soft_targets.device} "
            "(the mixers return targets on the labels' device: move the labels to the model's device first)"
        )
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"mixed_cross_entropy: expected reduction 'mean', 'sum' or 'none', got {reduction!r}")
    losses = -(soft_targets * F.log_softmax(logits, dim=1)).sum(dim=1)
    if reduction == "none":
        return losses
    return losses.mean() if reduction == "mean" else losses.sum()
