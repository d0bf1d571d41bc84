"""Every public attribution function against the classes of bad input a fuzz found (issue 15).

Each row of ``CASES`` is one class of bad input; each entry of ``FUNCTIONS`` calls one public
function the same way. The test asserts the error type and that the message names the argument
(and, where it matters, quotes the user's batch rather than steps x batch). Per-example tuple
targets (Captum's convention) must give every method the same result as int targets on a
flattened output, and IG must match Captum on them.
"""
from __future__ import annotations

import functools
import re
import shutil
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pytest
import torch
from torch import nn
from torch.autograd.function import once_differentiable

import iglib
import iglib.experiments.text
from iglib.checks import (
    axioms,
    evaluation,  # noqa: F401  (iglib.checks.evaluation)
)
from iglib.forward import auto_batch_size
from iglib.methods.lime import lime_image, lime_tabular
from iglib.methods.surrogate import global_surrogate
from iglib.variants.integrated_hessians import top_interactions

N = 2
SHAPE = (N, 1, 2, 3)  # images of 1 x 2 x 3, so that lime_image applies too


class Net(nn.Module):
    """Flatten -> Linear -> ReLU -> Linear: 6 features, ``outputs`` classes (piecewise linear, for exact IG)."""

    def __init__(self, outputs: int = 3, dropout: bool = False):
        super().__init__()
        torch.manual_seed(0)
        layers = [nn.Flatten(), nn.Linear(6, 8), nn.ReLU()] + ([nn.Dropout(0.5)] if dropout else []) + [nn.Linear(8, outputs)]
        self.body = nn.Sequential(*layers)
        self.eval()

    def forward(self, x):
        return self.body(x)


class Grid(Net):
    """An output [N, 3, 2] per example: targets are tuples (i, j)."""

    def __init__(self):
        super().__init__(outputs=6)

    def forward(self, x):
        return self.body(x).reshape(-1, 3, 2)


class Scaled(Net):
    """Takes an additional argument: one scale per example."""

    def forward(self, x, scale):
        return self.body(x) * scale[:, None]


class LogSum(nn.Module):
    """log(sum x): -inf at the zero baseline."""

    def forward(self, x):
        return torch.log(x.flatten(1).sum(1, keepdim=True).clamp(min=0)).expand(-1, 3)


def _inputs() -> torch.Tensor:
    return torch.rand(SHAPE) + 0.5


def _seg() -> torch.Tensor:
    return torch.arange(6).reshape(2, 3)


# Each public function called the common way: f(model, inputs, baselines=, target=, additional_forward_args=, **extra).
def _path_ig(model, inputs, baselines=None, n_steps=4, **kw):
    return iglib.path_integrated_gradients(model, inputs, iglib.straight_line(baselines, inputs), n_steps=n_steps, **kw)


def _lime_image(model, inputs, n_samples=20, **kw):
    return lime_image(model, inputs, _seg(), n_samples=n_samples, seed=0, **kw)


def _axiom(check, model, inputs, baselines=None, target=None, additional_forward_args=None, **kw):
    return check(iglib.gradient_x_input, model, inputs, baselines, target=target, **kw)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "integrated_gradients": functools.partial(iglib.integrated_gradients, n_steps=4),
    "adaptive_integrated_gradients": functools.partial(iglib.adaptive_integrated_gradients, n_steps=9),
    "interior_gradients": functools.partial(iglib.interior_gradients, n_steps=4),
    "path_integrated_gradients": _path_ig,
    "guided_integrated_gradients": functools.partial(iglib.guided_integrated_gradients, n_steps=4),
    "blur_integrated_gradients": functools.partial(iglib.blur_integrated_gradients, n_steps=4, max_sigma=1.0),
    "integrated_hessians": functools.partial(iglib.integrated_hessians, n_steps=4),
    "shapley_values": iglib.shapley_values,
    "exact_integrated_gradients": iglib.exact_integrated_gradients,
    "breakpoints": iglib.breakpoints,
    "gradient": iglib.gradient,
    "gradient_x_input": iglib.gradient_x_input,
    "deconvnet": iglib.deconvnet,
    "guided_backprop": iglib.guided_backprop,
    "deeplift": iglib.deeplift,
    "lrp": iglib.lrp,
    "smoothgrad": functools.partial(iglib.smoothgrad, n_samples=3, seed=0),
    "expected_gradients": functools.partial(iglib.expected_gradients, n_samples=3, seed=0),
    "lime_tabular": functools.partial(lime_tabular, n_samples=20, seed=0),
    "lime_image": _lime_image,
    "global_surrogate": functools.partial(global_surrogate, n_samples=30),
    "completeness": functools.partial(_axiom, axioms.completeness),
    "sensitivity_b": functools.partial(_axiom, axioms.sensitivity_b, dummy=0),
}
PER_EXAMPLE = set(FUNCTIONS) - {"global_surrogate"}  # a global surrogate explains one class for all inputs
USES_BASELINE = set(FUNCTIONS) - {"gradient", "deconvnet", "guided_backprop", "lrp", "smoothgrad", "expected_gradients",
                                  "blur_integrated_gradients"}  # Blur IG's baseline is the most blurred image
HAS_STEPS = {"integrated_gradients": "n_steps", "interior_gradients": "n_steps", "path_integrated_gradients": "n_steps",
             "adaptive_integrated_gradients": "n_steps", "smoothgrad": "n_samples", "expected_gradients": "n_samples",
             "lime_tabular": "n_samples", "lime_image": "n_samples", "guided_integrated_gradients": "n_steps",
             "blur_integrated_gradients": "n_steps", "integrated_hessians": "n_steps"}


@dataclass
class Case:
    """One class of bad input: keyword changes to the call, the model, the error and the argument it names."""

    name: str
    error: type
    names: str  # a regex the message must match (the argument's name, what was passed)
    model: Callable[[], Any] = Net
    inputs: Callable[[], Any] = _inputs
    call: dict = field(default_factory=dict)
    only: set | None = None  # the functions it applies to (None: all)


CASES = [
    Case("float target", TypeError, r"target.*1\.7", call=dict(target=torch.tensor(1.7))),
    Case("bool target tensor", TypeError, r"target.*bool", call=dict(target=torch.tensor(True))),
    Case("bool target", TypeError, r"target.*bool", call=dict(target=True)),
    Case("float target in a list", TypeError, r"target.*0\.5", call=dict(target=[0, 0.5])),
    Case("target list longer than the batch", ValueError, rf"target.*one integer class per example \({N} examples",
         call=dict(target=[0, 1, 2])),
    Case("int list on a multi-dimensional output", ValueError, r"target.*tuple", model=Grid, call=dict(target=[1, 1])),
    Case("int on a multi-dimensional output", ValueError, r"target.*tuple", model=Grid, call=dict(target=1)),
    Case("int target out of range", ValueError, r"target 3 is out of range", call=dict(target=3)),
    Case("target out of range", ValueError, r"target.*out of range", call=dict(target=[0, 3]), only=PER_EXAMPLE),
    Case("tuple out of range", ValueError, r"target.*out of range", model=Grid, call=dict(target=[(0, 0), (3, 0)]),
         only=PER_EXAMPLE),
    Case("inf inputs", ValueError, r"inputs must be finite.*\[1\]",
         inputs=lambda: torch.cat([torch.ones(1, 1, 2, 3), torch.full((1, 1, 2, 3), float("inf"))]), call=dict(target=0)),
    Case("nan inputs", ValueError, r"inputs must be finite", inputs=lambda: torch.full(SHAPE, float("nan")), call=dict(target=0)),
    Case("nan baselines", ValueError, r"baselines must be finite",
         call=dict(baselines=torch.full(SHAPE, float("nan")), target=0), only=USES_BASELINE | {"expected_gradients"}),
    Case("inf baseline number", ValueError, r"baselines must be finite", call=dict(baselines=float("-inf"), target=0),
         only=USES_BASELINE | {"expected_gradients"}),
    Case("baselines of another shape", ValueError, r"baselines has shape \(4,\)", call=dict(baselines=torch.zeros(4), target=0),
         only=USES_BASELINE - {"path_integrated_gradients"}),
    Case("F(x') = -inf", ValueError, r"not finite.*baselines", model=LogSum, call=dict(target=0),
         only=USES_BASELINE - {"gradient_x_input", "deeplift", "lime_image", "lime_tabular", "global_surrogate"}),
    Case("float64 inputs into a float32 model", TypeError, r"inputs are torch\.float64.*parameters are torch\.float32",
         inputs=lambda: torch.rand(SHAPE, dtype=torch.float64), call=dict(target=0)),
    Case("tuple of inputs", TypeError, r"inputs must be a single torch\.Tensor", inputs=lambda: (torch.rand(SHAPE),),
         call=dict(target=0)),
    Case("integer inputs", TypeError, r"inputs must have a floating-point dtype",
         inputs=lambda: torch.ones(SHAPE, dtype=torch.long), call=dict(target=0)),
    Case("not callable model", TypeError, r"model must be an nn\.Module or a callable", model=lambda: "net",
         call=dict(target=0)),
    Case("extra additional_forward_args", TypeError, r"additional_forward_args.*1 additional argument",
         call=dict(target=0, additional_forward_args=torch.ones(N)), only=set(FUNCTIONS) - {"completeness", "sensitivity_b"}),
    Case("additional_forward_args of another batch", ValueError, rf"additional_forward_args has shape \(3,\).*{N} examples",
         model=Scaled, call=dict(target=0, additional_forward_args=torch.ones(3)),
         only=set(FUNCTIONS) - {"completeness", "sensitivity_b"}),
    Case("n_steps that cannot fit", ValueError, r"(n_steps|n_samples)=1000000000.*GiB", call=dict(target=0, steps=10**9),
         # adaptive's n_steps is a budget, spent as needed; Guided IG takes its steps one after another
         only=set(HAS_STEPS) - {"adaptive_integrated_gradients", "guided_integrated_gradients"}),
    Case("n_steps not an int", TypeError, r"(n_steps|n_samples) must be an int", call=dict(target=0, steps=2.5),
         only=set(HAS_STEPS)),
    Case("internal_batch_size 0", ValueError, r"internal_batch_size must be >= 1", call=dict(target=0, internal_batch_size=0),
         only={"integrated_gradients", "adaptive_integrated_gradients", "interior_gradients", "path_integrated_gradients",
               "shapley_values", "exact_integrated_gradients", "smoothgrad", "expected_gradients", "lime_tabular",
               "lime_image", "guided_integrated_gradients", "blur_integrated_gradients", "integrated_hessians"}),
]



# ---------------------------------------------------------------- derivatives that cannot be trusted (issue 28)
class MaskedSqrt(Net):
    """F finite everywhere, but torch.where sends the unused sqrt branch's nan gradient back."""

    def forward(self, x):
        return self.body(torch.where(x > 100, torch.sqrt(x - 200), x))


class IntegerOutput(Net):
    def forward(self, x):
        return self.body(x).round().long()


class DetachedOutput(Net):
    def forward(self, x):
        return self.body(x).detach()


class NoGradInside(Net):
    def forward(self, x):
        with torch.no_grad():
            return self.body(x)


class InferenceModeInside(Net):
    def forward(self, x):
        with torch.inference_mode():
            return self.body(x).clone()


class InputDetachedInside(Net):
    def forward(self, x):
        return self.body(x.detach())


GRADIENT_BASED = {"integrated_gradients", "adaptive_integrated_gradients", "interior_gradients", "path_integrated_gradients",
                  "guided_integrated_gradients", "blur_integrated_gradients", "integrated_hessians", "gradient",
                  "gradient_x_input", "smoothgrad", "expected_gradients", "completeness"}
MANY_POINTS = GRADIENT_BASED - {"gradient", "gradient_x_input", "completeness", "guided_integrated_gradients"}
NOT_DIFFERENTIABLE = r"the model's output \(torch\.float32\) cannot be differentiated.*detaches it.*no_grad"

CASES += [
    Case("nan gradient of a masked branch", ValueError,
         r"dF/dx is not finite \(nan or inf\) at .*: example 0.*6 of its 6 features.*double where",
         model=MaskedSqrt, call=dict(target=0), only=GRADIENT_BASED),
    Case("integer model output", ValueError,
         r"the model's output \(torch\.int64\) cannot be differentiated.*an integer has no gradient",
         model=IntegerOutput, call=dict(target=0), only=GRADIENT_BASED | {"deconvnet", "guided_backprop"}),
    Case("detached model output", ValueError, NOT_DIFFERENTIABLE, model=DetachedOutput, call=dict(target=0),
         only=GRADIENT_BASED | {"exact_integrated_gradients", "deconvnet", "guided_backprop", "deeplift", "lrp"}),
    Case("no_grad inside the model", ValueError, NOT_DIFFERENTIABLE, model=NoGradInside, call=dict(target=0),
         only=GRADIENT_BASED | {"exact_integrated_gradients"}),
    Case("inference_mode inside the model", ValueError, NOT_DIFFERENTIABLE, model=InferenceModeInside,
         call=dict(target=0), only=GRADIENT_BASED),
    Case("input detached inside the model", ValueError, r"output changes between the points but has no gradient.*detaches",
         model=InputDetachedInside, call=dict(target=0), only=MANY_POINTS),
]

def _call(name: str, case: Case) -> Any:
    kw = dict(case.call)
    steps = kw.pop("steps", None)
    if steps is not None:
        kw[HAS_STEPS[name]] = steps
    return FUNCTIONS[name](case.model(), case.inputs(), **kw)


PAIRS = [(f, c) for c in CASES for f in FUNCTIONS if c.only is None or f in c.only]


@pytest.mark.parametrize("function, case", PAIRS, ids=[f"{f}-{c.name}" for f, c in PAIRS])
def test_bad_input_is_a_clear_error(function, case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(case.error) as info:
            _call(function, case)
    assert re.search(case.names, str(info.value), re.S), f"{function}: {info.value}"


@pytest.mark.parametrize("function", list(FUNCTIONS))
def test_a_dropout_submodule_in_training_mode_warns(function):
    model = Net(dropout=True).eval()
    model.body[3].train()  # eval() on the whole model, then one submodule back in training mode
    with pytest.warns(UserWarning, match=r"submodules in training mode \(Dropout\).*model\.eval\(\)"):
        try:
            FUNCTIONS[function](model, _inputs(), target=0)
        except ValueError:
            pass  # exact IG and the rule methods refuse a dropout in training mode after warning


def test_messages_quote_the_users_batch_not_steps_times_batch():
    x = torch.rand(4, 1, 2, 3)
    with pytest.raises(ValueError) as info:
        iglib.integrated_gradients(Net(), x, target=[0, 1, 2], n_steps=50)
    assert "4 examples" in str(info.value) and "200" not in str(info.value)


def test_axiom_checks_refuse_bad_tolerances_and_methods():
    witness = dict(model=Net(), inputs=_inputs(), baselines=None, target=0)
    with pytest.raises(ValueError, match="tol must be a finite number >= 0, got -0.1"):
        axioms.sensitivity_b(iglib.gradient, dummy=0, tol=-0.1, **witness)
    with pytest.raises(ValueError, match="rtol must be a finite number >= 0"):
        axioms.completeness(iglib.gradient, rtol=-1, **witness)
    with pytest.raises(TypeError, match="attribute must be an attribution method.*'gradient'"):
        axioms.completeness("gradient", **witness)


def test_straight_line_takes_none_and_refuses_nan():
    x = _inputs()
    assert torch.equal(iglib.straight_line(None, x)(torch.tensor([0.0]))[0], torch.zeros_like(x))
    with pytest.raises(ValueError, match="baselines must be finite"):
        iglib.straight_line(torch.full_like(x, float("nan")), x)


def test_degenerate_lime_settings_are_refused():
    with pytest.raises(ValueError, match="n_samples=1 draws only x itself"):
        lime_tabular(Net(), _inputs(), target=0, n_samples=1)
    with pytest.raises(ValueError, match="kernel_width=1e-06 gives weight 0 to every sample but x"):
        lime_tabular(Net(), _inputs(), target=0, kernel_width=1e-6, seed=0)
    with pytest.raises(ValueError, match="kernel_width=1e-06 gives weight 0"):
        lime_image(Net(), _inputs(), _seg(), target=0, kernel_width=1e-6, seed=0)


def test_auto_batch_size_checks_like_the_rest():
    with pytest.raises(TypeError, match="target.*bool"):
        auto_batch_size(Net(), _inputs(), target=True)


# ---------------------------------------------------------------- per-example tuple targets (Captum's convention)
class Flat(nn.Module):
    """The same network as ``Grid`` with its output flattened: class 2 i + j is Grid's (i, j)."""

    def __init__(self, grid: Grid):
        super().__init__()
        self.grid = grid

    def forward(self, x):
        return self.grid(x).reshape(len(x), 6)


TUPLES = [(2, 1), (0, 1)]
AS_INTS = [2 * i + j for i, j in TUPLES]
EXACT_ON_TUPLES = PER_EXAMPLE - {"completeness", "sensitivity_b", "breakpoints", "interior_gradients"}


@pytest.mark.parametrize("function", sorted(EXACT_ON_TUPLES))
def test_a_list_of_tuples_targets_each_example_like_captum(function):
    grid, x = Grid().eval(), _inputs()
    by_tuple = FUNCTIONS[function](grid, x, target=TUPLES)
    by_int = FUNCTIONS[function](Flat(grid).eval(), x, target=AS_INTS)
    if not isinstance(by_tuple, torch.Tensor):  # LIME for images: the fitted weights
        by_tuple, by_int = by_tuple.weights, by_int.weights
    torch.testing.assert_close(by_tuple, by_int)


def test_tuple_targets_match_captum():
    from captum.attr import IntegratedGradients

    grid, x = Grid().eval(), _inputs()
    ours = iglib.integrated_gradients(grid, x, target=TUPLES, n_steps=20)
    theirs = IntegratedGradients(grid).attribute(x, target=TUPLES, n_steps=20)
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-6)
    interior = iglib.interior_gradients(grid, x, target=TUPLES, n_steps=20)
    torch.testing.assert_close(interior.integrated_gradients(), ours)


def test_requires_grad_inputs_keep_no_graph():
    """Gradients are accumulated detached: the result holds no autograd graph of the chunks."""
    x = _inputs().requires_grad_(True)
    for function in ("integrated_gradients", "path_integrated_gradients", "smoothgrad", "expected_gradients"):
        a = FUNCTIONS[function](Net(), x, target=0, internal_batch_size=N)
        assert not a.requires_grad and a.grad_fn is None, function


# ---------------------------------------------------------------- issue 28: non-finite gradients, by hand
def _issue_linear() -> nn.Linear:
    torch.manual_seed(0)
    return nn.Linear(4, 3, dtype=torch.float64).eval()


def _issue_x() -> torch.Tensor:
    torch.manual_seed(1)
    return torch.rand(2, 4, dtype=torch.float64) + 0.5


ISSUE_CALLS = {
    "integrated_gradients": lambda g, x: iglib.integrated_gradients(g, x, target=0),
    "adaptive_integrated_gradients": lambda g, x: iglib.adaptive_integrated_gradients(g, x, target=0),
    "path_integrated_gradients": lambda g, x: iglib.path_integrated_gradients(g, x, iglib.straight_line(None, x), target=0),
    "interior_gradients": lambda g, x: iglib.interior_gradients(g, x, target=0),
    "gradient": lambda g, x: iglib.gradient(g, x, target=0),
    "gradient_x_input": lambda g, x: iglib.gradient_x_input(g, x, target=0),
    "smoothgrad": lambda g, x: iglib.smoothgrad(g, x, target=0, seed=0),
    "expected_gradients": lambda g, x: iglib.expected_gradients(g, x, target=0, seed=0),
    "guided_integrated_gradients": lambda g, x: iglib.guided_integrated_gradients(g, x, target=0),
    "integrated_hessians": lambda g, x: iglib.integrated_hessians(g, x, target=0),
    "blur_integrated_gradients": lambda g, x: iglib.blur_integrated_gradients(
        lambda z: g(z.mean((1, 2))), x[:, None, None, :].expand(2, 1, 3, 4), target=0, max_sigma=2.0),
}


@pytest.mark.parametrize("function", sorted(ISSUE_CALLS))
def test_the_issues_masked_sqrt_is_refused_by_every_gradient_method(function):
    lin = _issue_linear()
    g = lambda z: lin(torch.where(z > 100, torch.sqrt(z - 200), z))  # noqa: E731
    with pytest.raises(ValueError, match=r"dF/dx is not finite.*example 0.*of its \d+ features.*double where"):
        ISSUE_CALLS[function](g, _issue_x())


def _sqrt_abs(z: torch.Tensor) -> torch.Tensor:
    """F = sum_i sqrt|x_i|: IG from x' = 0 is sqrt|x_i|, although dF/dx is infinite at the baseline."""
    return z.abs().sqrt().sum(1)


SINGULAR_AT_BASELINE = {
    "riemann_left": lambda x: iglib.integrated_gradients(_sqrt_abs, x, method="riemann_left"),
    "riemann_trapezoid": lambda x: iglib.integrated_gradients(_sqrt_abs, x, method="riemann_trapezoid"),
    "interior riemann_left": lambda x: iglib.interior_gradients(_sqrt_abs, x, method="riemann_left"),
    "path riemann_left": lambda x: iglib.path_integrated_gradients(_sqrt_abs, x, iglib.straight_line(None, x),
                                                                   method="riemann_left"),
    "adaptive": lambda x: iglib.adaptive_integrated_gradients(_sqrt_abs, x),
    "guided": lambda x: iglib.guided_integrated_gradients(_sqrt_abs, x),
}


@pytest.mark.parametrize("call", sorted(SINGULAR_AT_BASELINE))
def test_a_singularity_at_the_baseline_names_alpha_0_and_the_rules_that_avoid_it(call):
    with pytest.raises(ValueError, match=r"example 0 at alpha = 0, in 4 of its 4 features.*singular at the baseline"
                                         r".*'riemann_right' or 'gausslegendre'"):
        SINGULAR_AT_BASELINE[call](_issue_x())


@pytest.mark.parametrize("method", ["riemann_right", "riemann_middle", "gausslegendre"])
def test_rules_without_a_node_at_0_integrate_the_singularity(method):
    x = _issue_x()
    attributions = iglib.integrated_gradients(_sqrt_abs, x, method=method, n_steps=2000)
    torch.testing.assert_close(attributions, x.sqrt(), rtol=0.02, atol=0)


def test_the_error_names_the_example_its_alpha_and_how_many_features():
    """Only feature 1 of example 1 goes below 1, where the unused sqrt(z - 1) has a nan gradient."""
    x = torch.tensor([[2.0, 2.0, 2.0, 2.0], [2.0, 0.5, 2.0, 2.0]], dtype=torch.float64)
    model = lambda z: torch.where(z < 1, z, torch.sqrt(z - 1)).sum(1)  # noqa: E731
    with pytest.raises(ValueError, match=r"example 1 at alpha = 0\.75, in 1 of its 4 features, although F is finite"):
        iglib.integrated_gradients(model, x, baselines=2.0, method="riemann_right", n_steps=4)


def test_exact_zero_gradients_are_not_refused():
    x = _issue_x()
    ignores = lambda z: torch.relu(z[:, :2] - 10).sum(1) + z[:, 2]  # noqa: E731  (features 0, 1, 3: gradient exactly 0)
    for attributions in (iglib.integrated_gradients(ignores, x), iglib.gradient(ignores, x),
                         iglib.smoothgrad(ignores, x, seed=0, stdev=0.01), iglib.integrated_hessians(ignores, x)):
        assert torch.isfinite(attributions).all()
    torch.testing.assert_close(iglib.integrated_gradients(ignores, x)[:, 2], x[:, 2])


# ---------------------------------------------------------------- issue 28: F at every reference and sample
def _log_abs(z: torch.Tensor) -> torch.Tensor:
    return torch.log(z.abs()).flatten(1).sum(1)


REFERENCES = {
    "expected_gradients, the zero reference": (lambda x: iglib.expected_gradients(_log_abs, x + 3, seed=0),
                                               r"not finite.*at the references \(baselines\) of examples \[0, 1\]"),
    "expected_gradients, one of three references": (
        lambda x: iglib.expected_gradients(_log_abs, x, torch.stack([x[0], torch.zeros(4, dtype=x.dtype), x[1]]), seed=0),
        r"not finite.*at the references \(baselines\) of examples \[0, 1\] \(first at number 1 of them\)"),
    "expected_gradients, a single reference [features]": (
        lambda x: iglib.expected_gradients(_log_abs, x, torch.zeros(4, dtype=x.dtype), seed=0), r"not finite.*references"),
    "expected_gradients, a number": (lambda x: iglib.expected_gradients(_log_abs, x, 0.0, seed=0), r"not finite.*references"),
    "expected_gradients, F(x) = -inf": (
        lambda x: iglib.expected_gradients(_log_abs, torch.cat([x[:1], torch.zeros(1, 4, dtype=x.dtype)]), x[0], seed=0),
        r"not finite.*at the inputs of examples \[1\]"),
    "smoothgrad, F(x) = -inf": (
        lambda x: iglib.smoothgrad(_log_abs, torch.cat([x[:1], torch.zeros(1, 4, dtype=x.dtype)]), stdev=0.1, seed=0),
        r"not finite.*at the inputs of examples \[1\]"),
}


@pytest.mark.parametrize("case", sorted(REFERENCES))
def test_f_is_checked_at_every_reference_and_at_the_inputs(case):
    call, message = REFERENCES[case]
    with pytest.raises(ValueError, match=message):
        call(_issue_x())


def test_f_at_shared_references_is_f_of_each_examples_target():
    from iglib.forward import prepare

    refs = torch.rand(5, 1, 2, 3)
    for target, args, model in ([0, 2], None, Net()), (1, None, Net()), ([2, 1], torch.tensor([2.0, -1.0]), Scaled()):
        F, x, _ = prepare(model, _inputs(), None, target, args, internal_batch_size=3)
        expected = F.values(refs[:, None].expand((5,) + x.shape))
        torch.testing.assert_close(F.shared(refs, at="the references"), expected)


def test_finite_references_are_accepted():
    x = _issue_x()
    eg = iglib.expected_gradients(_log_abs, x, torch.stack([x[0] + 1, x[1] + 2]), seed=0, n_samples=5)
    assert torch.isfinite(eg).all()


# ---------------------------------------------------------------- issue 28: Integrated Hessians needs second derivatives
class OnceTanh(torch.autograd.Function):
    """tanh whose backward autograd can run once only: no second derivative."""

    @staticmethod
    def forward(ctx, z):
        y = torch.tanh(z)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (1 - y * y)


class OnceSquare(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        return z * z

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        return 2 * z * grad


class OnceDouble(torch.autograd.Function):
    """2 z: linear, so nothing is lost by differentiating it once only."""

    @staticmethod
    def forward(ctx, z):
        return 2 * z

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        return 2 * grad


class TanhNet(nn.Module):
    def __init__(self, tanh=OnceTanh.apply):
        super().__init__()
        torch.manual_seed(0)
        self.first, self.last, self.tanh = nn.Linear(4, 5).double(), nn.Linear(5, 3).double(), tanh
        self.eval()

    def forward(self, x):
        return self.last(self.tanh(self.first(x)))


ONCE_DIFFERENTIABLE = {
    "the issue's tanh last": (lambda: (lambda z: OnceTanh.apply(_issue_linear()(z))), 0, "OnceTanh"),
    "tanh inside a module": (TanhNet, 1, "OnceTanh"),
    "tanh beside a smooth branch": (lambda: (lambda z: TanhNet()(z) + torch.sin(z[:, :3])), 0, "OnceTanh"),
    "a product through a square": (lambda: (lambda z: OnceSquare.apply(z.sum(1)) + z[:, 0]), None, "OnceSquare"),
    "two once-differentiable ops": (lambda: (lambda z: OnceSquare.apply(OnceTanh.apply(z)).sum(1)), None,
                                    "OnceSquare, OnceTanh|OnceTanh, OnceSquare"),
}


@pytest.mark.parametrize("case", sorted(ONCE_DIFFERENTIABLE))
def test_integrated_hessians_names_an_op_without_a_second_derivative(case):
    model, target, op = ONCE_DIFFERENTIABLE[case]
    with pytest.raises(ValueError, match=rf"the model's op ({op}) is a torch\.autograd\.Function whose backward is "
                                         r"@once_differentiable.*dF/dx\(x\) - dF/dx\(x'\)"):
        iglib.integrated_hessians(model(), _issue_x(), target=target)


def test_a_once_differentiable_op_that_loses_nothing_is_accepted():
    x = _issue_x()
    smooth = lambda z: torch.tanh(z).prod(1)  # noqa: E731
    ours = iglib.integrated_hessians(lambda z: OnceDouble.apply(smooth(z)), x)
    torch.testing.assert_close(ours, 2 * iglib.integrated_hessians(smooth, x))
    relu = iglib.integrated_hessians(TanhNet(torch.relu), x, target=0)  # kinks: zero pair terms, as documented
    assert torch.isfinite(relu).all()


# ---------------------------------------------------------------- issue 28: sizes bounded before work, numpy integers
def _tiny_images(h: int = 2, w: int = 3) -> torch.Tensor:
    return torch.rand(2, 1, h, w, dtype=torch.float64)


def _image_sum(z: torch.Tensor) -> torch.Tensor:
    return z.flatten(1).sum(1)


@pytest.mark.parametrize("max_sigma, shape, message", [
    (1e5, (8, 8), r"max_sigma=100000 pixels is wider than 8 x 8 images can show.*max_sigma <= 200"),
    (1e12, (8, 8), r"max_sigma=1e\+12 pixels is wider than 8 x 8 images.*max_sigma <= 200"),
    (76.0, (2, 3), r"max_sigma=76 pixels is wider than 2 x 3 images.*<= 75"),
    (2.0, (0, 0), r"inputs must be images of at least 1 x 1 pixels, got 0 x 0 \(shape \(2, 1, 0, 0\)\)"),
    (2.0, (0, 5), r"at least 1 x 1 pixels, got 0 x 5"),
    (2.0, (4, 0), r"at least 1 x 1 pixels, got 4 x 0"),
])
def test_blur_ig_refuses_blurs_the_image_cannot_show_and_empty_images(max_sigma, shape, message):
    with pytest.raises(ValueError, match=message):
        iglib.blur_integrated_gradients(_image_sum, _tiny_images(*shape), max_sigma=max_sigma)


def test_blur_ig_takes_the_widest_blur_it_allows():
    a, delta = iglib.blur_integrated_gradients(_image_sum, _tiny_images(), max_sigma=75.0, n_steps=8,
                                               return_convergence_delta=True)
    assert torch.isfinite(a).all() and torch.isfinite(delta).all()


def test_many_gauss_legendre_nodes_cost_no_eigenproblem():
    import time

    from iglib.quadrature import alphas_and_weights

    start = time.perf_counter()
    alphas, weights = alphas_and_weights("gausslegendre", 10_000)
    assert time.perf_counter() - start < 30  # numpy's m x m eigenproblem took more than 90 s
    assert abs(weights.sum() - 1) < 1e-12 and (np.diff(alphas) > 0).all() and 0 < alphas[0] and alphas[-1] < 1
    assert abs(weights @ np.cos(3 * alphas) - np.sin(3) / 3) < 1e-12


NUMPY_INTEGERS = {
    "n_steps": lambda: iglib.integrated_gradients(_sqrt_abs, _issue_x(), n_steps=np.int64(4)),
    "internal_batch_size": lambda: iglib.integrated_gradients(_sqrt_abs, _issue_x(), internal_batch_size=np.int32(1)),
    "target": lambda: iglib.integrated_gradients(_issue_linear(), _issue_x(), target=np.int64(2)),
    "n_samples": lambda: iglib.smoothgrad(_sqrt_abs, _issue_x(), n_samples=np.int16(3), seed=np.int64(0)),
    "n_points": lambda: iglib.checks.evaluation.deletion_curve(_sqrt_abs, _issue_x(), _issue_x(), n_points=np.int64(4)),
    "top_interactions k": lambda: top_interactions(torch.eye(3) + 0.1, k=np.int64(2)),
    "memory budget": lambda: auto_batch_size(Net(), _inputs(), target=0, budget=np.int64(2**20)),
    "blur max_sigma": lambda: iglib.blur_integrated_gradients(_image_sum, _tiny_images(), max_sigma=np.int64(2),
                                                              n_steps=np.int64(4)),
}


@pytest.mark.parametrize("argument", sorted(NUMPY_INTEGERS))
def test_numpy_integers_are_accepted_wherever_ints_are(argument):
    assert NUMPY_INTEGERS[argument]() is not None


# ---------------------------------------------------------------- the meta device (issue 28, item 7)
class WithBuffer(Net):
    """Net with a buffer subtracted from its inputs: a model whose parameters are real but one buffer is not."""

    def __init__(self, device: str = "cpu"):
        super().__init__()
        self.register_buffer("shift", torch.zeros(6, device=device))

    def forward(self, x):
        return self.body(x.flatten(1) - self.shift)


META_EXPECTED = r"the meta device holds shapes but no values.*Expected"


class TestMetaDevice:
    """Targets, baselines, arguments, inputs, parameters and buffers on ``meta`` (tensors without values):
    one ValueError from :func:`iglib.arguments.check_device` naming the argument and the device expected."""

    @pytest.mark.parametrize("function", sorted(PER_EXAMPLE - {"completeness", "sensitivity_b"}))
    def test_a_per_example_target_on_meta(self, function):
        with pytest.raises(ValueError, match=rf"target is on meta: {META_EXPECTED} target on a real device \(cpu or cuda\)"):
            FUNCTIONS[function](Net(), _inputs(), target=torch.tensor([0, 1], device="meta"))

    @pytest.mark.parametrize("function", sorted(FUNCTIONS))
    def test_a_buffer_on_meta(self, function):
        with pytest.raises(ValueError, match=rf"inputs are on cpu but the model's buffers are on meta \(buffer 'shift'\): "
                                             rf"{META_EXPECTED} the model's buffers on cpu: .*to_empty\(device='cpu'\)"):
            FUNCTIONS[function](WithBuffer("meta"), _inputs(), target=0)

    @pytest.mark.parametrize("function", sorted(FUNCTIONS))
    def test_a_model_on_meta(self, function):
        with pytest.raises(ValueError, match=rf"inputs are on cpu but the model's parameters are on meta "
                                             rf"\(parameter 'body.1.weight'\): {META_EXPECTED} the model's parameters on cpu"):
            FUNCTIONS[function](Net().to("meta"), _inputs(), target=0)

    @pytest.mark.parametrize("function", sorted(FUNCTIONS))
    def test_inputs_on_meta(self, function):
        with pytest.raises(ValueError, match=rf"inputs are on meta: {META_EXPECTED} inputs on a real device"):
            FUNCTIONS[function](Net(), _inputs().to("meta"), target=0)

    @pytest.mark.parametrize("function", sorted(USES_BASELINE - {"path_integrated_gradients"} | {"expected_gradients"}))
    def test_baselines_on_meta(self, function):
        baselines = torch.zeros(SHAPE, device="meta")
        with pytest.raises(ValueError, match=rf"inputs are on cpu but baselines is on meta: {META_EXPECTED} baselines on cpu"):
            FUNCTIONS[function](Net(), _inputs(), baselines=baselines, target=0)

    @pytest.mark.parametrize("function", sorted(set(FUNCTIONS) - {"completeness", "sensitivity_b"}))
    def test_additional_forward_args_on_meta(self, function):
        with pytest.raises(ValueError, match=rf"additional_forward_args is on meta: {META_EXPECTED} additional_forward_args on cpu"):
            FUNCTIONS[function](Scaled(), _inputs(), target=0, additional_forward_args=torch.ones(N, device="meta"))

    def test_a_callable_that_computes_on_meta(self):
        """A plain function hides its module: its output on meta is refused by name."""
        net = Net().to("meta")
        with pytest.raises(ValueError, match=rf"the model's output is on meta: {META_EXPECTED}.*to_empty"):
            iglib.integrated_gradients(lambda x: net(x.to("meta")), _inputs(), target=0, n_steps=2)

    def test_stdev_path_segments_and_ids_on_meta(self):
        x = _inputs()
        with pytest.raises(ValueError, match=rf"stdev is on meta: {META_EXPECTED} stdev on cpu"):
            iglib.smoothgrad(Net(), x, target=0, stdev=torch.ones(SHAPE, device="meta"), seed=0)
        with pytest.raises(ValueError, match=rf"path is on meta: {META_EXPECTED} path on cpu"):
            iglib.path_integrated_gradients(Net(), x, torch.zeros((3,) + SHAPE, device="meta"), target=0)
        with pytest.raises(ValueError, match=rf"segments is on meta: {META_EXPECTED}"):
            lime_image(Net(), x, _seg().to("meta"), target=0, n_samples=4, seed=0)
        embedding = nn.Embedding(4, 6)
        with pytest.raises(ValueError, match=rf"ids is on meta: {META_EXPECTED}"):
            iglib.experiments.text.embedding_integrated_gradients(nn.Sequential(embedding), embedding, torch.zeros(1, 2, dtype=torch.long,
                                                                                                      device="meta"))


# ---------------------------------------------------------------- checkpoints carry their own hash (issue 28, item 4)
def _flip_exponent(path, key: str = "convs.0.weight") -> float:
    """Flip the top exponent bit of the first entry of weight ``key`` in the file; return the value it then reads."""
    from iglib.experiments.text import checkpoint

    weight = torch.load(path, map_location="cpu", weights_only=True)["state_dict"][key]
    raw = weight.reshape(-1)[:16].numpy().tobytes()
    blob = bytearray(path.read_bytes())
    at = blob.find(raw)
    assert at > 0 and blob.find(raw, at + 1) == -1
    high = at + weight.element_size() - 1  # little-endian: the sign and the top exponent bits
    blob[high] ^= 0x40
    path.write_bytes(bytes(blob))
    assert checkpoint.data.sha256(path)  # still a readable file
    return float(torch.load(path, map_location="cpu", weights_only=True)["state_dict"][key].reshape(-1)[0])


class TestCheckpointHashes:
    """Every checkpoint the project writes carries its ``content_sha256``; loading checks it wherever the
    file lies (:mod:`iglib.experiments.text.checkpoint`, shared by the question classifier and the translator)."""

    @pytest.fixture
    def committed(self):
        from iglib.experiments.text import checkpoint

        return checkpoint.FOLDER / "questions_fast.pt"

    def test_a_copy_with_one_flipped_exponent_bit_is_refused_and_the_advice_names_real_paths(self, tmp_path, committed):
        from pathlib import Path

        from iglib.experiments.text import classifier

        copy = tmp_path / "questions_3.pt"
        shutil.copy(committed, copy)
        assert classifier.load(copy, device="cpu")  # an intact copy of a committed file: it matches SHA256SUMS
        assert abs(_flip_exponent(copy)) > 1e30  # what loading it used to give
        with pytest.raises(ValueError, match=r"questions_3.pt carries no content_sha256.*match no checkpoint recorded in "
                                             r".*SHA256SUMS: it is damaged") as error:
            classifier.load(copy, device="cpu")
        message = str(error.value)
        assert "questions_3.pt`" not in message and classifier.REBUILD in message
        root = Path(__file__).resolve().parent.parent
        for named in re.findall(r"iglib/experiments/text/checkpoints/\w+\.pt", message):
            assert (root / named).is_file(), named

    @pytest.mark.parametrize("kind", ["classifier", "translation"])
    def test_save_writes_the_content_hash_and_a_flipped_bit_anywhere_is_refused(self, tmp_path, kind):
        from iglib.experiments.text import checkpoint, classifier, translation

        module = {"classifier": classifier, "translation": translation}[kind]
        original = checkpoint.FOLDER / ("questions_fast.pt" if kind == "classifier" else "translation_fast.pt")
        path = module.save(module.load(original, device="cpu"), tmp_path / "mine.pt")  # a user's own file
        saved = torch.load(path, map_location="cpu", weights_only=True)
        assert saved["content_sha256"] == checkpoint.content_sha256(saved)
        assert module.load(path, device="cpu").model is not None
        key = next(k for k, v in saved["state_dict"].items() if v.is_floating_point() and v.numel() >= 16
                   and 0 < v.reshape(-1)[0].abs() < 1 and v.reshape(-1)[:16].count_nonzero() == 16)
        _flip_exponent(path, key)
        with pytest.raises(ValueError, match=rf"mine.pt is damaged: its content hashes to [0-9a-f]{{64}}, but it records "
                                             rf"content_sha256 = '[0-9a-f]{{64}}'.*{re.escape(module.REBUILD)}"):
            module.load(path, device="cpu")

    def test_an_edited_entry_is_refused(self, tmp_path, committed):
        from iglib.experiments.text import checkpoint, classifier

        saved = torch.load(committed, map_location="cpu", weights_only=True)
        checkpoint.save_checkpoint(saved, tmp_path / "mine.pt")
        edited = torch.load(tmp_path / "mine.pt", map_location="cpu", weights_only=True)
        edited["accuracy"] = 0.99  # a claim changed, the hash kept
        torch.save(edited, tmp_path / "mine.pt")
        with pytest.raises(ValueError, match="mine.pt is damaged: its content hashes to"):
            classifier.load(tmp_path / "mine.pt", device="cpu")

    def test_a_file_written_by_torch_save_is_refused_with_how_to_seal_it(self, tmp_path, committed):
        from iglib.experiments.text import classifier

        saved = torch.load(committed, map_location="cpu", weights_only=True)
        saved["accuracy"] = 0.5
        torch.save(saved, tmp_path / "mine.pt")
        with pytest.raises(ValueError, match=r"mine.pt carries no content_sha256 \(it was written by torch.save.*"
                                             r"seal it: iglib.experiments.text.checkpoint.save_checkpoint\("):
            classifier.load(tmp_path / "mine.pt", device="cpu")

    @pytest.mark.parametrize("text, problem", [(None, "is missing"), ("garbage\n", r"is garbled: line 1 reads 'garbage'"),
                                               ("740a00ce  questions_fast.pt\n", "is garbled: line 1"),
                                               (b"\xff\xfe\x00", "is garbled: it is not text")])
    def test_a_missing_or_garbled_sha256sums_names_the_file_and_the_fix(self, tmp_path, monkeypatch, text, problem):
        from iglib.experiments.text import checkpoint, classifier

        folder = tmp_path / "checkpoints"
        shutil.copytree(checkpoint.FOLDER, folder)
        monkeypatch.setattr(checkpoint, "FOLDER", folder)
        sums = folder / "SHA256SUMS"
        if text is None:
            sums.unlink()
        elif isinstance(text, bytes):
            sums.write_bytes(text)
        else:
            sums.write_text(text)
        with pytest.raises(ValueError, match=rf"SHA256SUMS {problem}.*git checkout -- iglib/experiments/text/checkpoints/SHA256SUMS"):
            classifier.load(folder / "questions_fast.pt", device="cpu")

    @pytest.mark.parametrize("cut", [0.5, 0.999])
    def test_a_truncated_manifest_names_the_file_and_the_fix(self, tmp_path, monkeypatch, cut):
        from iglib import data

        text = data.MANIFEST.read_text()
        manifest = tmp_path / "manifest.json"
        manifest.write_text(text[: int(len(text) * cut)])
        monkeypatch.setattr(data, "MANIFEST", manifest)
        data.sources.cache_clear()
        try:
            with pytest.raises(ValueError, match=r"manifest.json is damaged \(truncated or garbled\): it is not valid "
                                                 r"JSON.*git checkout -- data/manifest.json"):
                data.sources()
        finally:
            data.sources.cache_clear()

    def test_a_manifest_of_the_wrong_shape_names_the_file(self, tmp_path, monkeypatch):
        from iglib import data

        manifest = tmp_path / "manifest.json"
        manifest.write_text('["not", "an", "object"]')
        monkeypatch.setattr(data, "MANIFEST", manifest)
        data.sources.cache_clear()
        try:
            with pytest.raises(ValueError, match=r"manifest.json is damaged: expected a JSON object"):
                data.sources()
        finally:
            data.sources.cache_clear()
