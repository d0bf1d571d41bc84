"""Attribution methods on a grid over the two inputs of a toy network: the numbers behind the sliders
of notebooks 03 and 04, computed once so that a slider only indexes them.

- :func:`two_input_grid`: F and each attribution method's attributions at every (x1, x2), relative
  to one baseline x'. On f(x1, x2) = ReLU(ReLU(x1) - 1 - ReLU(x2)) DeConvNet and Guided Backprop
  give x2 exactly 0 everywhere while F falls in x2: Sensitivity(a) fails (notebook 03).
- :func:`invariance_grid`: gradient x input, DeepLIFT (rescale), LRP (epsilon, for several
  epsilons) and IG for two functionally equivalent networks f and g at every (x1, x2): an
  implementation-invariant method gives both the same attributions (notebook 04).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ..arguments import Model, check_model, model_dtype
from ..forward import prepare
from ..integrated_gradients import integrated_gradients
from ..methods import deconvnet, deeplift, gradient, gradient_x_input, guided_backprop, lrp
from .axioms import AttributionMethod

DEFAULT_GRID = np.linspace(-1.0, 4.0, 51)  # x1 and x2 from -1 to 4 in steps of 0.1


def _nearest(grid: np.ndarray, value: float) -> int:
    """Index of the grid point closest to a slider value."""
    return int(np.abs(grid - value).argmin())


# ---------------------------------------------------------------- 03: DeConvNet and Guided Backprop blind to x2
@dataclass
class TwoInputGrid:
    """F and each attribution method's attributions on the grid x1 x x2 (relative to one baseline x')."""

    x1: np.ndarray  # [A]
    x2: np.ndarray  # [B]
    F: np.ndarray  # [A, B]
    baseline: np.ndarray  # [2]
    F_baseline: float
    attributions: dict[str, np.ndarray]  # name -> [A, B, 2]

    def index(self, x1: float, x2: float) -> tuple[int, int]:
        """Indices (i, j) of the grid point nearest to (x1, x2)."""
        return _nearest(self.x1, x1), _nearest(self.x2, x2)

    def at(self, x1: float, x2: float) -> dict:
        """The numbers at the grid point nearest to (x1, x2)."""
        i, j = self.index(x1, x2)
        return {
            "x1": float(self.x1[i]),
            "x2": float(self.x2[j]),
            "F": float(self.F[i, j]),
            "F - F(x')": float(self.F[i, j] - self.F_baseline),
            "attributions": {name: (float(a[i, j, 0]), float(a[i, j, 1])) for name, a in self.attributions.items()},
        }


def default_attribution_methods(n_steps: int = 64, method: str = "riemann_middle") -> dict[str, AttributionMethod]:
    """Gradient, DeConvNet, Guided Backprop and IG (``n_steps`` nodes of the quadrature rule
    ``method``), by display name."""

    def ig(model: Model, inputs: Tensor, baselines: Tensor) -> Tensor:
        return integrated_gradients(model, inputs, baselines, n_steps=n_steps, method=method)

    return {"Gradient": gradient, "DeConvNet": deconvnet, "Guided Backprop": guided_backprop, "IG": ig}


def two_input_grid(
    model: Model,
    x1: Sequence[float] | None = None,
    x2: Sequence[float] | None = None,
    attribution_methods: Mapping[str, AttributionMethod] | None = None,
    baseline: Sequence[float] = (0.0, 0.0),
) -> TwoInputGrid:
    """Evaluate a two-input ``model`` (batch [N, 2] -> scores [N]) and every attribution method on the grid.

    ``x1``, ``x2``: grid values (default -1 to 4 in steps of 0.1); ``attribution_methods`` maps a
    display name to ``attribute(model, inputs, baselines)``, default
    :func:`default_attribution_methods`. Each is called once on the whole grid as one batch.
    """
    x1 = np.asarray(DEFAULT_GRID if x1 is None else x1, dtype=np.float64)
    x2 = np.asarray(DEFAULT_GRID if x2 is None else x2, dtype=np.float64)
    if x1.ndim != 1 or x2.ndim != 1 or len(x1) < 2 or len(x2) < 2:
        raise ValueError(f"x1 and x2 must be 1-D grids of at least 2 values, got shapes {x1.shape} and {x2.shape}")
    attribution_methods = default_attribution_methods() if attribution_methods is None else dict(attribution_methods)
    dtype = model_dtype(model)
    points = torch.cartesian_prod(torch.tensor(x1, dtype=dtype), torch.tensor(x2, dtype=dtype))
    base = torch.tensor(baseline, dtype=dtype)
    if base.shape != (2,):
        raise ValueError(f"baseline must be 2 numbers (x1', x2'), got shape {tuple(base.shape)}")
    check_model(model, points)
    with torch.no_grad():
        F = model(points).reshape(len(x1), len(x2))
        F_baseline = float(model(base.reshape(1, 2)).reshape(()))
    attributions = {
        name: attribute(model, points, base.expand_as(points)).detach().reshape(len(x1), len(x2), 2).numpy()
        for name, attribute in attribution_methods.items()
    }
    return TwoInputGrid(x1, x2, F.numpy(), base.numpy(), F_baseline, attributions)


# ---------------------------------------------------------------- 04: implementation invariance
INVARIANCE_METHODS = ("gradient_x_input", "deeplift", "lrp", "integrated_gradients")


def _evenly_spaced(values: Sequence[float]) -> tuple[np.ndarray, float]:
    """The slider values as an array and their (uniform) spacing."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or len(v) < 2 or not np.allclose(np.diff(v), v[1] - v[0]):
        raise ValueError(f"slider values must be at least 2 evenly spaced numbers, got {list(values)}")
    return v, float(v[1] - v[0])


@dataclass
class InvarianceGrid:
    """:data:`INVARIANCE_METHODS`' attributions for f and for g at every point of the evenly spaced
    grid x1 x x2, relative to one baseline x': ``attributions[name][method]`` is [A, B, 2] for
    name "f" or "g", LRP's a dict {epsilon: [A, B, 2]}; ``delta`` is F(x) - F(x') of f, [A, B]."""

    x1: np.ndarray  # [A]
    x2: np.ndarray  # [B]
    steps: tuple[float, float]  # the grids' spacings
    baseline: tuple[float, float]
    delta: np.ndarray  # [A, B]
    attributions: dict[str, dict]

    def index(self, x1: float, x2: float) -> tuple[int, int]:
        """Indices (i, j) of the grid point (x1, x2) (a slider value)."""
        return int(round((x1 - self.x1[0]) / self.steps[0])), int(round((x2 - self.x2[0]) / self.steps[1]))

    def at(self, x1: float, x2: float, epsilon: float) -> dict:
        """{"x", "epsilon", "delta", "f": {method: (a1, a2)}, "g": {...}} at the grid point (x1, x2)."""
        i, j = self.index(x1, x2)
        shown = {
            name: {m: tuple(float(a) for a in (t[m][epsilon] if m == "lrp" else t[m])[i, j]) for m in INVARIANCE_METHODS}
            for name, t in self.attributions.items()
        }
        return {"x": (float(self.x1[i]), float(self.x2[j])), "epsilon": float(epsilon), "delta": float(self.delta[i, j]),
                **shown}


def invariance_grid(
    f: nn.Module,
    g: nn.Module,
    x1_values: Sequence[float],
    x2_values: Sequence[float],
    epsilons: Sequence[float] = (0.0, 0.001, 0.01, 0.1, 1.0),
    baseline: tuple[float, float] = (0.0, 0.0),
    ig_steps: int = 1000,
) -> InvarianceGrid:
    """For two models f, g of 2 inputs (output [N]), at every point of the grid of evenly spaced
    ``x1_values`` x ``x2_values``: gradient x input, DeepLIFT-rescale, LRP for each epsilon, and
    Integrated Gradients (midpoint rule, ``ig_steps`` steps), all relative to ``baseline``."""
    v1, d1 = _evenly_spaced(x1_values)
    v2, d2 = _evenly_spaced(x2_values)
    points = torch.tensor(np.stack(np.meshgrid(v1, v2, indexing="ij"), -1).reshape(-1, 2), dtype=torch.float64)
    base = torch.tensor([baseline], dtype=torch.float64).expand_as(points)
    shape = (len(v1), len(v2), 2)

    def on_grid(t: torch.Tensor) -> np.ndarray:
        return t.detach().reshape(shape).numpy()

    table: dict[str, dict] = {}
    for name, model in (("f", f), ("g", g)):
        table[name] = {
            "gradient_x_input": on_grid(gradient_x_input(model, points, base)),
            "deeplift": on_grid(deeplift(model, points, base)),
            "lrp": {eps: on_grid(lrp(model, points, epsilon=eps)) for eps in epsilons},
            "integrated_gradients": on_grid(
                integrated_gradients(model, points, base, n_steps=ig_steps, method="riemann_middle")
            ),
        }
    F, _, _ = prepare(f, points)
    delta = F.difference(points, base).reshape(shape[:2]).numpy()
    return InvarianceGrid(v1, v2, (d1, d2), baseline, delta, table)
