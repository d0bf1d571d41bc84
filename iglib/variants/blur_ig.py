"""Blur Integrated Gradients (Xu, Venugopalan, Sundararajan et al., CVPR 2020): IG along the
Gaussian scale-space of the image instead of a line from a black image.

The path runs from the most blurred image to the image itself,

    z(sigma) = x * G_sigma,   sigma from ``max_sigma`` down to 0,   z(0) = x,

where G_sigma is a Gaussian of width sigma pixels applied to each channel over height and
width, the image taken as zero outside its frame (the paper's sum over all pixels; PAIR's
``mode='constant'``). Blur IG is the path integral along it,

    BlurIG_i(x) = integral_{max_sigma}^{0} dF/dz_i (z(sigma)) * dz_i(sigma)/d sigma  d sigma,

so it is a path method: completeness holds against the most blurred image,
sum_i BlurIG_i = F(x) - F(x * G_max_sigma). Blurring removes detail without adding any
(the scale-space's causality), so no feature is pushed through a colour it never had, as on
the line from black. Here sigma = (1 - alpha) max_sigma and the integral in alpha is taken
with a quadrature rule by :func:`iglib.path_integrated_gradients`; dz/d sigma is exact
(forward-mode autodiff), or the paper's forward difference with step ``grad_step``.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from ..arguments import Model, TargetLike, check_inputs, check_number
from ..paths import path_integrated_gradients

SMALLEST_SIGMA = 1e-3  # below this many pixels the Gaussian is the identity (its tails underflow to 0)
WIDEST = 25  # max_sigma of at most this many times the image's larger side L: exp(-L^2 / (2 sigma^2)) > 0.999,
#              so a wider Gaussian is flat across the frame to within 0.1% (a quarter of an 8-bit grey level)


def blur_matrix(sigma: Tensor, size: int) -> Tensor:
    """[K, size, size]: row i holds the Gaussian weights exp(-(i - j)^2 / (2 sigma^2)) over the
    pixels j inside the frame, for each of the K sigmas; normalised by the weights' sum over
    the whole line, so pixels outside the frame count as zero. Smooth in sigma."""
    s = sigma.double().clamp_min(SMALLEST_SIGMA).reshape(-1, 1, 1)
    reach = max(size, math.ceil(8 * float(s.max()))) + 1                     # the lattice the weights sum over
    t = torch.arange(-reach, reach + 1, dtype=torch.float64, device=sigma.device)
    total = torch.exp(-(t**2) / (2 * s**2)).sum(-1, keepdim=True)            # [K, 1, 1]
    i = torch.arange(size, dtype=torch.float64, device=sigma.device)
    return torch.exp(-((i[:, None] - i[None, :]) ** 2) / (2 * s**2)) / total


def gaussian_blur(images: Tensor, sigma: Tensor) -> Tensor:
    """x * G_sigma for each of the K sigmas: [K, N, C, H, W] from images [N, C, H, W]."""
    rows = blur_matrix(sigma, images.shape[-2]).to(images.dtype)
    cols = blur_matrix(sigma, images.shape[-1]).to(images.dtype)
    return torch.einsum("khi,ncij,kwj->knchw", rows, images, cols)


class BlurPath:
    """z(alpha) = x * G_sigma with sigma = (1 - alpha) max_sigma: the most blurred image at
    alpha = 0, the image at alpha = 1."""

    def __init__(self, images: Tensor, max_sigma: float, grad_step: float | None = None):
        self.images, self.max_sigma, self.grad_step = images, max_sigma, grad_step

    def sigma(self, alphas: Tensor) -> Tensor:
        return (1 - alphas) * self.max_sigma

    def __call__(self, alphas: Tensor) -> Tensor:
        return gaussian_blur(self.images, self.sigma(alphas))

    def velocity(self, alphas: Tensor) -> Tensor:
        """dz/d alpha = -max_sigma dz/d sigma: exact, or (z(sigma + h) - z(sigma)) / h with h = ``grad_step``."""
        sigma = self.sigma(alphas)
        if self.grad_step is None:
            _, dz = torch.func.jvp(lambda s: gaussian_blur(self.images, s), (sigma,), (torch.ones_like(sigma),))
        else:
            h = self.grad_step
            dz = (gaussian_blur(self.images, sigma + h) - gaussian_blur(self.images, sigma)) / h
        return -self.max_sigma * dz


def blur_path(inputs: Tensor, max_sigma: float = 50.0, grad_step: float | None = None) -> BlurPath:
    """Blur IG's path for images [N, C, H, W], checked (a path for :func:`iglib.path_integrated_gradients`)."""
    x = check_inputs(inputs)
    if x.dim() != 4:
        raise ValueError(f"inputs must be images [N, C, H, W] (Blur IG blurs over height and width), "
                         f"got shape {tuple(x.shape)}")
    height, width = x.shape[2:]
    if height == 0 or width == 0:
        raise ValueError(f"inputs must be images of at least 1 x 1 pixels, got {height} x {width} (shape {tuple(x.shape)})")
    max_sigma = check_number(max_sigma, "max_sigma", positive=True,
                             expected="a number of pixels > 0 (the widest blur)")
    widest = WIDEST * max(height, width)
    if max_sigma > widest:
        raise ValueError(
            f"max_sigma={max_sigma:g} pixels is wider than {height} x {width} images can show: beyond {WIDEST} times "
            f"their larger side ({widest} pixels) the Gaussian is flat across the frame to within 0.1%, so a wider "
            f"blur only dims the image towards black; pass max_sigma <= {widest} (for a black baseline use "
            "iglib.integrated_gradients)"
        )
    if grad_step is not None:
        grad_step = check_number(grad_step, "grad_step", positive=True,
                                 expected="None (the exact derivative) or a step in pixels > 0")
    return BlurPath(x, max_sigma, grad_step)


def blur_integrated_gradients(
    model: Model,
    inputs: Tensor,
    target: TargetLike = None,
    additional_forward_args: Any = None,
    max_sigma: float = 50.0,
    n_steps: int = 50,
    method: str = "gausslegendre",
    grad_step: float | None = None,
    internal_batch_size: int | str | None = None,
    return_convergence_delta: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Blur IG of ``model``'s ``target`` score at images ``inputs`` [N, C, H, W].

    BlurIG_i = integral over sigma from ``max_sigma`` to 0 of dF/dz_i(x * G_sigma) dz_i/d sigma,
    with ``n_steps`` nodes of the quadrature rule ``method`` in alpha = 1 - sigma / max_sigma.
    The paper's code (PAIR) takes 100 evenly spaced sigmas from 0 to max_sigma = 50 and the
    forward difference: ``n_steps=100, method="riemann_right", grad_step=0.01`` here. The
    default instead is Gauss-Legendre with the exact dz/d sigma, which closes the
    completeness gap with fewer steps (the integrand changes fastest near sigma = 0, where
    Gauss-Legendre's nodes crowd). No ``baselines``: the
    baseline is the most blurred image, and the delta is sum_i BlurIG_i - (F(x) - F(x * G_max_sigma)).
    """
    path = blur_path(inputs, max_sigma, grad_step)
    return path_integrated_gradients(model, path.images, path, target, additional_forward_args, n_steps, method,
                                     internal_batch_size, return_convergence_delta)
