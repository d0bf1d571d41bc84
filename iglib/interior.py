"""Interior gradients: the gradients of F at the scaled inputs x' + alpha (x - x') along IG's path.

On a real network the score saturates: F(x' + alpha (x - x')) rises for small alpha and then
flattens, so the gradient at the input itself (alpha = 1) is tiny, while the interior gradients at
small alpha carry the signal. IG is their weighted average times the input difference,

    IG_i(x) ~ (x_i - x'_i) * sum_k w_k * dF/dx_i (x' + alpha_k (x - x')),

so the same evaluations give the saturation curve (F at every node) and IG at once. Gauss-Legendre
nodes crowd towards both ends of [0, 1], where a saturating score changes fastest.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .arguments import Model, TargetLike
from .forward import prepare
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
    a = alphas.to(x.device, x.dtype)
    grads, scores = F.gradients(x_base + a.reshape((-1,) + (1,) * x.dim()) * (x - x_base), alphas=a)
    return InteriorGradients(x, x_base, alphas, weights, scores, grads, f_base, f_x, method)


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
