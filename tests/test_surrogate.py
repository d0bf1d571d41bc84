"""Global surrogates (iglib.surrogate): fitting, the fidelity metric, and the surrogate's attributions.

Ground truths: R^2 = 1 - SS_res / SS_tot and agreement computed by hand; a sparse linear F that
the Lasso must recover (and zero out its dummy features); a step function a depth-1 tree fits
exactly; the path contributions of a tree summing to g(x) - g(x').
"""
import numpy as np
import pytest
import torch

from iglib import toys
from iglib.methods.surrogate import (
    fidelity,
    fit_sparse_linear,
    fit_tree,
    global_surrogate,
    surrogate_attributions,
    tree_contributions,
)

RNG = np.random.default_rng(0)
X_TRAIN = RNG.uniform(-2, 2, size=(400, 4))
X_TEST = RNG.uniform(-2, 2, size=(200, 4))


def sparse_linear(x):
    return 1.5 * x[:, 0] - 2.0 * x[:, 2] + 0.5


def step(x):
    return np.where(x[:, 1] > 0.3, 2.0, -1.0)


def test_fidelity_is_r2_on_held_out_scores():
    tree = fit_tree(X_TRAIN, np.sin(X_TRAIN[:, 0]) + X_TRAIN[:, 1], max_depth=3)
    f = np.sin(X_TEST[:, 0]) + X_TEST[:, 1]
    g = tree.predict(X_TEST)
    by_hand = 1 - ((f - g) ** 2).sum() / ((f - f.mean()) ** 2).sum()
    assert fidelity(tree, X_TEST, f) == pytest.approx(by_hand, abs=1e-12)
    assert 0.5 < by_hand < 1  # a depth-3 tree is a rough copy of a smooth function
    assert fidelity(tree, torch.tensor(X_TEST), torch.tensor(f)) == pytest.approx(by_hand, abs=1e-12)  # tensors too


def test_fidelity_of_a_constant_surrogate_is_zero_and_can_be_negative():
    flat = fit_tree(X_TRAIN, np.zeros(len(X_TRAIN)), max_depth=1)  # predicts 0 everywhere
    f = X_TEST[:, 0]
    assert fidelity(flat, X_TEST, f - f.mean()) == pytest.approx(0.0, abs=1e-12)  # the mean itself: R^2 = 0
    assert fidelity(flat, X_TEST, f + 10) < -10  # worse than the mean
    with pytest.raises(ValueError, match="vary"):
        fidelity(flat, X_TEST, np.ones(len(X_TEST)))


def test_fidelity_is_agreement_on_held_out_labels():
    labels = (X_TRAIN[:, 0] + X_TRAIN[:, 1] > 0).astype(int)
    tree = fit_tree(X_TRAIN, labels, max_depth=2, classification=True)
    truth = (X_TEST[:, 0] + X_TEST[:, 1] > 0).astype(int)
    assert fidelity(tree, X_TEST, truth) == pytest.approx(np.mean(tree.predict(X_TEST) == truth))
    flipped = 1 - truth
    assert fidelity(tree, X_TEST, flipped) == pytest.approx(1 - fidelity(tree, X_TEST, truth))
    logistic = fit_sparse_linear(X_TRAIN, labels, alpha=0.1, classification=True)
    assert fidelity(logistic, X_TEST, truth) > 0.95  # a linear boundary: the logistic model finds it
    with pytest.raises(ValueError, match="labels"):
        fit_tree(X_TRAIN, X_TRAIN[:, 0], classification=True)


def test_lasso_recovers_a_sparse_linear_network_and_zeroes_dummies():
    lasso = fit_sparse_linear(X_TRAIN, sparse_linear(X_TRAIN), alpha=1e-3)
    np.testing.assert_allclose(lasso.coef_[[0, 2]], [1.5, -2.0], atol=0.01)
    assert lasso.coef_[1] == 0.0 and lasso.coef_[3] == 0.0  # features F ignores: exactly 0
    assert fidelity(lasso, X_TEST, sparse_linear(X_TEST)) > 0.999
    x, base = torch.tensor(X_TEST[:3]), torch.zeros(1, 4, dtype=torch.float64)
    a = surrogate_attributions(lasso, x, base)
    torch.testing.assert_close(a, torch.tensor(lasso.coef_) * x)  # w_i (x_i - x'_i)
    assert a.shape == x.shape and torch.all(a[:, [1, 3]] == 0)


def test_tree_contributions_add_up_to_the_prediction():
    deep = fit_tree(X_TRAIN, np.sin(2 * X_TRAIN[:, 0]) * X_TRAIN[:, 3], max_depth=4)
    c = tree_contributions(deep, X_TEST)
    root = deep.tree_.value[0, 0, 0]
    np.testing.assert_allclose(root + c.sum(1), deep.predict(X_TEST), atol=1e-12)  # g(x) = root + sum_i c_i
    used = set(deep.tree_.feature[deep.tree_.feature >= 0])
    assert np.all(c[:, [i for i in range(4) if i not in used]] == 0)  # unused features get nothing
    x, base = torch.tensor(X_TEST[:5]), torch.tensor(X_TEST[5:6])
    a = surrogate_attributions(deep, x, base)
    change = deep.predict(X_TEST[:5]) - deep.predict(X_TEST[5:6])
    np.testing.assert_allclose(a.sum(1).numpy(), change, atol=1e-12)  # splits g(x) - g(x'), not F(x) - F(x')


def test_step_tree_credits_only_the_split_feature():
    tree = fit_tree(X_TRAIN, step(X_TRAIN), max_depth=1)
    assert tree.tree_.feature[0] == 1
    threshold = tree.tree_.threshold[0]  # between the two training points around 0.3
    assert abs(threshold - 0.3) < 0.05
    outside = (X_TEST[:, 1] - 0.3) * (X_TEST[:, 1] - threshold) > 0  # test points not between the two
    assert outside.sum() >= len(X_TEST) - 5
    assert fidelity(tree, X_TEST[outside], step(X_TEST[outside])) == pytest.approx(1.0, abs=1e-12)
    a = surrogate_attributions(tree, torch.tensor([[0.0, 1.0, 0.0, 0.0]]), torch.tensor([[0.0, -1.0, 0.0, 0.0]]))
    assert a.tolist() == [[0.0, 3.0, 0.0, 0.0]]


def test_a_split_tie_is_not_broken_by_the_last_bits_of_the_scores():
    # Splitting on x0 or on x1 lowers the squared error equally when a = b; the split with the lower
    # error wins, so without rounding 1e-12 on either side of the tie (a CPU's kernels) picks the root.
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    roots = {fit_tree(X, np.array([0.0, 0.5 + jitter, 0.5, 1.0]), max_depth=1).tree_.feature[0]
             for jitter in (-1e-12, 0.0, 1e-12)}
    assert len(roots) == 1
    assert len({fit_tree(X, np.array([0.0, 0.5 + jitter, 0.5, 1.0]), max_depth=1).tree_.feature[0]
                for jitter in (-1e-4, 1e-4)}) == 2  # a real difference still decides


def test_classifier_tree_attributes_the_share_of_the_target_class():
    labels = (X_TRAIN[:, 2] > 0).astype(int) + (X_TRAIN[:, 0] > 1).astype(int)  # classes 0, 1, 2
    tree = fit_tree(X_TRAIN, labels, max_depth=3, classification=True)
    x, base = torch.tensor(X_TEST[:4]), torch.zeros(1, 4, dtype=torch.float64)
    for c in (0, 1, 2):
        a = surrogate_attributions(tree, x, base, target=c)
        share = tree.predict_proba(X_TEST[:4])[:, c] - tree.predict_proba(np.zeros((1, 4)))[:, c]
        np.testing.assert_allclose(a.sum(1).numpy(), share, atol=1e-12)
    with pytest.raises(ValueError, match="target"):
        surrogate_attributions(tree, x, base)


def test_global_surrogate_is_implementation_invariant_and_ignores_dummies():
    f, g = toys.implementation_pair()
    x, base = torch.tensor([[3.0, 1.0]], dtype=torch.float64), torch.zeros(1, 2, dtype=torch.float64)
    for kind in ("linear", "tree"):
        a_f = global_surrogate(f, x, base, kind=kind)
        assert a_f.shape == x.shape
        assert torch.equal(a_f, global_surrogate(g, x, base, kind=kind))  # it only sees F's values
    dummy = global_surrogate(toys.ignores_x2(), x, base, kind="linear")
    assert dummy[0, 1] == 0.0 and dummy[0, 0] > 0


def test_global_surrogate_on_given_data_and_argument_checks():
    model = torch.nn.Linear(3, 2).double().eval().requires_grad_(False)
    data = torch.tensor(RNG.uniform(-1, 1, size=(300, 3)))
    x = torch.tensor([[0.5, -0.5, 0.2]], dtype=torch.float64)
    a = global_surrogate(model, x, target=1, data=data, alpha=1e-4)
    torch.testing.assert_close(a, model.weight[1] * x, atol=2e-3, rtol=0)  # linear F: the Lasso is (almost) exact
    with pytest.raises(ValueError, match="kind"):
        global_surrogate(model, x, target=1, kind="forest")
    with pytest.raises(ValueError, match="feature shape"):
        global_surrogate(model, x, target=1, data=torch.zeros(10, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="one class"):
        global_surrogate(model, torch.cat([x, x]), target=[0, 1])
    with pytest.raises(ValueError, match="alpha"):
        fit_sparse_linear(X_TRAIN, sparse_linear(X_TRAIN), alpha=0.0)
    with pytest.raises(ValueError, match="one value per input"):
        fit_tree(X_TRAIN, np.zeros(3))
    with pytest.raises(TypeError, match="fitted decision tree or linear model"):
        surrogate_attributions(object(), x)
