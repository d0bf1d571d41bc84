"""Baselines x' for images: what "absence" of the signal means is a choice, and IG depends on it.

The paper uses the black image. Sturmfels, Lundberg and Lee ("Visualizing the Impact of
Feature Attribution Baselines", Distill 2020) compare others; each function below returns a
tensor shaped like ``inputs`` [N, C, H, W], in the model's input space, with the range of a
valid input given by ``low`` and ``high`` (for iglib.imagenet: -127/128 and 128/128):

- ``constant``: every value the same (the black image is ``constant(x, low)``);
- ``uniform_noise``: x'_i ~ U(low, high), independently per value;
- ``gaussian_noise``: x'_i = clip(x_i + N(0, sigma^2), low, high), the image with noise added;
- ``blurred``: x convolved with a Gaussian of width ``sigma`` pixels (keeps colour, removes edges);
- ``maximum_distance``: x'_i = low if x_i is nearer high, else high (the farthest valid image in L1).

Expected gradients (:func:`iglib.expected_gradients`) instead averages over a set of reference
images; its completeness is against the mean score of the references.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from .arguments import check_inputs


def _image_batch(inputs: Tensor) -> Tensor:
    x = check_inputs(inputs)
    if x.dim() != 4:
        raise ValueError(f"inputs must be images [N, C, H, W], got shape {tuple(x.shape)}")
    return x.detach()


def _check_range(low: float, high: float) -> None:
    if not low < high:
        raise ValueError(f"low must be below high, got low={low}, high={high}")


def constant(inputs: Tensor, value: float) -> Tensor:
    """x'_i = value everywhere."""
    return torch.full_like(_image_batch(inputs), float(value))


def uniform_noise(inputs: Tensor, low: float, high: float, seed: int = 0) -> Tensor:
    """x'_i ~ U(low, high), drawn with ``seed`` (the same seed gives the same baseline)."""
    x = _image_batch(inputs)
    _check_range(low, high)
    g = torch.Generator(device="cpu").manual_seed(seed)
    return (low + (high - low) * torch.rand(x.shape, generator=g, dtype=x.dtype, device="cpu")).to(x.device)


def gaussian_noise(inputs: Tensor, sigma: float, low: float, high: float, seed: int = 0) -> Tensor:
    """x'_i = clip(x_i + e_i, low, high) with e_i ~ N(0, sigma^2), drawn with ``seed``."""
    x = _image_batch(inputs)
    _check_range(low, high)
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0 (in the model's input units), got {sigma}")
    g = torch.Generator(device="cpu").manual_seed(seed)
    noise = sigma * torch.randn(x.shape, generator=g, dtype=x.dtype, device="cpu")
    return (x + noise.to(x.device)).clamp(low, high)


def gaussian_kernel(sigma: float) -> Tensor:
    """The 1-D Gaussian weights exp(-t^2 / (2 sigma^2)), t = -3 sigma..3 sigma, normalised to sum 1."""
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0 pixels, got {sigma}")
    radius = max(1, math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=torch.float64, device="cpu")
    k = torch.exp(-(t**2) / (2 * sigma**2))
    return k / k.sum()


def blurred(inputs: Tensor, sigma: float = 20.0) -> Tensor:
    """x * G_sigma: a separable Gaussian blur of each channel, edges padded by reflection."""
    x = _image_batch(inputs)
    k = gaussian_kernel(sigma).to(x.device, x.dtype)
    c, r = x.shape[1], len(k) // 2
    if r >= min(x.shape[-2:]):
        raise ValueError(f"sigma={sigma} is too wide for images of size {tuple(x.shape[-2:])}")
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="reflect"), k.reshape(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="reflect"), k.reshape(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def maximum_distance(inputs: Tensor, low: float, high: float) -> Tensor:
    """x'_i = low where x_i > (low + high) / 2, else high: the valid image farthest from x."""
    x = _image_batch(inputs)
    _check_range(low, high)
    return torch.where(x > (low + high) / 2, torch.full_like(x, low), torch.full_like(x, high))
