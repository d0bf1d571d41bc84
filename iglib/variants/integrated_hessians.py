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

An op that autograd can differentiate only once (a ``torch.autograd.Function`` whose backward is
``@once_differentiable``) drops its curvature from the Hessian without a word: the pair terms come
out 0. So when the model holds one, the Hessians are cross-checked along the path, by the
fundamental theorem of calculus for dF/dx,

    integral_0^1 H(x' + t d) d dt = dF/dx(x) - dF/dx(x')      (= sum_k w_k 2 s_k H(x' + s_k^2 d) d),

and a mismatch is an error that names the op.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from ..arguments import Model, TargetLike, check_count
from ..forward import Score, prepare
from ..memory import check_fits
from ..quadrature import nodes


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
    gradient_change = torch.zeros(n, dims, dtype=x.dtype, device=x.device)  # integral_0^1 H d dt
    for chunk in F.chunks(len(s)):
        t = s[chunk] ** 2                                                  # alpha of each point
        points = x_base + t.reshape((-1,) + (1,) * x.dim()) * (x - x_base)   # [k, N, *features]
        hessians, grads = F.hessians(points, alphas=t)
        hessian_sum += torch.tensordot(w_hessian[chunk], hessians, dims=1)
        gradient_sum += torch.tensordot(w_gradient[chunk], grads.reshape(-1, n, dims), dims=1)
        gradient_change += torch.tensordot(w_gradient[chunk], torch.einsum("knij,nj->kni", hessians, d), dims=1)
    check_second_derivatives(F, x, x_base, gradient_change)
    interactions = d[:, :, None] * d[:, None, :] * hessian_sum             # Gamma_ij, i != j
    ig = d * gradient_sum                                                  # IG_i
    off_diagonal = interactions.sum(2) - interactions.diagonal(dim1=1, dim2=2)
    interactions.diagonal(dim1=1, dim2=2).copy_(ig - off_diagonal)         # rows sum to IG_i
    interactions = interactions.reshape((n,) + features + features)
    if not return_convergence_delta:
        return interactions
    return interactions, interactions.reshape(n, -1).sum(1) - change


ONCE_DIFFERENTIABLE = once_differentiable(lambda ctx: None).__code__  # the code of every such backward
AGREE = 0.05  # the cross-check's relative tolerance: the quadrature's error, far below a missing curvature


def once_differentiable_ops(F: Score, x: Tensor) -> list[str]:
    """The names of the ops in F's autograd graph at ``x`` whose backward is ``@once_differentiable``."""
    with torch.enable_grad():
        f = F(x[None].detach().requires_grad_(True), "the inputs")
    names, seen, todo = [], set(), [f.grad_fn]
    while todo:
        node = todo.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        backward = getattr(getattr(node, "_forward_cls", None), "backward", None)
        if getattr(backward, "__code__", None) is ONCE_DIFFERENTIABLE and node._forward_cls.__name__ not in names:
            names.append(node._forward_cls.__name__)
        todo.extend(next_node for next_node, _ in node.next_functions)
    return names


def check_second_derivatives(F: Score, x: Tensor, x_base: Tensor, gradient_change: Tensor) -> None:
    """When F holds an op differentiable only once, check that the Hessians along the path add up to
    the change of the gradient, integral_0^1 H(x' + t d) d dt = dF/dx(x) - dF/dx(x') (``gradient_change``
    [N, D] is the left side by quadrature); a mismatch means the op's curvature is missing."""
    ops = once_differentiable_ops(F, x)
    if not ops:
        return
    ends, _ = F.gradients(torch.stack([x_base, x]), at="the baselines and the inputs")
    change = (ends[1] - ends[0]).reshape(gradient_change.shape)
    scale = ends.reshape(2, len(x), -1).norm(dim=2).sum(0)                 # [N]
    misfit = (gradient_change - change).norm(dim=1)
    bad = (misfit > AGREE * change.norm(dim=1) + torch.finfo(x.dtype).eps ** 0.5 * scale).nonzero().flatten()
    if len(bad):
        i = int(bad[0])
        raise ValueError(
            f"integrated_hessians: the model's op {', '.join(ops)} is a torch.autograd.Function whose backward is "
            "@once_differentiable, so autograd has no second derivative of it and the Hessians leave out its "
            f"curvature: for example {i}, the integral of H (x - x') along the path has norm "
            f"{float(gradient_change[i].norm()):.4g}, but dF/dx(x) - dF/dx(x') has norm {float(change[i].norm()):.4g} "
            f"(they differ by {float(misfit[i]):.4g}). Give the op a backward made of torch operations (without "
            "@once_differentiable), or use torch's own op"
        )


def top_interactions(interactions: Tensor, k: int | None = None) -> list[tuple[int, int, float]]:
    """The pairs i < j of one example's interaction matrix Gamma [D, D], strongest first:
    (i, j, Gamma_ij), sorted by |Gamma_ij| (ties: the first pair in row-major order first);
    the ``k`` strongest, or all D (D - 1) / 2 pairs with ``k=None``."""
    gamma = interactions if isinstance(interactions, Tensor) else torch.as_tensor(interactions, device="cpu")
    if gamma.dim() != 2 or gamma.shape[0] != gamma.shape[1]:
        raise ValueError(f"interactions must be one example's square matrix [D, D], got shape {tuple(gamma.shape)}")
    k = None if k is None else check_count(k, "k", minimum=0)
    i, j = torch.triu_indices(len(gamma), len(gamma), offset=1, device=gamma.device)
    values = gamma[i, j]
    order = sorted(range(len(values)), key=lambda p: -abs(float(values[p])))
    return [(int(i[p]), int(j[p]), float(values[p])) for p in order[: None if k is None else int(k)]]
