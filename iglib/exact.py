"""Exact Integrated Gradients for piecewise-linear networks.

A network built from Linear and Conv layers, ReLU, ReLU6 / hardtanh / clamp, leaky ReLU,
abs, maximum / minimum, max (1-D, 2-D, reductions) and average pooling, flatten / reshape,
batch norm in eval mode and sums is piecewise linear. Along IG's straight path gamma(a) = x' + a (x - x') its score F(gamma(a))
is then piecewise linear in a, and the gradient is constant on each piece [a_k, a_{k+1}].
The integral of equation 1 becomes a finite sum with no quadrature error:

    IG_i(x) = (x_i - x'_i) * sum_k (a_{k+1} - a_k) * dF/dx_i(gamma((a_k + a_{k+1}) / 2)).

The breakpoints a_k are where the path crosses an activation boundary: a ReLU's
pre-activation z crosses 0, a hardtanh's crosses one of its limits, a max-pool window's
argmax changes. Inside a piece every pre-activation is affine in a,

    z(a) = z(p) + z'(p) (a - p),

so from a point p inside the piece the next breakpoint is p + min over kinks of the
distance -z(p) / z'(p) > 0. One forward pass with forward-mode autodiff along x - x' gives
every z'(p), and a ``TorchFunctionMode`` records (z, z') at each piecewise-linear op. The
probe p sits 16 machine epsilons past the piece's start a_k, so every op is already on the
piece's branch there (at a_k itself a ReLU may sit exactly at 0); the gradient is then
taken at the piece's midpoint. Each example of the batch has its own breakpoints.

Smooth operations (tanh, sigmoid, gelu, softmax, exp, ...) make F curved, and exact IG
refuses them by name; every piece is also checked to be affine (F at its midpoint and end
equal F at its start plus slope times length), which catches untracked kinks.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd import forward_ad
from torch.overrides import TorchFunctionMode

from .arguments import Model, TargetLike, check_count
from .ops import (
    DIVISION,
    KINK_AT_ZERO,
    MULTILINEAR,
    PIECEWISE_LINEAR,
    POWERS,
    REFLECTED,
    SMOOTH,
    TRACKED_MAX_POOLS,
    UNTRACKED,
    op_name,
)
from .forward import Score, prepare
from .paths import StraightLine, straight_line

def _tangent(t: Any) -> Tensor | None:
    """d t / d alpha if ``t`` varies along the path (a dual tensor), else None."""
    if not isinstance(t, Tensor):
        return None
    return forward_ad.unpack_dual(t).tangent


def _value_and_slope(t: Any) -> tuple[Any, Any]:
    """(t(p), t'(p)); constants have slope 0."""
    if not isinstance(t, Tensor):
        return t, 0.0
    primal, tangent = forward_ad.unpack_dual(t)
    return primal, (torch.zeros_like(primal) if tangent is None else tangent)


def _arg(args: tuple, kwargs: dict, index: int, name: str, default: Any = None) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _zero_crossing(u: Tensor, du: Any) -> Tensor:
    """Distance (in alpha) until u(a) = u + du (a - p) reaches 0; inf if it does not ahead."""
    du = torch.as_tensor(du, dtype=u.dtype, device=u.device).expand_as(u)
    distance = torch.where(du != 0, -u / du, math.inf)
    return torch.where(distance > 0, distance, math.inf)


def _overtaking(values: Tensor, slopes: Tensor) -> Tensor:
    """Distance until another member of each group (last dim) overtakes the group's maximum."""
    top = values.max(-1, keepdim=True).values
    # Among members tied at the top, the one rising fastest leads just after p.
    lead_slope = torch.where(values == top, slopes, -math.inf).max(-1, keepdim=True).values
    gap, closing = top - values, slopes - lead_slope
    return torch.where(closing > 0, gap / closing, math.inf)


def _elementwise_kinks(name: str, args: tuple, kwargs: dict) -> Iterator[Tensor]:
    """Distances to the kinks of an elementwise piecewise-linear op (read before it runs)."""
    x = _arg(args, kwargs, 0, "input")
    if name in KINK_AT_ZERO:
        limits = [0.0]
    elif name == "hardtanh":
        limits = [_arg(args, kwargs, 1, "min_val", -1.0), _arg(args, kwargs, 2, "max_val", 1.0)]
    elif name == "relu6":
        limits = [0.0, 6.0]
    elif name == "hardsigmoid":
        limits = [-3.0, 3.0]
    elif name in ("clamp", "clip"):
        limits = [_arg(args, kwargs, 1, "min"), _arg(args, kwargs, 2, "max")]
    elif name == "clamp_min":
        limits = [_arg(args, kwargs, 1, "min")]
    elif name == "clamp_max":
        limits = [_arg(args, kwargs, 1, "max")]
    else:  # maximum / minimum of two tensors: the kink is where they meet
        limits = [_arg(args, kwargs, 1, "other")]
    for limit in limits:
        if limit is None or (_tangent(x) is None and _tangent(limit) is None):
            continue  # no limit, or both sides constant along the path
        z, dz = _value_and_slope(x)
        k, dk = _value_and_slope(limit)
        yield _zero_crossing(z - k, dz - dk)


def _reduction_kinks(name: str, x: Tensor, dim: Any) -> Tensor:
    """Distances until the argmax (argmin) of a max (min) reduction over ``dim`` changes."""
    z, dz = _value_and_slope(x)
    if name in ("min", "amin"):
        z, dz = -z, -dz
    dims = () if dim is None else ((int(dim),) if isinstance(dim, numbers.Integral) else tuple(int(d) for d in dim))
    if not dims or z.dim() == 0:
        return _overtaking(z.reshape(1, -1), dz.reshape(1, -1))
    tail = tuple(range(-len(dims), 0))
    z, dz = z.movedim(dims, tail).flatten(-len(dims)), dz.movedim(dims, tail).flatten(-len(dims))
    return _overtaking(z, dz)


def _as_tuple(v: Any, n: int) -> tuple[int, ...]:
    return tuple(int(e) for e in v) if isinstance(v, (tuple, list)) else (int(v),) * n


def _pool_kinks(args: tuple, kwargs: dict, result: Any, n: int) -> Tensor:
    """Distances until the argmax of some max-pool window (1-D or 2-D) changes."""
    x = _arg(args, kwargs, 0, "input")
    out = result[0] if isinstance(result, tuple) else result
    kernel = _as_tuple(_arg(args, kwargs, 1, "kernel_size"), n)
    stride = _arg(args, kwargs, 2, "stride")
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and not stride) else _as_tuple(stride, n)
    padding = _as_tuple(_arg(args, kwargs, 3, "padding", 0), n)
    dilation = _as_tuple(_arg(args, kwargs, 4, "dilation", 1), n)
    z, dz = _value_and_slope(x)
    out_h, out_w = out.shape[-2:] if n == 2 else (1, out.shape[-1])
    if n == 1:  # a 1-D pool is a 2-D pool over height 1
        z, dz = z.unsqueeze(-2), dz.unsqueeze(-2)
        kernel, stride, padding, dilation = (1, *kernel), (1, *stride), (0, *padding), (1, *dilation)
    height, width = z.shape[-2:]

    def windows(t: Tensor, fill: float) -> Tensor:
        """The pool's windows of ``t``, shape [groups, out_h, out_w, kh * kw] (``fill`` outside)."""
        pad = (padding[1], padding[1] + stride[1], padding[0], padding[0] + stride[0])  # room for ceil_mode
        t = F.pad(t.reshape(-1, 1, height, width), pad, value=fill)
        flat = F.unfold(t, kernel, dilation=dilation, stride=stride)  # [groups, kh * kw, rows * columns]
        rows = (t.shape[-2] - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
        return flat.reshape(flat.shape[0], flat.shape[1], rows, -1)[:, :, :out_h, :out_w].movedim(1, -1)

    return _overtaking(windows(z, -math.inf), windows(dz, 0.0))


class _KinkRecorder(TorchFunctionMode):
    """During one forward pass at a point p of the path: the distance to the nearest kink ahead.

    Refuses (ValueError) ops that are not piecewise linear in alpha, naming them.
    """

    def __init__(self) -> None:
        super().__init__()
        self.nearest = math.inf

    def _record(self, distances: Tensor) -> None:
        if distances.numel():
            self.nearest = min(self.nearest, float(distances.min()))

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = op_name(func)
        _refuse_if_not_piecewise_linear(name, args, kwargs)
        if name in TRACKED_MAX_POOLS:
            result = func(*args, **kwargs)
            if _tangent(_arg(args, kwargs, 0, "input")) is not None:
                self._record(_pool_kinks(args, kwargs, result, 1 if "1d" in name else 2))
            return result
        if name in ("max", "min", "amax", "amin"):
            if not isinstance(_arg(args, kwargs, 1, "other"), Tensor):  # a reduction, not max(a, b)
                x = _arg(args, kwargs, 0, "input")
                if _tangent(x) is not None:
                    self._record(_reduction_kinks(name, x, _arg(args, kwargs, 1, "dim")))
                return func(*args, **kwargs)
        if name in PIECEWISE_LINEAR:
            for distances in _elementwise_kinks(name, args, kwargs):
                self._record(distances)
        return func(*args, **kwargs)


def _path_dependent(args: Any) -> list[Tensor]:
    flat = []
    for a in args:
        if isinstance(a, (tuple, list)):
            flat += _path_dependent(a)
        elif _tangent(a) is not None:
            flat.append(a)
    return flat


def _refuse_if_not_piecewise_linear(name: str, args: tuple, kwargs: dict) -> None:
    moving = _path_dependent(list(args) + list(kwargs.values()))
    if not moving:
        return
    why = None
    if name in SMOOTH:
        why = "which is smooth (curved), not piecewise linear"
    elif name in UNTRACKED:
        why = "whose branch changes exact IG does not track"
    elif name in MULTILINEAR and len(moving) >= 2:
        why = "to multiply two tensors that both vary along the path (a product is quadratic)"
    elif name in DIVISION and _tangent(_arg(args, kwargs, 1, "other")) is not None:
        why = "to divide by a tensor that varies along the path"
    elif name in REFLECTED:
        why = "with a tensor that varies along the path in the denominator or the exponent"
    elif name in POWERS:
        exponent = _arg(args, kwargs, 1, "exponent")
        if isinstance(exponent, Tensor) or exponent != 1:
            why = "which is not linear in a tensor that varies along the path"
    elif name == "batch_norm" and _arg(args, kwargs, 5, "training", False):
        why = "in training mode (batch statistics make it nonlinear); call model.eval()"
    elif "dropout" in name and _arg(args, kwargs, 2, "training", True) and _arg(args, kwargs, 1, "p", 0.5) > 0:
        why = "in training mode (random masks); call model.eval()"
    if why:
        raise ValueError(
            f"exact IG needs a piecewise-linear network, but the model applies {name!r} {why}. "
            "Use iglib.integrated_gradients (quadrature) for this network."
        )


def _lookahead(dtype: torch.dtype) -> float:
    """How far past a breakpoint to probe: kinks closer than this are taken together."""
    return 16 * torch.finfo(dtype).eps


def _next_breakpoint(F: Score, line: StraightLine, alpha: float) -> float:
    """The end of the linear piece that starts at ``alpha``: probe just past it, find the nearest kink."""
    probe = alpha + _lookahead(line.inputs.dtype)
    recorder = _KinkRecorder()
    with torch.no_grad(), forward_ad.dual_level():
        alpha = torch.tensor([probe], dtype=torch.float64, device=line.inputs.device)
        point = forward_ad.make_dual(line(alpha), (line.inputs - line.baselines)[None])
        with recorder:
            F(point)
    return min(1.0, probe + recorder.nearest)


def _pieces(F: Score, line: StraightLine, max_pieces: int, example: int) -> Tensor:
    """The breakpoints 0 = a_0 < a_1 < ... < a_K = 1 of one example's path."""
    alphas = [0.0]
    while alphas[-1] < 1.0:
        if len(alphas) > max_pieces:
            raise RuntimeError(
                f"the path of example {example} has more than max_pieces={max_pieces} linear pieces "
                f"(reached alpha = {alphas[-1]:.6g}); raise max_pieces, or use "
                "iglib.integrated_gradients (quadrature) for a network this large"
            )
        alphas.append(_next_breakpoint(F, line, alphas[-1]))
    return torch.tensor(alphas, dtype=torch.float64, device="cpu")  # host-side numbers


def _integrate(F: Score, line: StraightLine, alphas: Tensor, example: int) -> Tensor:
    """(x - x') * sum_k (a_{k+1} - a_k) * dF/dx(gamma(midpoint_k)), checking that F is affine on each piece."""
    x = line.inputs
    direction = x - line.baselines
    alphas = alphas.to(x.device)
    lengths, mids = alphas.diff(), (alphas[1:] + alphas[:-1]) / 2
    input_scale = float(torch.maximum(x.abs().max(), line.baselines.abs().max()))
    total = torch.zeros_like(x)
    for chunk in F.chunks(len(mids), "max_pieces"):
        length = lengths[chunk].to(x.dtype)
        k = len(length)
        ends = alphas[chunk.start : chunk.start + k + 1]
        grads, f_mid = F.gradients(line(mids[chunk]), alphas=mids[chunk])  # [k, 1, *features], [k, 1]
        f_end = F.values(line(ends))[:, 0]
        rise = (grads * direction).reshape(k, -1).sum(1) * length  # slope * length
        _check_affine(f_end, f_mid[:, 0], rise, ends, example, input_scale)
        total += torch.tensordot(length, grads, dims=1)
    return direction * total


def _check_affine(f_end: Tensor, f_mid: Tensor, rise: Tensor, ends: Tensor, example: int, input_scale: float) -> None:
    start, stop = f_end[:-1], f_end[1:]
    eps = torch.finfo(f_end.dtype).eps
    # relative to the piece, plus rounding noise on the scale of F and of the inputs (a flat
    # piece where ReLU(3 - 1 - 2) rounds to 2e-16 instead of 0 is still affine)
    scale = f_end.abs().max() + rise.abs().sum() + input_scale
    tolerance = math.sqrt(eps) * (start.abs() + stop.abs() + rise.abs()) + 64 * eps * scale
    misfit = torch.maximum((stop - start - rise).abs(), (f_mid - start - rise / 2).abs())
    bad = (misfit > tolerance).nonzero().flatten()
    if len(bad):
        k = int(bad[0])
        raise ValueError(
            f"F is not affine on the piece [{float(ends[k]):.6g}, {float(ends[k + 1]):.6g}] of example "
            f"{example}'s path: F(end) - F(start) = {float(stop[k] - start[k]):.6g} but slope * length = "
            f"{float(rise[k]):.6g}. Exact IG needs a piecewise-linear network whose kinks it can see "
            "(ReLU, hardtanh/clamp, leaky ReLU, abs, maximum/minimum, max-pool); this model bends or jumps "
            "elsewhere (e.g. torch.where or a comparison used as a mask)."
        )


def breakpoints(
    model: Model,
    inputs: Tensor,
    baselines: Any = None,
    target: TargetLike = None,
    additional_forward_args: Any = None,
    max_pieces: int = 100_000,
) -> list[Tensor]:
    """Per example, the alphas 0 = a_0 < ... < a_K = 1 where F(x' + a (x - x')) changes slope."""
    F, x, base = prepare(model, inputs, baselines, target, additional_forward_args)
    max_pieces = check_count(max_pieces, "max_pieces")
    F.difference(x, base)  # both ends finite
    return [_pieces(F.example(i), straight_line(base[i : i + 1], x[i : i + 1]), max_pieces, i) for i in range(len(x))]


def exact_integrated_gradients(
    model: Model,
    inputs: Tensor,
    baselines: Any = None,
    target: TargetLike = None,
    additional_forward_args: Any = None,
    return_convergence_delta: bool = False,
    max_pieces: int = 100_000,
    internal_batch_size: int | str | None = None,
) -> Tensor | tuple[Tensor, Tensor]:
    """IG of a piecewise-linear ``model``, integrated exactly piece by piece along the straight line.

    IG_i(x) = (x_i - x'_i) * sum_k (a_{k+1} - a_k) * dF/dx_i(gamma((a_k + a_{k+1}) / 2)),
    the a_k from :func:`breakpoints`. Same arguments as
    :func:`iglib.integrated_gradients.integrated_gradients` without the quadrature ones;
    with ``return_convergence_delta`` also delta = sum_i IG_i - (F(x) - F(x')) per example,
    zero up to rounding; ``internal_batch_size`` bounds the pieces per forward pass as in
    :func:`iglib.integrated_gradients`. Raises ValueError for a network that is not piecewise linear
    (naming the op) and RuntimeError when a path has more than ``max_pieces`` pieces.
    """
    F, x, base = prepare(model, inputs, baselines, target, additional_forward_args, internal_batch_size)
    max_pieces = check_count(max_pieces, "max_pieces")
    change = F.difference(x, base)
    attributions = []
    for i in range(len(x)):
        line = straight_line(base[i : i + 1], x[i : i + 1])
        attributions.append(_integrate(F.example(i), line, _pieces(F.example(i), line, max_pieces, i), i))
    attributions = torch.cat(attributions)
    if not return_convergence_delta:
        return attributions
    return attributions, attributions.reshape(len(x), -1).sum(1) - change
