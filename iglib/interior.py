"""Interior gradients: the gradients of F at the scaled inputs x' + alpha (x - x') along IG's path.

On a real network the score saturates: F(x' + alpha (x - x')) rises for small alpha and then
flattens, so the gradient at the input itself (alpha = 1) is tiny, while the interior gradients at
small alpha carry the signal. IG is their weighted average times the input difference,

    IG_i(x) ~ (x_i - x'_i) * sum_k w_k * dF/dx_i (x' + alpha_k (x - x')),

so the same evaluations give the saturation curve (F at every node) and IG at once. Gauss-Legendre
nodes crowd towards both ends of [0, 1], where a saturating score changes fastest.

:func:`saturation_path` evaluates a one-input F the same way on an even grid of alphas (with
alpha = 0 and 1) and adds the running IG integral up to each alpha (notebook 03's pictures).
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .arguments import Model, TargetLike, check_count, model_dtype
from .forward import prepare
from .integrated_gradients import integrated_gradients
from .memory import check_fits
from .quadrature import nodes


@dataclass
class InteriorGradients:
    """F and dF/dx at ``alphas`` [K] along the straight line, for a batch of N inputs."""

    inputs: Tensor  # x, [N, *features]
    baselines: Tensor  # x', [N, *features]
    alphas: Tensor  # [K], float64, on the CPU
    weights: Tensor  # [K], the rule's quadrature weights (sum 1), float64, on the CPU
    scores: Tensor  # F(x' + alpha_k (x - x')), [K, N]
    gradients: Tensor  # dF/dx there, [K, N, *features]
    baseline_scores: Tensor  # F(x'), [N]
    input_scores: Tensor  # F(x), [N]
    method: str

    def integrated_gradients(self) -> Tensor:
        """(x - x') * sum_k w_k g_k, shaped like ``inputs``."""
        w = self.weights.to(self.gradients.device, self.gradients.dtype)
        return (self.inputs - self.baselines) * torch.tensordot(w, self.gradients, dims=1)

    def convergence_delta(self) -> Tensor:
        """sum_i IG_i - (F(x) - F(x')), one value per input."""
        n = self.inputs.shape[0]
        return self.integrated_gradients().reshape(n, -1).sum(1) - (self.input_scores - self.baseline_scores)

    def gradient_norms(self) -> Tensor:
        """||dF/dx||_2 at each alpha, [K, N]."""
        return self.gradients.flatten(2).norm(dim=2)


def interior_gradients(
    model: Model,
    inputs: Tensor,
    baselines: Any = None,
    target: TargetLike = None,
    additional_forward_args: Any = None,
    n_steps: int = 50,
    method: str = "gausslegendre",
    internal_batch_size: int | str | None = None,
) -> InteriorGradients:
    """Evaluate F and dF/dx at the ``n_steps`` nodes of ``method`` on x' + alpha (x - x'),
    and F at both ends. Same arguments as :func:`iglib.integrated_gradients`, whose result
    :meth:`InteriorGradients.integrated_gradients` reproduces.
    """
    F, x, x_base = prepare(model, inputs, baselines, target, additional_forward_args, internal_batch_size)
    alphas, weights = nodes(method, n_steps, like=torch.empty((), dtype=torch.float64, device="cpu"))  # host
    f_x, f_base = F.ends(x, x_base)
    check_fits(2 * len(alphas) * x.numel() * x.element_size(), f"keeping the gradients at n_steps={n_steps} points of "
               f"each of the {len(x)} examples", device=x.device)
    grads, scores = F.gradients(_line(x, x_base, alphas), alphas=alphas.to(x.device, x.dtype))
    return InteriorGradients(x, x_base, alphas, weights, scores, grads, f_base, f_x, method)


def _line(x: Tensor, x_base: Tensor, alphas: Tensor) -> Tensor:
    """The points x' + alpha_k (x - x') for the K ``alphas``: [K, N, *features] in x's dtype and device."""
    a = alphas.to(x.device, x.dtype)
    return x_base + a.reshape((-1,) + (1,) * x.dim()) * (x - x_base)


def saturation_alpha(alphas: Tensor | np.ndarray, scores: Tensor | np.ndarray, baseline_score: float = 0.0,
                     fraction: float = 0.9) -> float:
    """The first alpha where F - F(x') reaches ``fraction`` of its final value F(x) - F(x')."""
    a = np.asarray(alphas, dtype=np.float64)
    rise = np.asarray(scores, dtype=np.float64) - float(baseline_score)
    if a.ndim != 1 or rise.shape != a.shape or len(a) < 1:
        raise ValueError(f"alphas and scores must be 1-D and the same length, got {a.shape} and {rise.shape}")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    final = rise[-1]
    reached = np.nonzero(rise >= fraction * final)[0] if final >= 0 else np.nonzero(rise <= fraction * final)[0]
    return float(a[reached[0]])


# ---------------------------------------------------------------- one input: the saturation path
def _scalar(value: float | Tensor, name: str) -> float:
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"{name} must be one number (a 1-D toy's input), got a tensor of shape {tuple(value.shape)}")
        return float(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    return float(value)


@dataclass
class SaturationPath:
    """F, dF/dx and the running IG integral at ``alphas`` along gamma(alpha) = x' + alpha (x - x')."""

    x: float
    baseline: float
    alphas: np.ndarray  # [G] in [0, 1]
    points: np.ndarray  # gamma(alpha), [G]
    F: np.ndarray  # F(gamma(alpha)), [G]
    gradient: np.ndarray  # dF/dx at gamma(alpha), [G]
    ig: np.ndarray  # (x - x') * integral_0^alpha dF/dx(gamma(s)) ds, [G]
    n_steps: int
    method: str

    def index(self, alpha: float) -> int:
        """Index of the grid alpha nearest to ``alpha``."""
        return int(np.abs(self.alphas - alpha).argmin())

    def at(self, alpha: float) -> dict:
        """The numbers at the grid alpha nearest to ``alpha``."""
        k = self.index(alpha)
        return {
            "alpha": float(self.alphas[k]),
            "point": float(self.points[k]),
            "F": float(self.F[k]),
            "dF/dx": float(self.gradient[k]),
            "IG": float(self.ig[k]),
            "F - F(x')": float(self.F[k] - self.F[0]),
        }


def saturation_path(
    model: Model,
    x: float | Tensor,
    baseline: float | Tensor = 0.0,
    n_steps: int = 300,
    method: str = "riemann_middle",
    grid: int = 101,
) -> SaturationPath:
    """Evaluate a one-input ``model`` (batch [N, 1] -> scores [N]) on ``grid`` evenly spaced alphas
    of the path x' -> x: F and dF/dx at the points of the line, in one pass, as
    :func:`interior_gradients` evaluates them at its nodes.

    The running integral at alpha is ``integrated_gradients`` of the point gamma(alpha)
    relative to x' with ``n_steps`` nodes of ``method``: one batched call for all alphas.
    """
    x, baseline = _scalar(x, "x"), _scalar(baseline, "baseline")
    n_steps, grid = check_count(n_steps, "n_steps"), check_count(grid, "grid")
    if grid < 2:
        raise ValueError(f"grid must be >= 2 (alpha = 0 and alpha = 1), got {grid}")
    dtype = model_dtype(model)
    alphas = np.linspace(0.0, 1.0, grid)
    F, _, _ = prepare(model, torch.tensor([[x]], dtype=dtype))
    exact = _line(torch.tensor([[x]], dtype=torch.float64), torch.tensor([[baseline]], dtype=torch.float64),
                  torch.from_numpy(alphas))
    line = exact.to(dtype)  # gamma(alpha) in float64, rounded once to the model's dtype: [G, 1, 1]
    gradient, scores = (t[:, 0] for t in F.gradients(line, alphas=torch.from_numpy(alphas).to(dtype)))
    points = line[:, 0]  # [G, 1]: the batch of G inputs whose IG is the running integral
    ig = integrated_gradients(model, points, baseline, n_steps=n_steps, method=method)
    return SaturationPath(
        x=x,
        baseline=baseline,
        alphas=alphas,
        points=points[:, 0].numpy(),
        F=scores.detach().numpy(),
        gradient=gradient[:, 0].numpy(),
        ig=ig[:, 0].numpy(),
        n_steps=n_steps,
        method=method,
    )
