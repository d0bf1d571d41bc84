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

Comparing two methods on the same examples: :func:`paired_comparison` takes each example's area
under both, and reports the mean paired difference with a bootstrap interval and a win rate.
Comparing two maps: :func:`rank_correlation`, :func:`top_k_overlap`; how noisy one map is:
:func:`high_frequency_share`. What a method costs: :class:`EvaluationCounter`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ..arguments import Model, TargetLike, check_count, check_number
from ..forward import prepare


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


RESOLUTION = 1e-3  # attributions closer than this share of an example's largest |a| rank as equal


def feature_ranking(attributions: Tensor) -> Tensor:
    """Each example's features, most positive attribution first, [N, P] (pixels for [N, C, H, W]).

    Attributions are compared on a grid of ``RESOLUTION`` times the example's largest |a|, and equal
    ones keep their order in the input. Finer differences are float rounding: another CPU's kernels
    sum in another order, and would reorder such features, and move the curves and every count
    built on them."""
    per_feature = (attributions.sum(dim=1) if attributions.dim() == 4 else attributions).reshape(len(attributions), -1)
    step = per_feature.abs().amax(dim=1, keepdim=True) * RESOLUTION
    levels = torch.round(per_feature / torch.where(step > 0, step, torch.ones_like(step)))
    return levels.argsort(dim=1, descending=True, stable=True)


def spaced_fractions(n_points: int, power: float = 2.0) -> Tensor:
    """``n_points + 1`` fractions f_i = (i / n_points)^power, i = 0..n_points, from 0 to 1 [float64].

    power 1 spaces them evenly; power 2 puts more of them near 0, where a deletion curve that falls
    fast is decided (16 points and power 2: 0, 0.4%, 1.6%, 3.5%, 6.3%, ...).
    """
    n_points = check_count(n_points, "n_points")
    power = check_number(power, "power", positive=True)
    return (torch.arange(n_points + 1, dtype=torch.float64, device="cpu") / n_points) ** power


def _check_fractions(fractions: Any) -> Tensor:
    if isinstance(fractions, (str, bytes)) or not isinstance(fractions, (Tensor, np.ndarray, Sequence)):
        raise TypeError(f"fractions must be a sequence or 1-D tensor of numbers, got {type(fractions).__name__}")
    f = torch.as_tensor(fractions, dtype=torch.float64).cpu()
    if f.dim() != 1 or f.numel() < 2 or f[0] != 0 or f[-1] != 1 or not (f[1:] > f[:-1]).all():
        raise ValueError(f"fractions must rise strictly from 0 to 1 (at least 2 values), got {f.tolist()}")
    return f


def _check(inputs: Tensor, attributions: Any, n_points: Any) -> int:
    if not isinstance(attributions, Tensor) or attributions.shape != inputs.shape:
        shape = tuple(attributions.shape) if isinstance(attributions, Tensor) else type(attributions).__name__
        raise ValueError(f"attributions must be a tensor shaped like inputs {tuple(inputs.shape)}, got {shape}")
    if not torch.isfinite(attributions).all():
        raise ValueError("attributions hold nan or inf; a ranking needs finite values")
    return check_count(n_points, "n_points")


def _curve(model: Model, inputs: Tensor, attributions: Tensor, target: TargetLike, baselines: Any,
           n_points: int, additional_forward_args: Any, internal_batch_size: int | None, insert: bool,
           fractions: Any = None) -> Curve:
    F, x, reference = prepare(model, inputs, baselines, target, additional_forward_args, internal_batch_size)
    n_points = _check(x, attributions, n_points)
    order = feature_ranking(attributions.detach().to(x.device))
    n, n_features = order.shape
    if fractions is None:
        counts = torch.linspace(0, n_features, n_points + 1, device="cpu").round().long().tolist()
    else:  # the chosen fractions, each rounded to a whole number of features
        counts = (_check_fractions(fractions) * n_features).round().long().tolist()
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
    fractions: Sequence[float] | Tensor | None = None,
) -> Curve:
    """F(x with its top-f features set to the reference x'), for f = 0, 1/n_points, ..., 1.

    Starts at F(x) and ends at F(x'); a faithful ranking makes it fall fast (small :func:`area`).
    ``fractions`` (rising from 0 to 1, e.g. :func:`spaced_fractions`) replaces the even spacing.
    """
    return _curve(model, inputs, attributions, target, baselines, n_points, additional_forward_args,
                  internal_batch_size, insert=False, fractions=fractions)


def insertion_curve(
    model: Model, inputs: Tensor, attributions: Tensor, target: TargetLike = None, baselines: Any = None,
    n_points: int = 16, additional_forward_args: Any = None, internal_batch_size: int | None = None,
    fractions: Sequence[float] | Tensor | None = None,
) -> Curve:
    """F(the reference x' with the top-f features taken from x), for f = 0, 1/n_points, ..., 1.

    Starts at F(x') and ends at F(x); a faithful ranking makes it rise fast (large :func:`area`).
    ``fractions`` (rising from 0 to 1, e.g. :func:`spaced_fractions`) replaces the even spacing.
    """
    return _curve(model, inputs, attributions, target, baselines, n_points, additional_forward_args,
                  internal_batch_size, insert=True, fractions=fractions)


def random_attributions(inputs: Tensor, seed: int = 0) -> Tensor:
    """A random ranking as a control: i.i.d. uniform values shaped like ``inputs`` (same seed, same ranking)."""
    generator = torch.Generator(device="cpu").manual_seed(seed)
    return torch.rand(inputs.shape, generator=generator, dtype=torch.float64, device="cpu").to(inputs.device)


# ---------------------------------------------------------------- many examples, small batches
PER_EXAMPLE = ("baselines", "target", "attributions", "additional_forward_args")


def in_groups(function: Callable[..., Any], model: Any, inputs: Tensor, *args: Any, size: int = 4,
              **kwargs: Any) -> Any:
    """``function(model, inputs, *args, **kwargs)`` computed on consecutive groups of ``size`` examples, joined.

    ``function`` is any iglib function of (model, inputs, ...): an attribution method or a curve.
    The other positional arguments (baselines, attributions) and the keyword arguments named in
    ``PER_EXAMPLE`` (baselines, target, attributions, additional_forward_args) are split with ``inputs``
    when they hold one entry per example (a tensor or list of length N = len(inputs)); anything else
    (``fractions``, ``n_steps``, ...) is passed whole. The results (a tensor [N, ...], a tuple of them, or a :class:`Curve`) are joined
    along the examples. Each example's answer is the one a single call gives; on a CPU, small batches
    keep a network's activations in cache and run faster per example than one large batch.
    """
    if not callable(function):
        raise TypeError(f"function must be callable, got {type(function).__name__}")
    if not isinstance(inputs, Tensor):
        raise TypeError(f"inputs must be a torch.Tensor, got {type(inputs).__name__}")
    size = check_count(size, "size")
    n = len(inputs)

    def part(value: Any, group: slice) -> Any:
        if isinstance(value, (Tensor, list)) and (not isinstance(value, Tensor) or value.dim() > 0) and len(value) == n:
            return value[group]
        return value

    results = []
    for start in range(0, n, size):
        group = slice(start, start + size)
        results.append(function(model, inputs[group], *(part(a, group) for a in args),
                                **{k: part(v, group) if k in PER_EXAMPLE else v for k, v in kwargs.items()}))
    return _join(results)


def _join(results: list) -> Any:
    first = results[0]
    if isinstance(first, Tensor):
        return torch.cat(results)
    if isinstance(first, Curve):
        return Curve(first.fractions, torch.cat([r.scores for r in results]))
    if isinstance(first, tuple):
        return tuple(_join([r[i] for r in results]) for i in range(len(first)))
    raise TypeError(f"function must return a tensor, a tuple of tensors or a Curve, got {type(first).__name__}")


# ---------------------------------------------------------------- two methods on the same examples
@dataclass
class Paired:
    """Method a against method b on the same N examples: ``differences`` d_i = a_i - b_i [N] (float64).

    ``mean`` is the mean of d; ``low``, ``high`` a percentile-bootstrap interval for it; ``wins``,
    ``ties``, ``losses`` count the examples where a is better, within ``tie`` of b, or worse, in the
    direction ``better`` ("smaller" or "larger").
    """

    differences: np.ndarray
    mean: float
    low: float
    high: float
    wins: int
    ties: int
    losses: int
    better: str
    tie: float
    confidence: float

    @property
    def win_rate(self) -> float:
        """(wins + ties / 2) / N: the share of examples on which a beats b, a tie counting half."""
        return (self.wins + self.ties / 2) / len(self.differences)

    @property
    def verdict(self) -> str:
        """"better" or "worse" when the whole interval lies beyond ``tie`` on one side of 0; else "no clear difference"."""
        ahead = -1.0 if self.better == "smaller" else 1.0
        if min(ahead * self.low, ahead * self.high) > self.tie:
            return "better"
        if max(ahead * self.low, ahead * self.high) < -self.tie:
            return "worse"
        return "no clear difference"


def paired_bootstrap(differences: Any, n_resamples: int = 10_000, confidence: float = 0.95,
                     seed: int = 0) -> tuple[float, float, float]:
    """(mean, low, high): the mean of the paired differences d [N] and its percentile-bootstrap interval.

    Resample the N examples with replacement ``n_resamples`` times, d*_b = mean of the resampled d;
    the interval holds the middle ``confidence`` of the d*_b (Efron and Tibshirani 1993, ch. 13).
    """
    d = _as_vector(differences, "differences")
    n_resamples = check_count(n_resamples, "n_resamples")
    confidence = check_number(confidence, "confidence", positive=True, at_most=1, expected="a number between 0 and 1")
    if confidence == 1:
        raise ValueError("confidence must be a number between 0 and 1, got 1")
    seed = check_count(seed, "seed", minimum=0)
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), size=(n_resamples, len(d)))].mean(axis=1)
    low, high = np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(d.mean()), float(low), float(high)


def win_counts(a: Any, b: Any, better: str = "larger", tie: float = 0.0) -> tuple[int, int, int]:
    """(wins, ties, losses) of a against b, example by example: a win when a_i beats b_i by more than ``tie``
    in the direction ``better`` ("smaller" or "larger"), a tie when |a_i - b_i| <= tie."""
    d = _difference(a, b)
    if better not in ("smaller", "larger"):
        raise ValueError(f"better must be 'smaller' or 'larger', got {better!r}")
    tie = check_number(tie, "tie")
    ahead = -d if better == "smaller" else d
    return int((ahead > tie).sum()), int((np.abs(d) <= tie).sum()), int((ahead < -tie).sum())


def paired_comparison(a: Any, b: Any, better: str = "larger", tie: float = 0.0, n_resamples: int = 10_000,
                      confidence: float = 0.95, seed: int = 0) -> Paired:
    """Method a against method b on the same examples (a score per example each, e.g. areas [N]):
    d_i = a_i - b_i, its mean with a bootstrap interval (:func:`paired_bootstrap`) and the win counts
    (:func:`win_counts`). ``tie`` is the smallest difference that counts: pass the printed precision, so
    that a verdict cannot turn on round-off."""
    wins, ties, losses = win_counts(a, b, better, tie)
    d = _difference(a, b)
    mean, low, high = paired_bootstrap(d, n_resamples, confidence, seed)
    return Paired(d, mean, low, high, wins, ties, losses, better, float(tie), float(confidence))


def _difference(a: Any, b: Any) -> np.ndarray:
    va, vb = _as_vector(a, "a"), _as_vector(b, "b")
    if va.shape != vb.shape:
        raise ValueError(f"a and b must hold one value per example each, got {len(va)} and {len(vb)} values")
    return va - vb


def _as_vector(values: Any, name: str) -> np.ndarray:
    if isinstance(values, Tensor):
        values = values.detach().cpu().numpy()
    if isinstance(values, (str, bytes)) or not isinstance(values, (np.ndarray, Sequence)):
        raise TypeError(f"{name} must be a sequence, array or tensor of numbers, got {type(values).__name__}")
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or len(v) < 1:
        raise ValueError(f"{name} must be 1-D with one value per example, got shape {v.shape}")
    if not np.isfinite(v).all():
        raise ValueError(f"{name} holds nan or inf")
    return v


# ---------------------------------------------------------------- cost: a call counter
class EvaluationCounter(nn.Module):
    """Wraps a model and counts the examples it is run on: ``forward_evaluations`` (no gradient
    needed) and ``gradient_evaluations`` (inputs that require grad, so a backward pass follows)."""

    def __init__(self, model: Model):
        super().__init__()
        self.model = model
        self.forward_evaluations = 0
        self.gradient_evaluations = 0
        self.train(getattr(model, "training", False))

    def forward(self, x: Tensor, *args: Any) -> Tensor:
        if torch.is_grad_enabled() and x.requires_grad:
            self.gradient_evaluations += len(x)
        else:
            self.forward_evaluations += len(x)
        return self.model(x, *args)

    def reset(self) -> None:
        self.forward_evaluations = self.gradient_evaluations = 0


# ---------------------------------------------------------------- comparing explanations
def rank_correlation(a: Tensor | np.ndarray, b: Tensor | np.ndarray) -> float:
    """Spearman's rank correlation of two explanations (flattened); nan if either is constant."""
    from scipy.stats import spearmanr

    a = np.asarray(a.detach().cpu() if isinstance(a, Tensor) else a, dtype=np.float64).reshape(-1)
    b = np.asarray(b.detach().cpu() if isinstance(b, Tensor) else b, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"explanations must have the same number of features, got {a.size} and {b.size}")
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def top_k(a: Tensor | np.ndarray, k: int, absolute: bool = True) -> list[int]:
    """Indices of the ``k`` largest features of a flattened explanation (by |a| unless ``absolute=False``)."""
    v = torch.as_tensor(np.asarray(a.detach().cpu() if isinstance(a, Tensor) else a, dtype=np.float64),
                        device="cpu").reshape(-1)
    return torch.argsort(v.abs() if absolute else v, descending=True, stable=True)[:k].tolist()


def top_k_overlap(a: Tensor | np.ndarray, b: Tensor | np.ndarray, k: int, absolute: bool = True) -> float:
    """|top_k(a) & top_k(b)| / k: the share of the ``k`` top features two explanations agree on."""
    return len(set(top_k(a, k, absolute)) & set(top_k(b, k, absolute))) / k


def high_frequency_share(attributions: Tensor | np.ndarray, cutoff: float = 0.25) -> float:
    """How noisy a map is: the share of its energy above ``cutoff`` cycles per pixel,

        sum_{|f| > cutoff} |M(f)|^2 / sum_{f != 0} |M(f)|^2,

    M the 2-D discrete Fourier transform of m = sum over channels of |a| ([C, H, W] or [H, W]).
    White noise spreads its energy evenly: 1 - pi cutoff^2 (0.80 at 0.25); a smooth map scores near 0."""
    a = np.asarray(attributions.detach().cpu() if isinstance(attributions, Tensor) else attributions, dtype=np.float64)
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim not in (2, 3) or min(a.shape[-2:]) < 2:
        raise ValueError(f"attributions must be one map, [C, H, W] or [H, W], got shape {a.shape}")
    if not 0 < cutoff < 0.5:
        raise ValueError(f"cutoff must lie between 0 and 0.5 cycles per pixel (Nyquist), got {cutoff}")
    m = np.abs(a).sum(axis=0) if a.ndim == 3 else np.abs(a)
    power = np.abs(np.fft.fft2(m - m.mean())) ** 2
    fy, fx = np.meshgrid(np.fft.fftfreq(m.shape[0]), np.fft.fftfreq(m.shape[1]), indexing="ij")
    total = power.sum()
    return float(power[np.hypot(fy, fx) > cutoff].sum() / total) if total > 0 else float("nan")
