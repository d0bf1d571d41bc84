"""Expected gradients (Erion et al. 2021): IG averaged over a distribution of baselines,

    EG_i(x) = E_{x' ~ D, alpha ~ U(0,1)} [ (x_i - x'_i) * dF/dx_i (x' + alpha (x - x')) ],

estimated with ``n_samples`` draws of a reference x'_k (uniformly among the given ones)
and alpha per example. Summed over i it equals, in expectation, F(x) - E[F(x')]
(completeness against the expected baseline); with one reference it is IG with random
nodes instead of a quadrature rule. So F must be finite at every reference, as IG checks
F(x'): where F(x'_k) = -inf the integral diverges, although no draw of alpha in (0, 1) lands
on x'_k itself.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..arguments import Model, TargetLike, check_baselines, check_count, check_seed
from ..forward import prepare
from ..memory import check_fits


def references(baselines: Any, x: Tensor) -> Tensor:
    """The K references as [K, *features]: None (one zero reference), a number, a tensor
    [K, *features] (or broadcastable to it), or a single reference [*features]."""
    features = x.shape[1:]
    if baselines is None or not isinstance(baselines, Tensor):
        return check_baselines(baselines, x[:1])
    if baselines.dim() == x.dim() - 1:
        baselines = baselines.unsqueeze(0)
    k = baselines.shape[0] if baselines.dim() == x.dim() else 0
    try:
        if torch.broadcast_shapes(baselines.shape, (k,) + features) != (k,) + features:
            k = 0
    except RuntimeError:
        k = 0
    if k == 0:
        raise ValueError(
            f"baselines for expected_gradients are K references [K, {', '.join(map(str, features))}] "
            f"(or one reference [{', '.join(map(str, features))}]), got shape {tuple(baselines.shape)}"
        )
    return check_baselines(baselines, torch.empty((k,) + features, dtype=x.dtype, device=x.device))


def expected_gradients(
    model: Model,
    inputs: Tensor,
    baselines: Any = None,
    target: TargetLike = None,
    additional_forward_args: Any = None,
    n_samples: int = 50,
    seed: int | None = None,
    internal_batch_size: int | str | None = None,
) -> Tensor:
    """Mean over ``n_samples`` draws (x'_k, alpha) of (x - x'_k) * dF/dx at x'_k + alpha (x - x'_k).

    ``baselines``: the reference set, [K, *features] (see ``references``); ``seed`` makes
    the draws reproducible (None: drawn from torch's global RNG).
    """
    F, x, _ = prepare(model, inputs, None, target, additional_forward_args, internal_batch_size)
    refs = references(baselines, x)
    n_samples = check_count(n_samples, "n_samples")
    check_fits(3 * n_samples * x.numel() * x.element_size(), f"n_samples={n_samples} points for each of the {len(x)} examples",
               device=x.device)
    F.values(x[None], at="the inputs")
    F.shared(refs, at="the references (baselines)")                 # F(x'_k) for every example's target
    g = check_seed(seed, x.device)
    pick = torch.randint(refs.shape[0], (n_samples, len(x)), generator=g, device=x.device)
    alpha = torch.rand((n_samples, len(x)), generator=g, dtype=x.dtype, device=x.device)
    x_ref = refs[pick]  # [S, N, *features]
    alpha = alpha.reshape(alpha.shape + (1,) * (x.dim() - 1))
    points = x_ref + alpha * (x - x_ref)
    grads, _ = F.gradients(points, alphas=alpha.reshape(n_samples, len(x)), at="the sampled points x'_k + alpha (x - x'_k)")
    return ((x - x_ref) * grads).mean(0)
