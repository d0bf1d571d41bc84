"""Device-correct code, tested without a GPU (issue 29, item 1).

Every public attribution function runs on CPU inputs while ``torch.set_default_device("meta")``
is in force. A tensor the library makes without naming its device then lands on ``meta``:
mixing it with the CPU inputs raises ("... is not on the expected device meta"), and reading
it (``.item()``, ``.tolist()``, ``.numpy()``) raises too. On a CUDA machine such a tensor would
be on the host, and one that meets the inputs would crash there. So passing here means: every
tensor either follows the inputs (``device=x.device``) or names the host (``device="cpu"``).
Each result must equal the one computed with the ordinary default device.

Memory budgets read the memory of the inputs' own device; the CUDA branch is tested by
monkeypatching ``torch.cuda.mem_get_info``.
"""
from __future__ import annotations

from typing import Any, Callable

import pytest
import torch
from torch import nn

import iglib
import iglib.checks.evaluation
import iglib.experiments.text
from iglib import memory
from iglib.forward import Score
from iglib.variants.integrated_hessians import top_interactions

torch.manual_seed(0)
MLP = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).double().eval()
SMOOTH = nn.Sequential(nn.Linear(4, 3), nn.Softplus(), nn.Linear(3, 2)).double().eval()
CONV = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 6 * 6, 2)).double().eval()
X = torch.randn(2, 4, dtype=torch.float64)
IMAGES = torch.rand(2, 1, 6, 6, dtype=torch.float64)


class WithArgument(nn.Module):
    """F(x, scale) = MLP(x * scale): a tensor in additional_forward_args, repeated with the points."""

    def forward(self, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        return MLP(x * scale[:, None])


class Text(nn.Module):
    """A bag of embeddings: the smallest model for embedding_integrated_gradients."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(5, 3).double()
        self.out = nn.Linear(3, 2).double()

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(self.embedding(ids)).sum(1))


TEXT = Text().eval()
IDS = torch.tensor([[1, 2, 3], [4, 0, 2]])
WITNESSES = iglib.axioms.paper_witnesses()  # the toy networks, made on the CPU


@pytest.fixture
def meta_default():
    """torch's default device set to ``meta`` for the test, and restored afterwards."""
    before = torch.get_default_device()
    torch.set_default_device("meta")
    try:
        yield
    finally:
        torch.set_default_device(before)


def _lime_tabular(**kw: Any):
    from iglib.methods.lime import lime_tabular

    return lime_tabular(MLP, X, target=0, n_samples=20, seed=0, **kw)


def _lime_image():
    from iglib.methods.lime import lime_image

    segments = torch.arange(36, device="cpu").reshape(6, 6) // 9
    return lime_image(CONV, IMAGES, segments, target=1, n_samples=16, seed=0).weights


def _global_surrogate(kind: str):
    from iglib.methods.surrogate import global_surrogate

    return global_surrogate(MLP, X, target=1, kind=kind, n_samples=50, seed=0)


def _line(alphas: torch.Tensor) -> torch.Tensor:
    """A curved path from 0 to X, made on the alphas' device."""
    a = alphas.reshape(-1, 1, 1).to(X.dtype)
    return a**2 * X


# Every public function that computes attributions (or feeds them): name -> call.
CALLS: dict[str, Callable[[], Any]] = {
    "integrated_gradients": lambda: iglib.integrated_gradients(MLP, X, target=0, n_steps=8, return_convergence_delta=True),
    "integrated_gradients riemann_trapezoid": lambda: iglib.integrated_gradients(
        MLP, X, target=[0, 1], n_steps=8, method="riemann_trapezoid"),
    "integrated_gradients target tensor": lambda: iglib.integrated_gradients(MLP, X, target=torch.tensor([1, 0], device="cpu"), n_steps=4),
    "integrated_gradients tuple target": lambda: iglib.integrated_gradients(MLP, X, target=(1,), n_steps=4),
    "integrated_gradients internal_batch_size=1": lambda: iglib.integrated_gradients(
        MLP, X, target=0, n_steps=5, internal_batch_size=1),
    "integrated_gradients internal_batch_size=auto": lambda: iglib.integrated_gradients(
        MLP, X, target=0, n_steps=5, internal_batch_size="auto"),
    "integrated_gradients additional_forward_args": lambda: iglib.integrated_gradients(
        WithArgument().eval(), X, target=0, n_steps=4, additional_forward_args=torch.tensor([1.0, 2.0], dtype=torch.float64,
                                                                                   device="cpu")),
    "integrated_gradients baselines": lambda: iglib.integrated_gradients(MLP, X, baselines=0.5, target=0, n_steps=4),
    "adaptive_integrated_gradients": lambda: iglib.adaptive_integrated_gradients(
        MLP, X, target=0, n_steps=15, return_convergence_delta=True),
    "interior_gradients": lambda: iglib.interior_gradients(MLP, X, target=0, n_steps=6).integrated_gradients(),
    "path_integrated_gradients (callable)": lambda: iglib.path_integrated_gradients(MLP, X, _line, target=0, n_steps=6),
    "path_integrated_gradients (points)": lambda: iglib.path_integrated_gradients(
        MLP, X, iglib.axis_parallel_path(None, X, [2, 0, 3, 1]), target=0, n_steps=4),
    "axis_parallel_path": lambda: iglib.axis_parallel_path(0.5, X, [3, 1, 0, 2]),
    "straight_line": lambda: iglib.straight_line(None, X)(torch.linspace(0, 1, 3, device="cpu")),
    "shapley_values": lambda: iglib.shapley_values(MLP, X, target=0),
    "exact_integrated_gradients": lambda: iglib.exact_integrated_gradients(MLP, X, target=0, return_convergence_delta=True),
    "exact_integrated_gradients internal_batch_size": lambda: iglib.exact_integrated_gradients(
        MLP, X, target=1, internal_batch_size=1),
    "breakpoints": lambda: iglib.breakpoints(MLP, X, target=0),
    "guided_integrated_gradients": lambda: iglib.guided_integrated_gradients(
        MLP, X, target=0, n_steps=6, return_convergence_delta=True),
    "blur_integrated_gradients": lambda: iglib.blur_integrated_gradients(
        CONV, IMAGES, target=1, max_sigma=3.0, n_steps=4, return_convergence_delta=True),
    "blur_integrated_gradients grad_step": lambda: iglib.blur_integrated_gradients(
        CONV, IMAGES, target=1, max_sigma=3.0, n_steps=4, grad_step=0.01),
    "integrated_hessians": lambda: iglib.integrated_hessians(SMOOTH, X, target=0, n_steps=4, return_convergence_delta=True),
    "top_interactions": lambda: torch.tensor(
        top_interactions(iglib.integrated_hessians(SMOOTH, X[:1], target=0, n_steps=4)[0], k=3), device="cpu"),
    "gradient": lambda: iglib.gradient(MLP, X, target=0),
    "gradient_x_input": lambda: iglib.gradient_x_input(MLP, X, target=0),
    "deconvnet": lambda: iglib.deconvnet(MLP, X, target=0),
    "guided_backprop": lambda: iglib.guided_backprop(MLP, X, target=0),
    "deeplift": lambda: iglib.deeplift(MLP, X, target=0),
    "lrp": lambda: iglib.lrp(MLP, X, target=0),
    "smoothgrad": lambda: iglib.smoothgrad(MLP, X, target=0, n_samples=4, seed=0),
    "smoothgrad stdev": lambda: iglib.smoothgrad(MLP, X, target=0, n_samples=4, stdev=0.1, seed=0),
    "expected_gradients": lambda: iglib.expected_gradients(MLP, X, baselines=torch.zeros(3, 4, dtype=torch.float64,
                                                                                        device="cpu"),
                                                           target=0, n_samples=4, seed=0),
    "expected_gradients one reference": lambda: iglib.expected_gradients(MLP, X, target=0, n_samples=4, seed=0),
    "embedding_integrated_gradients": lambda: iglib.experiments.text.embedding_integrated_gradients(
        TEXT, TEXT.embedding, IDS, target=0, n_steps=4, return_convergence_delta=True),
    "lime_tabular": lambda: _lime_tabular(return_fit=False),
    "lime_image": _lime_image,
    "global_surrogate linear": lambda: _global_surrogate("linear"),
    "global_surrogate tree": lambda: _global_surrogate("tree"),
    "deletion_curve": lambda: iglib.checks.evaluation.deletion_curve(MLP, X, X.abs(), target=0, n_points=2).area(),
    "insertion_curve": lambda: iglib.checks.evaluation.insertion_curve(MLP, X, X.abs(), target=0, n_points=2).area(),
    "random_attributions": lambda: iglib.checks.evaluation.random_attributions(X, seed=3),
    "baselines": lambda: [f(IMAGES) for f in (lambda x: iglib.baselines.uniform_noise(x, 0, 1, seed=2),
                                              lambda x: iglib.baselines.gaussian_noise(x, 0.1, 0, 1, seed=2),
                                              lambda x: iglib.baselines.blurred(x, sigma=1.0),
                                              lambda x: iglib.baselines.maximum_distance(x, 0, 1))],
    "axiom_table": lambda: torch.tensor([r.holds for r in iglib.axioms.axiom_table(
        {"IG": iglib.integrated_gradients, "gradient": iglib.gradient, "guided IG": iglib.guided_integrated_gradients},
        WITNESSES).results], device="cpu"),
}


def _flat(result: Any) -> list[torch.Tensor]:
    if isinstance(result, torch.Tensor):
        return [result]
    if isinstance(result, (tuple, list)):
        return [t for r in result for t in _flat(r)]
    raise TypeError(f"unexpected result {type(result).__name__}")


@pytest.mark.parametrize("name", list(CALLS))
def test_no_tensor_made_on_the_default_device(name: str, meta_default) -> None:
    torch.set_default_device("cpu")
    expected = _flat(CALLS[name]())
    torch.set_default_device("meta")
    got = _flat(CALLS[name]())
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.device == e.device == torch.device("cpu"), name
        torch.testing.assert_close(g, e)


def test_every_public_attribution_function_is_covered() -> None:
    """The table above names every attribution function iglib exports."""
    attribution = {name for name in iglib.__all__ if callable(getattr(iglib, name, None))
                   and not isinstance(getattr(iglib, name), type(iglib))}
    covered = {name.split(" ")[0] for name in CALLS}
    assert attribution - covered == set(), attribution - covered


def test_the_probe_catches_a_tensor_made_without_a_device(meta_default) -> None:
    """The check itself: under the fixture a tensor made without a device is on meta, and
    mixing it with a CPU input raises, as a host tensor would with a CUDA input."""
    host = torch.zeros(2, 1, dtype=torch.bool)
    assert host.device.type == "meta"
    with pytest.raises((RuntimeError, NotImplementedError)):
        host |= torch.ones(2, 1, dtype=torch.bool, device="cpu") > 0
        host.tolist()


def test_the_fixture_restores_the_default_device() -> None:
    assert torch.empty(1).device == torch.device("cpu")


# ---------------------------------------------------------------- memory budgets
GIB = 2**30


def test_budget_reads_the_free_memory_of_a_cuda_device(monkeypatch) -> None:
    asked = []

    def mem_get_info(device=None):
        asked.append(device)
        return 3 * GIB, 80 * GIB

    monkeypatch.setattr(torch.cuda, "mem_get_info", mem_get_info)
    cuda = torch.device("cuda", 1)
    assert memory.device_budget(cuda) == int(3 * GIB * memory.CUDA_SHARE)
    assert asked == [cuda]


def test_check_fits_refuses_what_the_cuda_device_cannot_hold(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (1 * GIB, 80 * GIB))
    memory.check_fits(0.5 * GIB, "a small job", device=torch.device("cuda"))
    with pytest.raises(ValueError, match=r"needs at least 2 GiB.*free on cuda"):
        memory.check_fits(2 * GIB, "a large job", device=torch.device("cuda"))


def test_cpu_budget_does_not_ask_cuda(monkeypatch) -> None:
    def mem_get_info(device=None):
        raise AssertionError("the CPU budget asked CUDA")

    monkeypatch.setattr(torch.cuda, "mem_get_info", mem_get_info)
    assert memory.device_budget(torch.device("cpu")) > 0
    memory.check_fits(1, "one byte", device=torch.device("cpu"))


def test_check_fits_needs_the_device() -> None:
    """No default: a call site that forgets the device cannot budget against host RAM by accident."""
    with pytest.raises(TypeError):
        memory.check_fits(1, "one byte")  # type: ignore[call-arg]


def test_the_score_budgets_on_the_inputs_device(monkeypatch) -> None:
    """Every budget in the attribution functions is read for the inputs' device."""
    seen = []
    real = memory.device_budget
    monkeypatch.setattr(memory, "device_budget", lambda device: seen.append(device) or real(device))
    iglib.integrated_gradients(MLP, X, target=0, n_steps=4)
    iglib.integrated_hessians(SMOOTH, X, target=0, n_steps=2)
    iglib.interior_gradients(MLP, X, target=0, n_steps=2)
    iglib.smoothgrad(MLP, X, target=0, n_samples=2, seed=0)
    iglib.expected_gradients(MLP, X, target=0, n_samples=2, seed=0)
    assert seen and all(isinstance(d, torch.device) and d == X.device for d in seen)


def test_score_carries_the_device() -> None:
    from iglib.forward import prepare

    F, x, _ = prepare(MLP, X, None, 0)
    assert isinstance(F, Score) and F.device == x.device
    assert F.example(1).device == F.with_model(MLP).device == x.device
