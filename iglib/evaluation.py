"""Faithfulness, measured: deletion and insertion curves.

Order the features by their attribution, most positive first. The **deletion** curve replaces the
top k of them by the reference's values and records the score F as k grows; the **insertion** curve
starts at the reference and puts the top k features of x back (Samek et al., IEEE TNNLS 2017;
Petsiuk et al., RISE, BMVC 2018). At fraction f of the features,

    deletion(f)  = F(x  with its top-f features set to x'),   starting at F(x),  ending at F(x'),
    insertion(f) = F(x' with the top-f features taken from x), starting at F(x'), ending at F(x).

An attribution that ranks the features the model really uses first makes F fall fast under
deletion (a small area under the curve) and rise fast under insertion (a large area). The reference
is the black image by default for images; removing pixels to black is out of distribution for the
network, so PAIR's PIC metric (Kapishnikov et al., ICCV 2019) uses a blurred copy instead: pass
``baselines=iglib.baselines.blurred(x)``.

For images ([N, C, H, W]) a feature is a pixel: its attribution is summed over the colour channels
and the whole pixel is removed or inserted. Otherwise every input entry is a feature.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from .arguments import Model, TargetLike, is_int
from .forward import prepare


@dataclass
class Curve:
    """``scores`` [N, K+1]: F after removing (or inserting) ``fractions`` [K+1] (0 to 1) of the features."""

    fractions: Tensor
    scores: Tensor

    def area(self) -> Tensor:
        """The area under each example's curve, [N] (see :func:`area`)."""
        return area(self.fractions, self.scores)


def area(fractions: Tensor, scores: Tensor) -> Tensor:
    """Area under the curve, the trapezoid rule over ``fractions`` [K+1]: scores [K+1] -> [], [N, K+1] -> [N]."""
    fractions = torch.as_tensor(fractions, dtype=torch.float64, device="cpu")
    scores = torch.as_tensor(scores, dtype=torch.float64, device="cpu")
    if fractions.dim() != 1 or scores.shape[-1] != fractions.numel() or fractions.numel() < 2:
        raise ValueError(
            f"scores must end in one value per fraction ({fractions.numel()}, at least 2), got shape {tuple(scores.shape)}"
        )
    return torch.trapezoid(scores, fractions, dim=-1)


def feature_ranking(attributions: Tensor) -> Tensor:
    """Each example's features, most positive attribution first, [N, P] (pixels for [N, C, H, W])."""
    per_feature = attributions.sum(dim=1) if attributions.dim() == 4 else attributions
    return per_feature.reshape(len(attributions), -1).argsort(dim=1, descending=True, stable=True)


def _check(inputs: Tensor, attributions: Any, n_points: Any) -> int:
    if not isinstance(attributions, Tensor) or attributions.shape != inputs.shape:
        shape = tuple(attributions.shape) if isinstance(attributions, Tensor) else type(attributions).__name__
        raise ValueError(f"attributions must be a tensor shaped like inputs {tuple(inputs.shape)}, got {shape}")
    if not torch.isfinite(attributions).all():
        raise ValueError("attributions hold nan or inf; a ranking needs finite values")
    if not is_int(n_points) or n_points < 1:
        raise ValueError(f"n_points must be a positive int (points on the curve after the start), got {n_points!r}")
    return int(n_points)


def _curve(model: Model, inputs: Tensor, attributions: Tensor, target: TargetLike, baselines: Any,
           n_points: int, additional_forward_args: Any, internal_batch_size: int | None, insert: bool) -> Curve:
    F, x, reference = prepare(model, inputs, baselines, target, additional_forward_args, internal_batch_size)
    n_points = _check(x, attributions, n_points)
    order = feature_ranking(attributions.detach().to(x.device))
    n, n_features = order.shape
    counts = torch.linspace(0, n_features, n_points + 1, device="cpu").round().long().tolist()
    # rank[i, p] = the position of feature p in example i's ranking
    rank = torch.empty_like(order).scatter_(1, order, torch.arange(n_features, device=x.device).expand(n, -1))
    pixel_shape = (n, 1) + x.shape[2:] if x.dim() == 4 else x.shape
    points = []
    for k in counts:  # one point per fraction for each example: [K+1, N, ...], through F in chunks
        chosen = (rank < k).reshape(pixel_shape)  # the top-k features of each example
        points.append(torch.where(chosen, x, reference) if insert else torch.where(chosen, reference, x))
    scores = F.values(torch.stack(points)).T.to(torch.float64).cpu()
    return Curve(torch.tensor(counts, dtype=torch.float64, device="cpu") / n_features, scores)


def deletion_curve(
    model: Model, inputs: Tensor, attributions: Tensor, target: TargetLike = None, baselines: Any = None,
    n_points: int = 16, additional_forward_args: Any = None, internal_batch_size: int | None = None,
) -> Curve:
    """F(x with its top-f features set to the reference x'), for f = 0, 1/n_points, ..., 1.

    Starts at F(x) and ends at F(x'); a faithful ranking makes it fall fast (small :func:`area`).
    """
    return _curve(model, inputs, attributions, target, baselines, n_points, additional_forward_args,
                  internal_batch_size, insert=False)


def insertion_curve(
    model: Model, inputs: Tensor, attributions: Tensor, target: TargetLike = None, baselines: Any = None,
    n_points: int = 16, additional_forward_args: Any = None, internal_batch_size: int | None = None,
) -> Curve:
    """F(the reference x' with the top-f features taken from x), for f = 0, 1/n_points, ..., 1.

    Starts at F(x') and ends at F(x); a faithful ranking makes it rise fast (large :func:`area`).
    """
    return _curve(model, inputs, attributions, target, baselines, n_points, additional_forward_args,
                  internal_batch_size, insert=True)


def random_attributions(inputs: Tensor, seed: int = 0) -> Tensor:
    """A random ranking as a control: i.i.d. uniform values shaped like ``inputs`` (same seed, same ranking)."""
    generator = torch.Generator(device="cpu").manual_seed(seed)
    return torch.rand(inputs.shape, generator=generator, dtype=torch.float64, device="cpu").to(inputs.device)
