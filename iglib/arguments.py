"""Every public function's arguments, prepared and checked in one place.

Conventions (Captum's): the batch is dimension 0 of ``inputs``; ``baselines`` is None (zeros),
a number, or a tensor broadcastable to ``inputs``; ``target`` is

- None: the model returns one number per example;
- an int, or a tuple indexing a multi-dimensional output: the same output for every example;
- a list (or 1-D integer tensor) with one int per example, or a list of tuples, one per example;

``additional_forward_args`` are passed after the input (one value, or a tuple); tensors among
them carry the batch on dimension 0 and are repeated with the inputs, once per path point.

Every tensor argument holds values (not the ``meta`` device) on the inputs' device: one check,
:func:`check_device`, for the inputs, baselines, targets, arguments and the model's parameters.

Each bad argument is a ``TypeError`` (wrong kind of value) or ``ValueError`` (wrong value) whose
message names the argument, quotes what was passed (the user's batch, never the internal
steps x batch) and says what was expected.
"""
from __future__ import annotations

import inspect
import math
import numbers
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Union

import numpy as np
import torch
from torch import Tensor, nn

Model = Callable[..., Tensor]
TargetLike = Union[None, int, tuple, list, Tensor]


def quote(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters; tensors as their values, shape and dtype."""
    if isinstance(value, Tensor):
        text = f"tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
        if value.numel() <= 8:
            text = f"{value.detach().cpu().tolist()!r} ({text})"
        return text
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------- numbers
def check_count(value: Any, name: str, minimum: int = 1) -> int:
    """A whole number >= ``minimum`` (``n_steps``, ``n_samples``, ``max_pieces``, ...)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int >= {minimum}, got {quote(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_number(value: Any, name: str, positive: bool = False, expected: str = "",
                 at_most: float | None = None) -> float:
    """A finite real number, >= 0 (or > 0 with ``positive``) and <= ``at_most`` when given:
    tolerances, widths, penalties, shares."""
    bound = "> 0" if positive else ">= 0"
    what = expected or f"a finite number {bound}" + (f" and <= {at_most}" if at_most is not None else "")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {what}, got {quote(value)}")
    if (not math.isfinite(value) or value < 0 or (positive and value == 0)
            or (at_most is not None and value > at_most)):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return float(value)


AUTO = "auto"


def check_batch_size(internal_batch_size: Any) -> int | str | None:
    """None, a whole number >= 1 (examples per forward pass), or ``"auto"``."""
    if internal_batch_size is None or internal_batch_size == AUTO:
        return internal_batch_size
    if isinstance(internal_batch_size, str):
        raise ValueError(f"internal_batch_size must be None, an int >= 1 or 'auto', got {internal_batch_size!r}")
    return check_count(internal_batch_size, "internal_batch_size")


# ---------------------------------------------------------------- devices
META = "the meta device holds shapes but no values, and attributions need the values"


def check_device(t: Tensor, name: str, inputs: Tensor | None = None, verb: str = "is", which: str = "",
                 fix: str = "") -> None:
    """One check for every tensor the user passes: ``t`` holds values (it is not on the ``meta``
    device) and, given ``inputs``, sits on their device. The ValueError names the argument
    (``name``; ``which`` adds the parameter or buffer) and the device expected; ``fix`` replaces
    the default advice."""
    on_inputs = inputs is not None and inputs.device.type != "meta"
    expected = str(inputs.device) if on_inputs else "cpu"
    start = f"inputs are on {inputs.device} but " if on_inputs else ""
    where = f" ({which})" if which else ""
    if t.device.type == "meta":
        advice = fix or (f"make it there (e.g. torch.tensor(..., device={expected!r})); a meta tensor cannot "
                         "be copied with .to()")
        raise ValueError(f"{start}{name} {verb} on meta{where}: {META}. Expected {name} on "
                         f"{expected if on_inputs else 'a real device (cpu or cuda)'}: {advice}")
    if on_inputs and t.device != inputs.device:
        advice = fix or f"e.g. {name}.to({expected!r})"
        raise ValueError(f"{start}{name} {verb} on {t.device}{where}; move them to the same device ({advice})")


# ---------------------------------------------------------------- tensors
def check_inputs(inputs: Any, name: str = "inputs") -> Tensor:
    """One finite floating-point tensor with a batch dimension, detached from any graph."""
    if isinstance(inputs, (tuple, list)):
        raise TypeError(
            f"{name} must be a single torch.Tensor with the batch on dimension 0; got a "
            f"{type(inputs).__name__}. iglib does not take tuples of inputs: wrap the "
            "model so that it takes one tensor (concatenate, or attribute to one input "
            "and pass the others through additional_forward_args)."
        )
    if not isinstance(inputs, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(inputs).__name__}")
    check_device(inputs, name, verb="are" if name == "inputs" else "is")
    if not inputs.is_floating_point():
        raise TypeError(
            f"{name} must have a floating-point dtype (gradients need one), got "
            f"{inputs.dtype}; for token ids use iglib.experiments.text.embedding_integrated_gradients"
        )
    if inputs.dim() < 1 or inputs.shape[0] == 0:
        raise ValueError(
            f"{name} must have a batch dimension 0 with at least one example, got shape {tuple(inputs.shape)}"
        )
    _check_finite(inputs, name)
    return inputs.detach()


def _check_finite(t: Tensor, name: str) -> None:
    finite = torch.isfinite(t.detach()).reshape(len(t), -1).all(1) if t.dim() else torch.isfinite(t)
    if not finite.all():
        bad = (~finite).nonzero().flatten().tolist()
        raise ValueError(f"{name} must be finite, but examples {bad[:10]} hold nan or inf")


def check_baselines(baselines: Any, inputs: Tensor, name: str = "baselines") -> Tensor:
    """The baseline x' as a finite tensor shaped like ``inputs``.

    None means zeros (the black image, the zero embedding); a Python number means that
    constant everywhere; a tensor must broadcast to ``inputs.shape``.
    """
    if baselines is None:
        return torch.zeros_like(inputs)
    if isinstance(baselines, numbers.Real) and not isinstance(baselines, (bool, np.bool_)):
        if not math.isfinite(baselines):
            raise ValueError(f"{name} must be finite, got {baselines!r}")
        return torch.full_like(inputs, float(baselines))
    if not isinstance(baselines, Tensor):
        raise TypeError(
            f"{name} must be None, a number or a torch.Tensor broadcastable to inputs "
            f"{tuple(inputs.shape)}, got {type(baselines).__name__}"
        )
    check_device(baselines, name, inputs)
    if baselines.dtype == torch.bool or baselines.is_complex():
        raise TypeError(f"{name} must hold real numbers, got dtype {baselines.dtype}")
    try:
        expanded = torch.broadcast_to(baselines.detach(), inputs.shape)
    except RuntimeError:
        raise ValueError(
            f"{name} has shape {tuple(baselines.shape)}, which does not broadcast to "
            f"the inputs' shape {tuple(inputs.shape)}"
        ) from None
    expanded = expanded.to(inputs.dtype).clone()
    _check_finite(expanded, name)
    return expanded


# ---------------------------------------------------------------- target
@dataclass(frozen=True)
class Target:
    """The target as one output index per example: ``index`` [N, k] (long), k indices into the
    output of each example (k = 1 for a class), or None when the output is one number per
    example. ``given`` is what the user passed, for messages."""

    index: Tensor | None
    given: Any = None

    def repeat(self, times: int) -> "Target":
        """The same index for ``times`` copies of the batch (step-major, like the path points)."""
        return self if self.index is None or times == 1 else Target(self.index.repeat(times, 1), self.given)

    def example(self, i: int) -> "Target":
        return self if self.index is None else Target(self.index[i : i + 1], self.given)


def is_int(v: Any) -> bool:
    """A whole number: a Python or numpy integer, not a bool."""
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def check_target(target: Any, n: int) -> Target:
    """``target`` as a :class:`Target` for a batch of ``n`` examples (see the module's conventions)."""
    if isinstance(target, Target):
        return target
    given = target
    if target is None:
        return Target(None, given)
    if isinstance(target, np.ndarray):
        target = torch.as_tensor(target, device="cpu")
    if isinstance(target, Tensor):
        check_device(target, "target", fix="pass the classes as ints, a list, or a tensor on the cpu or the inputs' device")
        if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
            raise TypeError(f"target must hold integer class indices, got {quote(target)}")
        if target.numel() == 1 and target.dim() <= 1:
            target = int(target)  # Captum: a one-element tensor is one class for every example
        elif target.dim() == 1:
            target = target.tolist()
        elif target.dim() == 2 and target.shape[0] == n:
            target = [tuple(row) for row in target.tolist()]
        else:
            raise ValueError(
                f"target as a tensor must be one int, [N] (one class per example) or [N, k] "
                f"(one index per example), N = {n} examples; got {quote(given)}"
            )
    if is_int(target):
        rows = [[int(target)]] * n
    elif isinstance(target, tuple):
        if not target or not all(is_int(t) for t in target):
            raise TypeError(f"target as a tuple must hold ints (an index into each example's output), got {quote(given)}")
        rows = [[int(t) for t in target]] * n
    elif isinstance(target, list):
        if len(target) != n:
            raise ValueError(
                f"target must hold one integer class per example ({n} examples in inputs), got "
                f"{len(target)}: {quote(given)}"
            )
        if all(is_int(t) for t in target):
            rows = [[int(t)] for t in target]
        elif all(isinstance(t, tuple) and t and all(is_int(i) for i in t) for t in target) and (
            len({len(t) for t in target}) == 1
        ):
            rows = [[int(i) for i in t] for t in target]
        else:
            raise TypeError(
                "target as a list must hold one int per example, or one tuple of ints (of the same "
                f"length) per example; got {quote(given)}"
            )
    else:
        kind = "a bool" if isinstance(target, (bool, np.bool_)) else type(target).__name__
        raise TypeError(
            f"target must be None, an int, a tuple, a list or a 1-D integer tensor, got {kind}: {quote(given)}"
        )
    return Target(torch.tensor(rows, dtype=torch.long, device="cpu"), given)  # on the host; select moves it


# ---------------------------------------------------------------- model and its extra arguments
def module_of(model: Any) -> nn.Module | None:
    """The nn.Module behind ``model`` (itself, or the object of a bound method), if any."""
    module = model if isinstance(model, nn.Module) else getattr(model, "__self__", None)
    return module if isinstance(module, nn.Module) else None


MATERIALISE = ("load real weights first (model.to_empty(device='cpu') then model.load_state_dict(...)), "
               "or build the model outside torch.device('meta')")
RANDOM_IN_TRAINING = (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._BatchNorm)


def check_model(model: Any, inputs: Tensor, name: str = "model") -> None:
    """A callable on the inputs' device and dtype; warn when it (or a dropout or batch-norm
    submodule) is in training mode."""
    if not callable(model):
        raise TypeError(f"{name} must be an nn.Module or a callable, got {type(model).__name__}: {quote(model)}")
    module = module_of(model)
    if module is None:
        return
    training = [m for m in module.modules() if m.training and (m is module or isinstance(m, RANDOM_IN_TRAINING))]
    if training:
        names = sorted({type(m).__name__ for m in training if m is not module})
        which = f"has submodules in training mode ({', '.join(names)})" if names else "is in training mode"
        warnings.warn(
            f"the {name} ({type(module).__name__}) {which}: dropout "
            "and batch norm make attributions random and break completeness. Call model.eval() first.",
            UserWarning,
            stacklevel=4,
        )
    tensors = [("parameter", *p) for p in module.named_parameters()] + [("buffer", *b) for b in module.named_buffers()]
    # any parameter or buffer on meta; else the first parameter must share the inputs' device
    kind, tensor_name, t = next((e for e in tensors if e[2].device.type == "meta"),
                                next((e for e in tensors if e[0] == "parameter"), (None, None, None)))
    if t is not None:
        check_device(t, f"the {name}'s {kind}s", inputs, verb="are", which=f"{kind} {tensor_name!r}",
                     fix=MATERIALISE if t.device.type == "meta" else f"e.g. inputs.to({str(t.device)!r})")
    params = [p for p in module.parameters() if p.is_floating_point()]
    dtypes = {p.dtype for p in params}
    if dtypes and inputs.dtype not in dtypes:
        want = sorted(str(d) for d in dtypes)[0]
        raise TypeError(
            f"inputs are {inputs.dtype} but the {name}'s parameters are {want}; convert one of them "
            f"(inputs.to({want}) or {name}.to({inputs.dtype}))"
        )


def check_args(additional_forward_args: Any, model: Any, inputs: Tensor) -> tuple:
    """``additional_forward_args`` as a tuple the model accepts after the inputs; batched tensors
    among them must have the inputs' batch on dimension 0 and their device."""
    if additional_forward_args is None:
        args: tuple = ()
    elif isinstance(additional_forward_args, tuple):
        args = additional_forward_args
    else:
        args = (additional_forward_args,)
    n = inputs.shape[0]
    for i, a in enumerate(args):
        if not isinstance(a, Tensor):
            continue
        where = f"additional_forward_args[{i}]" if len(args) > 1 else "additional_forward_args"
        check_device(a, where, inputs)
        if a.dim() > 0 and a.shape[0] != n:
            raise ValueError(
                f"{where} has shape {tuple(a.shape)} but inputs hold {n} examples: a tensor argument carries "
                "the batch on dimension 0 (it is repeated with the inputs, once per path point)"
            )
    target = model.forward if isinstance(model, nn.Module) else model
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return args
    try:
        signature.bind(inputs, *args)
    except TypeError:
        raise TypeError(
            f"additional_forward_args: the model's forward{signature} cannot take the inputs followed by "
            f"{len(args)} additional argument(s) {quote(args)}"
        ) from None
    return args


def check_seed(seed: Any, device: torch.device = torch.device("cpu")) -> torch.Generator:
    """A torch.Generator seeded with ``seed`` (an int); None draws the seed from torch's global
    RNG, so ``torch.manual_seed`` still makes the result reproducible."""
    if seed is None:
        seed = int(torch.randint(0, 2**62, (), device="cpu").item())
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be None or an int, got {quote(seed)}")
    return torch.Generator(device=device).manual_seed(int(seed))
