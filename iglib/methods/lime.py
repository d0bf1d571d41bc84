"""LIME (Ribeiro, Singh and Guestrin, "Why should I trust you?", KDD 2016), tabular and image.

LIME explains F at x by a linear model g fitted to F on perturbed samples z around x, each
weighted by its closeness to x:

    g = argmin_g  sum_z pi_x(z) (F(z) - g(z'))^2 + Omega(g),     pi_x(z) = exp(-d(x, z)^2 / sigma^2),

where z' is z in the interpretable representation, d a distance and sigma the kernel width.
Here Omega(g) = ``alpha`` ||w||^2 (scikit-learn's ``Ridge``, as in the ``lime`` package;
``alpha=0`` is plain weighted least squares). The ``lime`` package takes the square root of
this kernel, sqrt(exp(-d^2 / w^2)) = exp(-d^2 / (2 w^2)): its width w is sigma / sqrt(2) here.

- Tabular (:func:`lime_tabular`): z = x + s * e, e ~ N(0, I) (s = ``scale``, one number per
  feature, e.g. the training standard deviations; the first sample is x itself); z' = (z - x) / s;
  d = ||z'||_2, the Euclidean distance in units of s; sigma defaults to 0.75 sqrt(n_features)
  (the ``lime`` package's default). The fitted slopes w_i estimate dF/dx_i, averaged over the
  kernel's neighbourhood; read as an attribution of F(x) - F(x') they are w_i (x_i - x'_i).
- Images (:func:`lime_image`): z' in {0, 1}^K switches K superpixels on (the image) or off (the
  baseline x', e.g. black); the first sample is all on; d = cosine distance between z' and the
  all-ones vector, 1 - sqrt(|z'| / K); sigma defaults to 0.25 (the ``lime`` package's). The K
  weights say how much switching each superpixel on raises F. Superpixels come from
  scikit-image (:func:`superpixels`, SLIC).

Every call counts its model evaluations (``evaluations``: examples passed through the model).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..arguments import Model, TargetLike, check_baselines, check_count, check_device, check_number, check_seed
from ..forward import prepare
from ..memory import check_fits

TABULAR_WIDTH = 0.75  # sigma = 0.75 sqrt(n_features), the lime package's default for tables
IMAGE_WIDTH = 0.25  # sigma on the cosine distance, the lime package's default for images


# ---------------------------------------------------------------- the pieces LIME is made of
def exponential_kernel(distances: np.ndarray, kernel_width: float) -> np.ndarray:
    """pi(z) = exp(-d(x, z)^2 / sigma^2) with sigma = ``kernel_width``."""
    return np.exp(-np.square(distances) / kernel_width**2)


def weighted_linear_fit(
    features: np.ndarray, outputs: np.ndarray, weights: np.ndarray, alpha: float = 1.0
) -> tuple[np.ndarray, float, float]:
    """(w, b, weighted R^2) of g(z') = w . z' + b minimising sum pi (F - g)^2 + alpha ||w||^2.

    scikit-learn's ``Ridge`` (``LinearRegression`` for ``alpha=0``) with ``sample_weight=weights``;
    the R^2 is the fit's on its own weighted samples (what the ``lime`` package calls ``score``).
    """
    from sklearn.linear_model import LinearRegression, Ridge

    model = LinearRegression() if alpha == 0 else Ridge(alpha=alpha)
    model.fit(features, outputs, sample_weight=weights)
    return model.coef_.copy(), float(model.intercept_), float(model.score(features, outputs, sample_weight=weights))


def effective_samples(weights: Tensor | np.ndarray) -> Tensor:
    """Kish's effective sample size (sum pi)^2 / sum pi^2 per row: how many samples the fit really uses."""
    w = torch.as_tensor(weights, dtype=torch.float64, device="cpu")
    return w.sum(-1) ** 2 / (w**2).sum(-1)


def _check_samples(n_samples: Any) -> int:
    n_samples = check_count(n_samples, "n_samples")
    if n_samples < 2:
        raise ValueError(f"n_samples={n_samples} draws only x itself (the first sample); LIME needs more to fit a slope")
    return n_samples


def _check_kernel(weights: np.ndarray, samples: np.ndarray, kernel_width: float) -> None:
    """Refuse a kernel under which every sample with weight > 0 is x itself (the first sample): the
    fit would see no variation and return all-zero slopes."""
    if len(np.unique(samples[weights > 0], axis=0)) < 2:
        raise ValueError(
            f"kernel_width={kernel_width:g} gives weight 0 to every sample but x itself, so the fit "
            "explains nothing (all-zero slopes); raise kernel_width (or n_samples)."
        )


@dataclass
class LocalLinearModel:
    """LIME's fitted g for each example: ``coefficients`` (tabular: slopes shaped like the inputs;
    images: one weight per superpixel, [N, K]), ``intercept`` [N], the weighted R^2 ``score`` [N],
    the ``effective_samples`` [N] of the kernel weights, and ``evaluations``: examples the model
    was run on, all examples together (``n_samples`` per example)."""

    coefficients: Tensor
    intercept: Tensor
    score: Tensor
    effective_samples: Tensor
    evaluations: int


# ---------------------------------------------------------------- tabular
def lime_tabular(
    model: Model,
    inputs: Tensor,
    baselines: Any = None,
    target: TargetLike = None,
    additional_forward_args: Any = None,
    n_samples: int = 1000,
    kernel_width: float | None = None,
    scale: float | Tensor = 1.0,
    alpha: float = 1.0,
    multiply_by_inputs: bool = True,
    seed: int | None = None,
    internal_batch_size: int | None = None,
    return_fit: bool = False,
) -> Tensor | tuple[Tensor, LocalLinearModel]:
    """Tabular LIME of ``model``'s ``target`` score at each example of ``inputs``.

    For each example x: ``n_samples`` points z = x + scale * e (the first is x), weights
    pi(z) = exp(-||(z - x) / scale||^2 / sigma^2) with sigma = ``kernel_width`` (default
    0.75 sqrt(n_features)), and a weighted ridge fit (penalty ``alpha``) of F(z) on (z - x) / scale.
    The slopes w (per unit of each input) are LIME's explanation. Returns w * (x - x') shaped
    like ``inputs`` (the local model's change from the baseline x', in F's units, comparable to IG),
    or w itself with ``multiply_by_inputs=False``. ``baselines``: None (zeros), a number or a
    tensor broadcastable to ``inputs``. ``seed`` makes the samples reproducible (the same seed
    gives the same samples for every kernel width). With ``return_fit``, also the
    :class:`LocalLinearModel` (slopes, intercept, R^2, evaluations).
    """
    F, x, x_base = prepare(model, inputs, baselines, target, additional_forward_args, internal_batch_size)
    n_samples = _check_samples(n_samples)
    alpha = check_number(alpha, "alpha", expected="a number >= 0 (the ridge penalty)")
    n_features = x[0].numel()
    check_fits(4 * 8 * n_samples * n_features, f"n_samples={n_samples} samples of {n_features} features",
               device=torch.device("cpu"))  # numpy, on the host
    sigma = TABULAR_WIDTH * math.sqrt(n_features) if kernel_width is None else check_number(kernel_width, "kernel_width", positive=True)
    s = check_baselines(scale, x[:1], name="scale")[0].reshape(-1).cpu().to(torch.float64)
    if not (s > 0).all():
        raise ValueError("scale must be > 0 for every feature (it is the standard deviation of the samples)")
    g = check_seed(seed)
    slopes, intercepts, r2, n_eff = [], [], [], []
    for i in range(len(x)):
        e = torch.randn(n_samples, n_features, generator=g, dtype=torch.float64, device="cpu")
        e[0] = 0.0  # the first sample is x itself
        weights = exponential_kernel(e.norm(dim=1).numpy(), sigma)
        _check_kernel(weights, e.numpy(), sigma)
        z = x[i].reshape(1, -1).cpu().to(torch.float64) + e * s
        points = z.to(x.dtype).to(x.device).reshape((n_samples, 1) + x.shape[1:])
        f = F.example(i).values(points)[:, 0]
        w, b, score = weighted_linear_fit(e.numpy(), f.detach().cpu().to(torch.float64).numpy(), weights, alpha)
        slopes.append(torch.from_numpy(w) / s)
        intercepts.append(b)
        r2.append(score)
        n_eff.append(effective_samples(weights))
    coefficients = torch.stack(slopes).reshape(x.shape).to(x.dtype).to(x.device)
    attributions = coefficients * (x - x_base) if multiply_by_inputs else coefficients.clone()
    if not return_fit:
        return attributions
    fit = LocalLinearModel(coefficients, torch.tensor(intercepts, dtype=torch.float64, device="cpu"),
                           torch.tensor(r2, dtype=torch.float64, device="cpu"),
                           torch.stack(n_eff), n_samples * len(x))
    return attributions, fit


# ---------------------------------------------------------------- images
def superpixels(image: np.ndarray | Tensor, n_segments: int = 50, compactness: float = 10.0, sigma: float = 1.0) -> np.ndarray:
    """SLIC superpixels of an RGB image [H, W, 3] with values in [0, 1]: labels [H, W], 0..K-1.

    ``skimage.segmentation.slic`` (deterministic); K is close to ``n_segments``, not equal.
    """
    from skimage.segmentation import slic

    im = np.asarray(image.detach().cpu() if isinstance(image, Tensor) else image, dtype=np.float64)
    if im.ndim != 3 or im.shape[-1] != 3:
        raise ValueError(f"image must be RGB [H, W, 3] with values in [0, 1], got shape {im.shape}")
    labels = slic(im, n_segments=n_segments, compactness=compactness, sigma=sigma, start_label=0)
    return np.unique(labels, return_inverse=True)[1].reshape(labels.shape)


def _segment_maps(segments: Any, x: Tensor) -> Tensor:
    """The segment map of every example as long [N, H, W] with labels 0..K_n - 1."""
    if isinstance(segments, Tensor):
        check_device(segments, "segments")
    seg = torch.as_tensor(np.asarray(segments.cpu() if isinstance(segments, Tensor) else segments), device="cpu")
    if seg.is_floating_point() or seg.dtype == torch.bool:
        raise TypeError(f"segments must hold integer superpixel labels, got dtype {seg.dtype}")
    if seg.dim() == 2:
        seg = seg.expand(len(x), *seg.shape)
    if seg.dim() != 3 or seg.shape[0] != len(x) or tuple(seg.shape[1:]) != tuple(x.shape[-2:]):
        raise ValueError(
            f"segments must be [H, W] or [N, H, W] matching the inputs' {tuple(x.shape)} (labels per pixel), "
            f"got shape {tuple(seg.shape)}"
        )
    return torch.stack([torch.unique(s, return_inverse=True)[1] for s in seg]).long()


@dataclass
class LimeImage:
    """LIME for images: ``weights`` [N, K] (one per superpixel; examples with fewer superpixels
    are padded with 0), the ``segments`` [N, H, W] they refer to, and the fit
    (``intercept``, ``score``, ``effective_samples`` [N], ``evaluations``)."""

    weights: Tensor
    segments: Tensor
    intercept: Tensor
    score: Tensor
    effective_samples: Tensor
    evaluations: int

    def paint(self) -> Tensor:
        """Each pixel gets its superpixel's weight: [N, H, W]."""
        return paint(self.weights, self.segments)

    def top(self, k: int, example: int = 0) -> list[int]:
        """The ``k`` superpixels with the largest weights (most positive first)."""
        n = int(self.segments[example].max()) + 1
        return torch.argsort(self.weights[example, :n], descending=True, stable=True)[:k].tolist()


def paint(weights: Tensor, segments: Tensor) -> Tensor:
    """Per-superpixel values [N, K] painted back onto the pixels of ``segments`` [N, H, W]."""
    if weights.dim() == 1:
        weights, segments = weights[None], segments[None]
    return torch.stack([w[s] for w, s in zip(weights, segments.long())])


def lime_image(
    model: Model,
    inputs: Tensor,
    segments: Any,
    baselines: Any = None,
    target: TargetLike = None,
    additional_forward_args: Any = None,
    n_samples: int = 1000,
    kernel_width: float = IMAGE_WIDTH,
    alpha: float = 1.0,
    seed: int | None = None,
    internal_batch_size: int | None = None,
) -> LimeImage:
    """Image LIME of ``model``'s ``target`` score for each image of ``inputs`` [N, C, H, W].

    ``segments``: superpixel labels [H, W] (shared) or [N, H, W], e.g. from :func:`superpixels`.
    Each of ``n_samples`` masks z' in {0, 1}^K (the first all ones, the others each superpixel on
    with probability 1/2) gives the image x' + z'[segments] * (x - x'): superpixels switched off
    show ``baselines`` (None: zeros in the model's input space; pass the black image for the
    paper's baseline). Weights pi = exp(-d^2 / sigma^2), d = 1 - sqrt(|z'| / K) (cosine distance
    to all-on), sigma = ``kernel_width``; weighted ridge fit (penalty ``alpha``) of F on z'.
    """
    F, x, x_base = prepare(model, inputs, baselines, target, additional_forward_args, internal_batch_size)
    if x.dim() < 3:
        raise ValueError(f"inputs must be images [N, C, H, W] (or [N, H, W]), got shape {tuple(x.shape)}")
    n_samples = _check_samples(n_samples)
    sigma = check_number(kernel_width, "kernel_width", positive=True)
    alpha = check_number(alpha, "alpha", expected="a number >= 0 (the ridge penalty)")
    seg = _segment_maps(segments, x).to(x.device)
    check_fits(2 * 8 * n_samples * (int(seg.max()) + 1), f"n_samples={n_samples} masks of {int(seg.max()) + 1} superpixels",
               device=torch.device("cpu"))  # numpy, on the host
    g = check_seed(seed)
    k_max = int(seg.max()) + 1
    weights_out = torch.zeros(len(x), k_max, dtype=torch.float64, device="cpu")
    intercepts, r2, n_eff = [], [], []
    for i in range(len(x)):
        k = int(seg[i].max()) + 1
        z = (torch.rand(n_samples, k, generator=g, device="cpu") < 0.5).to(torch.float64)
        z[0] = 1.0  # the first sample is the image itself
        distances = 1.0 - np.sqrt(z.sum(1).numpy() / k)
        pi = exponential_kernel(distances, sigma)
        _check_kernel(pi, z.numpy(), sigma)
        F_i, f = F.example(i), []
        for chunk in F_i.chunks(n_samples, "n_samples"):
            on = z[chunk].to(x.device, x.dtype)[:, seg[i]]  # [S, H, W]: 1 shows x, 0 shows x'
            on = on.reshape((len(on),) + (1,) * (x.dim() - 3) + on.shape[1:])  # broadcast over channels
            f.append(F_i.values((x_base[i] + on * (x[i] - x_base[i]))[:, None])[:, 0])
        f = torch.cat(f).cpu().to(torch.float64).numpy()
        w, b, score = weighted_linear_fit(z.numpy(), f, pi, alpha)
        weights_out[i, :k] = torch.from_numpy(w)
        intercepts.append(b)
        r2.append(score)
        n_eff.append(effective_samples(pi))
    return LimeImage(weights_out, seg.cpu(), torch.tensor(intercepts, dtype=torch.float64, device="cpu"),
                     torch.tensor(r2, dtype=torch.float64, device="cpu"), torch.stack(n_eff), n_samples * len(x))


def superpixel_sums(attributions: Tensor, segments: Tensor) -> Tensor:
    """Pixel attributions [N, C, H, W] (or [C, H, W]) summed over each superpixel and channel: [N, K].

    Puts a pixel method (IG) on LIME's footing: the credit of each superpixel, in F's units.
    """
    a = attributions.detach().cpu().to(torch.float64)
    if a.dim() == 3:
        a = a[None]
    seg = segments.cpu().long()
    if seg.dim() == 2:
        seg = seg.expand(len(a), *seg.shape)
    k = int(seg.max()) + 1
    per_pixel = a.sum(1).reshape(len(a), -1)
    return torch.zeros(len(a), k, dtype=torch.float64, device="cpu").scatter_add_(1, seg.reshape(len(a), -1), per_pixel)
