"""The axiom checks: each can fail and can pass, and the full table reproduces the paper."""
import functools

import pytest
import torch

from iglib import methods, toys
from iglib.checks import axioms
from iglib.checks.axioms import (
    AXIOMS,
    COMPLETENESS,
    IMPLEMENTATION_INVARIANCE,
    LINEARITY,
    SENSITIVITY_A,
    SENSITIVITY_B,
    SYMMETRY_PRESERVATION,
)
from iglib.integrated_gradients import integrated_gradients
from iglib.paths import path_integrated_gradients

D = torch.float64


def row(*values):
    return torch.tensor([values], dtype=D)


# Methods written here, so the checks are tested independently of iglib.methods.
def plain_gradient(model, inputs, baselines=None, target=None):
    x = inputs.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(x).sum(), x)
    return grad


def plain_gradient_x_input(model, inputs, baselines=None, target=None):
    return (inputs - baselines) * plain_gradient(model, inputs)


def abs_gradient(model, inputs, baselines=None, target=None):  # Captum's Saliency default: |dF/dx|
    return plain_gradient(model, inputs).abs()


def difference(model, inputs, baselines=None, target=None):  # a_i = x_i - x'_i, blind to the model
    return inputs - baselines


def first_bias(model, inputs, baselines=None, target=None):  # reads the implementation, not the function
    return inputs - baselines + model[0].bias


ig = functools.partial(integrated_gradients, n_steps=64)


def bent_ig(model, inputs, baselines=None, target=None):  # a path method that is not IG
    return path_integrated_gradients(model, inputs, toys.bent_path(baselines, inputs, 0.5), target=target, n_steps=64)


# ---------------------------------------------------------------- each check fails and holds
def test_sensitivity_a():
    model, x, base = toys.one_minus_relu(), row(2.0), row(0.0)
    bad = axioms.sensitivity_a(plain_gradient, model, x, base)
    assert not bad.holds and bad.axiom == SENSITIVITY_A and bad.attribution_method == "plain_gradient"
    assert bad.witness["attribution_of_feature"].item() == 0.0 and bad.witness["delta_f"].item() == 1.0
    assert "yet it gets attribution 0" in bad.reason
    good = axioms.sensitivity_a(ig, model, x, base)
    assert good.holds and good.attribution_method == "integrated_gradients"
    assert good.witness["attribution_of_feature"].item() == pytest.approx(1.0, abs=1e-12)


def test_sensitivity_a_refuses_a_bad_witness():
    f = toys.two_input_relu()
    with pytest.raises(ValueError, match="exactly one feature"):
        axioms.sensitivity_a(ig, f, row(3.0, 1.0), row(0.0, 0.0))
    with pytest.raises(ValueError, match=r"F\(x\) != F\(x'\)"):
        axioms.sensitivity_a(ig, f, row(0.5, 1.0), row(0.5, 0.0))  # F = 0 at both


def test_sensitivity_b():
    model, x, base = toys.ignores_x2(), row(3.0, 1.0), row(0.0, 0.0)
    bad = axioms.sensitivity_b(difference, model, x, base, dummy=1)
    assert not bad.holds and bad.witness["attribution_of_dummy"].item() == 1.0
    assert axioms.sensitivity_b(ig, model, x, base, dummy=1).holds
    assert axioms.sensitivity_b(plain_gradient, model, x, base, dummy=1).holds
    with pytest.raises(ValueError, match="ignores feature 1"):
        axioms.sensitivity_b(ig, toys.two_input_relu(), x, base, dummy=1)


def test_implementation_invariance():
    f, g = toys.implementation_pair()
    x, base = row(3.0, 1.0), row(0.0, 0.0)
    bad = axioms.implementation_invariance(first_bias, f, g, x, base)
    assert not bad.holds and bad.witness["max_difference"].item() == 1.0
    good = axioms.implementation_invariance(ig, f, g, x, base)
    assert good.holds
    torch.testing.assert_close(good.witness["attributions"], row(1.5, -0.5), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="functionally equivalent"):
        axioms.implementation_invariance(ig, f, toys.symmetric_relu(), x, base)


def test_completeness_and_its_tolerance():
    f, x, base = toys.two_input_relu(), row(3.0, 1.0), row(0.0, 0.0)
    bad = axioms.completeness(plain_gradient_x_input, f, x, base)
    assert not bad.holds
    assert (bad.witness["sum"].item(), bad.witness["delta_f"].item()) == (2.0, 1.0)
    assert axioms.completeness(ig, f, x, base).holds
    almost = lambda *args, **kw: 0.97 * ig(*args, **kw)  # noqa: E731  3% short
    assert axioms.completeness(almost, f, x, base).holds  # within the paper's 5% rule
    assert not axioms.completeness(almost, f, x, base, rtol=0.01).holds
    assert not axioms.completeness(functools.partial(integrated_gradients, n_steps=1), f, x, base).holds


def test_linearity():
    f1, f2, x, base = toys.two_input_relu(), toys.symmetric_relu(), row(3.0, 1.0), row(0.0, 0.0)
    bad = axioms.linearity(abs_gradient, f1, f2, 2.0, -1.0, x, base)
    assert not bad.holds
    torch.testing.assert_close(bad.witness["attributions"], row(1.0, 3.0))  # |2 (1, -1) - (1, 1)|
    torch.testing.assert_close(bad.witness["combined"], row(1.0, 1.0))  # 2 (1, 1) - (1, 1)
    assert axioms.linearity(plain_gradient, f1, f2, 2.0, -1.0, x, base).holds
    assert axioms.linearity(ig, f1, f2, 2.0, -1.0, x, base).holds


def test_symmetry_preservation():
    base, x = row(0.0, 0.0), row(1.0, 1.0)
    w = toys.symmetry_witness(toys.bent_path(base, x, 0.5))
    bad = axioms.symmetry_preservation(bent_ig, w.f, x, base, i=0, j=1)
    assert not bad.holds and bad.witness["a_j"] > bad.witness["a_i"]
    good = axioms.symmetry_preservation(ig, w.f, x, base, i=0, j=1)
    assert good.holds and good.witness["a_i"].item() == pytest.approx(0.5, abs=1e-12)
    with pytest.raises(ValueError, match="x_0 = x_1"):
        axioms.symmetry_preservation(ig, w.f, row(1.0, 0.5), base, i=0, j=1)
    with pytest.raises(ValueError, match="symmetric in features 0 and 1"):
        axioms.symmetry_preservation(ig, toys.two_input_relu(), x, base, i=0, j=1)


def test_checks_work_on_batches_and_report_the_failing_example():
    model = toys.one_minus_relu()
    x, base = torch.tensor([[0.5], [2.0]], dtype=D), torch.zeros(2, 1, dtype=D)
    r = axioms.sensitivity_a(plain_gradient, model, x, base)
    assert not r.holds and "changes by 1" in r.reason  # example 1 (x = 2) is the failing one
    assert axioms.sensitivity_a(plain_gradient, model, x[:1], base[:1]).holds


def test_attribution_method_returning_the_wrong_shape_is_an_error():
    with pytest.raises(ValueError, match="shaped like inputs"):
        axioms.completeness(lambda m, x, baselines=None, target=None: x[:, 0], toys.two_input_relu(), row(3.0, 1.0), None)


def test_result_repr():
    r = axioms.completeness(plain_gradient_x_input, toys.two_input_relu(), row(3.0, 1.0), row(0.0, 0.0))
    assert repr(r).startswith("<Completeness VIOLATED for plain_gradient_x_input: sum of attributions 2 differs")
    assert "violated" in r._repr_html_()


# ---------------------------------------------------------------- the paper's table
def paper_methods():
    return {
        "gradient": methods.gradient,
        "gradient_x_input": methods.gradient_x_input,
        "deconvnet": methods.deconvnet,
        "guided_backprop": methods.guided_backprop,
        "deeplift": methods.deeplift,
        "lrp": methods.lrp,  # epsilon = 0.01
        # the sampling methods are seeded, so the three calls of the linearity check see the same draws
        "smoothgrad": functools.partial(methods.smoothgrad, seed=0),
        "expected_gradients": functools.partial(methods.expected_gradients, seed=0),
        "integrated_gradients": ig,
    }


# (attribution method, axiom) -> holds, on paper_witnesses(). Y = holds, N = violated; axioms in AXIOMS order:
# Sensitivity(a), Sensitivity(b), Implementation invariance, Completeness, Linearity, Symmetry preservation.
EXPECTED = {
    # dF/dx(2) = 0 on 1 - ReLU(1 - x); the gradient does not sum to F(x) - F(x').
    "gradient": "NYYNYY",
    # (x - x') * 0 = 0 at the same witness; on f at (3, 1) it gives (3, -1), summing to 2, not 1.
    "gradient_x_input": "NYYNYY",
    # x2 gets 0 on f; linearity breaks because -1 * f flips the sign of the signal reaching
    # f's ReLUs, and R * (R > 0) is not linear in R.
    "deconvnet": "NYYNNY",
    "guided_backprop": "NYYNNY",
    # summation-to-delta gives completeness (and so Sensitivity(a)); (1.5, -0.5) on f, (2, -1) on g.
    "deeplift": "YYNYYY",
    # epsilon-LRP is about gradient * input (it fails the same Sensitivity(a) witnesses); its
    # epsilon makes f and g differ (x1 gets 2.931 on f, 2.926 on g: 3 / (z + eps) rescales
    # differently in the two networks) and makes it non-linear (the relevance F / (F + eps)
    # entering the network is not linear in F).
    "lrp": "NYNNNY",
    # with one feature the default noise 0.15 * (max - min) is 0, so SmoothGrad is the gradient on
    # 1 - ReLU(1 - x) (attribution 0); a gradient average never sums to F(x) - F(x'). With seeded
    # noise it is linear, and it only looks at the function (implementation invariant).
    "smoothgrad": "NYYNYY",
    # a Monte Carlo IG with 50 random alphas: complete in expectation only, here off by 12% (see below).
    "expected_gradients": "YYYNYY",
    "integrated_gradients": "YYYYYY",
}


@pytest.fixture(scope="module")
def table():
    return axioms.axiom_table(paper_methods())


def test_table_matches_expected(table):
    assert table.attribution_methods == list(EXPECTED) and table.axioms == list(AXIOMS)
    got = {m: "".join("Y" if table[m, a] else "N" for a in AXIOMS) for m in table.attribution_methods}
    assert got == EXPECTED


def case(table, attribution_method, axiom, text):
    (result,) = [r for r in table.results
                 if r.attribution_method == attribution_method and r.axiom == axiom and text in r.witness["case"]]
    return result


def test_table_reproduces_the_papers_counterexamples(table):
    # gradients: F(x) = 1 - ReLU(1 - x) and min(x, 5) saturate
    for text in ("1 - ReLU(1 - x)", "min(x, 5)"):
        r = case(table, "gradient", SENSITIVITY_A, text)
        assert not r.holds and r.witness["attribution_of_feature"].item() == 0.0
    # DeConvNet and Guided Backprop: x2 of f gets nothing, although F changes when only x2 does
    for m in ("deconvnet", "guided_backprop"):
        r = case(table, m, SENSITIVITY_A, "x' = (3, 0)")
        assert not r.holds and r.witness["delta_f"].item() == -1.0
        assert r.witness["attribution_of_feature"].item() == 0.0
    # DeepLIFT: (1.5, -0.5) on f, (2, -1) on g; LRP: different too
    r = case(table, "deeplift", IMPLEMENTATION_INVARIANCE, "f and g")
    torch.testing.assert_close(r.witness["attributions"], row(1.5, -0.5))
    torch.testing.assert_close(r.witness["attributions_g"], row(2.0, -1.0))
    assert not case(table, "lrp", IMPLEMENTATION_INVARIANCE, "f and g").holds
    # gradient * input: (3, -1) sums to 2 but F(x) - F(x') = 1
    r = case(table, "gradient_x_input", COMPLETENESS, "x = (3, 1)")
    torch.testing.assert_close(r.witness["attributions"], row(3.0, -1.0))
    assert r.witness["delta_f"].item() == 1.0
    # IG holds everything, with the paper's numbers
    assert not table.violations("integrated_gradients")
    r = case(table, "integrated_gradients", IMPLEMENTATION_INVARIANCE, "f and g")
    torch.testing.assert_close(r.witness["attributions"], row(1.5, -0.5), rtol=0, atol=1e-12)


def test_expected_gradients_is_complete_only_in_expectation():
    # 50 samples miss completeness by 12% on 1 - ReLU(1 - x); 2000 samples are within 5%.
    for witness in [w for w in axioms.paper_witnesses() if w.axiom == COMPLETENESS]:
        few = witness.run(functools.partial(methods.expected_gradients, seed=0, n_samples=50))
        many = witness.run(functools.partial(methods.expected_gradients, seed=0, n_samples=2000))
        assert many.holds and abs(many.witness["gap"].item()) < abs(few.witness["gap"].item())


def test_unseeded_sampling_breaks_linearity():
    # three calls, three different noise draws: the check sees the Monte Carlo error
    torch.manual_seed(0)
    (witness,) = [w for w in axioms.paper_witnesses() if w.axiom == LINEARITY]
    assert not witness.run(methods.smoothgrad).holds


@pytest.mark.parametrize("name", list(paper_methods()))
def test_methods_treat_module_and_functional_relus_alike(name):
    # iglib's methods see every spelling of ReLU, so the nn.ReLU network and the torch.relu
    # one are, for them, the same network (Captum's hooks only see modules).
    attribute = paper_methods()[name]
    f_module, f_functional = toys.two_input_relu(), toys.two_input_relu(functional=True)
    r = axioms.implementation_invariance(attribute, f_module, f_functional, row(3.0, 1.0), row(0.0, 0.0))
    assert r.holds, r


def test_table_api(table):
    assert table["gradient", SENSITIVITY_B] is True
    assert table.as_dict()[("deeplift", IMPLEMENTATION_INVARIANCE)] is False
    md = table.to_markdown().splitlines()
    assert md[0] == "| attribution method | " + " | ".join(AXIOMS) + " |"
    assert md[2] == "| gradient | **no** | yes | yes | **no** | yes | yes |"
    assert len(md) == 2 + len(EXPECTED)
    assert all(not r.holds for r in table.violations("lrp"))
    with pytest.raises(KeyError):
        table["gradient", "Beauty"]
    assert "integrated_gradients" in repr(table)
    assert SYMMETRY_PRESERVATION in table._repr_markdown_()
    # every (attribution method, witness) pair ran once
    assert len(table.results) == len(EXPECTED) * len(axioms.paper_witnesses())
