"""Baselines as "absence": a slider along the straight path x' + alpha (x - x').

One slider (alpha) moves an image and a few token embeddings from their baselines (the
black image, the zero embedding) to the input. Every interpolated point is computed once
with :func:`iglib.paths.straight_line`; moving the slider only picks one of them.
"""
from __future__ import annotations

from typing import Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from torch import Tensor

from ..arguments import check_baselines
from ..paths import straight_line
from . import SliderFigure, slider_figure


def interpolation_widget(
    image: Tensor,
    embeddings: Tensor,
    tokens: Sequence[str],
    image_baseline: Tensor | float | None = None,
    embedding_baseline: Tensor | float | None = None,
    steps: int = 10,
) -> SliderFigure:
    """A slider over alpha in {0, 1/steps, ..., 1} showing x' + alpha (x - x').

    ``image`` is [H, W, 3] in [0, 1], ``embeddings`` is [T, D] (one row per token of
    ``tokens``); the baselines default to zeros (black image, zero embedding). ``draw``
    returns alpha, the mean pixel value and each token's embedding norm at that alpha.
    """
    if image.dim() != 3 or image.shape[-1] != 3:
        raise ValueError(f"image must be [H, W, 3], got shape {tuple(image.shape)}")
    if embeddings.dim() != 2 or len(embeddings) != len(tokens):
        raise ValueError(
            f"embeddings must be [T, D] with one row per token ({len(tokens)}), got {tuple(embeddings.shape)}"
        )
    alphas = torch.linspace(0, 1, steps + 1, dtype=torch.float64)
    images = straight_line(check_baselines(image_baseline, image), image)(alphas).clamp(0, 1)  # [K, H, W, 3]
    vectors = straight_line(check_baselines(embedding_baseline, embeddings), embeddings)(alphas)  # [K, T, D]
    limit = float(vectors.abs().max())
    mean_pixel = images.mean(dim=(1, 2, 3)).tolist()
    norms = vectors.norm(dim=-1).tolist()

    def draw(alpha: float) -> dict:
        k = int(round(alpha * steps))
        fig, (ax_image, ax_text) = plt.subplots(
            1, 2, figsize=(10, 3.4), gridspec_kw={"width_ratios": [1.3, 1]}
        )
        ax_image.imshow(images[k].numpy())
        ax_image.set_title(f"image: x' + {alphas[k]:.2f} (x - x')")
        ax_image.axis("off")
        ax_text.imshow(vectors[k].numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        ax_text.set_yticks(range(len(tokens)), list(tokens))
        ax_text.set_xlabel("embedding dimension")
        ax_text.set_title(f"embeddings: {alphas[k]:.2f} e(token)")
        fig.tight_layout()
        return {"alpha": float(alphas[k]), "mean_pixel": mean_pixel[k], "embedding_norms": norms[k]}

    slider = widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=1 / steps, description="alpha")
    return slider_figure(draw, alpha=slider)
