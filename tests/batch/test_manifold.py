"""ManifoldMixup: the output is the model with the recorded layer mixed, and hooks never outlive a call."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from detmix.batch import ManifoldMixup  # noqa: E402
from tests.batch.helpers import check_untouched, global_rngs_untouched, images, targets_reference  # noqa: E402

CLASSES = 3
LABELS = torch.tensor([0, 1, 2, 1, 0, 2])
LAYERS = ["input", "0", "1", "2"]


def make_model() -> nn.Sequential:
    torch.manual_seed(0)  # parameters only, before any RNG check
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 3), nn.Flatten(), nn.Linear(2 * 4 * 4, CLASSES))


def hooks_left(model: nn.Module) -> int:
    return sum(len(module._forward_hooks) for module in model.modules())


def manual(model: nn.Sequential, x: torch.Tensor, layer: str, lam: float, index: torch.Tensor) -> torch.Tensor:
    """The model run by hand, mixing after ``layer``."""
    h = lam * x + (1 - lam) * x[index] if layer == "input" else x
    for name, module in model.named_children():
        h = module(h)
        if name == layer:
            h = lam * h + (1 - lam) * h[index]
    return h


def test_output_equals_a_manual_recomputation_at_the_recorded_layer() -> None:
    model = make_model()
    wrapper = ManifoldMixup(model, LAYERS, alpha=2.0, generator=torch.Generator().manual_seed(0))
    x = images((6, 3, 8, 8))
    seen = set()
    for _ in range(12):
        output, targets = check_untouched(lambda x, labels: wrapper(x, labels, num_classes=CLASSES), x, LABELS)
        draw = wrapper.last
        seen.add(draw.layer)
        torch.testing.assert_close(output, manual(model, x, draw.layer, draw.lam, draw.index))
        torch.testing.assert_close(targets.double(), targets_reference(LABELS, CLASSES, draw.index, draw.lam))
        assert hooks_left(model) == 0
    assert seen == set(LAYERS), "every listed layer should be drawn sometimes"


def test_gradients_flow_through_the_mixed_layer() -> None:
    model = make_model()
    output, _ = ManifoldMixup(model, ["1"], generator=torch.Generator().manual_seed(1))(images((6, 3, 8, 8)), LABELS, CLASSES)
    output.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_eval_mode_is_the_plain_model_and_draws_nothing() -> None:
    model = make_model().eval()
    generator = torch.Generator().manual_seed(2)
    wrapper = ManifoldMixup(model, LAYERS, generator=generator)
    state, x = generator.get_state(), images((6, 3, 8, 8))
    output, targets = wrapper(x, LABELS, num_classes=CLASSES)
    assert torch.equal(output, model(x)) and wrapper.last is None
    assert torch.equal(targets, nn.functional.one_hot(LABELS, CLASSES).float())
    assert torch.equal(generator.get_state(), state)


def test_seeded_wrapper_replays_and_global_rngs_stay_put() -> None:
    model, x = make_model(), images((6, 3, 8, 8))
    with global_rngs_untouched():
        runs = []
        for _ in range(2):
            wrapper = ManifoldMixup(model, LAYERS, generator=torch.Generator().manual_seed(3))
            runs.append([(wrapper(x, LABELS, CLASSES)[0], wrapper.last.layer) for _ in range(4)])
    assert all(torch.equal(a[0], b[0]) and a[1] == b[1] for a, b in zip(*runs))


class Boom(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise ValueError("boom")


def test_hooks_are_removed_when_the_forward_raises() -> None:
    model = nn.Sequential(nn.Conv2d(3, 2, 1), Boom())
    with pytest.raises(ValueError, match="boom"):
        ManifoldMixup(model, ["0"], generator=torch.Generator().manual_seed(0))(images((2, 3, 4, 4)), LABELS[:2], CLASSES)
    assert hooks_left(model) == 0


class Twice(nn.Module):
    """One ReLU run twice in a forward, as torchvision's ResNet blocks do."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.relu = nn.Conv2d(3, 3, 1), nn.ReLU()
        self.unused = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv(self.relu(x)))


def test_a_module_run_twice_is_mixed_at_its_first_output_only() -> None:
    torch.manual_seed(0)
    model = Twice()
    wrapper = ManifoldMixup(model, ["relu"], generator=torch.Generator().manual_seed(4))
    x = images((4, 3, 5, 5)) - 0.5
    output, _ = wrapper(x, LABELS[:4], CLASSES)
    lam, index = wrapper.last.lam, wrapper.last.index
    h = torch.relu(x)
    h = lam * h + (1 - lam) * h[index]
    expected = torch.relu(model.conv(h))
    assert expected.count_nonzero() > expected.numel() // 4
    torch.testing.assert_close(output, expected)


def test_a_layer_that_does_not_run_is_an_error_and_leaves_no_hook() -> None:
    model = Twice()
    with pytest.raises(RuntimeError, match="ManifoldMixup: layer 'unused' did not run"):
        ManifoldMixup(model, ["unused"])(images((2, 3, 4, 4)), LABELS[:2], CLASSES)
    assert hooks_left(model) == 0


class Pair(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x, x


def test_a_layer_without_a_batched_float_tensor_output_is_an_error() -> None:
    model = nn.Sequential(Pair())
    with pytest.raises(TypeError, match="ManifoldMixup: expected layer '0' to return a float tensor with 2 samples, got tuple"):
        ManifoldMixup(model, ["0"])(images((2, 3, 4, 4)), LABELS[:2], CLASSES)
    assert hooks_left(model) == 0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"model": "net"}, TypeError, "expected model as a torch.nn.Module, got str"),
        ({"layers": []}, TypeError, "expected layers as a non-empty sequence of module names"),
        ({"layers": ["0", 3]}, TypeError, "expected layers as a non-empty sequence"),
        ({"layers": ["9"]}, ValueError, r"layers \['9'\] are not submodules of the model"),
        ({"layers": [""]}, ValueError, r"layers \[''\] are not submodules"),
        ({"alpha": 0.0}, ValueError, "expected alpha > 0, got 0.0"),
        ({"generator": 0}, TypeError, "expected generator as a torch.Generator or None, got int"),
    ],
)
def test_construction_errors(kwargs: dict, error: type, match: str) -> None:
    arguments = {"model": make_model(), "layers": ["0"], **kwargs}
    with pytest.raises(error, match=f"ManifoldMixup: {match}"):
        ManifoldMixup(**arguments)


@pytest.mark.parametrize(
    ("x", "labels", "num_classes", "error", "match"),
    [
        ([[1.0]], LABELS, CLASSES, TypeError, "expected x as a batched torch.Tensor, got list"),
        (images((6, 3, 8, 8), torch.uint8), LABELS, CLASSES, TypeError, "expected x of a float dtype to mix at 'input', got torch.uint8"),
        (images((6, 3, 8, 8)), LABELS[:5], CLASSES, ValueError, r"expected 6 labels \(one per image\), got 5"),
        (images((6, 3, 8, 8)), LABELS, None, ValueError, "num_classes is required when labels are class indices"),
        (images((6, 3, 8, 8)), LABELS, 2, ValueError, r"expected labels in \[0, 2\), got 2 at position 2"),
    ],
)
def test_call_errors(x: object, labels: torch.Tensor, num_classes: int | None, error: type, match: str) -> None:
    model = make_model()
    with pytest.raises(error, match=f"ManifoldMixup: {match}"):
        ManifoldMixup(model, LAYERS)(x, labels, num_classes)
    assert hooks_left(model) == 0


def test_a_module_shared_under_two_names_answers_to_both() -> None:
    class Shared(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(4, 4)
            self.b = self.a  # the same module, registered twice

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.b(x)

    wrapper = ManifoldMixup(Shared(), ["b"], generator=torch.Generator().manual_seed(0))
    out, _ = wrapper(torch.rand(3, 4), torch.tensor([0, 1, 2]), num_classes=3)
    assert wrapper.last.layer == "b" and out.shape == (3, 4)
