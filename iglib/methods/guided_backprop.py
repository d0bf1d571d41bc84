"""Guided backpropagation (Springenberg et al. 2015): backprop and DeConvNet combined.

Through a ReLU with input f and incoming signal R it passes R * (f > 0) * (R > 0): only
where the unit was active *and* the signal is positive. For ReLU6 / hardtanh / clamp the
gate is lo < f < hi (0 < f < 6 for ReLU6, as in EfficientNet-Lite). The result is this
modified gradient (not multiplied by the input), like ``captum.attr.GuidedBackprop``.

Like DeConvNet it breaks Sensitivity(a): on F(x1, x2) = ReLU(ReLU(x1) - 1 - ReLU(x2)),
x2 gets zero attribution at every input.

The rule applies however the ReLU is written (module, functional, method, in place).
Other nonlinearities (sigmoid, tanh, GELU, ...) pass their ordinary gradient; a network
with only such nonlinearities is refused.
"""
from __future__ import annotations

from typing import Any

from torch import Tensor

from ..arguments import Model, TargetLike
from ..forward import prepare
from ._rules import Nonlinearity, Rule, RuleMode, gate_open, rule_gradients


def _backward(nl: Nonlinearity, z: Tensor, y: Tensor, r: Tensor) -> Tensor:
    """R * (lo < z < hi) * (R > 0): where the gate was open and the signal is positive."""
    return r.clamp(min=0) * gate_open(z, nl.gate)


GUIDED_BACKPROP = Rule(_backward, applies=lambda nl: nl.gate is not None)  # ReLU-type gates only


def guided_backprop(
    model: Model,
    inputs: Tensor,
    baselines: Any = None,
    target: TargetLike = None,
    additional_forward_args: Any = None,
) -> Tensor:
    """dF/dx with R * (lo < f < hi) * (R > 0) at every ReLU-type gate; ``baselines`` unused."""
    F, x, _ = prepare(model, inputs, baselines, target, additional_forward_args)
    mode = RuleMode("guided_backprop", GUIDED_BACKPROP, strict=False, needs_gate=True)
    return rule_gradients(F, x[None], mode)[0]
