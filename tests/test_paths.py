"""Path methods (iglib.paths): the straight line, curved and tabulated paths, axis-parallel paths and
Shapley values against closed forms, completeness along curved paths, segments, and the errors."""
import itertools

import pytest
import torch
from torch import nn

from iglib.integrated_gradients import integrated_gradients
from iglib.paths import Segment, StraightLine, axis_parallel_path, path_integrated_gradients, shapley_values, straight_line

pytestmark = pytest.mark.usefixtures("float64_module", "one_thread")  # tests/conftest.py


def tanh_net(seed=0, d_in=3, d_out=2):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d_in, 6), nn.Tanh(), nn.Linear(6, d_out)).eval()


def product(x):  # F(x) = x1 * x2
    return x[:, 0] * x[:, 1]


def quadratic(x):  # F(x) = x1^2 + 2 x1 x2 - 3 x2^2
    return x[:, 0] ** 2 + 2 * x[:, 0] * x[:, 1] - 3 * x[:, 1] ** 2


def column(alphas):
    return alphas.reshape(-1, 1, 1)


# ---------------------------------------------------------------- the straight line
def test_straight_line_runs_from_the_baseline_to_the_input_with_constant_velocity():
    x, base = torch.tensor([[1.0, 2.0, -3.0]]), torch.tensor([[-1.0, 0.5, 0.0]])
    line = straight_line(base, x)
    assert isinstance(line, StraightLine)
    points = line(torch.tensor([0.0, 0.25, 1.0]))
    assert points.shape == (3, 1, 3)
    torch.testing.assert_close(points[0], base, rtol=0, atol=0)
    torch.testing.assert_close(points[1], base + 0.25 * (x - base), rtol=0, atol=0)
    torch.testing.assert_close(points[2], x, rtol=0, atol=0)
    velocity = line.velocity(torch.tensor([0.0, 0.3, 0.9, 1.0]))
    assert velocity.shape == (4, 1, 3)
    torch.testing.assert_close(velocity, (x - base).expand(4, 1, 3), rtol=0, atol=0)


def test_straight_line_takes_the_baselines_as_integrated_gradients_does():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    torch.testing.assert_close(straight_line(None, x)(torch.tensor([0.0]))[0], torch.zeros(2, 2))
    torch.testing.assert_close(straight_line(0.5, x)(torch.tensor([0.0]))[0], torch.full((2, 2), 0.5))
    torch.testing.assert_close(straight_line(torch.tensor([1.0, -1.0]), x)(torch.tensor([0.0]))[0],
                               torch.tensor([[1.0, -1.0], [1.0, -1.0]]))


@pytest.mark.parametrize("method", ["riemann_left", "riemann_middle", "riemann_trapezoid", "gausslegendre"])
def test_path_ig_along_the_straight_line_is_integrated_gradients(method):
    model = tanh_net(1)
    x, base = torch.randn(3, 3), torch.randn(3, 3)
    ours = path_integrated_gradients(model, x, straight_line(base, x), target=[0, 1, 1], n_steps=9, method=method)
    ig = integrated_gradients(model, x, base, target=[0, 1, 1], n_steps=9, method=method)
    torch.testing.assert_close(ours, ig, rtol=0, atol=1e-14)


def test_a_reparametrised_straight_line_gives_integrated_gradients_for_a_smooth_model():
    # gamma(alpha) = x' + alpha^2 (x - x'): the same curve at another speed, velocity by forward-mode AD
    model = tanh_net(2)
    x, base = torch.randn(2, 3), torch.randn(2, 3)
    slow_start = lambda a: base + column(a) ** 2 * (x - base)  # noqa: E731
    ours = path_integrated_gradients(model, x, slow_start, target=1, n_steps=60)
    torch.testing.assert_close(ours, integrated_gradients(model, x, base, target=1, n_steps=60), rtol=0, atol=1e-10)


def test_a_reparametrised_straight_line_is_exact_for_a_quadratic_model():
    # dF/dalpha is a cubic in alpha: two Gauss-Legendre nodes integrate it exactly
    x, base = torch.tensor([[1.0, 2.0]]), torch.tensor([[-1.0, 0.5]])
    slow_start = lambda a: base + column(a) ** 2 * (x - base)  # noqa: E731
    ours = path_integrated_gradients(quadratic, x, slow_start, n_steps=2)
    torch.testing.assert_close(ours, integrated_gradients(quadratic, x, base, n_steps=2), rtol=0, atol=1e-13)


def test_the_straight_line_as_tabulated_points_is_integrated_gradients():
    # two straight segments of the same line; for a quadratic F each segment's integrand is linear
    x, base = torch.tensor([[1.0, 2.0], [0.5, -1.0]]), torch.tensor([[-1.0, 0.5], [2.0, 0.0]])
    points = torch.stack([base, base + 0.3 * (x - base), x])
    ours = path_integrated_gradients(quadratic, x, points, n_steps=1)
    torch.testing.assert_close(ours, integrated_gradients(quadratic, x, base, n_steps=1), rtol=0, atol=1e-13)


# ---------------------------------------------------------------- curved paths: closed forms and completeness
@pytest.mark.parametrize("p, q", [(1, 1), (2, 1), (3, 1), (1, 2)])
def test_the_monomial_path_splits_a_product_in_proportion_to_the_exponents(p, q):
    # gamma(alpha) = (a alpha^p, b alpha^q) on F = x1 x2: attributions ab p/(p+q) and ab q/(p+q)
    a, b = 2.0, -3.0
    x = torch.tensor([[a, b]])
    curve = lambda t: torch.stack([a * t**p, b * t**q], -1)[:, None, :]  # noqa: E731
    attr, delta = path_integrated_gradients(product, x, curve, n_steps=2, return_convergence_delta=True)
    torch.testing.assert_close(attr, torch.tensor([[a * b * p / (p + q), a * b * q / (p + q)]]), rtol=0, atol=1e-13)
    assert abs(delta.item()) < 1e-13


@pytest.mark.parametrize("n_steps", [2, 3, 10])
def test_completeness_holds_along_a_curved_path_on_a_quadratic_model(n_steps):
    # gamma(alpha) = x' + alpha (x - x') + alpha (1 - alpha) c bends off the line; dF/dalpha is a cubic
    x, base = torch.tensor([[1.0, 2.0], [-0.5, 1.5]]), torch.tensor([[-1.0, 0.5], [0.0, 0.0]])
    bend = torch.tensor([[0.7, -1.3], [2.0, 1.0]])
    curve = lambda a: base + column(a) * (x - base) + column(a * (1 - a)) * bend  # noqa: E731
    attr, delta = path_integrated_gradients(quadratic, x, curve, n_steps=n_steps, return_convergence_delta=True)
    torch.testing.assert_close(attr.sum(1), quadratic(x) - quadratic(base), rtol=0, atol=1e-12)
    torch.testing.assert_close(delta, torch.zeros(2), rtol=0, atol=1e-12)
    exact = path_integrated_gradients(quadratic, x, curve, n_steps=2)
    torch.testing.assert_close(attr, exact, rtol=0, atol=1e-12)  # every rule from two nodes on is exact
    straight = integrated_gradients(quadratic, x, base, n_steps=2)
    assert (attr - straight).abs().max() > 0.1  # the bend moves attribution between the features


def test_the_delta_measures_against_the_paths_own_start():
    # the path starts at gamma(0) = (1, 1), not at a baseline: completeness is F(x) - F(gamma(0))
    x = torch.tensor([[2.0, 3.0]])
    start = torch.tensor([[1.0, 1.0]])
    line = lambda a: start + column(a) * (x - start)  # noqa: E731
    attr, delta = path_integrated_gradients(product, x, line, n_steps=1, return_convergence_delta=True)
    torch.testing.assert_close(attr.sum(1), product(x) - product(start), rtol=0, atol=1e-13)
    assert abs(delta.item()) < 1e-13


def test_a_paths_own_velocity_method_is_used_instead_of_autodiff():
    class DoubleSpeed(StraightLine):  # claims twice the true velocity: the attributions double
        def velocity(self, alphas):
            return 2 * super().velocity(alphas)

    x, base = torch.tensor([[2.0, 3.0]]), torch.zeros(1, 2)
    attr = path_integrated_gradients(product, x, DoubleSpeed(base, x), n_steps=1)
    torch.testing.assert_close(attr, torch.tensor([[6.0, 6.0]]), rtol=0, atol=1e-13)


# ---------------------------------------------------------------- axis-parallel paths and Shapley values
def test_axis_parallel_path_moves_one_feature_at_a_time_in_the_given_order():
    x, base = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), torch.tensor([-1.0, -2.0, -3.0])
    points = axis_parallel_path(base, x, [2, 0, 1])
    assert points.shape == (4, 2, 3)
    torch.testing.assert_close(points[0], base.expand(2, 3), rtol=0, atol=0)
    torch.testing.assert_close(points[-1], x, rtol=0, atol=0)
    for step, feature in enumerate([2, 0, 1]):
        changed = (points[step + 1] != points[step]).any(0)
        assert changed.nonzero().flatten().tolist() == [feature]
        torch.testing.assert_close(points[step + 1][:, feature], x[:, feature], rtol=0, atol=0)


def test_axis_parallel_path_numbers_the_features_of_multi_dimensional_inputs_flat():
    x = torch.arange(1.0, 5.0).reshape(1, 2, 2)
    points = axis_parallel_path(None, x, [3, 1, 0, 2])
    assert points.shape == (5, 1, 2, 2)
    torch.testing.assert_close(points[1], torch.tensor([[[0.0, 0.0], [0.0, 4.0]]]), rtol=0, atol=0)
    torch.testing.assert_close(points[2], torch.tensor([[[0.0, 2.0], [0.0, 4.0]]]), rtol=0, atol=0)


@pytest.mark.parametrize("order", [[0, 1], [1, 0]])
def test_axis_parallel_path_gives_a_product_to_the_feature_that_moves_second(order):
    # F = x1 x2 from (b1, b2) to (a, b): first feature i gets its move at the other's baseline value
    a, b, b1, b2 = 2.0, 3.0, 0.5, -1.0
    x, base = torch.tensor([[a, b]]), torch.tensor([[b1, b2]])
    attr = path_integrated_gradients(product, x, axis_parallel_path(base, x, order), n_steps=1)
    expected = [[(a - b1) * b2, a * (b - b2)]] if order == [0, 1] else [[(a - b1) * b, b1 * (b - b2)]]
    torch.testing.assert_close(attr, torch.tensor(expected), rtol=0, atol=1e-13)


def test_shapley_values_of_a_product_from_zero_are_half_the_product_each():
    a, b = 2.0, -5.0
    torch.testing.assert_close(shapley_values(product, torch.tensor([[a, b]])), torch.tensor([[a * b / 2, a * b / 2]]))


def test_shapley_values_of_a_product_from_a_baseline_match_the_closed_form():
    # phi_1 = (a - b1)(b + b2)/2, phi_2 = (b - b2)(a + b1)/2
    a, b, b1, b2 = 2.0, 3.0, 0.5, -1.0
    phi = shapley_values(product, torch.tensor([[a, b]]), torch.tensor([[b1, b2]]))
    torch.testing.assert_close(phi, torch.tensor([[(a - b1) * (b + b2) / 2, (b - b2) * (a + b1) / 2]]), rtol=0, atol=1e-14)


def test_shapley_values_of_a_triple_product_are_a_third_each():
    x = torch.tensor([[2.0, 3.0, 4.0], [1.0, -1.0, 6.0]])
    phi = shapley_values(lambda z: z.prod(1), x)
    torch.testing.assert_close(phi, x.prod(1, keepdim=True).expand(2, 3) / 3, rtol=0, atol=1e-13)


def test_shapley_values_give_a_dummy_feature_nothing_and_add_up_to_the_change():
    model = lambda z: torch.tanh(z[:, 0] - 2 * z[:, 1]) * z[:, 2] + 0 * z[:, 3]  # noqa: E731
    torch.manual_seed(3)
    x, base = torch.randn(3, 4), torch.randn(3, 4)
    phi = shapley_values(model, x, base)
    assert phi[:, 3].abs().max() == 0
    torch.testing.assert_close(phi.sum(1), model(x) - model(base), rtol=0, atol=1e-13)


def test_shapley_values_are_the_average_over_orders_of_axis_parallel_path_ig():
    model = tanh_net(4, d_in=3, d_out=2)
    torch.manual_seed(4)
    x, base = torch.randn(2, 3), torch.randn(2, 3)
    orders = list(itertools.permutations(range(3)))
    mean = sum(
        path_integrated_gradients(model, x, axis_parallel_path(base, x, o), target=[1, 0], n_steps=40) for o in orders
    ) / len(orders)
    torch.testing.assert_close(shapley_values(model, x, base, target=[1, 0]), mean, rtol=0, atol=1e-10)


# ---------------------------------------------------------------- segments
def test_a_segment_runs_its_piece_of_the_path_at_its_own_alpha():
    curve = lambda a: torch.stack([a, a**2], -1)[:, None, :]  # noqa: E731
    piece = Segment(curve, 0.25, 0.75)
    u = torch.tensor([0.0, 0.5, 1.0])
    torch.testing.assert_close(piece(u), curve(0.25 + 0.5 * u), rtol=0, atol=0)
    # sigma'(u) = (stop - start) gamma'(start + u (stop - start)), gamma'(a) = (1, 2a)
    a = 0.25 + 0.5 * u
    torch.testing.assert_close(piece.velocity(u), 0.5 * torch.stack([torch.ones(3), 2 * a], -1)[:, None, :],
                               rtol=0, atol=1e-15)


@pytest.mark.parametrize("start, stop", [(0.5, 0.5), (0.6, 0.4), (-0.1, 0.5), (0.0, 1.5)])
def test_a_segment_outside_the_unit_interval_or_empty_is_an_error(start, stop):
    with pytest.raises(ValueError, match=f"a segment needs 0 <= start < stop <= 1, got start={start}, stop={stop}"):
        Segment(lambda a: a, start, stop)


# ---------------------------------------------------------------- errors
def test_a_path_returning_the_wrong_shape_is_an_error_naming_the_shape():
    x = torch.ones(1, 2)
    with pytest.raises(ValueError, match=r"path\(alphas\) must return shape \[K, \*inputs.shape\]; got \(2, 3\) for K=2"):
        path_integrated_gradients(product, x, lambda a: torch.zeros(len(a), 3))
    with pytest.raises(ValueError, match="must return shape .*got int"):
        path_integrated_gradients(product, x, lambda a: 5)


def test_tabulated_points_of_the_wrong_shape_are_an_error_naming_both_shapes():
    x = torch.ones(1, 2)
    with pytest.raises(ValueError, match=r"shape \[P >= 2, \*inputs.shape\] = \[P, 1, 2\], got \(3, 2\)"):
        path_integrated_gradients(product, x, torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"got \(1, 1, 2\)"):  # one point is no path
        path_integrated_gradients(product, x, torch.ones(1, 1, 2))


def test_a_path_that_is_neither_callable_nor_a_tensor_is_a_type_error():
    with pytest.raises(TypeError, match="path must be a callable gamma.*got str"):
        path_integrated_gradients(product, torch.ones(1, 2), "straight")


def test_a_path_that_misses_the_input_is_an_error():
    x = torch.ones(1, 2)
    with pytest.raises(ValueError, match="path must end at inputs"):
        path_integrated_gradients(product, x, lambda a: column(a) * 0.9 * x)


def test_non_finite_path_points_are_an_error():
    x = torch.ones(1, 2)
    points = torch.stack([torch.full((1, 2), float("nan")), x])
    with pytest.raises(ValueError, match="path must be finite"):
        path_integrated_gradients(product, x, points)


def test_an_order_that_is_not_a_permutation_is_an_error():
    with pytest.raises(ValueError, match=r"order must be a permutation of the 3 feature indices 0..2, got \[0, 1\]"):
        axis_parallel_path(None, torch.ones(1, 3), [0, 1])


def test_shapley_values_refuse_more_than_16_features():
    with pytest.raises(ValueError, match="n = 17 features per example, at most 16"):
        shapley_values(lambda z: z.sum(1), torch.ones(1, 17))
