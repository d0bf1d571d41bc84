"""DeepLIFT with the rescale rule (Shrikumar, Greenside and Kundaje 2017).

Every elementwise nonlinearity y = f(z) gets the multiplier

    m = (f(z) - f(z')) / (z - z'),

z' being its pre-activation on the baseline x' (falling back to f'(z) where z and z' are
closer than sqrt(machine eps) * (1 + |z| + |z'|)). Linear operations keep their
gradient, and the attribution is

    DeepLIFT_i = (x_i - x'_i) * dF/dx_i  with every f'(z) replaced by m.

The multipliers compose by the chain rule, so on networks of linear operations and
elementwise nonlinearities the attributions sum to F(x) - F(x') (summation-to-delta).
But discrete gradients do not obey the chain rule of the *function*, which breaks
implementation invariance: f(x1, x2) = ReLU(ReLU(x1) - 1 - ReLU(x2)) and
g(x1, x2) = ReLU(ReLU(x1 - 1) - ReLU(x2)) are the same function, yet at x = (3, 1),
x' = (0, 0) DeepLIFT gives (1.5, -0.5) for f and (2, -1) for g.

Input and baseline run as one batch [x; x'], so each nonlinearity sees z and z' side by
side. Rules: relu, relu6 / hardtanh / clamp, sigmoid, tanh, softplus, elu, leaky_relu,
gelu, silu, in any spelling. Anything else touching the input (products of two
input-dependent tensors, softmax, max pooling, layer norm, ...) raises a ValueError.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..arguments import Model, TargetLike
from ..forward import prepare
from ._rules import Nonlinearity, Rule, RuleMode, derivative, rule_gradients


def _pairs(nl: Nonlinearity) -> bool:
    """Every nonlinearity must see the batch [x; x'] whole on dimension 0 (z and z' side by side)."""
    z = nl.z
    if z.dim() == 0 or z.shape[0] % 2:
        raise ValueError(
            f"deeplift: {nl.name} received shape {tuple(z.shape)}; DeepLIFT runs inputs and baselines as "
            "one batch [x; x'] and needs that batch on dimension 0 of every intermediate tensor"
        )
    return True


def _backward(nl: Nonlinearity, z: Tensor, y: Tensor, r: Tensor) -> Tensor:
    """R * m, m = (f(z) - f(z')) / (z - z'), or f'(z) where z and z' (almost) coincide."""
    n = len(z) // 2
    dz, dy = z[:n] - z[n:], y[:n] - y[n:]
    tiny = dz.abs() <= torch.finfo(z.dtype).eps ** 0.5 * (1 + z[:n].abs() + z[n:].abs())
    m = torch.where(tiny, derivative(nl.f, z[:n]), dy / torch.where(tiny, torch.ones_like(dz), dz))
    return r * torch.cat([m, m])


RESCALE = Rule(_backward, applies=_pairs)


def deeplift(
    model: Model,
    inputs: Tensor,
    baselines: Any = None,
    target: TargetLike = None,
    additional_forward_args: Any = None,
) -> Tensor:
    """DeepLIFT-rescale attributions of ``inputs`` relative to ``baselines`` (default zeros)."""
    F, x, x_base = prepare(model, inputs, baselines, target, additional_forward_args)
    mode = RuleMode("deeplift", RESCALE, strict=True)
    # x and x' as one batch [x; x'] (each nonlinearity sees z and z'); the signal starts at F(x) only
    grads = rule_gradients(F, torch.stack([x, x_base]), mode, signal=lambda f: torch.stack([torch.ones_like(f[0]), torch.zeros_like(f[1])]))
    return (x - x_base) * grads[0]
