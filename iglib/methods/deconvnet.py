"""DeConvNet (Zeiler and Fergus 2014): backprop where a ReLU passes only positive signal.

Through a ReLU with input f and incoming signal R, backprop passes R * (f > 0); the
DeConvNet passes R * (R > 0), ignoring f. The result is this modified gradient (not
multiplied by the input), like ``captum.attr.Deconvolution``.

It breaks Sensitivity(a): on F(x1, x2) = ReLU(ReLU(x1) - 1 - ReLU(x2)) the signal
reaching ReLU(x2) is negative and is never passed back, so x2 gets zero attribution at
every input, although F falls as x2 grows.

The rule applies to every ReLU-type gate however it is written (``nn.ReLU``, ``F.relu``,
``torch.relu``, ``Tensor.relu(_)``, ReLU6 / hardtanh / clamp). Other nonlinearities
(sigmoid, tanh, GELU, ...) have no DeConvNet rule and pass their ordinary gradient;
a network with only such nonlinearities is refused.
"""
from __future__ import annotations

from typing import Any

from torch import Tensor

from ..arguments import Model, TargetLike
from ..forward import prepare
from ._rules import Nonlinearity, Rule, RuleMode, rule_gradients


def _backward(nl: Nonlinearity, z: Tensor, y: Tensor, r: Tensor) -> Tensor:
    """R * (R > 0), whatever z was."""
    return r.clamp(min=0)


DECONVNET = Rule(_backward, applies=lambda nl: nl.gate is not None)  # ReLU-type gates only


def deconvnet(
    model: Model,
    inputs: Tensor,
    baselines: Any = None,
    target: TargetLike = None,
    additional_forward_args: Any = None,
) -> Tensor:
    """dF/dx with R * (R > 0) at every ReLU-type gate; ``baselines`` checked but unused."""
    F, x, _ = prepare(model, inputs, baselines, target, additional_forward_args)
    mode = RuleMode("deconvnet", DECONVNET, strict=False, needs_gate=True)
    return rule_gradients(F, x[None], mode)[0]

