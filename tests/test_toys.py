"""The paper's toy networks and the uniqueness proof's witness (ig-reference.md sections 3 and 5)."""
import math

import pytest
import torch
from captum.attr import Deconvolution, DeepLift, GuidedBackprop

from iglib import toys
from iglib.integrated_gradients import integrated_gradients
from iglib.paths import axis_parallel_path, path_integrated_gradients, straight_line

D = torch.float64
ZERO, ONE = torch.zeros(1, 2, dtype=D), torch.ones(1, 2, dtype=D)


def random_points(n=2000, d=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return 8 * torch.rand(n, d, generator=g, dtype=D) - 4  # [-4, 4]^d: every ReLU on both sides


# ---------------------------------------------------------------- the toys' values
@pytest.mark.parametrize("functional", [False, True])
def test_one_input_toys_are_their_formulas(functional):
    x = torch.linspace(-3, 10, 131, dtype=D)[:, None]
    torch.testing.assert_close(toys.one_minus_relu(functional)(x), torch.clamp(x[:, 0], max=1), rtol=0, atol=1e-15)
    torch.testing.assert_close(toys.min_x_5(functional)(x), torch.clamp(x[:, 0], max=5), rtol=0, atol=1e-15)
    assert toys.one_minus_relu(functional)(torch.tensor([[2.0], [0.0]], dtype=D)).tolist() == [1.0, 0.0]
    assert toys.min_x_5(functional)(torch.tensor([[8.0], [0.0]], dtype=D)).tolist() == [5.0, 0.0]


@pytest.mark.parametrize("functional", [False, True])
def test_f_and_g_are_the_same_function(functional):
    f, g = toys.implementation_pair(functional)
    x = random_points()
    x1, x2 = x[:, 0], x[:, 1]
    expected = torch.relu(torch.relu(x1) - 1 - torch.relu(x2))
    torch.testing.assert_close(f(x), expected, rtol=0, atol=1e-14)
    torch.testing.assert_close(g(x), expected, rtol=0, atol=1e-14)
    assert f(torch.tensor([[3.0, 1.0]], dtype=D)).item() == 1.0
    assert (f(x) > 0).any() and (f(x) == 0).any()  # the grid reaches both pieces


def test_module_and_functional_variants_agree_and_only_modules_have_relu_layers():
    x = random_points()
    for make in (toys.one_minus_relu, toys.min_x_5, toys.two_input_relu, toys.symmetric_relu, toys.ignores_x2):
        module, functional = make(), make(functional=True)
        inputs = x[:, :1] if make in (toys.one_minus_relu, toys.min_x_5) else x
        torch.testing.assert_close(module(inputs), functional(inputs), rtol=0, atol=1e-14)
        assert not module.training and not functional.training
        assert any(isinstance(m, torch.nn.ReLU) for m in module.modules())
        assert not any(isinstance(m, torch.nn.ReLU) for m in functional.modules())
        assert all(p.dtype == D and not p.requires_grad for p in module.parameters())
        assert module(inputs).shape == (len(inputs),)


def test_symmetric_and_dummy_toys():
    x = random_points()
    sym, dummy = toys.symmetric_relu(), toys.ignores_x2()
    torch.testing.assert_close(sym(x), sym(x.flip(1)), rtol=0, atol=0)
    torch.testing.assert_close(sym(x), torch.relu(x.sum(1) - 1), rtol=0, atol=1e-14)
    moved = x.clone()
    moved[:, 1] = -moved[:, 1] * 7
    torch.testing.assert_close(dummy(x), dummy(moved), rtol=0, atol=0)
    torch.testing.assert_close(dummy(x), torch.relu(x[:, 0] - 1), rtol=0, atol=1e-14)


def test_float32_toys():
    f = toys.two_input_relu(dtype=torch.float32)
    assert f(torch.tensor([[3.0, 1.0]])).dtype == torch.float32


@pytest.mark.filterwarnings("ignore::UserWarning")  # Captum announces its hooks
def test_captum_hooks_run_on_the_module_toys_and_give_the_papers_numbers():
    f, g = toys.implementation_pair()
    x = torch.tensor([[3.0, 1.0]], dtype=D)
    torch.testing.assert_close(DeepLift(f).attribute(x, ZERO).detach(), torch.tensor([[1.5, -0.5]], dtype=D))
    torch.testing.assert_close(DeepLift(g).attribute(x, ZERO).detach(), torch.tensor([[2.0, -1.0]], dtype=D))
    for method in (GuidedBackprop(f), Deconvolution(f)):
        assert method.attribute(x)[0, 1].item() == 0.0  # x2 gets nothing
    # Captum's hooks cannot see torch.relu: on the functional f DeepLIFT falls back to gradient * input
    f_functional, _ = toys.implementation_pair(functional=True)
    torch.testing.assert_close(DeepLift(f_functional).attribute(x, ZERO).detach(), torch.tensor([[3.0, -1.0]], dtype=D))


# ---------------------------------------------------------------- bent paths
def test_bent_path_ends_and_bend_zero_is_the_straight_line():
    alphas = torch.linspace(0, 1, 11, dtype=D)
    gamma = toys.bent_path(ZERO, ONE, 0.5)
    assert gamma(alphas).shape == (11, 1, 2)
    torch.testing.assert_close(gamma(torch.tensor([0.0, 1.0], dtype=D)), torch.stack([ZERO, ONE]), rtol=0, atol=1e-15)
    torch.testing.assert_close(toys.bent_path(ZERO, ONE, 0.0)(alphas), straight_line(ZERO, ONE)(alphas))
    # the bump is bend * sin(pi a) * (1, -1) / 2 for x - x' = (1, 1)
    torch.testing.assert_close(gamma(torch.tensor([0.5], dtype=D)), torch.tensor([[[0.75, 0.25]]], dtype=D))
    assert toys.bent_path(None, ONE, 0.5)(torch.tensor([0.5], dtype=D)).tolist() == [[[0.75, 0.25]]]


def test_bent_path_velocity_is_the_derivative():
    gamma = toys.bent_path(torch.tensor([[1.0, -2.0]], dtype=D), torch.tensor([[3.0, 0.5]], dtype=D), 0.4)
    alphas = torch.linspace(0.05, 0.95, 7, dtype=D)
    _, jvp = torch.func.jvp(gamma, (alphas,), (torch.ones_like(alphas),))
    torch.testing.assert_close(gamma.velocity(alphas), jvp)


def test_bent_path_needs_two_features():
    with pytest.raises(ValueError, match="2 features"):
        toys.bent_path(torch.zeros(1, 3, dtype=D), torch.ones(1, 3, dtype=D), 0.5)


# ---------------------------------------------------------------- the symmetry witness
@pytest.mark.parametrize("bend", [0.1, 0.5, 2 / math.pi])
def test_bent_path_gives_x_j_strictly_more_but_the_straight_line_is_fair(bend):
    path = toys.bent_path(ZERO, ONE, bend)
    w = toys.symmetry_witness(path)
    assert (w.i, w.j) == (0, 1)  # gamma_1 > gamma_2 inside, so x_2 must get more
    assert (w.t0, w.t1, w.t2, w.a, w.b) == pytest.approx((0.5, 0.0, 1.0, 0.0, 1.0), abs=1e-12)
    attr, delta = path_integrated_gradients(w.f, ONE, path, n_steps=64, return_convergence_delta=True)
    a_i, a_j = attr[0, w.i].item(), attr[0, w.j].item()
    assert a_j > a_i + 0.05
    # closed form: f = x_i x_j on the box, and a_j - a_i = integral of 2(u - a u') da = 4 * bend / pi
    assert a_j - a_i == pytest.approx(4 * bend / math.pi, abs=1e-10)
    assert abs(delta.item()) < 1e-12
    # the straight line on the same symmetric f: equal shares
    ig = integrated_gradients(w.f, ONE, ZERO, n_steps=64)
    assert ig[0, 0].item() == pytest.approx(ig[0, 1].item(), abs=1e-14)
    assert ig.sum().item() == pytest.approx(1.0, abs=1e-12)


def test_negative_bend_swaps_the_roles():
    path = toys.bent_path(ZERO, ONE, -0.3)
    w = toys.symmetry_witness(path)
    assert (w.i, w.j) == (1, 0)
    attr = path_integrated_gradients(w.f, ONE, path, n_steps=64)
    assert attr[0, 0] > attr[0, 1] + 0.05


def test_the_straight_line_has_no_witness():
    with pytest.raises(toys.SymmetricPathError, match="no witness: the path is symmetric"):
        toys.symmetry_witness(straight_line(ZERO, ONE))
    with pytest.raises(toys.SymmetricPathError):
        toys.symmetry_witness(toys.bent_path(ZERO, ONE, 0.0))


def test_witness_on_a_path_that_crosses_the_diagonal():
    # gamma_1 - gamma_2 = 0.2 sin(3 pi a): + on (0, 1/3), - on (1/3, 2/3) (the largest gap, at 1/2), + after
    def wiggle(alphas):
        a = alphas.reshape(-1, 1, 1).to(D)
        return a * ONE + 0.1 * torch.sin(3 * math.pi * a) * torch.tensor([1.0, -1.0], dtype=D)

    w = toys.symmetry_witness(wiggle)
    assert (w.i, w.j) == (1, 0)
    assert (w.t0, w.t1, w.t2) == pytest.approx((0.5, 1 / 3, 2 / 3), abs=1e-9)
    assert (w.a, w.b) == pytest.approx((1 / 3, 2 / 3), abs=1e-9)
    attr = path_integrated_gradients(w.f, ONE, wiggle, n_steps=300)
    assert attr[0, w.j] > attr[0, w.i] + 0.05
    # completeness, up to the quadrature error of the integrand's jumps at t1 and t2 (O(1 / steps))
    assert attr.sum().item() == pytest.approx((w.b - w.a) ** 2, abs=5e-3)


def test_witness_on_the_axis_parallel_path_gives_everything_to_the_feature_moved_last():
    points = axis_parallel_path(ZERO, ONE, order=[1, 0])  # x2 first, then x1
    w = toys.symmetry_witness(points)
    assert (w.i, w.j) == (1, 0)
    attr = path_integrated_gradients(w.f, ONE, points, n_steps=16)
    torch.testing.assert_close(attr, torch.tensor([[1.0, 0.0]], dtype=D), rtol=0, atol=1e-12)


def test_proof_function_is_symmetric_and_matches_the_paper_off_its_jump():
    a, b = 0.2, 0.7
    smooth, paper = toys.SymmetryProofFunction(a, b), toys.SymmetryProofFunction(a, b, continuous=False)
    z = torch.rand(4000, 2, generator=torch.Generator().manual_seed(0), dtype=D)
    torch.testing.assert_close(smooth(z), smooth(z.flip(1)), rtol=0, atol=0)
    torch.testing.assert_close(paper(z), paper(z.flip(1)), rtol=0, atol=0)
    lo, hi = z.min(1).values, z.max(1).values
    jump = (hi >= b) & (lo > a) & (lo < b)  # where the paper's piecewise f is discontinuous
    assert jump.any() and (~jump).any()
    torch.testing.assert_close(smooth(z)[~jump], paper(z)[~jump], rtol=0, atol=1e-15)
    inside = (lo > a) & (hi < b)
    torch.testing.assert_close(paper(z)[inside], ((z[:, 0] - a) * (z[:, 1] - a))[inside], rtol=0, atol=1e-15)
    assert (paper(z)[hi >= b][lo[hi >= b] > a] == (b - a) ** 2).all()


def test_witness_needs_the_proofs_endpoints():
    with pytest.raises(ValueError, match=r"from x' = 0 to x = 1"):
        toys.symmetry_witness(toys.bent_path(ZERO, 2 * ONE, 0.5))
