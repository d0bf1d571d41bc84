"""Integrated Hessians (Janizek, Sturmfels and Lee, JMLR 2021): IG of IG, the interaction of
every pair of features.

IG says how much each feature contributes, not which features act together ("does not
address the interactions between the input features", the IG paper says). Integrated
Hessians explains IG_i itself with IG, which for i != j gives (d = x - x')

    Gamma_ij(x) = d_i d_j  integral_0^1 integral_0^1  alpha beta  d2F/dx_i dx_j (x' + alpha beta d)  d alpha d beta,

and on the diagonal the self-interaction that makes each row add up to the feature's IG,

    sum_j Gamma_ij = IG_i,   so   sum_ij Gamma_ij = F(x) - F(x')   (completeness for pairs).

The double integral depends on alpha and beta only through their product t = alpha beta,
whose density on [0, 1] is -ln t; with t = s^2 (which makes the integrand smooth at 0),

    Gamma_ij = d_i d_j integral_0^1 4 s^3 (-ln s) d2F/dx_i dx_j (x' + s^2 d) ds      (i != j),
    IG_i     = d_i     integral_0^1 2 s dF/dx_i (x' + s^2 d) ds,
    Gamma_ii = IG_i - sum_{j != i} Gamma_ij,

one integral over s by a quadrature rule, the Hessian and the gradient taken at the same
n_steps points. (The paper's diagonal, d_i int int dF/dx_i + d_i^2 int int alpha beta
d2F/dx_i^2, equals this one: integrate by parts in t.) A Hessian costs one backward pass per
feature at every point (:meth:`iglib.forward.Score.hessians`).

A ReLU network is piecewise linear: its Hessian is zero between kinks, and its interactions sit
where the path crosses a kink (a Dirac delta that no node sees), so autograd gives Gamma_ij = 0
for i != j. Explain a smooth version instead (ReLU -> SoftPlus_beta, as Janizek et al. do; the
pair terms converge as beta grows, with more n_steps for a sharper beta), see notebook 14.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .arguments import Model, TargetLike
from .forward import prepare
from .memory import check_fits
from .quadrature import nodes


def integrated_hessians(
    model: Model,
    inputs: Tensor,
    baselines: Any = None,
    target: TargetLike = None,
    additional_forward_args: Any = None,
    n_steps: int = 32,
    method: str = "gausslegendre",
    internal_batch_size: int | str | None = None,
    return_convergence_delta: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Gamma_ij, the interaction of features i and j in ``model``'s ``target`` score at
    ``inputs`` relative to ``baselines`` x', shaped [N, *features, *features] ([N, D, D] for
    inputs [N, D]); symmetric, each row summing to IG_i.

    Arguments as for :func:`iglib.integrated_gradients`; ``n_steps`` nodes s_k of ``method``
    on [0, 1], the points x' + s_k^2 (x - x'). With ``return_convergence_delta`` also
    delta = sum_ij Gamma_ij - (F(x) - F(x')), one value per example.
    """
    F, x, x_base = prepare(model, inputs, baselines, target, additional_forward_args, internal_batch_size)
    n, features = len(x), x.shape[1:]
    dims = x[0].numel()
    s, weights = nodes(method, n_steps, like=x)                            # s [m, 1, ...], w [m]
    check_fits(3 * len(weights) * n * dims * dims * x.element_size(),
               f"the Hessians of {dims} features at n_steps={n_steps} points of the {len(x)} examples",
               device=x.device)
    change = F.difference(x, x_base)
    s = s.reshape(-1)
    log_s = torch.where(s > 0, torch.log(s.clamp_min(torch.finfo(x.dtype).tiny)), 0.0)
    w_hessian = weights * 4 * s**3 * -log_s                                # t (-ln t) dt with t = s^2
    w_gradient = weights * 2 * s                                           # dt with t = s^2
    d = (x - x_base).reshape(n, dims)
    hessian_sum = torch.zeros(n, dims, dims, dtype=x.dtype, device=x.device)
    gradient_sum = torch.zeros(n, dims, dtype=x.dtype, device=x.device)
    for chunk in F.chunks(len(s)):
        points = x_base + (s[chunk] ** 2).reshape((-1,) + (1,) * x.dim()) * (x - x_base)   # [k, N, *features]
        hessians, grads = F.hessians(points)
        hessian_sum += torch.tensordot(w_hessian[chunk], hessians, dims=1)
        gradient_sum += torch.tensordot(w_gradient[chunk], grads.reshape(-1, n, dims), dims=1)
    interactions = d[:, :, None] * d[:, None, :] * hessian_sum             # Gamma_ij, i != j
    ig = d * gradient_sum                                                  # IG_i
    off_diagonal = interactions.sum(2) - interactions.diagonal(dim1=1, dim2=2)
    interactions.diagonal(dim1=1, dim2=2).copy_(ig - off_diagonal)         # rows sum to IG_i
    interactions = interactions.reshape((n,) + features + features)
    if not return_convergence_delta:
        return interactions
    return interactions, interactions.reshape(n, -1).sum(1) - change


def top_interactions(interactions: Tensor, k: int | None = None) -> list[tuple[int, int, float]]:
    """The pairs i < j of one example's interaction matrix Gamma [D, D], strongest first:
    (i, j, Gamma_ij), sorted by |Gamma_ij| (ties: the first pair in row-major order first);
    the ``k`` strongest, or all D (D - 1) / 2 pairs with ``k=None``."""
    gamma = interactions if isinstance(interactions, Tensor) else torch.as_tensor(interactions, device="cpu")
    if gamma.dim() != 2 or gamma.shape[0] != gamma.shape[1]:
        raise ValueError(f"interactions must be one example's square matrix [D, D], got shape {tuple(gamma.shape)}")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 0):
        raise ValueError(f"k must be a non-negative int or None, got {k!r}")
    i, j = torch.triu_indices(len(gamma), len(gamma), offset=1, device=gamma.device)
    values = gamma[i, j]
    order = sorted(range(len(values)), key=lambda p: -abs(float(values[p])))
    return [(int(i[p]), int(j[p]), float(values[p])) for p in order[:k]]
