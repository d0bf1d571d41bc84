"""The paper's witnesses: tiny networks on which attribution methods visibly fail or succeed.

Every toy is an ``nn.Module`` in eval mode that maps a batch [N, n] to one score per
example, shape [N] (so ``target=None``). By default it is built from ``nn.Linear`` and
``nn.ReLU`` layers with fixed weights, so methods that hook modules (DeconvNet, Guided
Backprop, DeepLIFT, LRP, Captum's versions of them) see every ReLU; ``functional=True``
gives the same function written with ``torch.relu``, which no module hook can see.
The last layer is an ``nn.Flatten(0)`` ([N, 1] -> [N]); ``toy[:-1].eval()`` is the same
network with output [N, 1] (Captum's LRP has no rule for Flatten).

- ``one_minus_relu``:  F(x) = 1 - ReLU(1 - x)            (gradient 0 at x = 2, F(2) - F(0) = 1)
- ``min_x_5``:         F(x) = min(x, 5) = 5 - ReLU(5 - x) (gradient 0 at x = 8, F(8) - F(0) = 5)
- ``two_input_relu``:  f(x1, x2) = ReLU(ReLU(x1) - 1 - ReLU(x2))
- ``implementation_pair``: (f, g) with g(x1, x2) = ReLU(ReLU(x1 - 1) - ReLU(x2)), equal to f
- ``symmetric_relu``:  F(x1, x2) = ReLU(x1 + x2 - 1)       (symmetric in x1, x2)
- ``ignores_x2``:      F(x1, x2) = ReLU(x1 - 1)            (x2 is a dummy feature)

and, for the uniqueness theorem (ig-reference.md section 5), ``symmetry_witness`` finds
the proof's function f for a given non-straight path, and ``bent_path`` gives a family of
curved paths from x' to x (bend = 0 is the straight line).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence, Union

import torch
from torch import Tensor, nn

from .arguments import check_baselines

Path = Union[Callable[[Tensor], Tensor], Tensor]


# ---------------------------------------------------------------- building blocks
def _linear(weight: Sequence[Sequence[float]], bias: Sequence[float], dtype: torch.dtype) -> nn.Linear:
    """An ``nn.Linear`` with the given fixed (non-trainable) weight [out, in] and bias [out]."""
    w = torch.tensor(weight, dtype=dtype)
    layer = nn.Linear(w.shape[1], w.shape[0], dtype=dtype)
    with torch.no_grad():
        layer.weight.copy_(w)
        layer.bias.copy_(torch.tensor(bias, dtype=dtype))
    return layer.requires_grad_(False)


def _network(*layers: nn.Module) -> nn.Sequential:
    """Layers followed by a flatten [N, 1] -> [N], in eval mode."""
    return nn.Sequential(*layers, nn.Flatten(0)).eval()


class Functional(nn.Module):
    """A toy written with ``torch.relu`` instead of ``nn.ReLU`` modules: F(x) = fn(x)."""

    def __init__(self, fn: Callable[[Tensor], Tensor], formula: str):
        super().__init__()
        self.fn, self.formula = fn, formula
        self.eval()

    def forward(self, x: Tensor) -> Tensor:
        return self.fn(x)

    def extra_repr(self) -> str:
        return self.formula


relu = torch.relu  # the functional variants spell ReLU this way


# ---------------------------------------------------------------- one input
def one_minus_relu(functional: bool = False, dtype: torch.dtype = torch.float64) -> nn.Module:
    """F(x) = 1 - ReLU(1 - x); input [N, 1], output [N]. Saturates (gradient 0) for x > 1."""
    if functional:
        return Functional(lambda x: 1 - relu(1 - x[:, 0]), "F(x) = 1 - ReLU(1 - x)")
    return _network(_linear([[-1.0]], [1.0], dtype), nn.ReLU(), _linear([[-1.0]], [1.0], dtype))


def min_x_5(functional: bool = False, dtype: torch.dtype = torch.float64) -> nn.Module:
    """F(x) = min(x, 5) = 5 - ReLU(5 - x); input [N, 1], output [N]."""
    if functional:
        return Functional(lambda x: 5 - relu(5 - x[:, 0]), "F(x) = 5 - ReLU(5 - x)")
    return _network(_linear([[-1.0]], [5.0], dtype), nn.ReLU(), _linear([[-1.0]], [5.0], dtype))


# ---------------------------------------------------------------- two inputs
def two_input_relu(functional: bool = False, dtype: torch.dtype = torch.float64) -> nn.Module:
    """f(x1, x2) = ReLU(ReLU(x1) - 1 - ReLU(x2)); input [N, 2], output [N]."""
    if functional:
        return Functional(
            lambda x: relu(relu(x[:, 0]) - 1 - relu(x[:, 1])), "f(x1, x2) = ReLU(ReLU(x1) - 1 - ReLU(x2))"
        )
    return _network(
        _linear([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0], dtype),
        nn.ReLU(),
        _linear([[1.0, -1.0]], [-1.0], dtype),
        nn.ReLU(),
    )


def _g(functional: bool, dtype: torch.dtype) -> nn.Module:
    """g(x1, x2) = ReLU(ReLU(x1 - 1) - ReLU(x2)): the same function as f, another network."""
    if functional:
        return Functional(
            lambda x: relu(relu(x[:, 0] - 1) - relu(x[:, 1])), "g(x1, x2) = ReLU(ReLU(x1 - 1) - ReLU(x2))"
        )
    return _network(
        _linear([[1.0, 0.0], [0.0, 1.0]], [-1.0, 0.0], dtype),
        nn.ReLU(),
        _linear([[1.0, -1.0]], [0.0], dtype),
        nn.ReLU(),
    )


def implementation_pair(functional: bool = False, dtype: torch.dtype = torch.float64) -> tuple[nn.Module, nn.Module]:
    """(f, g): two networks computing the same function (the paper's implementation-invariance pair).

    f(x1, x2) = ReLU(ReLU(x1) - 1 - ReLU(x2)),  g(x1, x2) = ReLU(ReLU(x1 - 1) - ReLU(x2)).
    """
    return two_input_relu(functional, dtype), _g(functional, dtype)


def symmetric_relu(functional: bool = False, dtype: torch.dtype = torch.float64) -> nn.Module:
    """F(x1, x2) = ReLU(x1 + x2 - 1): unchanged when x1 and x2 are swapped."""
    if functional:
        return Functional(lambda x: relu(x[:, 0] + x[:, 1] - 1), "F(x1, x2) = ReLU(x1 + x2 - 1)")
    return _network(_linear([[1.0, 1.0]], [-1.0], dtype), nn.ReLU())


def ignores_x2(functional: bool = False, dtype: torch.dtype = torch.float64) -> nn.Module:
    """F(x1, x2) = ReLU(x1 - 1): x2 is a dummy feature (weight 0), for Sensitivity(b)."""
    if functional:
        return Functional(lambda x: relu(x[:, 0] - 1) + 0 * x[:, 1], "F(x1, x2) = ReLU(x1 - 1)")
    return _network(_linear([[1.0, 0.0]], [-1.0], dtype), nn.ReLU())


# ---------------------------------------------------------------- paths
class BentPath:
    """gamma(alpha) = x' + alpha (x - x') + bend (stop - start) sin(pi u) R(x - x') / 2,
    u = (alpha - start) / (stop - start), the bump only for alpha in [start, stop].

    R rotates the 2-D difference by 90 degrees: R(d1, d2) = (d2, -d1). From x' = (0, 0)
    to x = (1, 1) with the whole window [0, 1] the bump is bend * sin(pi alpha) * (1, -1) / 2,
    so gamma_1 > gamma_2 inside the path for bend > 0. ``bend = 0`` is the straight line;
    the path stays monotone (and inside the box [x', x]) for |bend| <= 2 / pi. A narrower
    window keeps the straight line outside it, so the coordinates part exactly on
    (start, stop) and meet again at a = start, b = stop (the symmetry proof's picture).
    Features are the last dimension of ``inputs`` (size 2); works for a batch [N, 2].
    """

    def __init__(self, baselines: Tensor, inputs: Tensor, bend: float, start: float = 0.0, stop: float = 1.0):
        if inputs.shape[-1] != 2:
            raise ValueError(f"bent_path needs 2 features on the last dimension, got inputs of shape {tuple(inputs.shape)}")
        if not 0.0 <= start < stop <= 1.0:
            raise ValueError(f"bent_path needs 0 <= start < stop <= 1, got start={start}, stop={stop}")
        self.baselines = check_baselines(baselines, inputs)
        self.inputs, self.bend, self.start, self.stop = inputs, float(bend), float(start), float(stop)
        d = inputs - self.baselines
        self.direction = d
        self.normal = torch.stack([d[..., 1], -d[..., 0]], dim=-1) / 2

    def _u(self, alphas: Tensor) -> tuple[Tensor, Tensor]:
        a = alphas.reshape((-1,) + (1,) * self.inputs.dim()).to(self.inputs.dtype)
        return a, (a - self.start) / (self.stop - self.start)

    def __call__(self, alphas: Tensor) -> Tensor:
        a, u = self._u(alphas)
        bump = torch.where((u > 0) & (u < 1), torch.sin(math.pi * u), torch.zeros_like(u))
        return self.baselines + a * self.direction + self.bend * (self.stop - self.start) * bump * self.normal

    def velocity(self, alphas: Tensor) -> Tensor:
        """d gamma / d alpha; at the window's ends (a kink), the one-sided derivative inside the window."""
        _, u = self._u(alphas)
        slope = torch.where((u >= 0) & (u <= 1), math.pi * torch.cos(math.pi * u), torch.zeros_like(u))
        return self.direction + self.bend * slope * self.normal


def bent_path(baselines: Tensor, inputs: Tensor, bend: float, start: float = 0.0, stop: float = 1.0) -> BentPath:
    """A curved path from x' to x: the straight line plus a bump bend * sin(pi alpha) * (1, -1) / 2
    (for x - x' = (1, 1)), optionally confined to alpha in [start, stop]."""
    return BentPath(baselines, inputs, bend, start, stop)


def _as_callable(path: Path) -> Callable[[Tensor], Tensor]:
    """A tensor of points [P, ...] becomes the piecewise-linear path through them at alpha = k / (P - 1)."""
    if callable(path):
        return path
    points = path

    def gamma(alphas: Tensor) -> Tensor:
        s = alphas.to(points.dtype).clamp(0, 1) * (len(points) - 1)
        k = s.floor().long().clamp(max=len(points) - 2)
        frac = (s - k).reshape((-1,) + (1,) * (points.dim() - 1))
        return points[k] + frac * (points[k + 1] - points[k])

    return gamma


# ---------------------------------------------------------------- the uniqueness proof
class SymmetryProofFunction(nn.Module):
    """The proof's f, symmetric in x_i and x_j. The paper writes it piecewise:

        f(x) = 0                     if min(x_i, x_j) <= a
               (b - a)^2             if max(x_i, x_j) >= b
               (x_i - a)(x_j - a)    otherwise.

    That f jumps on {max(x_i, x_j) >= b, a < min(x_i, x_j) < b}, a region a monotone path
    (the proof's setting) never enters. By default (``continuous=True``) we use

        f(x) = (clamp(x_i, a, b) - a) * (clamp(x_j, a, b) - a),

    which equals the paper's f everywhere else, is continuous and differentiable almost
    everywhere, so completeness holds along any path (an axis-parallel path too).
    ``continuous=False`` gives the paper's piecewise f, written with ``torch.where``.
    Input [N, n], output [N].
    """

    def __init__(self, a: float, b: float, i: int = 0, j: int = 1, continuous: bool = True):
        super().__init__()
        self.a, self.b, self.i, self.j, self.continuous = float(a), float(b), i, j, continuous
        self.eval()

    def forward(self, x: Tensor) -> Tensor:
        xi, xj = x[:, self.i], x[:, self.j]
        if self.continuous:
            return (xi.clamp(self.a, self.b) - self.a) * (xj.clamp(self.a, self.b) - self.a)
        inside = (xi - self.a) * (xj - self.a)
        top = torch.full_like(inside, (self.b - self.a) ** 2)
        f = torch.where(torch.maximum(xi, xj) >= self.b, top, inside)
        return torch.where(torch.minimum(xi, xj) <= self.a, torch.zeros_like(f), f)

    def extra_repr(self) -> str:
        return f"a={self.a:.4g}, b={self.b:.4g}, i={self.i}, j={self.j}, continuous={self.continuous}"


class SymmetricPathError(ValueError):
    """The path keeps gamma_i = gamma_j everywhere: no function can tell x_i from x_j along it."""


@dataclass
class SymmetryWitness:
    """What the proof builds for a path: where the coordinates part (t0), the interval
    (t1, t2) on which gamma_i > gamma_j, the values a = gamma_i(t1) = gamma_j(t1) and
    b = gamma_i(t2) = gamma_j(t2), and the symmetric function f on which the path method
    gives x_j strictly more than x_i (roles of i and j already swapped if needed)."""

    t0: float
    t1: float
    t2: float
    a: float
    b: float
    i: int
    j: int
    f: SymmetryProofFunction
    baselines: Tensor
    inputs: Tensor


def _coordinate_gap(gamma: Callable[[Tensor], Tensor], alphas: Tensor, i: int, j: int) -> tuple[Tensor, Tensor, Tensor]:
    """(gamma_i - gamma_j, gamma_i, gamma_j) at ``alphas``; features flattened per point."""
    with torch.no_grad():
        points = gamma(alphas).reshape(len(alphas), -1).to(torch.float64)
    return points[:, i] - points[:, j], points[:, i], points[:, j]


def _crossing(gamma: Callable[[Tensor], Tensor], inside: float, outside: float, i: int, j: int) -> float:
    """Bisect between ``inside`` (gamma_i > gamma_j) and ``outside`` (not) for where they meet."""
    for _ in range(60):
        mid = (inside + outside) / 2
        gap, _, _ = _coordinate_gap(gamma, torch.tensor([mid], dtype=torch.float64), i, j)
        inside, outside = (mid, outside) if gap.item() > 0 else (inside, mid)
    return outside


def symmetry_witness(
    path: Path, i: int = 0, j: int = 1, grid: int = 4001, tol: float = 1e-9, continuous: bool = True
) -> SymmetryWitness:
    """The uniqueness proof's counterexample for ``path`` from x' = (0, 0) to x = (1, 1).

    ``path`` is a callable gamma(alphas) -> [K, *inputs.shape] (one example) or a tensor of
    points. On a grid of ``grid`` alphas: t0 is where |gamma_i - gamma_j| is largest;
    (t1, t2) is the largest interval around t0 where the coordinates differ (ends refined
    by bisection); if gamma_j > gamma_i there, i and j swap so that gamma_i > gamma_j.
    Then a = gamma_i(t1), b = gamma_i(t2), and PathIG gives x_j strictly more than x_i on
    ``witness.f`` (for a monotone path; see ``SymmetryProofFunction`` for ``continuous``).
    Coordinates count as equal when they differ by at most ``tol``. Raises
    ``SymmetricPathError`` for a path with gamma_i = gamma_j everywhere (the straight line).
    """
    gamma = _as_callable(path)
    alphas = torch.linspace(0, 1, grid, dtype=torch.float64)
    gap, gi, gj = _coordinate_gap(gamma, alphas, i, j)
    for end, want in ((0, 0.0), (-1, 1.0)):
        if abs(gi[end].item() - want) > 1e-6 or abs(gj[end].item() - want) > 1e-6:
            raise ValueError(
                f"symmetry_witness needs a path from x' = 0 to x = 1 in features {i} and {j} "
                f"(the proof's box [0, 1]^n); gamma({-end}) has ({gi[end].item():.4g}, {gj[end].item():.4g})"
            )
    k0 = int(gap.abs().argmax())
    if gap[k0].abs().item() <= tol:
        raise SymmetricPathError(
            f"no witness: the path is symmetric (gamma_{i} = gamma_{j} everywhere, e.g. the straight "
            "line), so no symmetric function gets different attributions for the two features"
        )
    if gap[k0] < 0:
        i, j, gap = j, i, -gap
    left, right = k0, k0
    while left > 0 and gap[left - 1] > tol:
        left -= 1
    while right < grid - 1 and gap[right + 1] > tol:
        right += 1
    t0 = alphas[k0].item()
    t1 = _crossing(gamma, alphas[left].item(), alphas[left - 1].item(), i, j) if left > 0 else 0.0
    t2 = _crossing(gamma, alphas[right].item(), alphas[right + 1].item(), i, j) if right < grid - 1 else 1.0
    _, ends_i, ends_j = _coordinate_gap(gamma, torch.tensor([t1, t2], dtype=torch.float64), i, j)
    a = (ends_i[0].item() + ends_j[0].item()) / 2
    b = (ends_i[1].item() + ends_j[1].item()) / 2
    with torch.no_grad():
        ends = gamma(torch.tensor([0.0, 1.0], dtype=torch.float64))
    return SymmetryWitness(
        t0=t0, t1=t1, t2=t2, a=a, b=b, i=i, j=j, f=SymmetryProofFunction(a, b, i, j, continuous),
        baselines=ends[0], inputs=ends[1],
    )
