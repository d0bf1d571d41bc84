"""Guided Integrated Gradients (Kapishnikov et al., CVPR 2021): a path chosen by the gradients.

IG's straight line crosses regions where the gradient is large for reasons unrelated to the
input (noise the model picks up along the way), and that noise lands in the attributions.
Guided IG walks from x' to x in m = ``n_steps`` steps instead; at step s (alpha_s = s/m) it

1. takes the gradient g = dF/dx at the current point z;
2. moves the features with the smallest |g_i| (a ``fraction`` of all features) towards x,
   as far as needed to bring the L1 distance to the input down to (1 - alpha_s) ||x - x'||_1;
3. keeps every feature within ``max_dist`` of the straight line: alpha_i of z_i, where
   z_i = x'_i + alpha_i (x_i - x'_i), stays in [alpha_s - max_dist, alpha_s + max_dist]
   (features that fall behind are pulled up, those ahead wait);

and accumulates the gradient times the step, a left Riemann sum along the path it walks:

    GIG_i(x) = sum_steps g_i(z) * (z_i,new - z_i,old)   ~   integral dF/dz_i dz_i.

It is a path method, so completeness holds in the limit of many steps:
sum_i GIG_i = F(x) - F(x') up to the Riemann sum's error. ``max_dist = 0`` is IG on the
straight line with the left Riemann rule; ``max_dist = 1`` lets the path anywhere in the box
between x' and x. The path depends on the gradients, so symmetric features can be treated
differently (see the axiom checks). Defaults: PAIR's ``max_dist = 0.02``; ``fraction = 0.1``
(PAIR's code uses 0.25).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..arguments import Model, TargetLike, check_count, check_number
from ..forward import prepare

CLOSE = 1e-9  # the L1 distance counts as reached within this (relative and absolute), in float64


def guided_integrated_gradients(
    model: Model,
    inputs: Tensor,
    baselines: Any = None,
    target: TargetLike = None,
    additional_forward_args: Any = None,
    n_steps: int = 200,
    fraction: float = 0.1,
    max_dist: float = 0.02,
    internal_batch_size: int | str | None = None,
    return_convergence_delta: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Guided IG of ``model``'s ``target`` score at ``inputs`` from ``baselines`` x'.

    GIG_i = sum over the n_steps steps of dF/dz_i(z) * (change of z_i), along the path that
    moves the ``fraction`` of features with the smallest |dF/dz| first and keeps each
    within ``max_dist`` (in alpha) of the straight line. Arguments as for
    :func:`iglib.integrated_gradients`; each of the N examples walks its own path (one
    gradient of every example per step). With ``return_convergence_delta`` also
    delta = sum_i GIG_i - (F(x) - F(x')).
    """
    F, x, x_base = prepare(model, inputs, baselines, target, additional_forward_args, internal_batch_size)
    n_steps = check_count(n_steps, "n_steps")
    fraction = check_number(fraction, "fraction", at_most=1, expected="a number in [0, 1]")     # share moved first
    max_dist = check_number(max_dist, "max_dist", at_most=1, expected="a number in [0, 1]")     # alpha from the line

    n = len(x)
    end, start = x.reshape(n, -1).double(), x_base.reshape(n, -1).double()   # [N, D], in float64
    diff = end - start
    moving = diff != 0
    l1_total = diff.abs().sum(1, keepdim=True)
    k = int(fraction * (end.shape[1] - 1))                                   # rank of the 'lower' quantile
    z = start.clone()
    attributions = torch.zeros_like(z)
    per_unit = torch.where(moving, diff, 1.0)
    for s in range(1, n_steps + 1):
        grads, _ = F.gradients(z.reshape(x.shape).to(x.dtype)[None], alphas=torch.tensor([(s - 1) / n_steps]))
        g = grads[0].reshape(n, -1).double()
        alpha = s / n_steps
        alpha_min, alpha_max = max(alpha - max_dist, 0.0), min(alpha + max_dist, 1.0)
        z_min, z_max = start + alpha_min * diff, start + alpha_max * diff
        l1_target = l1_total * (1 - alpha)
        z_step = z
        alpha_z = torch.where(moving, (z - start) / per_unit, alpha_max)
        z = torch.where(alpha_z < alpha_min, z_min, z)                       # pull up the features left behind
        free = torch.where(z == z_max, torch.inf, g.abs())                   # features at z_max cannot move
        done = torch.zeros(n, 1, dtype=torch.bool, device=z.device)
        while True:  # move the free features with the smallest |g|, a fraction at a time, until the L1 target
            l1 = (z - end).abs().sum(1, keepdim=True)
            done |= (l1 - l1_target).abs() <= CLOSE * torch.maximum(torch.maximum(l1, l1_target), torch.ones_like(l1))
            if done.all():
                break
            threshold = free.kthvalue(k + 1, dim=1, keepdim=True).values
            chosen = (free <= threshold) & (free < torch.inf) & ~done
            room = ((z - z_max).abs() * chosen).sum(1, keepdim=True)
            gamma = torch.where(room > 0, (l1 - l1_target) / room.clamp_min(1e-300), torch.inf)
            to_max = chosen & (gamma > 1)
            z = torch.where(to_max, z_max, torch.where(chosen, z + gamma.clamp(max=1) * (z_max - z), z))
            free = torch.where(to_max, torch.inf, free)
            done |= (room == 0) | (gamma <= 1)                               # reached, or nothing left to move
        attributions += (z - z_step) * g                                     # g is fixed within the step
    attributions = attributions.reshape(x.shape).to(x.dtype)
    if not return_convergence_delta:
        return attributions
    return attributions, attributions.reshape(n, -1).sum(1) - F.difference(x, x_base)
