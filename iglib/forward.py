"""F(x): the model's score for one target per example, and its gradient dF/dx.

Every attribution method in iglib explains a scalar function F of one example. ``prepare``
checks a public function's arguments (:mod:`iglib.arguments`) and returns F as a
:class:`Score`, with x and x'. F is evaluated at *points*: a tensor [k, N, *features] holding
k points for each of the N examples (the k nodes of a path, k noisy copies, ...), sent through
the model as one batch of k N, step-major. Two operations serve every method:

- ``F.gradients(points)``: (dF/dx, F) at the points, detached from any graph, at most
  ``internal_batch_size`` examples per forward pass (the one chunked gradient primitive);
- ``F.difference(x, x')``: F(x) - F(x'), what completeness says the attributions add up to.

``F.hessians(points)`` adds the second derivatives (double backward, same chunks) for
Integrated Hessians.
"""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from . import memory
from .arguments import (
    Model,
    Target,
    TargetLike,
    check_args,
    check_baselines,
    check_batch_size,
    check_inputs,
    check_model,
    check_target,
    select,
)


class Score:
    """F: the ``target`` output of ``model(x, *args)`` for each of the N examples.

    ``F(points)`` maps points [k, N, *features] to F [k, N]; a non-finite F is an error.
    """

    def __init__(self, model: Model, target: Target, args: tuple, n: int, internal_batch_size: int | None = None,
                 point_bytes: int = 0, device: torch.device = torch.device("cpu")):
        self.model, self.target, self.args, self.n = model, target, args, n
        self.internal_batch_size = internal_batch_size
        self.point_bytes = point_bytes  # bytes of one point of all N examples, for the memory check
        self.device = torch.device(device)  # the inputs' device, whose memory the points use

    def __call__(self, points: Tensor, at: str = "the path points") -> Tensor:
        k = points.shape[0]
        args = tuple(torch.cat([a] * k) if isinstance(a, Tensor) and a.dim() > 0 else a for a in self.args)
        out = self.model(points.reshape((k * self.n,) + points.shape[2:]), *args)
        f = select(out, self.target, self.n, k).reshape(k, self.n)
        if not torch.isfinite(f).all():
            bad = (~torch.isfinite(f)).any(0).nonzero().flatten().tolist()
            raise ValueError(
                f"the model output is not finite (nan or inf) at {at} of examples {bad[:10]}; "
                "check the inputs, the baselines and the model"
            )
        return f

    def gradients(self, points: Tensor, signal: Callable[[Tensor], Tensor] | None = None) -> tuple[Tensor, Tensor]:
        """(dF/dx [k, N, *features], F [k, N]) at ``points``, in chunks of at most
        ``internal_batch_size`` examples; ``signal(F)`` weighs each F in the backward pass
        (default 1)."""
        grads, scores = [], []
        for chunk in self.chunks(points.shape[0]):
            with torch.enable_grad():
                p = points[chunk].detach().requires_grad_(True)
                f = self(p)
                w = torch.ones_like(f) if signal is None else signal(f.detach())
                (g,) = torch.autograd.grad(f, p, w, allow_unused=True)
            grads.append(torch.zeros_like(p) if g is None else g.detach())
            scores.append(f.detach())
        return torch.cat(grads), torch.cat(scores)

    def hessians(self, points: Tensor) -> tuple[Tensor, Tensor]:
        """(d2F/dx2 [k, N, D, D], dF/dx [k, N, *features]) at ``points``, D = features per example,
        in the same chunks as :meth:`gradients`: double backward, one backward pass per feature
        (the examples and points of a chunk are independent, so one pass serves them all)."""
        hessians, grads = [], []
        for chunk in self.chunks(points.shape[0]):
            with torch.enable_grad():
                p = points[chunk].detach().requires_grad_(True)
                (g,) = torch.autograd.grad(self(p).sum(), p, create_graph=True, allow_unused=True)
                g = torch.zeros_like(p) if g is None else g
                flat = g.reshape(p.shape[0], self.n, -1)                         # [k, N, D]
                rows = []
                for j in range(flat.shape[-1]):                                  # row j: d/dx (dF/dx_j)
                    h = None
                    if flat.requires_grad:
                        (h,) = torch.autograd.grad(flat[..., j].sum(), p, retain_graph=True, allow_unused=True)
                    rows.append(torch.zeros_like(flat) if h is None else h.detach().reshape(flat.shape))
            hessians.append(torch.stack(rows, dim=2))
            grads.append(g.detach())
        return torch.cat(hessians), torch.cat(grads)

    def values(self, points: Tensor) -> Tensor:
        """F [k, N] at ``points`` without gradients, in the same chunks."""
        with torch.no_grad():
            return torch.cat([self(points[chunk]) for chunk in self.chunks(points.shape[0])])

    def chunks(self, k: int, name: str = "n_steps") -> list[slice]:
        """Slices of the k points per example that go through the model together: at most
        ``internal_batch_size`` examples, but at least one point of every example."""
        per = k if self.internal_batch_size is None else max(1, min(k, self.internal_batch_size // self.n))
        if self.internal_batch_size is None:
            memory.check_fits(3 * per * self.point_bytes, f"{name}={k} with internal_batch_size=None evaluates {k} "
                              f"points of each of the {self.n} examples in one forward pass, which",
                              "; pass internal_batch_size (an int, or 'auto')", device=self.device)
        return [slice(s, s + per) for s in range(0, k, per)]

    def ends(self, x: Tensor, baselines: Tensor) -> tuple[Tensor, Tensor]:
        """(F(x), F(x')) per example, [N] each."""
        with torch.no_grad():
            return self(x[None], at="the inputs")[0], self(baselines[None], at="the baselines")[0]

    def difference(self, x: Tensor, baselines: Tensor) -> Tensor:
        """F(x) - F(x') per example, [N]: what completeness says the attributions add up to."""
        f_x, f_base = self.ends(x, baselines)
        return f_x - f_base

    def example(self, i: int) -> "Score":
        """F of example ``i`` alone (a batch of one)."""
        args = tuple(a[i : i + 1] if isinstance(a, Tensor) and a.dim() > 0 else a for a in self.args)
        return self._like(self.model, self.target.example(i), args, 1)

    def with_model(self, model: Model) -> "Score":
        """The same target and arguments on another model (a wrapper of this one)."""
        return self._like(model, self.target, self.args, self.n)

    def _like(self, model: Model, target: Target, args: tuple, n: int) -> "Score":
        return Score(model, target, args, n, self.internal_batch_size, self.point_bytes * n // self.n, self.device)


def prepare(
    model: Any,
    inputs: Any,
    baselines: Any = None,
    target: TargetLike = None,
    additional_forward_args: Any = None,
    internal_batch_size: Any = None,
) -> tuple[Score, Tensor, Tensor]:
    """Check a public function's arguments; return (F, x, x'), x and x' detached, x' shaped like x."""
    x = check_inputs(inputs)
    x_base = check_baselines(baselines, x)
    check_model(model, x)
    F = Score(model, check_target(target, len(x)), check_args(additional_forward_args, model, x), len(x),
              point_bytes=x.numel() * x.element_size(), device=x.device)
    ibs = check_batch_size(internal_batch_size)
    F.internal_batch_size = memory.auto_batch_size_of(F, x) if ibs == "auto" else ibs
    return F, x, x_base
