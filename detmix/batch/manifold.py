"""Manifold Mixup (Verma et al. 2019): MixUp of a network's hidden features at a random layer.

Each training call picks one of the listed layers, runs the model with a forward hook that
replaces that layer's output by ``lam * h + (1 - lam) * h[index]``, and mixes the targets with
the same ``lam``. The hook lives only for that call: it is removed when the forward returns or
raises, so the model is never left altered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from detmix.batch.checks import check_generator, check_num_classes, check_positive
from detmix.batch.functional import mix_images
from detmix.batch.sampling import Draw, sample_beta, sample_integer, sample_permutation
from detmix.batch.targets import check_labels, soft_targets

#: The layer name that mixes the model's input itself (input MixUp).
INPUT = "input"


class ManifoldMixup:
    """``wrapper(x, labels, num_classes=None) -> (output, soft_targets)`` around ``model``.

    In training mode (``model.training``) one layer of ``layers`` is drawn uniformly per call, and
    ``lam ~ Beta(alpha, alpha)`` and a permutation of the batch with it; that layer's output (its
    first output, should the module run more than once in a forward) is mixed. In eval mode the
    call is the plain ``model(x)`` with unmixed targets, nothing is drawn and ``last`` is None.

    Args:
        model: The network; its forward takes the batch ``x`` alone.
        layers: Names from ``model.named_modules()``, or ``"input"`` to mix ``x`` itself. A
            listed layer must return a float tensor whose first dimension is the batch.
        alpha: Beta concentration, ``> 0`` (default 2.0, as in the paper).
        generator: The ``torch.Generator`` every draw comes from; None makes a fresh one.
    """

    def __init__(
        self, model: nn.Module, layers: str | Sequence[str], alpha: float = 2.0, generator: torch.Generator | None = None
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"ManifoldMixup: expected model as a torch.nn.Module, got {type(model).__name__}")
        names = [layers] if isinstance(layers, str) else layers
        if not isinstance(names, Sequence) or not names or not all(isinstance(name, str) for name in names):
            raise TypeError(f"ManifoldMixup: expected layers as a non-empty sequence of module names, got {layers!r}")
        modules = dict(model.named_modules(remove_duplicate=False))  # a module shared under two names answers to both
        unknown = [name for name in names if name != INPUT and (name == "" or name not in modules)]
        if unknown:
            known = [name for name in modules if name][:10]
            raise ValueError(f"ManifoldMixup: layers {unknown} are not submodules of the model (some of its names: {known}) nor 'input'")
        self.model = model
        self.layers = list(dict.fromkeys(names))
        self.alpha = check_positive(alpha, "ManifoldMixup", "alpha")
        self.generator = check_generator(generator, "ManifoldMixup")
        self.last: Draw | None = None
        self._modules = {name: modules[name] for name in self.layers if name != INPUT}

    def __call__(self, x: torch.Tensor, labels: torch.Tensor, num_classes: int | None = None) -> tuple[Any, torch.Tensor]:
        """Run the model on ``x``, mixing one listed layer in training mode.

        Args:
            x: The batch, ``(B, ...)``; a float tensor when ``"input"`` is among the layers.
            labels: ``(B,)`` class indices (``num_classes`` required) or ``(B, K)`` float targets.
            num_classes: Width of the soft targets for class-index labels.

        Returns:
            ``(output, soft_targets)``: the model's output and ``(B, K)`` float targets.
        """
        if not isinstance(x, torch.Tensor) or x.ndim == 0:
            raise TypeError(f"ManifoldMixup: expected x as a batched torch.Tensor, got {type(x).__name__} {getattr(x, 'shape', '')}")
        if INPUT in self.layers and not x.is_floating_point():
            raise TypeError(f"ManifoldMixup: expected x of a float dtype to mix at 'input', got {x.dtype}")
        num_classes = check_num_classes(num_classes, "ManifoldMixup")
        check_labels(labels, len(x), num_classes, "ManifoldMixup")
        if not self.model.training:
            self.last = None
            return self.model(x), soft_targets(labels, num_classes)
        layer = self.layers[sample_integer(len(self.layers), self.generator)]
        lam = sample_beta(self.alpha, self.generator)
        index = sample_permutation(len(x), self.generator, x.device)
        output = self.model(mix_images(x, index, lam)) if layer == INPUT else self._run_mixing(x, layer, index, lam)
        self.last = Draw(lam, index, layer=layer)
        return output, soft_targets(labels, num_classes, 0.0, index, lam)

    def _run_mixing(self, x: torch.Tensor, layer: str, index: torch.Tensor, lam: float) -> Any:
        """``model(x)`` with ``layer``'s first output mixed; the hook is gone when this returns or raises."""
        calls = 0

        def hook(module: nn.Module, inputs: Any, output: Any) -> torch.Tensor | None:
            nonlocal calls
            calls += 1
            if calls > 1:
                return None
            if not isinstance(output, torch.Tensor) or not output.is_floating_point() or output.ndim == 0 or len(output) != len(x):
                got = f"{output.dtype} tensor of shape {tuple(output.shape)}" if isinstance(output, torch.Tensor) else type(output).__name__
                raise TypeError(f"ManifoldMixup: expected layer {layer!r} to return a float tensor with {len(x)} samples, got {got}")
            return mix_images(output, index.to(output.device), lam)

        handle = self._modules[layer].register_forward_hook(hook)
        try:
            output = self.model(x)
        finally:
            handle.remove()
        if calls == 0:
            raise RuntimeError(f"ManifoldMixup: layer {layer!r} did not run in the model's forward, so nothing was mixed")
        return output

    def __repr__(self) -> str:
        return f"ManifoldMixup({type(self.model).__name__}, layers={self.layers}, alpha={self.alpha})"
