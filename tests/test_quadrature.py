"""Quadrature rules (iglib.quadrature): weights and nodes of every rule, their closed-form errors on
monomials, Gauss-Legendre's degree of exactness, ``nodes``' dtype/device/shape, and the errors."""
import re
from math import factorial

import numpy as np
import pytest
import torch

from iglib.quadrature import METHODS, alphas_and_weights, nodes


def integrate(method, m, f):
    alphas, weights = alphas_and_weights(method, m)
    return float(weights @ f(alphas))


# ---------------------------------------------------------------- every rule
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("m", [2, 5, 64])
def test_weights_are_positive_sum_to_one_and_nodes_increase_inside_unit_interval(method, m):
    alphas, weights = alphas_and_weights(method, m)
    assert alphas.shape == weights.shape == (m,)
    assert alphas.dtype == weights.dtype == np.float64
    assert (weights > 0).all()
    assert weights.sum() == pytest.approx(1.0, abs=1e-14)
    assert (0 <= alphas).all() and (alphas <= 1).all()
    assert (np.diff(alphas) > 0).all()


@pytest.mark.parametrize("method", ["riemann_middle", "riemann_trapezoid", "gausslegendre"])
def test_symmetric_rules_are_mirror_images_about_one_half(method):
    alphas, weights = alphas_and_weights(method, 9)
    np.testing.assert_allclose(alphas + alphas[::-1], 1.0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(weights, weights[::-1], rtol=0, atol=1e-15)


@pytest.mark.parametrize("method", METHODS)
def test_every_rule_integrates_constants_exactly(method):
    assert integrate(method, 7, lambda a: np.full_like(a, 3.5)) == pytest.approx(3.5, abs=1e-14)


# ---------------------------------------------------------------- Riemann and trapezoid: nodes and closed-form errors
@pytest.mark.parametrize("m", [1, 4, 10])
def test_riemann_left_includes_zero_and_excludes_one(m):
    alphas, weights = alphas_and_weights("riemann_left", m)
    np.testing.assert_array_equal(alphas, np.arange(m) / m)
    np.testing.assert_array_equal(weights, np.full(m, 1 / m))


@pytest.mark.parametrize("m", [1, 4, 10])
def test_riemann_right_includes_one_and_excludes_zero(m):
    alphas, weights = alphas_and_weights("riemann_right", m)
    np.testing.assert_array_equal(alphas, np.arange(1, m + 1) / m)
    np.testing.assert_array_equal(weights, np.full(m, 1 / m))


def test_riemann_middle_has_nodes_at_interval_midpoints():
    alphas, _ = alphas_and_weights("riemann_middle", 4)
    np.testing.assert_array_equal(alphas, [0.125, 0.375, 0.625, 0.875])


def test_trapezoid_includes_both_ends_with_half_weights():
    alphas, weights = alphas_and_weights("riemann_trapezoid", 5)
    np.testing.assert_array_equal(alphas, [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_array_equal(weights, [0.125, 0.25, 0.25, 0.25, 0.125])
    np.testing.assert_array_equal(alphas_and_weights("riemann_trapezoid", 2)[1], [0.5, 0.5])


@pytest.mark.parametrize("m", [1, 3, 8])
def test_one_sided_riemann_rules_miss_a_linear_integral_by_one_over_2m(m):
    # sum_k k/m^2 = (m-1)/(2m): left is 1/2 - 1/(2m), right is 1/2 + 1/(2m)
    assert integrate("riemann_left", m, lambda a: a) == pytest.approx(0.5 - 1 / (2 * m), abs=1e-15)
    assert integrate("riemann_right", m, lambda a: a) == pytest.approx(0.5 + 1 / (2 * m), abs=1e-15)


@pytest.mark.parametrize("method", ["riemann_middle", "riemann_trapezoid"])
@pytest.mark.parametrize("m", [2, 3, 11])
def test_midpoint_and_trapezoid_rules_integrate_linear_functions_exactly(method, m):
    assert integrate(method, m, lambda a: 3 * a - 1) == pytest.approx(0.5, abs=1e-14)


@pytest.mark.parametrize("m", [1, 2, 5, 20])
def test_midpoint_rule_undershoots_alpha_squared_by_one_over_12_m_squared(m):
    assert integrate("riemann_middle", m, lambda a: a**2) == pytest.approx(1 / 3 - 1 / (12 * m**2), abs=1e-15)


@pytest.mark.parametrize("m", [2, 3, 5, 20])
def test_trapezoid_rule_overshoots_alpha_squared_by_h_squared_over_6(m):
    h = 1 / (m - 1)
    assert integrate("riemann_trapezoid", m, lambda a: a**2) == pytest.approx(1 / 3 + h**2 / 6, abs=1e-15)


# ---------------------------------------------------------------- Gauss-Legendre
@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 6, 9])
def test_gauss_legendre_integrates_polynomials_of_degree_2m_minus_1_exactly(m):
    for degree in range(2 * m):
        assert integrate("gausslegendre", m, lambda a: a**degree) == pytest.approx(1 / (degree + 1), abs=1e-14)


@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 6])
def test_gauss_legendre_misses_degree_2m_by_its_closed_form_error(m):
    # On [0, 1]: integral - rule = (m!)^4 / ((2m+1) ((2m)!)^3) * f^(2m), and f^(2m) = (2m)! for alpha^(2m)
    error = factorial(m) ** 4 / ((2 * m + 1) * factorial(2 * m) ** 2)
    value = integrate("gausslegendre", m, lambda a: a ** (2 * m))
    assert 1 / (2 * m + 1) - value == pytest.approx(error, rel=1e-9, abs=0)
    assert error > 1e-10  # so the rule is really not exact at degree 2m


def test_one_point_gauss_legendre_is_the_midpoint():
    alphas, weights = alphas_and_weights("gausslegendre", 1)
    np.testing.assert_array_equal(alphas, [0.5])
    np.testing.assert_array_equal(weights, [1.0])


def test_two_point_gauss_legendre_has_the_textbook_nodes():
    alphas, weights = alphas_and_weights("gausslegendre", 2)
    np.testing.assert_allclose(alphas, [0.5 - 0.5 / np.sqrt(3), 0.5 + 0.5 / np.sqrt(3)], rtol=0, atol=1e-15)
    np.testing.assert_allclose(weights, [0.5, 0.5], rtol=0, atol=1e-15)


@pytest.mark.parametrize("m", [3, 7, 8, 50, 101])
def test_gauss_legendre_matches_numpys_leggauss(m):
    x, w = np.polynomial.legendre.leggauss(m)
    alphas, weights = alphas_and_weights("gausslegendre", m)
    np.testing.assert_allclose(alphas, (x + 1) / 2, rtol=0, atol=1e-14)
    np.testing.assert_allclose(weights, w / 2, rtol=0, atol=1e-14)


def test_gauss_legendre_is_an_open_rule():
    alphas, _ = alphas_and_weights("gausslegendre", 30)
    assert 0 < alphas[0] and alphas[-1] < 1


def test_changing_returned_weights_does_not_change_the_cached_rule():
    _, weights = alphas_and_weights("gausslegendre", 6)
    expected = weights.copy()
    weights[:] = 0
    np.testing.assert_array_equal(alphas_and_weights("gausslegendre", 6)[1], expected)


# ---------------------------------------------------------------- nodes(...) as tensors
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("method", METHODS)
def test_nodes_take_likes_dtype_and_device_and_broadcast_against_it(method, dtype):
    like = torch.zeros(2, 3, 4, dtype=dtype)
    alphas, weights = nodes(method, 6, like=like)
    assert alphas.shape == (6, 1, 1, 1) and weights.shape == (6,)
    assert alphas.dtype == weights.dtype == dtype
    assert alphas.device == weights.device == like.device
    assert (alphas * like).shape == (6, 2, 3, 4)
    a, w = alphas_and_weights(method, 6)
    np.testing.assert_allclose(alphas.reshape(-1).double().numpy(), a, rtol=0, atol=1e-7)
    np.testing.assert_allclose(weights.double().numpy(), w, rtol=0, atol=1e-7)


def test_nodes_follow_likes_device_even_when_it_is_meta():
    alphas, weights = nodes("riemann_right", 3, like=torch.empty(5, device="meta"))
    assert alphas.device.type == weights.device.type == "meta"
    assert alphas.shape == (3, 1)


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("n_steps", [2.5, True, "3", None, np.float64(3.0)])
def test_a_step_count_that_is_not_an_int_is_a_type_error_quoting_it(n_steps):
    with pytest.raises(TypeError, match=re.escape(f"n_steps must be an int >= 1, got {n_steps!r}")):
        alphas_and_weights("riemann_left", n_steps)


@pytest.mark.parametrize("n_steps", [0, -4])
def test_a_step_count_below_one_is_a_value_error_quoting_it(n_steps):
    with pytest.raises(ValueError, match=f"n_steps must be >= 1, got {n_steps}"):
        alphas_and_weights("gausslegendre", n_steps)


def test_numpy_integer_step_counts_are_accepted():
    alphas, weights = alphas_and_weights("gausslegendre", np.int64(4))
    assert len(alphas) == len(weights) == 4


def test_trapezoid_with_one_step_is_an_error():
    with pytest.raises(ValueError, match="n_steps must be >= 2 for riemann_trapezoid.*got 1"):
        alphas_and_weights("riemann_trapezoid", 1)


@pytest.mark.parametrize("method", ["simpson", "Riemann_left", "", "gauss"])
def test_an_unknown_method_is_an_error_listing_the_rules_and_quoting_it(method):
    with pytest.raises(ValueError, match=f"method must be one of {', '.join(METHODS)}; got {method!r}"):
        alphas_and_weights(method, 4)


def test_adaptive_as_a_method_points_to_its_own_function():
    with pytest.raises(ValueError, match="got 'adaptive'.*iglib.adaptive_integrated_gradients"):
        nodes("adaptive", 4, like=torch.zeros(1))
