"""Adaptive IG: spend the gradient evaluations where the integrand changes, until completeness holds.

A fixed rule spreads its m nodes over [0, 1] whatever the network does; on a saturating
network the score rises within a small stretch of alpha and is flat elsewhere. Completeness
gives an error estimate for free on every sub-interval [a, b] of the path, because the exact
value of the integral of dF/dalpha there is known from two scores:

    r_[a,b] = sum_i (x_i - x'_i) * S_[a,b](dF/dx_i)  -  (F(gamma(b)) - F(gamma(a))),

where S_[a,b] is Simpson's rule on a, (a+b)/2, b, and every gradient evaluation returns the
score at its point too. Completeness alone can hide per-feature error (errors of opposite sign
cancel in the sum over features), so each interval also carries the classical adaptive-Simpson
estimate of its per-feature error, the L1 norm over features of Simpson minus the trapezoid
rule on the same three points:

    e_[a,b] = sum_i |(x_i - x'_i) * (S_[a,b] - T_[a,b])(dF/dx_i)|.

Start with 4 intervals (9 evaluations). Then, each round, rank the intervals by their share
of both errors, |r| / sum |r| + e / sum e, and bisect the first few, until they hold
``SHARE`` of that total (two new evaluations each), until

    estimate(r) <= tol * |F(x) - F(x')|      (so the relative completeness error is at most tol)

or ``n_steps`` evaluations are spent. The estimate is max(|sum r|, sqrt(sum r^2)): the
completeness error itself, but never less than the intervals' errors would add up to if they
were independent, so that errors of opposite sign cannot hide each other by luck. (On a ReLU
network the integrand is piecewise constant at a fine scale, so the residuals do behave like
noise; sum |r| would demand far more evaluations than the accuracy needs.)
"""
from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from .arguments import Model, TargetLike, check_count, check_number
from .forward import Score, prepare

INITIAL_INTERVALS = 4
SHARE = 0.3  # each round bisects the worst intervals holding this share of the error (few, but more than one)


def _evaluate(F: Score, x: Tensor, base: Tensor, alphas: list[float]) -> tuple[Tensor, Tensor]:
    """(x - x') * dF/dx and F at x' + alpha (x - x') for each alpha (one example)."""
    a = torch.tensor(alphas, dtype=x.dtype, device=x.device).reshape((-1,) + (1,) * x.dim())
    grads, scores = F.gradients(base + a * (x - base), alphas=a.reshape(-1))
    return grads[:, 0] * (x - base), scores[:, 0]


class Interval(NamedTuple):
    """[a, b] with the integrand (x - x') * dF/dx and the score F at a, the midpoint and b."""

    a: float
    b: float
    h: Tensor  # [3, *features]: at a, (a+b)/2, b
    f: Tensor  # [3]

    def simpson(self) -> Tensor:
        return (self.b - self.a) / 6 * (self.h[0] + 4 * self.h[1] + self.h[2])

    def trapezoid(self) -> Tensor:
        return (self.b - self.a) / 4 * (self.h[0] + 2 * self.h[1] + self.h[2])

    def feature_error(self) -> float:
        """e = sum_i |S - T|: the per-feature error estimate of Simpson's rule on this interval."""
        return (self.simpson() - self.trapezoid()).abs().sum().item()

    def residual(self) -> float:
        """sum_i S_[a,b] - (F(b) - F(a)): this interval's share of the completeness error."""
        return self.simpson().sum().item() - (self.f[2] - self.f[0]).item()

    def quarters(self) -> list[float]:
        return [(3 * self.a + self.b) / 4, (self.a + 3 * self.b) / 4]

    def halves(self, h: Tensor, f: Tensor) -> list["Interval"]:
        """The two halves, given the integrand and scores at the quarter points."""
        m = (self.a + self.b) / 2
        return [Interval(self.a, m, torch.stack([self.h[0], h[0], self.h[1]]), torch.stack([self.f[0], f[0], self.f[1]])),
                Interval(m, self.b, torch.stack([self.h[1], h[1], self.h[2]]), torch.stack([self.f[1], f[1], self.f[2]]))]


def _estimate(residuals: list[float]) -> float:
    """The error estimate: the completeness error |sum r| itself, but at least the root sum of
    squares sqrt(sum r^2), what independent errors of the intervals would add up to."""
    return max(abs(sum(residuals)), sum(r * r for r in residuals) ** 0.5)


def _to_split(intervals: list[Interval], residuals: list[float], room: int) -> list[int]:
    """The intervals with the largest share |r| / sum |r| + e / sum e that together hold ``SHARE``
    of the total (at least one, at most ``room``)."""
    def shares(values: list[float]) -> list[float]:
        total = sum(values)
        return [v / total if total > 0 else 0.0 for v in values]

    errors = [a + b for a, b in zip(shares([abs(r) for r in residuals]),
                                    shares([iv.feature_error() for iv in intervals]))]
    order = sorted(range(len(errors)), key=lambda k: -errors[k])
    chosen, covered = [], 0.0
    for k in order[:room]:
        chosen.append(k)
        covered += errors[k]
        if covered >= SHARE * sum(errors):
            break
    return chosen


def _one_example(F: Score, x: Tensor, base: Tensor, budget: int, tol: float) -> tuple[Tensor, Tensor, int]:
    """IG of one example [1, ...] by adaptive Simpson; returns (attributions, delta [1], evaluations used)."""
    n0 = max(1, min(INITIAL_INTERVALS, (budget - 1) // 2))
    alphas = [k / (2 * n0) for k in range(2 * n0 + 1)]
    h, f = _evaluate(F, x, base, alphas)
    used = len(alphas)
    intervals = [Interval(alphas[2 * k], alphas[2 * k + 2], h[2 * k : 2 * k + 3], f[2 * k : 2 * k + 3]) for k in range(n0)]
    allowed = tol * abs(f[-1] - f[0]).item()
    errors = [iv.residual() for iv in intervals]
    while _estimate(errors) > allowed and used + 2 <= budget:
        split = _to_split(intervals, errors, (budget - used) // 2)
        h, f_new = _evaluate(F, x, base, [q for k in split for q in intervals[k].quarters()])
        used += 2 * len(split)
        halves = {k: intervals[k].halves(h[2 * j : 2 * j + 2], f_new[2 * j : 2 * j + 2]) for j, k in enumerate(split)}
        intervals = [half for k, iv in enumerate(intervals) for half in halves.get(k, [iv])]
        errors = [iv.residual() for iv in intervals]
    attributions = sum(iv.simpson() for iv in intervals).reshape(x.shape)
    delta = attributions.sum() - (f[-1] - f[0])
    return attributions, delta.reshape(1), used


def adaptive_simpson(
    model: Model,
    inputs: Tensor,
    baselines: Any = None,
    target: TargetLike = None,
    additional_forward_args: Any = None,
    n_steps: int = 50,
    tol: float = 0.01,
    internal_batch_size: int | str | None = None,
) -> tuple[Tensor, Tensor, list[int]]:
    """Adaptive IG of each example with at most ``n_steps`` gradient evaluations, refined until the
    estimated completeness error is at most ``tol`` * |F(x) - F(x')|. Returns (attributions,
    delta [N], evaluations used per example)."""
    F, x, x_base = prepare(model, inputs, baselines, target, additional_forward_args, internal_batch_size)
    tol = check_number(tol, "tol", positive=True, expected="a relative completeness error > 0 (e.g. 0.01)")
    n_steps = check_count(n_steps, "n_steps")
    if n_steps < 3:
        raise ValueError(f"n_steps must be >= 3 for adaptive IG (Simpson needs 3 points), got {n_steps}")
    F.difference(x, x_base)  # both ends finite
    results = [_one_example(F.example(i), x[i : i + 1], x_base[i : i + 1], n_steps, tol) for i in range(len(x))]
    return torch.cat([r[0] for r in results]), torch.cat([r[1] for r in results]), [r[2] for r in results]


def adaptive_integrated_gradients(
    model: Model,
    inputs: Tensor,
    baselines: Any = None,
    target: TargetLike = None,
    additional_forward_args: Any = None,
    n_steps: int = 50,
    tol: float = 0.01,
    internal_batch_size: int | str | None = None,
    return_convergence_delta: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """IG with at most ``n_steps`` gradient evaluations per example, placed where the integrand
    changes, until the relative completeness error is at most ``tol`` (see the module's docstring).

    Arguments as :func:`iglib.integrated_gradients` (no quadrature ``method``: the nodes are
    chosen adaptively); :func:`adaptive_simpson` also returns the evaluations used.
    """
    attributions, delta, _ = adaptive_simpson(
        model, inputs, baselines, target, additional_forward_args, n_steps, tol, internal_batch_size
    )
    return (attributions, delta) if return_convergence_delta else attributions
