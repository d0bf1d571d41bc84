"""Exact IG for piecewise-linear networks: closed forms, breakpoints, quadrature agreement, errors."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from iglib.exact import breakpoints, exact_integrated_gradients
from iglib.integrated_gradients import integrated_gradients

pytestmark = pytest.mark.usefixtures("float64_module", "one_thread")  # tests/conftest.py


def one_minus_relu(x):  # F(x) = 1 - ReLU(1 - x)
    return 1 - torch.relu(1 - x[:, 0])


def min_x_5(x):  # F(x) = min(x, 5) = 5 - ReLU(5 - x)
    return 5 - torch.relu(5 - x[:, 0])


def f(x):  # ReLU(ReLU(x1) - 1 - ReLU(x2))
    return torch.relu(torch.relu(x[:, 0]) - 1 - torch.relu(x[:, 1]))


def g(x):  # ReLU(ReLU(x1 - 1) - ReLU(x2)), functionally equal to f
    return torch.relu(torch.relu(x[:, 0] - 1) - torch.relu(x[:, 1]))


def conv_net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(6, 3),
    ).eval()


def integrand_variation(model, x, base, target):
    """Total variation along the path of (x_i - x'_i) dF/dx_i, per feature: the sum of its jumps.

    Computed from the breakpoints and plain autograd at each piece's midpoint, independently
    of exact_integrated_gradients' own integration.
    """
    total = torch.zeros_like(x)
    for i, alphas in enumerate(breakpoints(model, x, base, target)):
        mids = ((alphas[1:] + alphas[:-1]) / 2)[:, None, None, None]
        points = (base[i] + mids * (x[i] - base[i])).requires_grad_()
        (grads,) = torch.autograd.grad(model(points)[:, target[i]].sum(), points)
        total[i] = (grads.diff(dim=0).abs().sum(0) * (x[i] - base[i]).abs())
    return total


# ---------------------------------------------------------------- closed forms
@pytest.mark.parametrize(
    "model, x, value, kink",
    [(one_minus_relu, 2.0, 1.0, 0.5), (min_x_5, 8.0, 5.0, 5 / 8)],
)
def test_saturated_functions_get_their_full_change_with_the_kink_found(model, x, value, kink):
    inputs = torch.tensor([[x]])
    attr, delta = exact_integrated_gradients(model, inputs, return_convergence_delta=True)
    assert attr.item() == pytest.approx(value, abs=1e-14)
    assert abs(delta.item()) < 1e-14
    (alphas,) = breakpoints(model, inputs)
    torch.testing.assert_close(alphas, torch.tensor([0.0, kink, 1.0]), rtol=0, atol=1e-13)


@pytest.mark.parametrize("model, kinks", [(f, [0.5]), (g, [1 / 3, 0.5])])
def test_implementation_pair_gets_the_papers_attributions(model, kinks):
    x = torch.tensor([[3.0, 1.0]])
    attr = exact_integrated_gradients(model, x, torch.zeros(1, 2))
    torch.testing.assert_close(attr, torch.tensor([[1.5, -0.5]]), rtol=0, atol=1e-14)
    # f and g are the same function, yet they are written with different kinks on the path:
    # g's inner ReLU(x1 - 1) switches on at a = 1/3, where the outer ReLU is still off.
    (alphas,) = breakpoints(model, x)
    torch.testing.assert_close(alphas, torch.tensor([0.0, *kinks, 1.0]), rtol=0, atol=1e-13)


def test_linear_model_is_one_piece_and_gives_coefficient_times_difference():
    torch.manual_seed(1)
    w = torch.randn(6)
    model = lambda x: x @ w + 0.3  # noqa: E731
    x, base = torch.randn(3, 6), torch.randn(3, 6)
    attr, delta = exact_integrated_gradients(model, x, base, return_convergence_delta=True)
    torch.testing.assert_close(attr, (x - base) * w, rtol=0, atol=1e-14)
    assert delta.abs().max() < 1e-14
    assert all(a.tolist() == [0.0, 1.0] for a in breakpoints(model, x, base))


def test_every_tracked_kink_lands_where_the_closed_form_puts_it():
    # F(x) = |x - 1| + hardtanh(x, -1, 2) + leaky_relu(x - 3) + relu6(x) + clamp(x, max=3.5), x from 0 to 4:
    # kinks at x = 1, 2, 3, 3.5 (a = 1/4, 1/2, 3/4, 7/8); relu6's limits 0 and 6 are not crossed inside.
    def model(x):
        x = x[:, 0]
        return (x - 1).abs() + F.hardtanh(x, -1, 2) + F.leaky_relu(x - 3, 0.2) + F.relu6(x) + x.clamp(max=3.5)

    inputs = torch.tensor([[4.0]])
    (alphas,) = breakpoints(model, inputs)
    torch.testing.assert_close(alphas, torch.tensor([0, 0.25, 0.5, 0.75, 0.875, 1.0]), rtol=0, atol=1e-13)
    with torch.no_grad():
        change = model(inputs) - model(torch.zeros(1, 1))
    assert exact_integrated_gradients(model, inputs).item() == pytest.approx(change.item(), abs=1e-13)


def test_max_pool_window_argmax_change_is_a_breakpoint():
    # max(x1, x2) from x' = (2, 0) to x = (2.5, 4): x1 leads until 2 + a/2 = 4a, a = 4/7.
    # x1 collects its slope 1/2 over [0, 4/7], x2 its slope 4 over [4/7, 1].
    model = lambda x: F.max_pool1d(x[:, None, :], 2).flatten()  # noqa: E731
    x, base = torch.tensor([[2.5, 4.0]]), torch.tensor([[2.0, 0.0]])
    (alphas,) = breakpoints(model, x, base)
    torch.testing.assert_close(alphas, torch.tensor([0, 4 / 7, 1.0]), rtol=0, atol=1e-13)
    attr = exact_integrated_gradients(model, x, base)
    torch.testing.assert_close(attr, torch.tensor([[0.5 * 4 / 7, 4 * 3 / 7]]), rtol=0, atol=1e-13)
    # the same function as a reduction and as an elementwise maximum
    for same in (lambda x: x.max(1).values, lambda x: torch.maximum(x[:, 0], x[:, 1])):
        torch.testing.assert_close(exact_integrated_gradients(same, x, base), attr, rtol=0, atol=1e-13)


# ---------------------------------------------------------------- a conv net
def test_conv_net_is_complete_and_agrees_with_quadrature_within_its_error_bound():
    model = conv_net()
    torch.manual_seed(2)
    x, base, target = torch.randn(2, 2, 8, 8) * 2, torch.zeros(1, 2, 1, 1), [0, 2]
    exact, delta = exact_integrated_gradients(model, x, base, target=target, return_convergence_delta=True)
    assert exact.shape == x.shape
    assert delta.abs().max() < 1e-10
    with torch.no_grad():
        change = model(x)[[0, 1], target] - model(torch.zeros_like(x))[[0, 1], target]
    torch.testing.assert_close(exact.flatten(1).sum(1), change, rtol=0, atol=1e-10)

    # The integrand is piecewise constant: a rule errs only at the kinks, by at most the
    # jump there times how far its cumulative weight is from the cumulative length. That is
    # 1/(2m) for the midpoint rule and the largest weight for Gauss-Legendre (the
    # Chebyshev-Markov-Stieltjes separation), so |error_i| <= variation_i * that. Every
    # Gauss-Legendre weight on [0, 1] is below pi / (2m + 1) (Szego's bound on Legendre weights).
    variation = integrand_variation(model, x, base.expand_as(x), target)
    assert variation.sum() > 0  # the path does cross kinks
    ig = integrated_gradients(model, x, base, target=target, n_steps=2000, method="gausslegendre")
    w_max = np.pi / (2 * 2000 + 1)
    assert ((ig - exact).abs() <= variation * w_max + 1e-12).all()
    assert (ig - exact).abs().max() > 0  # the bound is not met trivially: quadrature does err

    errors = []
    for m in (16, 128, 1024):
        err = (integrated_gradients(model, x, base, target=target, n_steps=m, method="riemann_middle") - exact).abs()
        assert (err <= variation / (2 * m) + 1e-12).all()
        errors.append(err.sum().item())
    assert errors[0] > errors[1] > errors[2]


def test_batch_norm_avg_pool_and_additional_args_are_handled():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(3)
            self.conv, self.bn, self.fc = nn.Conv1d(1, 3, 3), nn.BatchNorm1d(3), nn.Linear(6, 2)
            with torch.no_grad():
                self.bn.running_mean.normal_()
                self.bn.running_var.uniform_(0.5, 2.0)

        def forward(self, x, scale):
            h = F.avg_pool1d(F.relu(self.bn(self.conv(x))), 2)
            return self.fc(h.flatten(1)) * scale[:, None]

    model = Net().eval()
    x, scale = torch.randn(3, 1, 6), torch.tensor([1.0, -2.0, 0.5])
    attr, delta = exact_integrated_gradients(model, x, 0.1, target=[1, 0, 1], additional_forward_args=scale, return_convergence_delta=True)
    assert delta.abs().max() < 1e-12
    # each example alone, with its own target and scale, gives the same
    for i, t in enumerate([1, 0, 1]):
        alone = exact_integrated_gradients(model, x[i : i + 1], 0.1, target=t, additional_forward_args=scale[i : i + 1])
        torch.testing.assert_close(alone, attr[i : i + 1], rtol=0, atol=1e-14)


def test_float32_model_gives_float32_attributions_complete_to_float_precision():
    model = conv_net(4).float()
    x = torch.randn(2, 2, 8, 8, dtype=torch.float32)
    attr, delta = exact_integrated_gradients(model, x, target=1, return_convergence_delta=True)
    assert attr.dtype == torch.float32
    assert delta.abs().max() < 1e-5


# ---------------------------------------------------------------- errors
def tanh_net():
    torch.manual_seed(5)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1), nn.Flatten(0)).eval()


@pytest.mark.parametrize(
    "model, op",
    [
        (tanh_net().double(), "tanh"),
        (lambda x: torch.sigmoid(x).sum(1), "sigmoid"),
        (lambda x: F.gelu(x).sum(1), "gelu"),
        (lambda x: F.softmax(x, 1)[:, 0], "softmax"),
        (lambda x: x.exp().sum(1), "exp"),
        (lambda x: (x * x).sum(1), "mul"),
        (lambda x: (1 / (x + 3)).sum(1), "rdiv"),
    ],
)
def test_smooth_networks_are_refused_with_the_op_named(model, op):
    with pytest.raises(ValueError, match=f"piecewise-linear.*'{op}'"):
        exact_integrated_gradients(model, torch.randn(2, 3))


@pytest.mark.parametrize("return_indices", [False, True])
def test_a_max_pool_it_does_not_track_is_refused_by_name_with_or_without_its_indices(return_indices):
    def model(x):
        pooled = F.max_pool3d(x.reshape(-1, 1, 2, 2, 2), 2, return_indices=return_indices)
        return (pooled[0] if return_indices else pooled).reshape(len(x), -1).sum(1)

    with pytest.raises(ValueError, match="'max_pool3d.*whose branch changes exact IG does not track"):
        exact_integrated_gradients(model, torch.randn(2, 8))


def test_smooth_op_on_a_constant_is_allowed():
    log_scale = torch.tensor(0.5)
    model = lambda x: torch.relu(x).sum(1) * log_scale.exp()  # noqa: E731  exp of a parameter, not of the path
    x = torch.randn(2, 3)
    torch.testing.assert_close(exact_integrated_gradients(model, x), x.clamp(min=0) * np.exp(0.5), rtol=0, atol=1e-14)


def test_batch_norm_in_training_mode_is_refused():
    model = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # check_model's training-mode warning
        with pytest.raises(ValueError, match="batch_norm.*training"):
            exact_integrated_gradients(model, torch.randn(2, 3), target=0)


def test_untracked_kink_is_caught_by_the_affine_check():
    model = lambda x: torch.where(x > 0.5, x, 0 * x).sum(1)  # noqa: E731  a kink and a jump exact IG cannot see
    with pytest.raises(ValueError, match="not affine on the piece"):
        exact_integrated_gradients(model, torch.ones(1, 3))


def test_too_many_pieces_is_a_clear_error():
    torch.manual_seed(6)
    layer = nn.Linear(3, 200)
    model = lambda x: torch.relu(layer(x)).sum(1)  # noqa: E731
    x = torch.randn(1, 3) * 5
    assert len(breakpoints(model, x)[0]) > 11
    with pytest.raises(RuntimeError, match="max_pieces=10"):
        exact_integrated_gradients(model, x, max_pieces=10)


def test_arguments_are_validated():
    x = torch.randn(2, 3)
    with pytest.raises(ValueError, match="baselines"):
        exact_integrated_gradients(f, x, torch.zeros(3, 3))
    with pytest.raises(ValueError, match="out of range"):
        exact_integrated_gradients(lambda x: x, x, target=5)
    with pytest.raises(TypeError, match="max_pieces"):
        exact_integrated_gradients(f, x, max_pieces=1.5)
    with pytest.raises(TypeError, match="floating-point"):
        breakpoints(f, torch.ones(2, 3, dtype=torch.long))


def test_flat_pieces_with_rounding_noise_are_accepted():
    # ReLU(ReLU(x1) - 1 - ReLU(x2)) is 0 on most of this grid, where F may round to 2e-16 instead of 0.
    from iglib import toys

    f = toys.two_input_relu()
    grid = torch.arange(-1, 4.01, 0.1, dtype=torch.float64)
    xs = torch.cartesian_prod(grid, grid)
    _, delta = exact_integrated_gradients(f, xs, return_convergence_delta=True)
    assert delta.abs().max() < 1e-13
