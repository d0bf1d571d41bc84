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
Integrated Hessians. :func:`select` picks F out of the model's output; :func:`saved_bytes` and
:func:`auto_batch_size` measure what one point of F costs in memory (:mod:`iglib.memory`).
"""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from . import memory
from .arguments import (
    MATERIALISE,
    Model,
    Target,
    TargetLike,
    check_args,
    check_baselines,
    check_batch_size,
    check_device,
    check_inputs,
    check_model,
    check_target,
    is_int,
    quote,
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
        self.first_example = 0  # the user's index of example 0 here (F.example(i) is example i), for messages
        self.device = torch.device(device)  # the inputs' device, whose memory the points use

    def __call__(self, points: Tensor, at: str = "the path points", first: int = 0) -> Tensor:
        k = points.shape[0]
        args = tuple(torch.cat([a] * k) if isinstance(a, Tensor) and a.dim() > 0 else a for a in self.args)
        out = self.model(points.reshape((k * self.n,) + points.shape[2:]), *args)
        return self.finite(select(out, self.target, self.n, k).reshape(k, self.n), at, first)

    def finite(self, f: Tensor, at: str, first: int = 0) -> Tensor:
        """F [k, N] itself when finite; else a ValueError naming the examples and the first point."""
        if not torch.isfinite(f).all():
            bad = [self.first_example + b for b in (~torch.isfinite(f)).any(0).nonzero().flatten().tolist()]
            k = first + int((~torch.isfinite(f)).any(1).nonzero()[0])
            which = "" if len(f) == 1 and first == 0 else f" (first at number {k} of them)"
            raise ValueError(
                f"the model output is not finite (nan or inf) at {at} of examples {bad[:10]}{which}; "
                "check the inputs, the baselines and the model"
            )
        return f

    def gradients(self, points: Tensor, signal: Callable[[Tensor], Tensor] | None = None,
                  alphas: Tensor | None = None, at: str = "the path points") -> tuple[Tensor, Tensor]:
        """(dF/dx [k, N, *features], F [k, N]) at ``points``, in chunks of at most
        ``internal_batch_size`` examples; ``signal(F)`` weighs each F in the backward pass
        (default 1). A non-finite F or dF/dx is an error that names the example and, with
        ``alphas`` ([k], or [k, N]: where each point lies on the path), its alpha; ``at`` names
        the points."""
        grads, scores = [], []
        for chunk in self.chunks(points.shape[0]):
            with torch.enable_grad():
                p = points[chunk].detach().requires_grad_(True)
                f = differentiable(self(p, at, chunk.start))
                w = torch.ones_like(f) if signal is None else signal(f.detach())
                (g,) = torch.autograd.grad(f, p, w, allow_unused=True)
            if g is None:
                check_constant(f.detach())
            g = torch.zeros_like(p) if g is None else g.detach()
            check_gradient(g, self.n, at, alphas, chunk, self.first_example)
            grads.append(g)
            scores.append(f.detach())
        return torch.cat(grads), torch.cat(scores)

    def hessians(self, points: Tensor, alphas: Tensor | None = None,
                 at: str = "the path points") -> tuple[Tensor, Tensor]:
        """(d2F/dx2 [k, N, D, D], dF/dx [k, N, *features]) at ``points``, D = features per example,
        in the same chunks as :meth:`gradients`: double backward, one backward pass per feature
        (the examples and points of a chunk are independent, so one pass serves them all).
        Non-finite derivatives are errors, as in :meth:`gradients`."""
        hessians, grads = [], []
        for chunk in self.chunks(points.shape[0]):
            with torch.enable_grad():
                p = points[chunk].detach().requires_grad_(True)
                f = differentiable(self(p, at, chunk.start))
                (g,) = torch.autograd.grad(f.sum(), p, create_graph=True, allow_unused=True)
                if g is None:
                    check_constant(f.detach())
                g = torch.zeros_like(p) if g is None else g
                check_gradient(g.detach(), self.n, at, alphas, chunk, self.first_example)
                flat = g.reshape(p.shape[0], self.n, -1)                         # [k, N, D]
                rows = []
                for j in range(flat.shape[-1]):                                  # row j: d/dx (dF/dx_j)
                    h = None
                    if flat.requires_grad:
                        h = second_derivative(flat[..., j].sum(), p)
                    rows.append(torch.zeros_like(flat) if h is None else h.detach().reshape(flat.shape))
            hessian = torch.stack(rows, dim=2)
            check_gradient(hessian, self.n, at, alphas, chunk, self.first_example, "the Hessian d2F/dx2")
            hessians.append(hessian)
            grads.append(g.detach())
        return torch.cat(hessians), torch.cat(grads)

    def values(self, points: Tensor, at: str = "the path points") -> Tensor:
        """F [k, N] at ``points`` without gradients, in the same chunks; ``at`` names the points
        in the error a non-finite F gives."""
        with torch.no_grad():
            return torch.cat([self(points[chunk], at, chunk.start) for chunk in self.chunks(points.shape[0])])

    def shared(self, points: Tensor, at: str) -> Tensor:
        """F [k, N] at k points [k, *features] that every example shares (expected gradients'
        references): one forward pass per point, its output read at each example's target, unless
        a tensor argument carries the batch (then each example needs its own pass)."""
        k = len(points)
        if any(isinstance(a, Tensor) and a.dim() > 0 for a in self.args):
            return self.values(points[:, None].expand((k, self.n) + points.shape[1:]), at)
        f = []
        with torch.no_grad():
            for chunk in self._like(self.model, self.target, self.args, 1).chunks(k):
                out = self.model(points[chunk], *self.args)
                rows = out.repeat_interleave(self.n, dim=0) if out.dim() else out  # point-major, like k N points
                m = len(range(k)[chunk])
                f.append(self.finite(select(rows, self.target, self.n, m).reshape(m, self.n), at, chunk.start))
        return torch.cat(f)

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
        one = self._like(self.model, self.target.example(i), args, 1)
        one.first_example = self.first_example + i
        return one

    def with_model(self, model: Model) -> "Score":
        """The same target and arguments on another model (a wrapper of this one)."""
        return self._like(model, self.target, self.args, self.n)

    def _like(self, model: Model, target: Target, args: tuple, n: int) -> "Score":
        like = Score(model, target, args, n, self.internal_batch_size, self.point_bytes * n // self.n, self.device)
        like.first_example = self.first_example
        return like


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


def select(output: Any, target: Target, n: int, k: int = 1) -> Tensor:
    """F per row: the ``target`` entry of each row of the model's ``output`` for ``k`` points of
    each of the ``n`` examples (k n rows, step-major), checked against the output's shape."""
    if not isinstance(output, Tensor):
        raise TypeError(f"the model must return a torch.Tensor, got {type(output).__name__}")
    check_device(output, "the model's output", fix="the model uses parameters or buffers on meta; " + MATERIALISE)
    rows, target = k * n, target.repeat(k)
    if output.dim() == 0 or output.shape[0] != rows:
        batch = f"{n} examples" if rows == n else f"{rows} points ({rows // n} per example of the {n} in inputs)"
        raise ValueError(
            f"the model's forward returned shape {tuple(output.shape)} for a batch of {batch}; "
            f"expected the batch on dimension 0, e.g. [{rows}] or [{rows}, classes]"
        )
    if target.index is None:
        if output[0].numel() != 1:
            raise ValueError(
                f"target is None but the model returns {output[0].numel()} values per example "
                f"(shape {tuple(output.shape[1:])} each); pass target=class index"
            )
        return output.reshape(rows)
    per_example = output if output.dim() > 1 else output.reshape(rows, 1)
    sizes, k = per_example.shape[1:], target.index.shape[1]
    if len(sizes) != k:
        if k == 1:
            raise ValueError(
                f"target {quote(target.given)} gives one class per example, but the model returns shape "
                f"{tuple(sizes)} per example; pass a tuple index (or a list of tuples) for multi-dimensional outputs"
            )
        raise ValueError(
            f"target {quote(target.given)} has {k} indices per example, but the model's output has "
            f"{len(sizes)} dimensions per example (shape {tuple(sizes)})"
        )
    size = torch.tensor(list(sizes), dtype=torch.long, device="cpu")
    idx = target.index
    if ((idx < -size) | (idx >= size)).any():
        if k == 1:
            if is_int(target.given) or isinstance(target.given, Tensor) and target.given.numel() == 1:
                raise ValueError(f"target {int(target.given)} is out of range for an output with {sizes[0]} classes")
            raise ValueError(f"target {quote(target.given)} has a class out of range for an output with {sizes[0]} classes")
        raise ValueError(f"target {quote(target.given)} is out of range for an output of shape {tuple(sizes)} per example")
    idx = (idx % size).to(output.device)
    return per_example[(torch.arange(rows, device=output.device),) + tuple(idx.T)]


def saved_bytes(model: Any, inputs: Tensor, target: Any = None, additional_forward_args: Any = None) -> int:
    """:func:`iglib.memory.saved_bytes_of` for a model, its target and arguments."""
    F, x, _ = prepare(model, inputs, None, target, additional_forward_args)
    return memory.saved_bytes_of(F, x)


def auto_batch_size(
    model: Any, inputs: Tensor, target: Any = None, additional_forward_args: Any = None, budget: int | None = None
) -> int:
    """:func:`iglib.memory.auto_batch_size_of` for a model, its target and arguments."""
    F, x, _ = prepare(model, inputs, None, target, additional_forward_args)
    return memory.auto_batch_size_of(F, x, budget)


# ---------------------------------------------------------------- what a derivative must be
SINGULAR_BASELINE = (
    "the gradient is singular at the baseline (alpha = 0), as that of sqrt|x| at x' = 0: a quadrature rule "
    "with no node at alpha = 0 integrates such a singularity, method='riemann_right' or 'gausslegendre' "
    "(riemann_left, riemann_trapezoid, adaptive IG and Guided IG evaluate alpha = 0)"
)
MASKED_BRANCH = (
    "a branch the model masks with torch.where still sends its gradient back: a sqrt, log or division "
    "on the side it does not take gives nan there, so mask its input too (the double where: "
    "torch.where(ok, torch.sqrt(torch.where(ok, z, 1.0)), z))"
)


def differentiable(f: Tensor) -> Tensor:
    """F itself, when autograd can differentiate it with respect to the points; else a ValueError
    that says why not (an integer output, or one cut from the graph)."""
    if f.requires_grad:
        return f
    if not (f.is_floating_point() or f.is_complex()):
        why = ("an integer has no gradient: return the scores (logits or probabilities), not a class index "
               "or a rounded or thresholded value")
    else:
        why = ("it carries no autograd graph back to the inputs: the model detaches it (.detach(), .item(), "
               ".numpy(), torch.tensor(...) of its values) or computes it under torch.no_grad() or "
               "torch.inference_mode(), or it does not depend on the inputs at all")
    raise ValueError(f"the model's output ({f.dtype}) cannot be differentiated with respect to the inputs: {why}")


def check_constant(f: Tensor) -> None:
    """F [k, N] with no gradient at all must be the same at every point of an example: a score that
    changes along the points but has no gradient comes from a model that cuts its input from the graph."""
    if f.shape[0] > 1 and not torch.allclose(f, f[:1].expand_as(f)):
        raise ValueError(
            "the model's output changes between the points but has no gradient with respect to the inputs: "
            "the model detaches its input (x.detach(), or torch.no_grad() around the layers that read it)"
        )


def check_gradient(g: Tensor, n: int, at: str, alphas: Tensor | None, chunk: slice, first_example: int = 0,
                   what: str = "the gradient dF/dx") -> None:
    """A ValueError when ``g`` [k, N, ...] (at the points ``chunk`` of k N) holds nan or inf: it names
    the first example, its alpha (``alphas`` [k] or [k, N], where given), how many of its features,
    and what helps."""
    bad = ~torch.isfinite(g.reshape(g.shape[0], n, -1))                 # [k, N, D]
    if not bad.any():
        return
    point = bad.any(2)                                                   # [k, N]
    i = int(point.any(0).nonzero()[0])                                   # the first example
    k = int(point[:, i].nonzero()[0])                                    # its first such point
    unit = "features" if what.startswith("the gradient") else "entries"
    features = f"{int(bad[k, i].sum())} of its {bad.shape[2]} {unit}"
    examples = [first_example + e for e in point.any(0).nonzero().flatten().tolist()]
    others = f" (examples {examples[:10]} in all)" if len(examples) > 1 else ""
    advice = MASKED_BRANCH
    if alphas is None:
        where = f"example {examples[0]}" + ("" if g.shape[0] == 1 and chunk.start == 0 else f", point {chunk.start + k}")
    else:
        a = alphas[chunk][k]
        alpha = float(a[i] if a.dim() else a)
        where = f"example {examples[0]} at alpha = {alpha:.6g}"
        if alpha == 0:
            advice = f"{SINGULAR_BASELINE}; or {MASKED_BRANCH}"
    raise ValueError(
        f"{what} is not finite (nan or inf) at {at}: {where}, in {features}{others}, although F is finite "
        f"there. Perhaps {advice}"
    )


def second_derivative(g: Tensor, p: Tensor) -> Tensor | None:
    """d g / d p by a second backward pass through dF/dx; an op without a second derivative is a
    ValueError that names what torch says."""
    try:
        (h,) = torch.autograd.grad(g, p, retain_graph=True, allow_unused=True)
    except RuntimeError as error:
        if not any(word in str(error) for word in ("not implemented", "differentiate twice", "once_differentiable")):
            raise
        raise ValueError(
            "the model has no second derivative for the Hessian: an op in it cannot be differentiated twice "
            f"(torch: {str(error).splitlines()[0]}); write that op with differentiable torch operations"
        ) from None
    return h
