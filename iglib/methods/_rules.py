"""Modified gradients: backpropagation with each nonlinearity's backward rule replaced.

DeConvNet, guided backpropagation, DeepLIFT and LRP are all "the gradient, except at the
nonlinearities" (Ancona et al. 2018). Through an elementwise y = f(z) with incoming
signal R, ordinary backprop passes R * f'(z); the methods pass instead

- deconvnet:        R * (R > 0)
- guided backprop:  R * (lo < z < hi) * (R > 0)     (a ReLU is the gate 0 < z; ReLU6 0 < z < 6)
- DeepLIFT rescale: R * (f(z) - f(z')) / (z - z')   (z' the value on the baseline)
- epsilon-LRP:      R * f(z) / (z + eps * sign(z))

Captum swaps these rules in with hooks on ``nn.ReLU`` modules only, so a network written
with ``F.relu`` or ``torch.relu`` silently gets the plain gradient. Here a
``TorchFunctionMode`` sees every torch call of the forward pass, whatever the spelling
(``nn.ReLU``, ``F.relu``, ``torch.relu``, ``Tensor.relu``, ``relu_``, ``F.relu6``,
``F.hardtanh``, ``nn.ReLU6``, ``torch.clamp``, ...), and routes the nonlinearities
through an autograd Function that applies the rule.

Where a rule could silently not apply, the mode raises a ValueError naming the operation
and the method: a gate written as input-dependent masking (``torch.where(x > 0, x, 0)``),
a nonlinearity run without autograd (inside a custom autograd Function), a scripted
model, or (deconvnet, guided backprop) a network with no ReLU-type gate at all.
DeepLIFT and LRP are exact only on networks made of linear operations and elementwise
nonlinearities; in their *strict* mode every operation touching an input-dependent tensor
is checked, and anything else (a product of two input-dependent tensors, a softmax, a
normalisation by input statistics, max pooling for DeepLIFT) is refused.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

from ..forward import Score
from ..ops import (
    CONSTANT,
    DEFAULTS,
    DIVISION,
    GATES,
    LINEAR,
    MAX_POOLING,
    MULTILINEAR,
    NONLINEARITY_MODULES,
    PARAMETERS,
    REFLECTED,
    is_inplace,
    op_name,
)



@dataclass
class Nonlinearity:
    """One call y = f(z) of an elementwise nonlinearity met in the forward pass."""

    name: str
    z: Tensor
    f: Callable[[Tensor], Tensor]  # out of place
    gate: Optional[tuple]  # (lo, hi) if f(z) = clamp(z, lo, hi), piecewise linear; else None
    inplace: bool


def as_nonlinearity(func: Any, args: tuple, kwargs: dict) -> Nonlinearity | None:
    """Recognise ``func(*args, **kwargs)`` as an elementwise nonlinearity of ``args[0]``."""
    name = op_name(func)
    if name not in PARAMETERS or not args or not isinstance(args[0], Tensor) or not args[0].is_floating_point():
        return None
    given = dict(zip(PARAMETERS[name], args[1:]))
    p = {k: given.get(k, kwargs.get(k, DEFAULTS[k])) for k in PARAMETERS[name]}
    inplace = is_inplace(func, kwargs) or bool(p.get("inplace", False))
    if name in GATES:
        lo, hi = {
            "relu": (0.0, None), "relu6": (0.0, 6.0), "hardtanh": (p.get("min_val"), p.get("max_val")),
        }.get(name, (p.get("min"), p.get("max")))
        if lo is None and hi is None:
            return None  # torch raises its own error
        return Nonlinearity(name, args[0], lambda t: torch.clamp(t, lo, hi), (lo, hi), inplace)
    f = {
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "softplus": lambda t: F.softplus(t, p["beta"], p["threshold"]),
        "elu": lambda t: F.elu(t, p["alpha"]),
        "leaky_relu": lambda t: F.leaky_relu(t, p["negative_slope"]),
        "gelu": lambda t: F.gelu(t, approximate=p["approximate"]),
        "silu": F.silu,
    }[name]
    return Nonlinearity(name, args[0], f, None, inplace)


def gate_open(z: Tensor, gate: tuple) -> Tensor:
    """(lo < z < hi) as a 0/1 tensor of z's dtype: where the clamp passes its input."""
    lo, hi = gate
    is_open = torch.ones_like(z, dtype=torch.bool)
    if lo is not None:
        is_open = is_open & (z > lo)
    if hi is not None:
        is_open = is_open & (z < hi)
    return is_open.to(z.dtype)


@dataclass(frozen=True)
class Rule:
    """A method's rule for y = f(z): ``backward(nl, z, y, r)`` is the signal passed on to z when r
    arrives at y (ordinary backprop passes r * f'(z)), like micrograd's ``_backward``;
    ``applies(nl)`` says which nonlinearities it replaces (the others keep their own gradient) and
    may refuse one with a ValueError."""

    backward: Callable[[Nonlinearity, Tensor, Tensor, Tensor], Tensor]
    applies: Callable[[Nonlinearity], bool] = lambda nl: True


class _Modified(torch.autograd.Function):
    """Forward: y = f(z), as the network computes it. Backward: the method's rule instead of r * f'(z)."""

    @staticmethod
    def forward(ctx, z: Tensor, nl: Nonlinearity, rule: Rule) -> Tensor:
        ctx.nl, ctx.rule, ctx.z = nl, rule, z.detach().clone()  # an in-place op overwrites z next
        ctx.y = nl.f(ctx.z)
        return ctx.y.clone()

    @staticmethod
    def backward(ctx, r: Tensor):
        return ctx.rule.backward(ctx.nl, ctx.z, ctx.y, r), None, None


_REASONS = {
    "softmax": "a softmax inside the network couples the outputs; attribute to the logits instead "
    "(drop the final softmax)",
    "log_softmax": "a log-softmax inside the network couples the outputs; attribute to the logits instead",
    "softmin": "a softmin inside the network couples the outputs",
    "layer_norm": "a normalisation divides by statistics of the input",
    "group_norm": "a normalisation divides by statistics of the input",
    "instance_norm": "a normalisation divides by statistics of the input",
    "rms_norm": "a normalisation divides by statistics of the input",
    "local_response_norm": "a normalisation divides by statistics of the input",
    "normalize": "a normalisation divides by statistics of the input",
}


class RuleMode(TorchFunctionMode):
    """Runs a forward pass with every elementwise nonlinearity's backward set by ``rule``.

    It tracks which tensors depend on the input (``mark`` the input first); rules apply to
    nonlinearities of those. Input-dependent masks or indices that gate values (a ReLU
    written as ``torch.where(x > 0, x, 0)``) are refused. ``strict`` (DeepLIFT, LRP): also
    refuse any operation on input-dependent tensors that is neither linear nor an
    elementwise nonlinearity; ``also_allowed`` names extra operations to accept as they
    are (LRP: max pooling, winner takes all). Not strict (deconvnet, guided backprop):
    everything else keeps its own gradient, and with ``needs_gate`` a network whose
    nonlinearities are all outside the ReLU-gate rules is refused.
    """

    def __init__(
        self, attribution_method: str, rule: Rule, strict: bool, also_allowed: frozenset = frozenset(),
        needs_gate: bool = False,
    ):
        super().__init__()
        self.attribution_method, self.rule, self.strict = attribution_method, rule, strict
        self.also_allowed = also_allowed
        self.needs_gate = needs_gate  # a network with nonlinearities, none a ReLU-type gate, is refused
        self.dependent: dict[int, Tensor] = {}
        self.seen: list[str] = []  # the nonlinearities met, by name
        self.last_output: Tensor | None = None  # the most recent nonlinearity output
        self.output: Tensor | None = None  # the model's output in the last forward pass

    def output_is_nonlinearity(self) -> bool:
        """Whether the model's output is a nonlinearity's output (or a view of it: Flatten, reshape)."""
        return self.last_output is not None and self.output is not None and (
            self.output.untyped_storage().data_ptr() == self.last_output.untyped_storage().data_ptr()
        )

    def mark(self, tree: Any) -> None:
        for t in tree_flatten(tree)[0]:
            if isinstance(t, Tensor):
                self.dependent[id(t)] = t

    def depends(self, t: Any) -> bool:
        return isinstance(t, Tensor) and self.dependent.get(id(t)) is t

    def refuse(self, name: str, why: str) -> ValueError:
        advice = (
            f"{self.attribution_method} is exact only for networks of linear operations and elementwise "
            "nonlinearities; use integrated_gradients for this network."
            if self.strict
            else f"write the gate as relu / clamp so that {self.attribution_method}'s rule applies to it."
        )
        return ValueError(
            f"{self.attribution_method}: no rule for the operation {name!r} applied to input-dependent tensors: "
            f"{why}. {advice}"
        )

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        nl = as_nonlinearity(func, args, kwargs)
        dependent = [t for t in tree_flatten((args, kwargs))[0] if self.depends(t)]
        if dependent and not torch.is_grad_enabled() and (self.strict or nl is not None):
            raise self.refuse(op_name(func), "it runs without autograd (inside torch.no_grad or a custom "
                              "torch.autograd.Function), where the rule cannot reach its backward pass")
        if nl is not None and self.depends(nl.z):
            return self._nonlinearity(func, args, kwargs, nl)
        out = func(*args, **kwargs)
        if not dependent:
            return out
        name, inplace = op_name(func), is_inplace(func, kwargs)
        if name in CONSTANT:
            return out
        if inplace or any(isinstance(t, Tensor) and t.is_floating_point() for t in tree_flatten(out)[0]):
            self._check(name, args, kwargs, dependent)
        self.mark(out)
        if inplace and isinstance(args[0], Tensor):
            self.mark(args[0])
        return out

    def _nonlinearity(self, func, args, kwargs, nl: Nonlinearity):
        self.seen.append(nl.name)
        if nl.gate is not None and any(isinstance(b, Tensor) and (b.requires_grad or self.depends(b)) for b in nl.gate):
            raise ValueError(f"{self.attribution_method}: {nl.name} with bounds that depend on the input has no rule")
        if not self.rule.applies(nl):
            out = func(*args, **kwargs)
        else:
            out = _Modified.apply(nl.z, nl, self.rule)
            if nl.inplace:
                out = nl.z.copy_(out)
        self.mark(out)
        self.last_output = out
        return out

    def _check(self, name: str, args: tuple, kwargs: dict, dependent: list) -> None:
        if any(not t.is_floating_point() for t in dependent):
            raise self.refuse(name, "an index, mask or condition computed from the input selects values "
                              "(a data-dependent gate)")
        if not self.strict:
            return
        if name in LINEAR or name in self.also_allowed:
            if name == "batch_norm" and (args[5] if len(args) > 5 else kwargs.get("training", False)):
                raise self.refuse(name, "batch norm in training mode normalises by the batch's statistics; "
                                  "call model.eval()")
            return
        if name in MULTILINEAR:
            if len(dependent) > 1:
                raise self.refuse(name, "it multiplies two input-dependent tensors (a multiplicative "
                                  "interaction)")
            return
        if name in DIVISION:
            divisor = args[1] if len(args) > 1 else kwargs.get("other")
            if self.depends(divisor):
                raise self.refuse(name, "it divides by an input-dependent tensor")
            return
        if name in REFLECTED:
            raise self.refuse(name, "it divides by an input-dependent tensor")
        if name in MAX_POOLING:
            raise self.refuse(name, "max pooling is not an elementwise nonlinearity")
        raise self.refuse(name, _REASONS.get(name, "it is neither linear nor an elementwise nonlinearity "
                                              f"({', '.join(PARAMETERS)})"))

    def finish(self, forward: Any) -> None:
        """After the forward pass: fail if the rules could not have been applied."""
        module = forward if isinstance(forward, nn.Module) else getattr(forward, "__self__", None)
        if isinstance(module, (torch.jit.ScriptModule, torch.jit.ScriptFunction)) or isinstance(
            forward, torch.jit.ScriptFunction
        ):
            raise ValueError(f"{self.attribution_method}: TorchScript models bypass the rules; pass the Python model")
        if not self.seen and isinstance(module, nn.Module):
            if any(isinstance(m, NONLINEARITY_MODULES) for m in module.modules()):
                raise ValueError(
                    f"{self.attribution_method}: the model has nonlinearity modules but none was seen in the forward "
                    "pass (compiled or scripted code?); the rules could not be applied"
                )
        if self.needs_gate and self.seen and not any(name in GATES for name in self.seen):
            raise ValueError(
                f"{self.attribution_method}: the network has no ReLU-type nonlinearity, only {sorted(set(self.seen))}; "
                f"{self.attribution_method}'s rule is defined for ReLU gates, so the result would be the plain gradient"
            )


def rule_gradients(F: Score, points: Tensor, mode: RuleMode, signal: Callable[[Tensor], Tensor] | None = None) -> Tensor:
    """The modified gradient dF/dx at ``points`` [k, N, *features]: the forward pass runs under
    ``mode``; ``signal(F)`` weighs each score in the backward pass (default 1)."""

    def model_with_rules(z: Tensor, *args: Any) -> Tensor:
        mode.mark(z)
        with mode:
            mode.output = F.model(z, *args)
        mode.finish(F.model)
        return mode.output

    grads, _ = F.with_model(model_with_rules).gradients(points, signal)
    return grads


def derivative(f: Callable[[Tensor], Tensor], z: Tensor) -> Tensor:
    """f'(z) of an elementwise f, by autograd."""
    with torch.enable_grad():
        z = z.detach().requires_grad_(True)
        (d,) = torch.autograd.grad(f(z).sum(), z)
    return d

