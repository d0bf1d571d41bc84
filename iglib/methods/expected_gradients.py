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
    F.values(x[None], at="the inputs")
    F.shared(refs, at="the references (baselines)")                 # F(x'_k) for every example's target
    check_fits((8 + x.element_size()) * n_samples * len(x), f"n_samples={n_samples} draws (x'_k, alpha) for each of the "
               f"{len(x)} examples", device=x.device)
    chunks = F.chunks(n_samples, "n_samples")   # without internal_batch_size: one pass of every draw, if it fits
    g = check_seed(seed, x.device)
    pick = torch.randint(refs.shape[0], (n_samples, len(x)), generator=g, device=x.device)
    alpha = torch.rand((n_samples, len(x)), generator=g, dtype=x.dtype, device=x.device)
    total = torch.zeros_like(x)
    for chunk in chunks:   # a few draws at a time: memory does not grow with n_samples
        x_ref = refs[pick[chunk]]                                                # [s, N, *features]
        a = alpha[chunk].reshape(alpha[chunk].shape + (1,) * (x.dim() - 1))
        grads, _ = F.gradients(x_ref + a * (x - x_ref), alphas=alpha[chunk], at="the sampled points x'_k + alpha (x - x'_k)")
        total += ((x - x_ref) * grads).sum(0)
    return total / n_samples
