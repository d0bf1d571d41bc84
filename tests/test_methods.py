"""The methods IG is measured against: closed-form ground truths from the paper's
counterexamples, Captum cross-checks, and refusals where a rule would be silently wrong.

Everything in float64. The toy networks are written here, each in several spellings of
the ReLU (nn.ReLU modules, F.relu, torch.relu, Tensor.relu, in place), because a rule
that only sees ``nn.ReLU`` modules silently returns plain gradients for the others.
"""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from iglib import methods
from iglib.integrated_gradients import integrated_gradients

captum_attr = pytest.importorskip("captum.attr")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:captum")
from captum.attr._utils.lrp_rules import EpsilonRule  # noqa: E402

D = torch.float64
RULE_METHODS = [methods.deconvnet, methods.guided_backprop, methods.deeplift, methods.lrp]
ALL_METHODS = [methods.gradient, methods.gradient_x_input, *RULE_METHODS,
               methods.smoothgrad, methods.expected_gradients]


@pytest.fixture(autouse=True)
def _keep_global_rng():
    """The networks here are initialised under torch.manual_seed; leave the global RNG as found."""
    with torch.random.fork_rng():
        yield


def t(*rows):
    return torch.tensor(rows, dtype=D)


# ---------------------------------------------------------------- toy networks, many spellings

def linear(w, b):
    layer = nn.Linear(len(w[0]), len(w)).to(D)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(w, dtype=D))
        layer.bias.copy_(torch.tensor(b, dtype=D))
    return layer


# Each toy as (first layer W, b), (second layer W, b), relu on the output?
#   f(x1,x2) = ReLU(ReLU(x1) - 1 - ReLU(x2)),  g(x1,x2) = ReLU(ReLU(x1 - 1) - ReLU(x2)),
#   sat(x) = 1 - ReLU(1 - x),                   min5(x) = min(x, 5) = 5 - ReLU(5 - x).
TOYS = {
    "f": (([[1, 0], [0, 1]], [0, 0]), ([[1, -1]], [-1]), True),
    "g": (([[1, 0], [0, 1]], [-1, 0]), ([[1, -1]], [0]), True),
    "sat": (([[-1]], [1]), ([[-1]], [1]), False),
    "min5": (([[-1]], [5]), ([[-1]], [5]), False),
}
RELUS = {
    "F.relu": F.relu,
    "torch.relu": torch.relu,
    "Tensor.relu": lambda z: z.relu(),
    "relu_": lambda z: z.clone().relu_(),
    "F.relu(inplace)": lambda z: F.relu(z * 1.0, inplace=True),
}
STYLES = ["nn.ReLU", *RELUS]


def toy(name, style):
    (w1, b1), (w2, b2), relu_out = TOYS[name]
    if style == "nn.ReLU":
        layers = [linear(w1, b1), nn.ReLU(), linear(w2, b2)] + ([nn.ReLU()] if relu_out else [])
        return nn.Sequential(*layers).eval()
    relu = RELUS[style]
    W1, B1, W2, B2 = (torch.tensor(v, dtype=D) for v in (w1, b1, w2, b2))

    def net(x):
        out = relu(x @ W1.T + B1) @ W2.T + B2
        return relu(out) if relu_out else out

    return net


GROUND_TRUTH = {  # (x, expected attribution) per method, baseline 0, target 0
    "f": (t([3, 1]), {"gradient": [1, -1], "gradient_x_input": [3, -1], "deconvnet": [1, 0],
                      "guided_backprop": [1, 0], "deeplift": [1.5, -0.5]}),
    "g": (t([3, 1]), {"gradient": [1, -1], "gradient_x_input": [3, -1], "deconvnet": [1, 0],
                      "guided_backprop": [1, 0], "deeplift": [2, -1]}),
    "sat": (t([2]), {"gradient": [0], "gradient_x_input": [0], "deeplift": [1]}),
    "min5": (t([8]), {"gradient": [0], "gradient_x_input": [0], "deeplift": [5]}),
}


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", list(TOYS))
def test_paper_counterexamples_in_every_spelling(name, style):
    x, expected = GROUND_TRUTH[name]
    model = toy(name, style)
    for attribution_method, value in expected.items():
        got = getattr(methods, attribution_method)(model, x, target=0)
        torch.testing.assert_close(got, t(value), atol=1e-12, rtol=0, msg=f"{attribution_method} on {name}, {style}")
    # LRP with epsilon -> 0 is gradient * input on ReLU networks (Ancona et al. 2018).
    torch.testing.assert_close(methods.lrp(model, x, target=0, epsilon=1e-12),
                               methods.gradient_x_input(model, x, target=0), atol=1e-9, rtol=0)


@pytest.mark.parametrize("style", STYLES)
def test_deconvnet_and_guided_backprop_ignore_x2_everywhere(style):
    """Sensitivity(a) broken: F falls as x2 grows (gradient -1), yet x2 gets exactly zero."""
    gen = torch.Generator().manual_seed(0)
    x1 = 1 + 4 * torch.rand(64, generator=gen, dtype=D)
    x2 = (x1 - 1) * torch.rand(64, generator=gen, dtype=D)  # 0 < x2 < x1 - 1: F(x) = x1 - 1 - x2 > 0
    x = torch.stack([x1, x2], 1)
    model = toy("f", style)
    assert (methods.gradient(model, x, target=0)[:, 1] == -1).all()
    for method in (methods.deconvnet, methods.guided_backprop):
        a = method(model, x, target=0)
        assert (a[:, 1] == 0).all(), method.__name__
        assert (a[:, 0] == 1).all(), method.__name__
    # anywhere else too, including negative x2 and x1 < 1
    x_any = 4 * torch.randn(64, 2, generator=gen, dtype=D)
    for method in (methods.deconvnet, methods.guided_backprop):
        assert (method(model, x_any, target=0)[:, 1] == 0).all()


def test_deeplift_breaks_implementation_invariance_and_keeps_completeness():
    x = t([3, 1])
    f, g = toy("f", "nn.ReLU"), toy("g", "F.relu")
    assert torch.equal(f(x), g(x))
    a_f, a_g = methods.deeplift(f, x, target=0), methods.deeplift(g, x, target=0)
    assert not torch.allclose(a_f, a_g)
    for model, a in ((f, a_f), (g, a_g)):  # summation-to-delta: F(x) - F(0) = 1
        assert a.sum().item() == pytest.approx(1.0, abs=1e-12)
    assert methods.gradient_x_input(f, x, target=0).sum().item() == pytest.approx(2.0)  # breaks completeness


# ---------------------------------------------------------------- ReLU6 / hardtanh / clamp

RELU6S = {
    "nn.ReLU6": nn.ReLU6(),
    "F.relu6": F.relu6,
    "F.hardtanh": lambda z: F.hardtanh(z, 0.0, 6.0),
    "torch.clamp": lambda z: torch.clamp(z, 0, 6),
    "Tensor.clamp_": lambda z: z.clone().clamp_(min=0, max=6),
}


@pytest.mark.parametrize("spelling", list(RELU6S))
def test_relu6_is_a_gate_in_every_spelling(spelling):
    relu6 = RELU6S[spelling]

    def model(x):  # F(x) = ReLU6(2x - 2) + 0.5 x
        return (relu6(2 * x - 2) + 0.5 * x).sum(1)

    x = t([3], [8], [0])  # gate open (z = 4), saturated (z = 14), closed (z = -2)
    torch.testing.assert_close(methods.gradient(model, x), t([2.5], [0.5], [0.5]))
    torch.testing.assert_close(methods.guided_backprop(model, x), t([2.5], [0.5], [0.5]))
    torch.testing.assert_close(methods.deconvnet(model, x), t([2.5], [2.5], [2.5]))
    # DeepLIFT from x' = 0 (z' = -2, f(z') = 0): multiplier (f(z) - 0) / (z + 2); sums to F(x) - F(0)
    torch.testing.assert_close(methods.deeplift(model, x), t([4 + 1.5], [6 + 4], [0.0]))
    # LRP, epsilon -> 0: x * (2 f(z)/z + 0.5); the output is linear, so its scaling is F/F = 1
    torch.testing.assert_close(methods.lrp(model, x, epsilon=1e-13), t([3 * (2 * 4 / 4 + 0.5)],
                                                                       [8 * (2 * 6 / 14 + 0.5)], [0.0]))


# ---------------------------------------------------------------- agreement with Captum

def random_mlp(seed, sizes=(5, 8, 6, 3), activation=nn.ReLU):
    torch.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers).to(D).eval()


class FunctionalMLP(nn.Module):
    """The same network, its nonlinearities written as a function: captum's hooks cannot see them."""

    def __init__(self, mlp, activation):
        super().__init__()
        self.linears = nn.ModuleList(copy.deepcopy(m) for m in mlp if isinstance(m, nn.Linear))
        self.activation = activation
        self.eval()

    def forward(self, x):
        for i, layer in enumerate(self.linears):
            x = layer(x)
            if i < len(self.linears) - 1:
                x = self.activation(x)
        return x


functional_copy = FunctionalMLP


def captum(cls, model, *args, **kwargs):
    return cls(copy.deepcopy(model)).attribute(*args, **kwargs).detach()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_with_captum_on_relu_mlps(seed):
    model = random_mlp(seed)
    gen = torch.Generator().manual_seed(100 + seed)
    x = torch.randn(4, 5, generator=gen, dtype=D)
    base = torch.randn(4, 5, generator=gen, dtype=D)
    target = [0, 1, 2, 1]
    ca = captum_attr
    expected = {
        "gradient": captum(ca.Saliency, model, x, target=target, abs=False),
        "gradient_x_input": captum(ca.InputXGradient, model, x, target=target),
        "deconvnet": captum(ca.Deconvolution, model, x, target=target),
        "guided_backprop": captum(ca.GuidedBackprop, model, x, target=target),
    }
    lrp_model = copy.deepcopy(model)
    for layer in lrp_model:
        if isinstance(layer, nn.Linear):
            layer.rule = EpsilonRule(epsilon=0.01)
    expected["lrp"] = ca.LRP(lrp_model).attribute(x, target=target).detach()
    ours_deeplift = methods.deeplift(model, x, base, target=target)
    torch.testing.assert_close(ours_deeplift, captum(ca.DeepLift, model, x, base, target=target), atol=1e-8, rtol=0)
    # summation-to-delta
    rows = torch.arange(4), torch.tensor(target)
    delta = (model(x)[rows] - model(base)[rows]).detach()
    torch.testing.assert_close(ours_deeplift.sum(1), delta, atol=1e-10, rtol=0)

    for spelling in ("module", "F.relu", "Tensor.relu_"):
        net = {"module": model, "F.relu": functional_copy(model, F.relu),
               "Tensor.relu_": functional_copy(model, lambda z: z.relu_())}[spelling]
        for name, value in expected.items():
            got = getattr(methods, name)(net, x, target=target)
            torch.testing.assert_close(got, value, atol=1e-8, rtol=0, msg=f"{name}, {spelling}")
        torch.testing.assert_close(methods.deeplift(net, x, base, target=target), ours_deeplift, atol=1e-12, rtol=0)
    # the trap we avoid: captum on the functional copy is the plain gradient
    trap = captum_attr.GuidedBackprop(functional_copy(model, F.relu)).attribute(x, target=target)
    torch.testing.assert_close(trap, expected["gradient"], atol=1e-12, rtol=0)
    assert not torch.allclose(expected["guided_backprop"], expected["gradient"])


def test_lrp_with_vanishing_epsilon_is_gradient_x_input():
    model = random_mlp(3, sizes=(6, 10, 10, 4))
    x = torch.randn(5, 6, generator=torch.Generator().manual_seed(3), dtype=D)
    for net in (model, functional_copy(model, torch.relu)):
        torch.testing.assert_close(methods.lrp(net, x, target=2, epsilon=1e-14),
                                   methods.gradient_x_input(net, x, target=2), atol=1e-10, rtol=0)
        big_epsilon = methods.lrp(net, x, target=2, epsilon=1.0)
        assert not torch.allclose(big_epsilon, methods.gradient_x_input(net, x, target=2))


@pytest.mark.parametrize("activation", [nn.Sigmoid, nn.Tanh, nn.ELU, nn.Softplus])
def test_deeplift_rescale_on_smooth_nonlinearities_agrees_with_captum(activation):
    model = random_mlp(4, activation=activation)
    gen = torch.Generator().manual_seed(4)
    x, base = torch.randn(3, 5, generator=gen, dtype=D), torch.randn(3, 5, generator=gen, dtype=D)
    expected = captum(captum_attr.DeepLift, model, x, base, target=1)
    torch.testing.assert_close(methods.deeplift(model, x, base, target=1), expected, atol=1e-8, rtol=0)
    functional = {nn.Sigmoid: torch.sigmoid, nn.Tanh: torch.tanh, nn.ELU: F.elu, nn.Softplus: F.softplus}[activation]
    torch.testing.assert_close(methods.deeplift(functional_copy(model, functional), x, base, target=1), expected,
                               atol=1e-8, rtol=0)


def conv_net():
    torch.manual_seed(5)
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 3, 3), nn.ReLU(),
        nn.Flatten(), nn.Linear(12, 3),
    ).to(D).eval()


def test_gradient_methods_agree_with_captum_on_a_conv_net():
    model = conv_net()
    x = torch.randn(2, 2, 8, 8, generator=torch.Generator().manual_seed(5), dtype=D)
    ca = captum_attr
    pairs = {
        methods.gradient: captum(ca.Saliency, model, x, target=1, abs=False),
        methods.gradient_x_input: captum(ca.InputXGradient, model, x, target=1),
        methods.deconvnet: captum(ca.Deconvolution, model, x, target=1),
        methods.guided_backprop: captum(ca.GuidedBackprop, model, x, target=1),
    }
    for method, expected in pairs.items():
        torch.testing.assert_close(method(model, x, target=1), expected, atol=1e-8, rtol=0, msg=method.__name__)
    # LRP accepts max pooling (winner takes all) and, with epsilon -> 0, is gradient x input
    torch.testing.assert_close(methods.lrp(model, x, target=1, epsilon=1e-14),
                               methods.gradient_x_input(model, x, target=1), atol=1e-9, rtol=0)


# ---------------------------------------------------------------- refusals and argument errors

def test_unsupported_operations_are_refused_by_name():
    x = torch.randn(3, 4, dtype=D)
    lin = nn.Linear(4, 4).to(D)
    cases = [
        (methods.deeplift, lambda z: (z * F.relu(z)).sum(1), "'mul'"),
        (methods.lrp, lambda z: (z @ z.T).sum(1), "'matmul'"),
        (methods.deeplift, lambda z: F.softmax(lin(z), dim=1), "'softmax'"),
        (methods.lrp, nn.Sequential(nn.Linear(4, 3), nn.Softmax(1)).to(D).eval(), "'softmax'"),
        (methods.deeplift, lambda z: F.max_pool1d(z[:, None], 2).flatten(1), "'max_pool1d'"),
        (methods.deeplift, lambda z: F.layer_norm(z, (4,)), "'layer_norm'"),
        (methods.lrp, lambda z: torch.sigmoid(lin(z)), "'sigmoid'"),
        (methods.lrp, lambda z: F.softplus(z), "'softplus'"),
        (methods.deeplift, lambda z: torch.exp(z), "'exp'"),
        (methods.deeplift, lambda z: torch.where(z > 0, z, 0.0), "'where'"),
        (methods.guided_backprop, lambda z: torch.where(z > 0, z, 0.0), "'where'"),
        (methods.deconvnet, lambda z: z * (z > 0), "'mul'"),
        (methods.lrp, lambda z: 1 / (1 + z.abs()), "'abs'"),
    ]
    for method, model, op in cases:
        with pytest.raises(ValueError, match=op) as err:
            method(model, x, target=0)
        assert method.__name__ in str(err.value), (method.__name__, str(err.value))
    class CustomReLU(torch.autograd.Function):  # its backward, not the rule, would run
        forward = staticmethod(lambda ctx, z: z.relu())
        backward = staticmethod(lambda ctx, g: g)

    for method in RULE_METHODS:
        with pytest.raises(ValueError, match="without autograd"):
            method(lambda z: CustomReLU.apply(lin(z)), x, target=0)
    # no ReLU gate at all: the rule would never apply
    with pytest.raises(ValueError, match="guided_backprop.*gelu"):
        methods.guided_backprop(nn.Sequential(nn.Linear(4, 4), nn.GELU(), nn.Linear(4, 2)).to(D).eval(), x, target=0)
    # batch norm in training mode mixes the examples of the batch
    bn = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2)).to(D)
    with pytest.warns(UserWarning, match="training mode"), pytest.raises(ValueError, match="batch_norm"):
        methods.deeplift(bn, x, target=0)
    assert methods.deeplift(bn.eval(), x, target=0).shape == x.shape


def test_linear_operations_are_accepted():
    """A residual, reshaping, averaging network: DeepLIFT and LRP run, and are complete."""
    torch.manual_seed(7)
    bn = nn.BatchNorm2d(2)
    bn.running_mean.uniform_(-1, 1), bn.running_var.uniform_(0.5, 2)
    relu6 = nn.ReLU6(inplace=True)  # EfficientNet-Lite's activation, one module used twice
    block = nn.Sequential(nn.Conv2d(2, 2, 3, padding=1), bn, relu6, nn.Conv2d(2, 2, 1), relu6).to(D).eval()

    def model(z):
        h = block(z) + F.relu6(z)  # residual
        h = F.adaptive_avg_pool2d(h, 2).flatten(1)
        h = torch.cat([h, -h[:, :2]], 1) / 2
        return torch.tanh(h).sum(1, keepdim=True)

    x = torch.randn(3, 2, 5, 5, generator=torch.Generator().manual_seed(7), dtype=D)
    base = torch.zeros_like(x)
    a = methods.deeplift(model, x, base)
    torch.testing.assert_close(a.flatten(1).sum(1), (model(x) - model(base)).flatten().detach(), atol=1e-10, rtol=0)
    assert methods.lrp(model, x).shape == x.shape
    # a linear network has no nonlinearity: every method is the (modified = plain) gradient
    lin = nn.Linear(5, 1).to(D).eval()
    x = torch.randn(3, 5, dtype=D)
    for method in RULE_METHODS[:2]:
        torch.testing.assert_close(method(lin, x), methods.gradient(lin, x))


@pytest.mark.parametrize("method", ALL_METHODS, ids=lambda m: m.__name__)
def test_argument_errors(method):
    model = random_mlp(0)
    x = torch.randn(2, 5, dtype=D)
    with pytest.raises(ValueError, match="out of range"):
        method(model, x, target=7)
    if method is not methods.expected_gradients:
        with pytest.raises(ValueError, match="baselines"):
            method(model, x, baselines=torch.zeros(2, 4, dtype=D), target=0)
    with pytest.raises(TypeError, match="inputs"):
        method(model, [x], target=0)
    assert method(model, x, target=[0, 2]).shape == x.shape


# ---------------------------------------------------------------- SmoothGrad

def test_smoothgrad_is_reproducible_and_has_the_right_noise():
    model = random_mlp(6)
    x = torch.randn(3, 5, generator=torch.Generator().manual_seed(6), dtype=D)
    a = methods.smoothgrad(model, x, target=1, seed=1)
    torch.testing.assert_close(methods.smoothgrad(model, x, target=1, seed=1, internal_batch_size=7), a,
                               atol=1e-14, rtol=0)
    assert not torch.allclose(methods.smoothgrad(model, x, target=1, seed=2), a)
    torch.testing.assert_close(methods.smoothgrad(model, x, target=1, stdev=0.0, n_samples=3),
                               methods.gradient(model, x, target=1))
    lin = nn.Linear(5, 1).to(D).eval()  # constant gradient: exact for any noise
    torch.testing.assert_close(methods.smoothgrad(lin, x, stdev=3.0, seed=0), methods.gradient(lin, x))

    # F = sum x^3: E[3 (x + e)^2] = 3 x^2 + 3 sigma^2, with sigma = 0.15 (max - min) of the example
    def cubic(z):
        return (z ** 3).sum(1)

    sigma = 0.15 * (x.max(1).values - x.min(1).values)
    expected = 3 * x ** 2 + 3 * sigma[:, None] ** 2
    got = methods.smoothgrad(cubic, x, n_samples=20000, seed=0)
    torch.testing.assert_close(got, expected, atol=0.05, rtol=0)


# ---------------------------------------------------------------- Expected gradients

def test_expected_gradients_with_one_reference_approaches_ig():
    model = random_mlp(8, sizes=(4, 6, 2), activation=nn.Tanh)
    gen = torch.Generator().manual_seed(8)
    x, ref = torch.randn(2, 4, generator=gen, dtype=D), torch.randn(4, generator=gen, dtype=D)
    ig = integrated_gradients(model, x, ref.expand_as(x), target=0, n_steps=64)
    eg = methods.expected_gradients(model, x, ref[None], target=0, n_samples=4000, seed=0)
    assert (eg - ig).abs().max() < 0.03 * ig.abs().max()
    torch.testing.assert_close(methods.expected_gradients(model, x, ref, target=0, n_samples=10, seed=3),
                               methods.expected_gradients(model, x, ref[None], target=0, n_samples=10, seed=3,
                                                          internal_batch_size=3))
    assert not torch.allclose(methods.expected_gradients(model, x, ref, target=0, n_samples=10, seed=4),
                              methods.expected_gradients(model, x, ref, target=0, n_samples=10, seed=3))


def test_expected_gradients_completeness_on_a_linear_model():
    lin = nn.Linear(3, 1).to(D).eval()
    w = lin.weight.detach()[0]
    gen = torch.Generator().manual_seed(9)
    x = torch.randn(4, 3, generator=gen, dtype=D)
    # references whose scores are all equal (they differ orthogonally to w): exact for every draw
    v = torch.linalg.svd(w[None]).Vh[1:]  # two directions orthogonal to w
    refs = torch.randn(1, 3, generator=gen, dtype=D) + torch.randn(6, 2, generator=gen, dtype=D) @ v
    a = methods.expected_gradients(lin, x, refs, n_samples=7, seed=0)
    torch.testing.assert_close(a.sum(1), (lin(x) - lin(refs[:1])).flatten().detach(), atol=1e-12, rtol=0)
    # in expectation over the references: a -> (x - mean ref) * w
    a = methods.expected_gradients(lin, x, refs, n_samples=20000, seed=1)
    torch.testing.assert_close(a, (x - refs.mean(0)) * w, atol=0.05, rtol=0)
    with pytest.raises(ValueError, match="references"):
        methods.expected_gradients(lin, x, torch.zeros(2, 4, dtype=D))
