"""Layer-wise relevance propagation, epsilon rule (Bach et al. 2015).

The relevance F(x) at the output is passed back layer by layer; through a linear layer
z_j = sum_i w_ij a_i + b_j,

    R_i = sum_j a_i w_ij R_j / (z_j + eps * sign(z_j)).

Ancona et al. (2018) show this is a modified gradient: LRP_i = x_i * dF/dx_i with every
nonlinearity's f'(z) replaced by f(z) / (z + eps * sign(z)) (sign(0) taken as 1), and the
signal at the output scaled the same way, F / (F + eps * sign(F)), unless the output is
itself a nonlinearity's output. As eps -> 0 on a ReLU network, f(z)/z = f'(z) and LRP is
gradient * input. Default ``epsilon=0.01``; Captum's ``EpsilonRule`` with the same
epsilon on every Linear layer gives the same numbers on Linear/ReLU stacks.

LRP has no baseline (the relevance is relative to zero): ``baselines`` is checked and
unused. Rules: elementwise nonlinearities with f(0) = 0 (relu, relu6 / hardtanh / clamp,
tanh, elu, leaky_relu, gelu, silu, in any spelling); max pooling passes the relevance to
the winner (its gradient). Anything else touching the input (sigmoid or softplus, whose
f(z)/z is unbounded near 0, products of input-dependent tensors, softmax, ...) raises a
ValueError.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..arguments import Model, TargetLike, check_number
from ..forward import prepare
from ..ops import MAX_POOLING
from ._rules import Nonlinearity, Rule, RuleMode, rule_gradients


def stabilize(z: Tensor, epsilon: float) -> Tensor:
    """z + eps * sign(z), with sign(0) = 1: the denominator of the epsilon rule."""
    return z + epsilon * torch.where(z >= 0, 1.0, -1.0).to(z.dtype)


def _ratio(y: Tensor, z: Tensor, epsilon: float) -> Tensor:
    """y / (z + eps sign z), and 0 where y = 0 (no relevance to pass)."""
    d = stabilize(z, epsilon)
    return torch.where(y == 0, torch.zeros_like(y), y / torch.where(d == 0, torch.ones_like(d), d))


def _zero_at_zero(nl: Nonlinearity) -> bool:
    """The epsilon rule scales by f(z)/z, which needs f(0) = 0."""
    f0 = nl.f(torch.zeros((), dtype=nl.z.dtype, device=nl.z.device))
    if f0.abs().max() > 0:
        raise ValueError(
            f"lrp: no rule for {nl.name!r}: the epsilon rule scales by f(z)/z, which needs f(0) = 0, "
            f"but {nl.name}(0) = {f0.flatten()[0].item():g}"
        )
    return True


def epsilon_rule(epsilon: float) -> Rule:
    """R * f(z) / (z + eps sign z)."""
    return Rule(lambda nl, z, y, r: r * _ratio(y, z, epsilon), applies=_zero_at_zero)


def lrp(
    model: Model,
    inputs: Tensor,
    baselines: Any = None,
    target: TargetLike = None,
    additional_forward_args: Any = None,
    epsilon: float = 0.01,
) -> Tensor:
    """Epsilon-LRP relevance of each input feature, shaped like ``inputs``."""
    F, x, _ = prepare(model, inputs, baselines, target, additional_forward_args)
    eps = check_number(epsilon, "epsilon")
    mode = RuleMode("lrp", epsilon_rule(eps), strict=True, also_allowed=MAX_POOLING)

    def output_signal(f: Tensor) -> Tensor:
        """The relevance entering at the output: F / (F + eps sign F), unless F is a nonlinearity's output."""
        return torch.ones_like(f) if mode.output_is_nonlinearity() else _ratio(f, f, eps)

    return x * rule_gradients(F, x[None], mode, signal=output_signal)[0]
