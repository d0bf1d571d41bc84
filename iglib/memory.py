"""``internal_batch_size="auto"``: the largest chunk of path points that fits a memory budget.

IG evaluates the gradient at n_steps x N points. Sending them all through the network at once
is fastest until the activations autograd keeps for the backward pass no longer fit. The
cost of one point is measured, not guessed: one probe forward pass of the N inputs under
``torch.autograd.graph.saved_tensors_hooks`` adds up the bytes of every tensor saved for the
backward pass. With a safety factor for the backward pass's own temporaries,

    chunk = floor(budget / (2 * saved bytes per point + 4 * input bytes per point)),

where the budget is given, or read from the device: the free memory of a CUDA device, or half
of the available RAM (``MemAvailable``) for the CPU. Chunking never changes the result.

The same budget refuses, before anything is allocated, a step count whose nodes or whose one
forward pass cannot fit (``check_fits``). Every budget names its device: the inputs' own for
the points, gradients and Hessians that live beside them, the CPU for host-side work (the
quadrature nodes, LIME's samples).
"""
from __future__ import annotations

import os
from typing import Any, Callable

import torch
from torch import Tensor

from .arguments import check_count

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


def check_fits(n_bytes: float, what: str, advice: str = "", *, device: torch.device) -> None:
    """Refuse (ValueError) ``what`` needing ``n_bytes`` on ``device`` (the inputs' device, or the
    CPU for host-side work) when that device's budget is smaller."""
    device = torch.device(device)
    budget = device_budget(device)
    if n_bytes > budget:
        where = f"free on {device}" if device.type == "cuda" else "of available RAM"
        raise ValueError(f"{what} needs at least {n_bytes / 2**30:.3g} GiB, more than the "
                         f"{budget / 2**30:.3g} GiB {where}{advice}")


def saved_bytes_of(F: Callable[[Tensor], Tensor], x: Tensor) -> int:
    """Bytes of the tensors autograd saves for the backward pass in one evaluation of F at x.

    Parameters and other tensors that exist anyway (not created by the pass) are counted once
    each at most; tensors saved twice are counted once.
    """
    seen: dict[tuple, int] = {}

    def pack(t: Tensor) -> Tensor:
        key = (t.data_ptr(), t.dtype, tuple(t.shape))
        seen[key] = t.numel() * t.element_size()
        return t

    with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        F(x.detach()[None].requires_grad_(True))
    return sum(seen.values())


def auto_batch_size_of(F: Callable[[Tensor], Tensor], x: Tensor, budget: int | None = None) -> int:
    """The number of path points per forward pass (examples, as ``internal_batch_size`` counts
    them) that fits ``budget`` bytes (default: the device's)."""
    if budget is None:
        budget = device_budget(x.device)
    budget = check_count(budget, "budget")  # bytes
    per_point = SAFETY * saved_bytes_of(F, x) / len(x) + 4 * x[0].numel() * x.element_size()
    return max(1, int(budget // per_point))
