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

In the plane of two features (notebooks 06 and 07): :func:`path_curve` (a path's points),
:func:`contour_grid` (F over a box), :func:`bend_sweep` (the attributions along
``toys.bent_path`` for a grid of bends) and :func:`symmetry_case` (the uniqueness proof run on
one path: its witness and the attributions on the proof's f along the path and the straight line).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from .arguments import Model, TargetLike, check_baselines, check_device, check_inputs
from .forward import Score, prepare
from .integrated_gradients import integrated_gradients
from .quadrature import nodes
from .toys import SymmetryWitness, bent_path, symmetry_witness

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


# ---------------------------------------------------------------- paths in the plane of two features
MONOTONE_BEND = 2 / math.pi  # bent_path and detour_path stay monotone for |bend| <= 2 / pi

# The symmetry proof's path family: toys.bent_path with its bump confined to [start, stop].
detour_path = bent_path


def path_curve(path: Path, n: int = 201) -> np.ndarray:
    """The points of a path through two features (one example), [n, 2] (or [P, 2] for a tensor of points)."""
    if isinstance(path, Tensor):
        points = path
    else:
        with torch.no_grad():
            points = path(torch.linspace(0, 1, n, dtype=torch.float64))
    points = points.detach().cpu().double().reshape(len(points), -1)
    if points.shape[1] != 2:
        raise ValueError(f"path_curve draws paths through 2 features (one example), got {points.shape[1]} values per point")
    return points.numpy()


@dataclass
class Contours:
    """F on a grid over the box [lo, hi] of two features: x1 [G], x2 [G], F [G, G] (rows follow x2)."""

    x1: np.ndarray
    x2: np.ndarray
    F: np.ndarray


def contour_grid(
    model: Model, lo: Sequence[float], hi: Sequence[float], n: int = 81, target: TargetLike = None
) -> Contours:
    """Evaluate F on an n x n grid over [lo_1, hi_1] x [lo_2, hi_2] (one forward pass)."""
    x1, x2 = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
    g1, g2 = np.meshgrid(x1, x2)
    points = torch.tensor(np.stack([g1.ravel(), g2.ravel()], axis=1), dtype=torch.float64)
    F, points, _ = prepare(model, points, None, target)
    values = F.values(points[None])[0]
    return Contours(x1, x2, values.detach().cpu().double().numpy().reshape(n, n))


def _one_pair(inputs: Tensor, baselines: Any) -> tuple[Tensor, Tensor]:
    x = check_inputs(inputs)
    if x.shape != (1, 2):
        raise ValueError(f"the path pictures need one example with 2 features, inputs of shape (1, 2); got {tuple(x.shape)}")
    return x, check_baselines(baselines, x)


def _increasing(values: Sequence[float]) -> list[float]:
    grid = np.asarray(values, dtype=float)
    if grid.ndim != 1 or len(grid) == 0 or np.any(np.diff(grid) <= 0):
        raise ValueError(f"bends must be a non-empty increasing sequence of numbers, got {list(values)}")
    return [float(v) for v in grid]


@dataclass
class BendSweep:
    """The path attributions along ``toys.bent_path(x', x, bend)`` for every bend on a grid, with IG
    (the straight line), F(x) - F(x'), each path's points and F's contours around them."""

    bends: list[float]
    attributions: dict[float, np.ndarray]  # bend -> (a1, a2)
    straight: np.ndarray  # IG's (a1, a2)
    difference: float  # F(x) - F(x')
    curves: dict[float, np.ndarray]  # bend -> the path's points [n, 2]
    line: np.ndarray  # the straight line's points [n, 2]
    contours: Contours

    def at(self, bend: float) -> dict:
        """The numbers at ``bend`` (one of ``bends``)."""
        a = self.attributions[bend]
        return {
            "bend": bend,
            "attributions": (float(a[0]), float(a[1])),
            "sum": float(a.sum()),
            "difference": self.difference,
            "straight": (float(self.straight[0]), float(self.straight[1])),
        }


def bend_sweep(
    model: Model,
    inputs: Tensor,
    bends: Sequence[float],
    baselines: Any = None,
    target: TargetLike = None,
    n_steps: int = 64,
    grid: int = 81,
) -> BendSweep:
    """For every bend in the increasing ``bends``, the attributions along ``toys.bent_path(x', x, bend)``
    (``path_integrated_gradients``, m = ``n_steps`` Gauss-Legendre nodes), with IG for comparison and
    F on a ``grid`` x ``grid`` box around all the paths. ``inputs``: one example with 2 features."""
    x, base = _one_pair(inputs, baselines)
    options = _increasing(bends)
    paths = {b: bent_path(base, x, b) for b in options}
    attributions = {
        b: path_integrated_gradients(model, x, p, target=target, n_steps=n_steps).detach().cpu().double().numpy()[0]
        for b, p in paths.items()
    }
    straight = integrated_gradients(model, x, base, target=target, n_steps=n_steps).detach().cpu().double().numpy()[0]
    F, x, base = prepare(model, x, base, target)
    difference = float(F.difference(x, base)[0])
    curves = {b: path_curve(p) for b, p in paths.items()}
    corners = np.concatenate(list(curves.values()))
    span = corners.max(0) - corners.min(0)
    contours = contour_grid(model, corners.min(0) - 0.08 * span, corners.max(0) + 0.08 * span, grid, target)
    line = path_curve(straight_line(base, x))
    return BendSweep(options, attributions, straight, difference, curves, line, contours)


# ---------------------------------------------------------------- the symmetry proof
@dataclass
class SymmetryCase:
    """What the proof finds for one path from (0, 0) to (1, 1): the witness (t0, t1, t2, a, b,
    i, j, f), the points of the path, and the attributions (x_i, x_j) on f along the path
    (split at t1 and t2) and along the straight line (split at a and b)."""

    witness: SymmetryWitness
    path: np.ndarray
    attributions: tuple[float, float]
    straight: tuple[float, float]


def symmetry_case(path: Path, n_steps: int = 64) -> SymmetryCase:
    """Run the proof on a callable ``path`` from x' = (0, 0) to x = (1, 1): find the witness
    and attribute its f along the path and along the straight line.

    Raises ``toys.SymmetricPathError`` for a path with gamma_1 = gamma_2 everywhere.
    """
    w = symmetry_witness(path)
    x, base = w.inputs.reshape(1, -1), w.baselines.reshape(1, -1)
    along = piecewise_path_integrated_gradients(w.f, path, (w.t1, w.t2), n_steps=n_steps).sum(0)
    line = piecewise_path_integrated_gradients(w.f, straight_line(base, x), (w.a, w.b), n_steps=n_steps).sum(0)
    pick = lambda t: (float(t[0, w.i]), float(t[0, w.j]))  # noqa: E731
    return SymmetryCase(w, path_curve(path), pick(along), pick(line))


def symmetry_cases(
    bends: Sequence[float], window: Sequence[float], n_steps: int = 64
) -> dict[tuple[float, float, float], SymmetryCase]:
    """:func:`symmetry_case` of ``detour_path`` from (0, 0) to (1, 1) for every bend in ``bends`` and
    window [start, stop] with start < stop from the grid ``window`` (inside [0, 1]), keyed by
    (bend, start, stop). Bend 0 is the straight line, where no witness exists: it is left out."""
    bend_options, ends = _increasing(bends), _increasing(window)
    if ends[0] < 0 or ends[-1] > 1:
        raise ValueError(f"window must be a grid inside [0, 1], got {list(window)}")
    x = torch.ones(1, 2, dtype=torch.float64)
    cases: dict[tuple[float, float, float], SymmetryCase] = {}
    for b in bend_options:
        for s in ends:
            for e in ends:
                if b != 0 and s < e:
                    cases[b, s, e] = symmetry_case(detour_path(torch.zeros_like(x), x, b, s, e), n_steps)
    return cases
