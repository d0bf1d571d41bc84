"""Integrated Gradients and path methods: closed forms, Captum agreement, batching, errors."""
import itertools
import warnings

import pytest
import torch
from captum.attr import IntegratedGradients
from torch import nn

from iglib.integrated_gradients import integrated_gradients
from iglib.paths import axis_parallel_path, path_integrated_gradients, shapley_values, straight_line
from iglib.quadrature import METHODS, alphas_and_weights

pytestmark = pytest.mark.usefixtures("float64")


def tanh_net(seed=0, d_in=5, d_out=3):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d_in, 7), nn.Tanh(), nn.Linear(7, d_out)).eval()


class OneMinusRelu(nn.Module):  # F(x) = 1 - ReLU(1 - x): flat (gradient 0) for x > 1
    def forward(self, x):
        return 1 - torch.relu(1 - x[:, 0])


class MinX5(nn.Module):  # F(x) = min(x, 5) = 5 - ReLU(5 - x)
    def forward(self, x):
        return 5 - torch.relu(5 - x[:, 0])


# ---------------------------------------------------------------- quadrature
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("m", [2, 3, 16, 50])
def test_weights_sum_to_one_and_nodes_in_unit_interval(method, m):
    alphas, weights = alphas_and_weights(method, m)
    assert len(alphas) == len(weights) == m
    assert weights.sum() == pytest.approx(1.0, abs=1e-14)
    assert alphas.min() >= 0 and alphas.max() <= 1


def test_captum_trapezoid_weights_sum_to_m_minus_1_over_m():
    # The documented difference: Captum's "riemann_trapezoid" shrinks attributions by (m-1)/m.
    from captum.attr._utils.approximation_methods import approximation_parameters

    step_sizes, _ = approximation_parameters("riemann_trapezoid")
    for m in (2, 10, 50):
        assert sum(step_sizes(m)) == pytest.approx((m - 1) / m, abs=1e-14)
        assert alphas_and_weights("riemann_trapezoid", m)[1].sum() == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize("method", METHODS)
def test_rules_integrate_linear_functions_exactly(method):
    alphas, weights = alphas_and_weights(method, 7)
    exact = {"riemann_left": None, "riemann_right": None}  # one-sided rules are only first order
    value = float((weights * (3 * alphas + 1)).sum())
    if method in exact:
        assert value != pytest.approx(2.5, abs=1e-12)
    else:
        assert value == pytest.approx(2.5, abs=1e-13)


# ---------------------------------------------------------------- closed forms
@pytest.mark.parametrize("method", METHODS)
def test_linear_model_gives_coefficient_times_difference(method):
    torch.manual_seed(1)
    w = torch.randn(6)
    model = lambda x: x @ w + 0.3  # noqa: E731  any callable works, not only nn.Module
    x, base = torch.randn(3, 6), torch.randn(3, 6)
    attr, delta = integrated_gradients(model, x, base, n_steps=4, method=method, return_convergence_delta=True)
    torch.testing.assert_close(attr, (x - base) * w, rtol=0, atol=1e-13)
    assert delta.abs().max() < 1e-13


def test_saturated_relu_gradient_is_zero_but_ig_is_the_full_change():
    x = torch.tensor([[2.0]])
    model = OneMinusRelu().eval()
    x_req = x.clone().requires_grad_()
    (grad,) = torch.autograd.grad(model(x_req).sum(), x_req)
    assert grad.item() == 0.0
    # The kink sits at alpha = 1/2; the midpoint rule with even m puts exactly half its nodes before it.
    attr = integrated_gradients(model, x, n_steps=10, method="riemann_middle")
    assert attr.item() == pytest.approx(1.0, abs=1e-14)


def test_min_x_5_gets_5():
    # Kink at alpha = 5/8: five of the eight midpoints lie before it.
    attr = integrated_gradients(MinX5().eval(), torch.tensor([[8.0]]), n_steps=8, method="riemann_middle")
    assert attr.item() == pytest.approx(5.0, abs=1e-14)


@pytest.mark.parametrize("method", METHODS)
def test_completeness_converges_with_steps(method):
    model = tanh_net(2)
    x, base = torch.randn(2, 5), torch.zeros(2, 5)
    errors = [
        integrated_gradients(model, x, base, target=1, n_steps=m, method=method, return_convergence_delta=True)[1].abs().max()
        for m in (4, 128)
    ]
    with torch.no_grad():
        change = (model(x)[:, 1] - model(base)[:, 1]).abs().min()
    assert errors[1] < errors[0] / 4
    assert errors[1] < 0.05 * change  # the paper's rule: completeness within 5%


# ---------------------------------------------------------------- Captum agreement
@pytest.mark.parametrize("method", ["riemann_left", "riemann_right", "riemann_middle"])
def test_riemann_rules_agree_with_captum(method):
    # m a power of two: Captum's float32 nodes k/m and float32 step sizes 1/m are then exact.
    model = tanh_net(3)
    x, base = torch.randn(4, 5), torch.randn(1, 5)
    ours, d1 = integrated_gradients(model, x, base, target=[0, 1, 2, 1], n_steps=32, method=method, return_convergence_delta=True)
    theirs, d2 = IntegratedGradients(model).attribute(
        x, base, target=[0, 1, 2, 1], n_steps=32, method=method, return_convergence_delta=True
    )
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-12)
    torch.testing.assert_close(d1, d2, rtol=0, atol=1e-12)


def test_gausslegendre_agrees_with_captum():
    # Captum casts its step sizes to float32 (~1e-8 relative), the only difference.
    model = tanh_net(4)
    x = torch.randn(3, 5)
    for target in (2, torch.tensor([0, 2, 1])):
        ours = integrated_gradients(model, x, 0.5, target=target, n_steps=50)
        theirs = IntegratedGradients(model).attribute(x, 0.5, target=target, n_steps=50)
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-8)


def test_true_trapezoid_is_captums_rescaled_by_m_over_m_minus_1():
    model = tanh_net(5)
    x = torch.randn(2, 5)
    m = 17  # nodes k/16 are exact in Captum's float32
    ours = integrated_gradients(model, x, target=0, n_steps=m, method="riemann_trapezoid")
    theirs = IntegratedGradients(model).attribute(x, target=0, n_steps=m, method="riemann_trapezoid")
    torch.testing.assert_close(ours, theirs * m / (m - 1), rtol=1e-7, atol=1e-12)


def test_additional_forward_args_match_captum():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = tanh_net(6)

        def forward(self, x, scale, shift):
            return self.net(x) * scale[:, None] + shift

    model = Scaled().eval()
    x, scale = torch.randn(3, 5), torch.tensor([1.0, 2.0, -1.0])
    ours = integrated_gradients(model, x, target=1, additional_forward_args=(scale, 0.25), n_steps=16, internal_batch_size=7)
    theirs = IntegratedGradients(model).attribute(x, target=1, additional_forward_args=(scale, 0.25), n_steps=16, internal_batch_size=7)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-8)


def test_conv_net_shapes_and_captum_agreement():
    torch.manual_seed(7)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(36, 5)).eval()
    x = torch.randn(2, 3, 8, 8)
    ours = integrated_gradients(model, x, torch.zeros(1, 3, 1, 1), target=[4, 0], n_steps=20)
    theirs = IntegratedGradients(model).attribute(x, torch.zeros(1, 3, 1, 1).expand_as(x), target=[4, 0], n_steps=20)
    assert ours.shape == x.shape
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-8)


# ---------------------------------------------------------------- batching
@pytest.mark.parametrize("method", METHODS)
def test_internal_batch_size_never_changes_the_result(method):
    model = tanh_net(8)
    x = torch.randn(3, 5)
    full, d_full = integrated_gradients(model, x, target=2, n_steps=13, method=method, return_convergence_delta=True)
    for ibs in (1, 3, 4, 10, 39, 1000):
        part, d_part = integrated_gradients(
            model, x, target=2, n_steps=13, method=method, internal_batch_size=ibs, return_convergence_delta=True
        )
        torch.testing.assert_close(part, full, rtol=0, atol=1e-14)
        torch.testing.assert_close(d_part, d_full, rtol=0, atol=1e-14)


def test_examples_are_independent_of_their_batch():
    model = tanh_net(9)
    x = torch.randn(4, 5)
    together = integrated_gradients(model, x, target=[0, 1, 2, 0], n_steps=8)
    alone = torch.cat([integrated_gradients(model, x[i : i + 1], target=t, n_steps=8) for i, t in enumerate([0, 1, 2, 0])])
    torch.testing.assert_close(together, alone, rtol=0, atol=1e-14)


def test_float32_inputs_give_float32_attributions():
    model = tanh_net(10).float()
    x = torch.randn(2, 5, dtype=torch.float32)
    attr = integrated_gradients(model, x, target=0)
    assert attr.dtype == torch.float32 and attr.shape == x.shape


# ---------------------------------------------------------------- path methods
def test_straight_line_path_is_integrated_gradients():
    model = tanh_net(11)
    x, base = torch.randn(2, 5), torch.randn(2, 5)
    line = lambda a: base + a[:, None, None] * (x - base)  # noqa: E731  velocity by forward-mode AD
    ours = path_integrated_gradients(model, x, line, target=1, n_steps=20)
    torch.testing.assert_close(ours, integrated_gradients(model, x, base, target=1, n_steps=20), rtol=0, atol=1e-13)
    points = torch.stack([base, (base + x) / 2, x])  # the same line as two tabulated segments
    torch.testing.assert_close(
        path_integrated_gradients(model, x, points, target=1, n_steps=40), ours, rtol=0, atol=1e-6
    )


def test_curved_path_keeps_completeness_but_changes_attributions():
    model = tanh_net(12, d_in=2, d_out=1)
    x, base = torch.tensor([[1.0, 1.0]]), torch.zeros(1, 2)
    curve = lambda a: torch.stack([a**3, torch.sqrt(a)], -1)[:, None, :]  # noqa: E731  gamma(0)=(0,0), gamma(1)=(1,1)
    attr, delta = path_integrated_gradients(model, x, curve, n_steps=400, return_convergence_delta=True)
    assert abs(delta.item()) < 1e-4
    ig = integrated_gradients(model, x, base, n_steps=400)
    assert (attr - ig).abs().max() > 1e-3


def test_axis_parallel_paths_average_to_the_shapley_value():
    model = tanh_net(13, d_in=3, d_out=1)
    x, base = torch.randn(2, 3), torch.randn(2, 3)
    orders = list(itertools.permutations(range(3)))
    mean = sum(path_integrated_gradients(model, x, axis_parallel_path(base, x, o), n_steps=30) for o in orders) / len(orders)
    torch.testing.assert_close(mean, shapley_values(model, x, base), rtol=0, atol=1e-10)


def test_axis_parallel_path_gives_each_feature_its_segments_change():
    model = tanh_net(14, d_in=3, d_out=1)
    x, base = torch.randn(1, 3), torch.zeros(1, 3)
    points = axis_parallel_path(base, x, [2, 0, 1])
    attr = path_integrated_gradients(model, x, points, n_steps=30)
    with torch.no_grad():
        f = model(points.reshape(4, 3)).squeeze(1)
    torch.testing.assert_close(attr[0, [2, 0, 1]], f[1:] - f[:-1], rtol=0, atol=1e-12)


def test_shapley_values_of_an_additive_function_are_its_terms():
    model = lambda x: x[:, 0] ** 2 + 3 * x[:, 1] - x[:, 2] * 0  # noqa: E731
    x = torch.tensor([[2.0, 1.0, 5.0]])
    torch.testing.assert_close(shapley_values(model, x), torch.tensor([[4.0, 3.0, 0.0]]))


def test_shapley_splits_an_interaction_equally():
    model = lambda x: x[:, 0] * x[:, 1]  # noqa: E731
    phi = shapley_values(model, torch.tensor([[2.0, 3.0]]))
    torch.testing.assert_close(phi, torch.tensor([[3.0, 3.0]]))


# ---------------------------------------------------------------- errors
def test_bad_baseline_shape_names_the_argument():
    with pytest.raises(ValueError, match=r"baselines has shape \(4,\).*inputs' shape \(2, 5\)"):
        integrated_gradients(tanh_net(), torch.randn(2, 5), torch.zeros(4), target=0)


def test_target_out_of_range():
    with pytest.raises(ValueError, match="target 3 is out of range for an output with 3 classes"):
        integrated_gradients(tanh_net(), torch.randn(2, 5), target=3)
    with pytest.raises(ValueError, match="out of range"):
        integrated_gradients(tanh_net(), torch.randn(2, 5), target=[0, 7])
    with pytest.raises(ValueError, match="one integer class per example"):
        integrated_gradients(tanh_net(), torch.randn(2, 5), target=[0, 1, 2])
    with pytest.raises(ValueError, match="pass target=class index"):
        integrated_gradients(tanh_net(), torch.randn(2, 5))


@pytest.mark.parametrize("n_steps, error", [(0, ValueError), (-3, ValueError), (2.5, TypeError)])
def test_n_steps_must_be_a_positive_int(n_steps, error):
    with pytest.raises(error, match="n_steps must be"):
        integrated_gradients(tanh_net(), torch.randn(2, 5), target=0, n_steps=n_steps)


def test_trapezoid_needs_two_steps():
    with pytest.raises(ValueError, match="n_steps must be >= 2 for riemann_trapezoid"):
        integrated_gradients(tanh_net(), torch.randn(2, 5), target=0, n_steps=1, method="riemann_trapezoid")


def test_unknown_method():
    with pytest.raises(ValueError, match="method must be one of riemann_left.*got 'simpson'"):
        integrated_gradients(tanh_net(), torch.randn(2, 5), target=0, method="simpson")


def test_non_finite_model_output():
    model = lambda x: torch.log(x[:, 0])  # noqa: E731  log(0) = -inf at the zero baseline
    with pytest.raises(ValueError, match="model output is not finite"):
        integrated_gradients(model, torch.ones(1, 2), n_steps=4, method="riemann_left")


def test_inputs_on_another_device_than_the_model():
    model = tanh_net().to("meta")
    with pytest.raises(ValueError, match="inputs are on cpu but the model's parameters are on meta"):
        integrated_gradients(model, torch.randn(2, 5), target=0)


def test_model_in_training_mode_warns():
    model = tanh_net().train()
    with pytest.warns(UserWarning, match="training mode.*model.eval"):
        integrated_gradients(model, torch.randn(2, 5), target=0, n_steps=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        integrated_gradients(model.eval(), torch.randn(2, 5), target=0, n_steps=2)


def test_inputs_must_be_one_floating_tensor():
    with pytest.raises(TypeError, match="inputs must be a single torch.Tensor"):
        integrated_gradients(tanh_net(), (torch.randn(2, 5),), target=0)
    with pytest.raises(TypeError, match="floating-point dtype"):
        integrated_gradients(tanh_net(), torch.ones(2, 5, dtype=torch.long), target=0)


def test_wrong_output_batch():
    with pytest.raises(ValueError, match=r"forward returned shape \(1,\) for a batch of"):
        integrated_gradients(lambda x: x.sum().reshape(1), torch.randn(2, 5), n_steps=2)


def test_internal_batch_size_must_be_positive():
    with pytest.raises(ValueError, match="internal_batch_size must be >= 1"):
        integrated_gradients(tanh_net(), torch.randn(2, 5), target=0, internal_batch_size=0)


def test_path_must_end_at_the_input():
    x = torch.ones(1, 5)
    with pytest.raises(ValueError, match="path must end at inputs"):
        path_integrated_gradients(tanh_net(), x, straight_line(torch.zeros(1, 5), 2 * x), target=0)
    with pytest.raises(ValueError, match=r"path as points must have shape"):
        path_integrated_gradients(tanh_net(), x, torch.zeros(3, 5), target=0)
    with pytest.raises(ValueError, match="order must be a permutation"):
        axis_parallel_path(torch.zeros(1, 3), torch.ones(1, 3), [0, 0, 1])


def test_import_iglib_does_not_import_matplotlib():
    import subprocess
    import sys

    code = "import sys, iglib; iglib.integrated_gradients; print('matplotlib' in sys.modules, 'sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


