"""Path methods: attributions that integrate the gradient along a path from baseline to input.

For a path gamma: [0, 1] -> R^n with gamma(0) = x' (the baseline) and gamma(1) = x,

    PathIG_i(x) = integral_0^1 dF(gamma(alpha))/d gamma_i * d gamma_i(alpha)/d alpha  d alpha.

By the fundamental theorem of calculus for paths, sum_i PathIG_i = F(x) - F(x')
(completeness). The straight line gamma(alpha) = x' + alpha (x - x') gives Integrated
Gradients; the axis-parallel paths, averaged over all orders of the features, give the
Shapley value.

A *path* here is either
- a callable ``gamma(alphas)`` taking a 1-D tensor of K alphas and returning the K points
  stacked, shape [K, *inputs.shape]; its velocity d gamma/d alpha is taken by forward-mode
  autodiff unless it has a ``velocity(alphas)`` method; or
- a tensor of points [P, *inputs.shape] joined by straight segments (points[0] the
  baseline, points[-1] the input); each segment is integrated with the chosen rule.
"""
from __future__ import annotations

import itertools
import math
from typing import Any, Callable, Sequence, Union

import torch
from torch import Tensor

from .arguments import Model, TargetLike, check_baselines, check_device, check_inputs
from .forward import Score, prepare
from .quadrature import nodes

Path = Union[Callable[[Tensor], Tensor], Tensor]


class StraightLine:
    """gamma(alpha) = x' + alpha (x - x'), with constant velocity x - x'."""

    def __init__(self, baselines: Tensor, inputs: Tensor):
        self.baselines, self.inputs = baselines, inputs

    def __call__(self, alphas: Tensor) -> Tensor:
        a = alphas.reshape((-1,) + (1,) * self.inputs.dim()).to(self.inputs.device, self.inputs.dtype)
        return self.baselines + a * (self.inputs - self.baselines)

    def velocity(self, alphas: Tensor) -> Tensor:
        return (self.inputs - self.baselines).expand((len(alphas),) + self.inputs.shape)


def straight_line(baselines: Any, inputs: Tensor) -> StraightLine:
    """Integrated Gradients' path: gamma(alpha) = x' + alpha (x - x') (``baselines`` as for IG)."""
    x = check_inputs(inputs)
    return StraightLine(check_baselines(baselines, x), x)


def axis_parallel_path(baselines: Any, inputs: Tensor, order: Sequence[int]) -> Tensor:
    """Corner points of the path that moves one feature at a time, in ``order``.

    Features are the flattened per-example entries (``inputs[0].numel()`` of them); the
    result has shape [n_features + 1, *inputs.shape] and runs from x' to x.
    """
    x = check_inputs(inputs)
    base = check_baselines(baselines, x)
    n = x[0].numel()
    if sorted(order) != list(range(n)):
        raise ValueError(f"order must be a permutation of the {n} feature indices 0..{n - 1}, got {list(order)}")
    points = [base.reshape(len(x), n).clone()]
    for i in order:
        nxt = points[-1].clone()
        nxt[:, i] = x.reshape(len(x), n)[:, i]
        points.append(nxt)
    return torch.stack(points).reshape((n + 1,) + x.shape)


def _velocity(path: Callable[[Tensor], Tensor], alphas: Tensor) -> Tensor:
    if hasattr(path, "velocity"):
        return path.velocity(alphas)
    _, velocity = torch.func.jvp(path, (alphas,), (torch.ones_like(alphas),))
    return velocity


def _integrate(F: Score, path: Callable[[Tensor], Tensor], method: str, n_steps: int, x: Tensor) -> Tensor:
    """sum_k w_k * dF/dgamma(gamma(alpha_k)) * gamma'(alpha_k), chunk by chunk over the steps."""
    alphas, weights = nodes(method, n_steps, like=torch.empty((), dtype=torch.float64, device=x.device))
    total = torch.zeros_like(x)
    for chunk in F.chunks(len(alphas)):
        a = alphas[chunk].reshape(-1)
        grads, _ = F.gradients(path(a).to(x.dtype), alphas=a)
        integrand = grads * _velocity(path, a).detach().to(x.dtype)
        total += torch.tensordot(weights[chunk].to(x.dtype), integrand, dims=1)
    return total


def _ends(path: Path, x: Tensor) -> tuple[list[Callable[[Tensor], Tensor]], Tensor, Tensor]:
    """The path's straight or curved pieces and its two ends gamma(0), gamma(1), checked against x."""
    if isinstance(path, Tensor):
        if path.dim() != x.dim() + 1 or path.shape[1:] != x.shape or path.shape[0] < 2:
            raise ValueError(
                f"path as points must have shape [P >= 2, *inputs.shape] = [P, {', '.join(map(str, x.shape))}], "
                f"got {tuple(path.shape)}"
            )
        check_device(path, "path", x)
        path = path.detach()
        check_inputs(path.reshape((-1,) + x.shape[1:]), "path")  # finite points
        return [StraightLine(path[s], path[s + 1]) for s in range(path.shape[0] - 1)], path[0], path[-1]
    if not callable(path):
        raise TypeError(f"path must be a callable gamma(alphas) or a tensor of points, got {type(path).__name__}")
    with torch.no_grad():
        ends = path(torch.tensor([0.0, 1.0], dtype=torch.float64, device=x.device))
    if not isinstance(ends, Tensor) or ends.shape[1:] != x.shape:
        got = tuple(ends.shape) if isinstance(ends, Tensor) else type(ends).__name__
        raise ValueError(f"path(alphas) must return shape [K, *inputs.shape]; got {got} for K=2")
    check_inputs(ends.reshape((-1,) + x.shape[1:]).to(x.dtype), "path(0) and path(1)")
    return [path], ends[0].to(x.dtype), ends[1].to(x.dtype)


def path_integrated_gradients(
    model: Model,
    inputs: Tensor,
    path: Path,
    target: TargetLike = None,
    additional_forward_args: Any = None,
    n_steps: int = 50,
    method: str = "gausslegendre",
    internal_batch_size: int | str | None = None,
    return_convergence_delta: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """PathIG_i(x) = integral_0^1 dF(gamma(a))/d gamma_i * d gamma_i(a)/da da, by quadrature.

    ``path`` is a callable gamma(alphas) -> [K, *inputs.shape] with gamma(1) = inputs, or a
    tensor of points [P, *inputs.shape] ending at ``inputs``. ``n_steps`` gradient
    evaluations per straight segment of a tabulated path. The delta is
    sum_i PathIG_i - (F(gamma(1)) - F(gamma(0))).
    """
    F, x, _ = prepare(model, inputs, None, target, additional_forward_args, internal_batch_size)
    pieces, start, end = _ends(path, x)
    if not torch.allclose(end, x, rtol=1e-5, atol=1e-6):
        raise ValueError("path must end at inputs: gamma(1) differs from inputs")
    nodes(method, n_steps, like=x)  # a known rule and a step count that fits, before any evaluation
    change = F.difference(x, start)
    attributions = sum(_integrate(F, piece, method, n_steps, x) for piece in pieces)
    if not return_convergence_delta:
        return attributions
    return attributions, attributions.reshape(len(x), -1).sum(1) - change


def shapley_values(
    model: Model,
    inputs: Tensor,
    baselines: Any = None,
    target: TargetLike = None,
    additional_forward_args: Any = None,
    internal_batch_size: int | str | None = None,
) -> Tensor:
    """The Shapley value of each feature of the game v(S) = F(x on S, x' elsewhere).

    phi_i = sum_{S not containing i} |S|! (n - |S| - 1)! / n! * (v(S + i) - v(S)),
    which equals the average over all n! feature orders of the axis-parallel path's
    attribution (each segment contributes exactly its change in F). Costs 2^n forward
    evaluations per example, so n <= 16 features.
    """
    F, x, base = prepare(model, inputs, baselines, target, additional_forward_args, internal_batch_size)
    n_ex, n = x.shape[0], x[0].numel()
    if n > 16:
        raise ValueError(f"shapley_values enumerates 2^n coalitions; inputs have n = {n} features per example, at most 16 allowed")
    masks = torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)), dtype=x.dtype, device=x.device)  # [2^n, n]
    flat_x, flat_b = x.reshape(n_ex, n), base.reshape(n_ex, n)
    points = flat_b + masks[:, None, :] * (flat_x - flat_b)  # [2^n, N, n]
    v = F.values(points.reshape((len(masks),) + x.shape))  # [2^n, N]
    index = {tuple(m.int().tolist()): r for r, m in enumerate(masks)}
    phi = torch.zeros(n_ex, n, dtype=x.dtype, device=x.device)
    for coalition, row in index.items():
        size = sum(coalition)
        for i in range(n):
            if coalition[i]:
                continue
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            with_i = coalition[:i] + (1,) + coalition[i + 1 :]
            phi[:, i] += weight * (v[index[with_i]] - v[row])
    return phi.reshape(x.shape)


class Segment:
    """The piece of a path between alpha = start and alpha = stop, run at its own alpha in [0, 1]:

        sigma(u) = gamma(start + u (stop - start)),   sigma'(u) = (stop - start) gamma'(start + u (stop - start)).

    Path integrals add over pieces, so PathIG along gamma is the sum over its segments;
    splitting where the integrand jumps (a kink of F crossed by the path) keeps the
    quadrature exact on each smooth piece.
    """

    def __init__(self, path: Callable[[Tensor], Tensor], start: float, stop: float):
        if not 0.0 <= start < stop <= 1.0:
            raise ValueError(f"a segment needs 0 <= start < stop <= 1, got start={start}, stop={stop}")
        self.path, self.start, self.stop = path, float(start), float(stop)

    def __call__(self, u: Tensor) -> Tensor:
        return self.path(self.start + u * (self.stop - self.start))

    def velocity(self, u: Tensor) -> Tensor:
        return (self.stop - self.start) * _velocity(self.path, self.start + u * (self.stop - self.start))


def segment(path: Path, start: float, stop: float) -> Segment:
    """gamma restricted to alpha in [start, stop], reparametrised over [0, 1] (see ``Segment``)."""
    if isinstance(path, Tensor):
        raise TypeError("segment takes a callable path; a tensor of points is already a list of straight segments")
    return Segment(path, start, stop)


def piecewise_path_integrated_gradients(
    model: Model, path: Path, breaks: Sequence[float], target: TargetLike = None, n_steps: int = 64
) -> Tensor:
    """PathIG along ``path`` as the sum over its segments between consecutive ``breaks`` (0 and 1 added).

    One example; the inputs of each segment are its end point gamma(stop). Returns the
    attributions of every segment stacked, [number of segments, *inputs.shape]; sum over
    dimension 0 for the whole path.
    """
    cuts = sorted({0.0, 1.0, *(float(t) for t in breaks)})
    if cuts[0] < 0 or cuts[-1] > 1:
        raise ValueError(f"breaks must lie in [0, 1], got {list(breaks)}")
    pieces = []
    for start, stop in zip(cuts[:-1], cuts[1:]):
        piece = segment(path, start, stop)
        with torch.no_grad():
            end = piece(torch.ones(1, dtype=torch.float64))[0]
        pieces.append(path_integrated_gradients(model, end, piece, target=target, n_steps=n_steps))
    return torch.stack(pieces)
