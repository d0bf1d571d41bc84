"""Global surrogates: an interpretable model g fitted to a network's predictions F (not to the labels).

The surrogate is read instead of the network, so the first question is how faithful it is on
data it was not fitted to, its **fidelity**:

- for scores (regression): R^2 = 1 - sum (F - g)^2 / sum (F - mean F)^2 on held-out inputs;
- for labels (classification): agreement, the share of held-out inputs where g predicts the
  network's label.

Two interpretable families, both from scikit-learn: a shallow decision tree
(``DecisionTreeRegressor`` / ``DecisionTreeClassifier``) and a sparse linear model (``Lasso`` /
L1-penalised ``LogisticRegression``). A surrogate explains one input x relative to a baseline x'
(:func:`surrogate_attributions`) by splitting g(x) - g(x'), never F(x) - F(x'):

- linear: a_i = w_i (x_i - x'_i) (for the logistic model, in logit units);
- tree: the path rule of Saabas (the ``treeinterpreter`` package): walking from the root to
  the leaf of x, each split credits its feature with the change of the node value; a_i is that
  credit at x minus the credit at x'.

:func:`global_surrogate` puts the whole procedure (sample, fit, attribute) in the calling
convention of the other methods, so :mod:`iglib.axioms` can check it.
"""
from __future__ import annotations

from typing import Any, Union

import numpy as np
import torch
from torch import Tensor

from ..arguments import Model, Target, TargetLike, check_baselines, check_count, check_inputs, check_number, quote
from ..forward import prepare

Surrogate = Any  # a fitted scikit-learn DecisionTree*, Lasso or LogisticRegression
ArrayLike = Union[Tensor, np.ndarray]
KINDS = ("linear", "tree")


def _features(inputs: ArrayLike, name: str = "inputs") -> np.ndarray:
    """Inputs as float64 numpy [N, n_features] (each example flattened)."""
    a = inputs.detach().cpu().numpy() if isinstance(inputs, Tensor) else np.asarray(inputs)
    if a.ndim < 1 or a.shape[0] == 0:
        raise ValueError(f"{name} must have a batch dimension 0 with at least one example, got shape {a.shape}")
    return a.reshape(len(a), -1).astype(np.float64)


def _targets(outputs: ArrayLike, n: int, classification: bool) -> np.ndarray:
    y = outputs.detach().cpu().numpy() if isinstance(outputs, Tensor) else np.asarray(outputs)
    y = y.reshape(-1)
    if len(y) != n:
        raise ValueError(f"outputs must hold one value per input ({n}), got {len(y)}")
    if classification:
        if np.issubdtype(y.dtype, np.floating) and not np.all(y == np.round(y)):
            raise ValueError("classification surrogates need the network's labels (integers), got fractional outputs")
        return y.astype(np.int64)
    return y.astype(np.float64)


def _without_last_digits(y: np.ndarray, resolution: float = 1e-6) -> np.ndarray:
    """y rounded to the power of ten just above ``resolution`` x (max y - min y): above the differences
    between CPUs, below any difference a surrogate could mean."""
    spread = float(np.ptp(y))
    if not np.isfinite(spread) or spread == 0:
        return y
    step = 10.0 ** np.ceil(np.log10(spread * resolution))
    return np.round(y / step) * step


def _is_classifier(surrogate: Surrogate) -> bool:
    from sklearn.base import is_classifier

    return is_classifier(surrogate)


# ---------------------------------------------------------------- fitting
def fit_tree(inputs: ArrayLike, outputs: ArrayLike, max_depth: int = 3, classification: bool = False,
             seed: int = 0) -> Surrogate:
    """A decision tree of depth at most ``max_depth`` fitted to the network's ``outputs`` at ``inputs``.

    ``classification=False``: ``DecisionTreeRegressor`` on scores; ``True``: ``DecisionTreeClassifier``
    on labels. ``seed`` fixes scikit-learn's tie-breaking between equally good splits.

    Scores are first rounded to a millionth of their range (:func:`_without_last_digits`): deep in a
    tree two splits can be equally good up to the last digits of F, which differ between CPUs' kernels
    (notebook 11's network, trained on another CPU, moves by 2e-9), and the greedy search would follow them.
    """
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    check_count(max_depth, "max_depth")
    X = _features(inputs)
    y = _targets(outputs, len(X), classification)
    if not classification:
        y = _without_last_digits(y)
    tree = (DecisionTreeClassifier if classification else DecisionTreeRegressor)(max_depth=max_depth, random_state=seed)
    return tree.fit(X, y)


def fit_sparse_linear(inputs: ArrayLike, outputs: ArrayLike, alpha: float = 0.01, classification: bool = False,
                      seed: int = 0) -> Surrogate:
    """A sparse linear model fitted to the network's ``outputs`` at ``inputs``.

    Regression: ``Lasso(alpha)``, minimising (1 / 2N) ||F - Xw - b||^2 + alpha ||w||_1.
    Classification: ``LogisticRegression`` with an L1 penalty of strength 1 / C = ``alpha``
    (liblinear solver). A larger ``alpha`` keeps fewer features.
    """
    from sklearn.linear_model import Lasso, LogisticRegression

    alpha = check_number(alpha, "alpha", positive=True, expected="a number > 0 (the L1 penalty)")
    X = _features(inputs)
    y = _targets(outputs, len(X), classification)
    if classification:
        model = LogisticRegression(l1_ratio=1.0, C=1.0 / alpha, solver="liblinear", random_state=seed)
    else:
        model = Lasso(alpha=alpha, max_iter=100_000, tol=1e-8)
    return model.fit(X, y)


def fidelity(surrogate: Surrogate, inputs: ArrayLike, network_outputs: ArrayLike) -> float:
    """How well the surrogate reproduces the network on ``inputs`` (use held-out ones).

    R^2 = 1 - sum (F - g)^2 / sum (F - mean F)^2 for a regressor (1 is perfect, 0 is no better
    than predicting the mean score, negative is worse); for a classifier, the agreement
    (1/N) sum [g(x) = network label].
    """
    from sklearn.metrics import accuracy_score, r2_score

    X = _features(inputs)
    classification = _is_classifier(surrogate)
    y = _targets(network_outputs, len(X), classification)
    predicted = surrogate.predict(X)
    if classification:
        return float(accuracy_score(y, predicted))
    if np.all(y == y[0]):
        raise ValueError("R^2 needs network outputs that vary on the held-out inputs; they are all equal")
    return float(r2_score(y, predicted))


# ---------------------------------------------------------------- explaining one input
def _node_values(tree: Surrogate, target: Any) -> np.ndarray:
    """The value of every node: the mean score (regressor) or the share of class ``target`` (classifier)."""
    value = tree.tree_.value  # [nodes, outputs, classes]
    if not _is_classifier(tree):
        return value[:, 0, 0]
    shares = value[:, 0, :] / value[:, 0, :].sum(axis=1, keepdims=True)
    column = 1 if target is None and shares.shape[1] == 2 else target
    if column is None:
        raise ValueError("target must name the class whose share the tree surrogate explains")
    return shares[:, list(tree.classes_).index(column)]


def tree_contributions(tree: Surrogate, inputs: ArrayLike, target: Any = None) -> np.ndarray:
    """Saabas' path rule: c[n, i] = sum of (value(child) - value(parent)) over the splits on
    feature i along the path of input n. Then g(x_n) = value(root) + sum_i c[n, i]."""
    X = _features(inputs)
    values = _node_values(tree, target)
    paths = tree.decision_path(X).tocsr()
    feature = tree.tree_.feature
    out = np.zeros_like(X)
    for n in range(len(X)):
        nodes = paths.indices[paths.indptr[n] : paths.indptr[n + 1]]  # root to leaf, in order
        for parent, child in zip(nodes[:-1], nodes[1:]):
            out[n, feature[parent]] += values[child] - values[parent]
    return out


def surrogate_attributions(surrogate: Surrogate, inputs: ArrayLike, baselines: Any = None, target: Any = None) -> Tensor:
    """The surrogate's split of g(x) - g(x') over the features, shaped like ``inputs``.

    Linear: a_i = w_i (x_i - x'_i) (logistic: w of class ``target``, logit units). Tree:
    a_i = c_i(x) - c_i(x') with the path contributions c of :func:`tree_contributions`
    (classifier: the share of class ``target`` in the leaves). ``baselines`` as for every
    method: None (zeros), a number or a tensor broadcastable to ``inputs``.
    """
    x = check_inputs(torch.as_tensor(inputs, device="cpu") if not isinstance(inputs, Tensor) else inputs)
    x_base = check_baselines(baselines, x)
    X, B = _features(x), _features(x_base)
    if hasattr(surrogate, "tree_"):
        a = tree_contributions(surrogate, X, target) - tree_contributions(surrogate, B, target)
    elif hasattr(surrogate, "coef_"):
        w = np.atleast_2d(surrogate.coef_)
        if len(w) > 1:
            if target is None:
                raise ValueError("target must name the class of a multi-class logistic surrogate")
            w = w[list(surrogate.classes_).index(target)][None]
        a = w * (X - B)
    else:
        raise TypeError(f"surrogate must be a fitted decision tree or linear model, got {type(surrogate).__name__}")
    return torch.from_numpy(a).reshape(x.shape).to(x.dtype).to(x.device)


def global_surrogate(
    model: Model,
    inputs: Tensor,
    baselines: Any = None,
    target: TargetLike = None,
    additional_forward_args: Any = None,
    kind: str = "linear",
    data: Tensor | None = None,
    n_samples: int = 1000,
    max_depth: int = 3,
    alpha: float = 0.01,
    seed: int = 0,
) -> Tensor:
    """A global surrogate used as an attribution method: fit g to F's ``target`` score on ``data``,
    then split g(x) - g(x') (:func:`surrogate_attributions`). Shaped like ``inputs``.

    ``kind``: ``"linear"`` (Lasso, penalty ``alpha``) or ``"tree"`` (depth ``max_depth``).
    ``data``: the inputs to fit on, [M, *features]; None draws ``n_samples`` points (seeded)
    uniformly from the box [min(x, x') - 1, max(x, x') + 1] around all inputs and baselines.
    """
    F, x, x_base = prepare(model, inputs, baselines, target, additional_forward_args)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if data is None:
        n_samples = check_count(n_samples, "n_samples")
        both = torch.cat([x, x_base]).detach()
        lo, hi = both.min(0).values - 1, both.max(0).values + 1
        u = torch.rand((n_samples,) + x.shape[1:], generator=torch.Generator(device="cpu").manual_seed(seed),
                       dtype=torch.float64, device="cpu")
        data = (lo + (hi - lo) * u.to(x.device, x.dtype)).to(x.dtype)
    else:
        data = check_inputs(data, "data").to(x.dtype)
        if data.shape[1:] != x.shape[1:]:
            raise ValueError(f"data must have the inputs' feature shape {tuple(x.shape[1:])}, got {tuple(data.shape[1:])}")
    F, data, _ = prepare(model, data, None, _single_target(F.target), additional_forward_args)
    f = F.values(data[None])[0]
    g = fit_tree(data, f, max_depth, seed=seed) if kind == "tree" else fit_sparse_linear(data, f, alpha, seed=seed)
    return surrogate_attributions(g, x, x_base)


def _single_target(target: Target) -> TargetLike:
    """A global surrogate explains one score for all data: one class (an int or a tuple)."""
    if target.index is None:
        return None
    first = target.index[0]
    if not bool((target.index == first).all()):
        raise ValueError(f"a global surrogate explains one class for all inputs: target must be one class, got {quote(target.given)}")
    return int(first) if len(first) == 1 else tuple(first.tolist())
