"""F(x): the model's score for one class, and its gradient dF/dx.

Every attribution method in iglib explains a scalar function F of one example. This
module turns a model (an ``nn.Module`` or any callable returning a batch of outputs)
plus a ``target`` into that scalar per example, and checks the arguments on the way
so that bad input fails loudly, naming the argument and what was expected.

Conventions (the same as Captum's): batch dimension 0; ``target`` is None (the model
returns one number per example), an int (one class for every example), a tuple (an
index into a multi-dimensional output), or a list / 1-D tensor with one class per
example; ``additional_forward_args`` are passed after the input, and tensors among
them are repeated along dimension 0 whenever the batch is repeated (one copy per step).
"""
from __future__ import annotations

import numbers
import warnings
from typing import Any, Callable, Sequence, Union

import torch
from torch import Tensor, nn

Target = Union[None, int, tuple, Sequence[int], Tensor]
Forward = Callable[..., Tensor]


def as_inputs(inputs: Any, name: str = "inputs") -> Tensor:
    """Check that ``inputs`` is one floating-point tensor with a batch dimension."""
    if isinstance(inputs, (tuple, list)):
        raise TypeError(
            f"{name} must be a single torch.Tensor with the batch on dimension 0; got a "
            f"{type(inputs).__name__}. iglib does not take tuples of inputs: wrap the "
            "model so that it takes one tensor (concatenate, or attribute to one input "
            "and pass the others through additional_forward_args)."
        )
    if not isinstance(inputs, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(inputs).__name__}")
    if not inputs.is_floating_point():
        raise TypeError(
            f"{name} must have a floating-point dtype (gradients need one), got "
            f"{inputs.dtype}; for token ids use iglib.text.embedding_integrated_gradients"
        )
    if inputs.dim() < 1 or inputs.shape[0] == 0:
        raise ValueError(
            f"{name} must have a batch dimension 0 with at least one example, got shape "
            f"{tuple(inputs.shape)}"
        )
    return inputs


def as_baselines(baselines: Any, inputs: Tensor, name: str = "baselines") -> Tensor:
    """The baseline x' as a tensor shaped like ``inputs``.

    None means zeros (the black image, the zero embedding); a Python number means that
    constant everywhere; a tensor must broadcast to ``inputs.shape``.
    """
    if baselines is None:
        return torch.zeros_like(inputs)
    if isinstance(baselines, numbers.Number) and not isinstance(baselines, bool):
        return torch.full_like(inputs, float(baselines))
    if not isinstance(baselines, Tensor):
        raise TypeError(
            f"{name} must be None, a number or a torch.Tensor broadcastable to inputs "
            f"{tuple(inputs.shape)}, got {type(baselines).__name__}"
        )
    if baselines.device != inputs.device:
        raise ValueError(
            f"{name} is on {baselines.device} but inputs are on {inputs.device}; "
            "move both to the same device"
        )
    try:
        expanded = torch.broadcast_to(baselines, inputs.shape)
    except RuntimeError:
        raise ValueError(
            f"{name} has shape {tuple(baselines.shape)}, which does not broadcast to "
            f"the inputs' shape {tuple(inputs.shape)}"
        ) from None
    return expanded.to(inputs.dtype).clone()


def check_model(forward: Forward, inputs: Tensor) -> None:
    """Fail on a model on another device than ``inputs``; warn on training mode."""
    if not callable(forward):
        raise TypeError(f"forward must be an nn.Module or a callable, got {type(forward).__name__}")
    module = forward if isinstance(forward, nn.Module) else getattr(forward, "__self__", None)
    if not isinstance(module, nn.Module):
        return
    if module.training:
        warnings.warn(
            f"the model ({type(module).__name__}) is in training mode: dropout and batch "
            "norm make attributions random and break completeness. Call model.eval() first.",
            UserWarning,
            stacklevel=3,
        )
    param = next(module.parameters(), None)
    if param is not None and param.device != inputs.device:
        raise ValueError(
            f"inputs are on {inputs.device} but the model's parameters are on "
            f"{param.device}; move them to the same device (e.g. inputs.to({str(param.device)!r}))"
        )


def check_steps(n_steps: Any, name: str = "n_steps") -> int:
    """``n_steps`` must be a whole number >= 1."""
    if isinstance(n_steps, bool) or not isinstance(n_steps, numbers.Integral):
        raise TypeError(f"{name} must be an int >= 1, got {n_steps!r}")
    if n_steps < 1:
        raise ValueError(f"{name} must be >= 1, got {n_steps}")
    return int(n_steps)


def check_batch_size(internal_batch_size: Any) -> int | None:
    """``internal_batch_size`` is None or a whole number >= 1 (examples per forward pass)."""
    if internal_batch_size is None:
        return None
    if isinstance(internal_batch_size, bool) or not isinstance(internal_batch_size, numbers.Integral):
        raise TypeError(f"internal_batch_size must be None, an int >= 1 or 'auto', got {internal_batch_size!r}")
    if internal_batch_size < 1:
        raise ValueError(f"internal_batch_size must be >= 1, got {internal_batch_size}")
    return int(internal_batch_size)


def _as_args(additional_forward_args: Any) -> tuple:
    if additional_forward_args is None:
        return ()
    if isinstance(additional_forward_args, tuple):
        return additional_forward_args
    return (additional_forward_args,)


def repeat_args(additional_forward_args: Any, times: int) -> Any:
    """Repeat every batched tensor argument ``times`` along dimension 0 (step-major)."""
    if additional_forward_args is None or times == 1:
        return additional_forward_args
    return tuple(
        torch.cat([a] * times) if isinstance(a, Tensor) and a.dim() > 0 else a
        for a in _as_args(additional_forward_args)
    )


def one_example(target: Target, additional_forward_args: Any, i: int) -> tuple[Target, Any]:
    """The target and the additional forward args of example ``i`` alone (a batch of one)."""
    if isinstance(target, list) or (isinstance(target, Tensor) and target.dim() == 1 and target.numel() > 1):
        target = target[i : i + 1]
    if additional_forward_args is not None:
        additional_forward_args = tuple(
            a[i : i + 1] if isinstance(a, Tensor) and a.dim() > 0 else a for a in _as_args(additional_forward_args)
        )
    return target, additional_forward_args


def repeat_target(target: Target, times: int) -> Target:
    """Repeat a per-example target ``times`` (step-major), like the inputs."""
    if times == 1:
        return target
    if isinstance(target, Tensor) and target.dim() > 0 and target.numel() > 1:
        return torch.cat([target] * times)
    if isinstance(target, list):
        return target * times
    return target


def select_target(output: Tensor, target: Target, batch: int) -> Tensor:
    """F per example: the ``target`` entry of each row of ``output``, shape [batch]."""
    if not isinstance(output, Tensor):
        raise TypeError(f"forward must return a torch.Tensor, got {type(output).__name__}")
    if output.dim() == 0 or output.shape[0] != batch:
        raise ValueError(
            f"forward returned shape {tuple(output.shape)} for a batch of {batch} examples; "
            f"expected the batch on dimension 0, e.g. [{batch}] or [{batch}, classes]"
        )
    if target is None:
        if output[0].numel() != 1:
            raise ValueError(
                f"target is None but forward returns {output[0].numel()} values per example "
                f"(shape {tuple(output.shape)}); pass target=class index"
            )
        return output.reshape(batch)
    per_example = output.reshape(batch, -1) if output.dim() > 1 else output.reshape(batch, 1)
    if isinstance(target, bool):
        raise TypeError("target must be None, an int, a tuple, a list or a 1-D tensor, got a bool")
    if isinstance(target, numbers.Integral) or (isinstance(target, Tensor) and target.numel() == 1):
        t = int(target)
        n_classes = output.shape[1] if output.dim() > 1 else 1
        if not -n_classes <= t < n_classes or output.dim() > 2:
            if output.dim() > 2:
                raise ValueError(
                    f"target {t} is an int but forward returns shape {tuple(output.shape)}; "
                    "pass a tuple index for multi-dimensional outputs"
                )
            raise ValueError(f"target {t} is out of range for an output with {n_classes} classes")
        return per_example[:, t]
    if isinstance(target, tuple):
        try:
            return output[(slice(None),) + target].reshape(batch)
        except (IndexError, RuntimeError) as e:
            raise ValueError(
                f"target {target} does not index forward's output of shape {tuple(output.shape)}: {e}"
            ) from None
    if isinstance(target, (list, Tensor)):
        t = torch.as_tensor(target, device=output.device)
        if t.dim() != 1 or t.numel() != batch or t.dtype in (torch.float16, torch.float32, torch.float64):
            raise ValueError(
                f"target must hold one integer class per example ({batch}), got "
                f"{tuple(t.shape)} of dtype {t.dtype}"
            )
        n_classes = per_example.shape[1]
        if t.min() < -n_classes or t.max() >= n_classes:
            raise ValueError(f"target {t.tolist()} has a class out of range for an output with {n_classes} classes")
        return per_example.gather(1, (t % n_classes).long().unsqueeze(1)).squeeze(1)
    raise TypeError(
        f"target must be None, an int, a tuple, a list or a 1-D tensor, got {type(target).__name__}"
    )


def scores(forward: Forward, x: Tensor, target: Target = None, additional_forward_args: Any = None) -> Tensor:
    """F(x) per example, shape [N]; a non-finite score is an error."""
    out = forward(x, *_as_args(additional_forward_args))
    f = select_target(out, target, x.shape[0])
    if not torch.isfinite(f).all():
        bad = (~torch.isfinite(f)).nonzero().flatten().tolist()
        raise ValueError(
            f"the model output is not finite (nan or inf) for examples {bad[:10]} of the "
            "batch; check the inputs and the model"
        )
    return f


def gradients(
    forward: Forward, x: Tensor, target: Target = None, additional_forward_args: Any = None
) -> tuple[Tensor, Tensor]:
    """(dF/dx, F(x)) for every example of the batch ``x``."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        f = scores(forward, x, target, additional_forward_args)
        (grad,) = torch.autograd.grad(f.sum(), x, allow_unused=True)
    if grad is None:
        grad = torch.zeros_like(x)
    return grad.detach(), f.detach()


def gradients_at(
    forward: Forward, points: Tensor, target: Target = None, additional_forward_args: Any = None,
    internal_batch_size: int | None = None,
) -> tuple[Tensor, Tensor]:
    """(dF/dx [S, N, ...], F [S, N]) at ``points`` [S, N, ...]: S points for each of the N examples,
    at most ``internal_batch_size`` points per forward pass (at least one point of every example)."""
    s, n = points.shape[:2]
    chunk = s if internal_batch_size is None else max(1, internal_batch_size // n)
    grads, scores = [], []
    for start in range(0, s, chunk):
        p = points[start : start + chunk]
        k = p.shape[0]
        g, f = gradients(forward, p.reshape((k * n,) + p.shape[2:]), repeat_target(target, k),
                         repeat_args(additional_forward_args, k))
        grads.append(g.reshape(p.shape))
        scores.append(f.reshape(k, n))
    return torch.cat(grads), torch.cat(scores)
