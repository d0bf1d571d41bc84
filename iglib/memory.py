"""``internal_batch_size="auto"``: the largest chunk of path points that fits a memory budget.

IG evaluates the gradient at n_steps x N points. Sending them all through the network at once
is fastest until the activations autograd keeps for the backward pass no longer fit. The
cost of one point is measured, not guessed: one probe forward pass of the N inputs under
``torch.autograd.graph.saved_tensors_hooks`` adds up the bytes of every tensor saved for the
backward pass. With a safety factor for the backward pass's own temporaries,

    chunk = floor(budget / (2 * saved bytes per point + 4 * input bytes per point)),

where the budget is given, or read from the device: the free memory of a CUDA device, or half
of the available RAM (``MemAvailable``) for the CPU. Chunking never changes the result.
"""
from __future__ import annotations

import os
from typing import Any

import torch
from torch import Tensor

from . import forward as fw

AUTO = "auto"
SAFETY = 2.0  # the backward pass needs about as much again as the saved activations
CUDA_SHARE, CPU_SHARE = 0.8, 0.5


def device_budget(device: torch.device) -> int:
    """Bytes IG may use on ``device``: 80% of a CUDA device's free memory, or half the available RAM."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free * CUDA_SHARE)
    try:
        with open("/proc/meminfo") as f:
            available_kb = next(int(line.split()[1]) for line in f if line.startswith("MemAvailable:"))
        return int(available_kb * 1024 * CPU_SHARE)
    except (OSError, StopIteration, ValueError):
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES") * CPU_SHARE)


def saved_bytes(forward: fw.Forward, inputs: Tensor, target: fw.Target = None, additional_forward_args: Any = None) -> int:
    """Bytes of the tensors autograd saves for the backward pass in one forward pass of ``inputs``.

    Parameters and other tensors that exist anyway (not created by the pass) are counted once
    each at most; tensors saved twice are counted once.
    """
    seen: dict[tuple, int] = {}

    def pack(t: Tensor) -> Tensor:
        key = (t.data_ptr(), t.dtype, tuple(t.shape))
        seen[key] = t.numel() * t.element_size()
        return t

    with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fw.scores(forward, inputs.detach().requires_grad_(True), target, additional_forward_args)
    return sum(seen.values())


def auto_batch_size(
    forward: fw.Forward,
    inputs: Tensor,
    target: fw.Target = None,
    additional_forward_args: Any = None,
    budget: int | None = None,
) -> int:
    """The number of path points per forward pass that fits ``budget`` bytes (default: the device's)."""
    x = fw.as_inputs(inputs)
    if budget is None:
        budget = device_budget(x.device)
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ValueError(f"budget must be a number of bytes >= 1, got {budget!r}")
    n = x.shape[0]
    per_point = SAFETY * saved_bytes(forward, x, target, additional_forward_args) / n + 4 * x[0].numel() * x.element_size()
    return max(1, int(budget // per_point))


def resolve_batch_size(
    internal_batch_size: Any, forward: fw.Forward, inputs: Tensor, target: fw.Target = None,
    additional_forward_args: Any = None,
) -> int | None:
    """``internal_batch_size`` as checked by :func:`iglib.forward.check_batch_size`, or ``"auto"`` resolved."""
    if isinstance(internal_batch_size, str):
        if internal_batch_size != AUTO:
            raise ValueError(f"internal_batch_size must be None, an int >= 1 or 'auto', got {internal_batch_size!r}")
        return auto_batch_size(forward, inputs, target, additional_forward_args)
    return fw.check_batch_size(internal_batch_size)
