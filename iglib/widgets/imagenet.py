"""Sliders for the ImageNet experiment (notebook 08).

- :func:`interior_gradients_widget`: an alpha slider over precomputed interior gradients; it
  shows the scaled image x' + alpha (x - x'), the gradient there as the paper's soft window,
  and where alpha sits on the saturation curve. Instant: every mask is computed up front.
- :func:`explorer_widget`: image, target class, steps and baseline. IG for a new combination
  is computed when the slider moves (a few seconds per 32 steps on a laptop CPU) and cached.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable, Mapping, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from torch import Tensor

from ..experiments.imagenet import to_image
from ..integrated_gradients import integrated_gradients
from ..interior import InteriorGradients
from ..viz import attribution_mask, overlay, soft_window
from . import SliderFigure, slider_figure


def interior_gradients_widget(interior: InteriorGradients, names: Sequence[str], clip_percentile: float = 99.0) -> SliderFigure:
    """Sliders: ``image`` (one of ``names``, one per input of ``interior``) and ``alpha`` (its nodes).

    ``draw`` returns alpha, the score F there, the gradient norm ||dF/dx|| and the fraction of
    the final rise F(x) - F(x') reached at that alpha.
    """
    if len(names) != interior.inputs.shape[0]:
        raise ValueError(f"names must name each of the {interior.inputs.shape[0]} inputs, got {len(names)}")
    alphas = interior.alphas.cpu().numpy()
    scores = interior.scores.detach().cpu().numpy()
    norms = interior.gradient_norms().cpu().numpy()
    base, top = interior.baseline_scores.cpu().numpy(), interior.input_scores.cpu().numpy()
    masks = [[attribution_mask(interior.gradients[k, j], clip_percentile) for k in range(len(alphas))]
             for j in range(len(names))]
    images = [to_image(interior.inputs[j]) for j in range(len(names))]
    options = [(f"{a:.3f}", k) for k, a in enumerate(alphas)]

    def draw(image: int, alpha: int) -> dict:
        j, k = image, alpha
        a = float(alphas[k])
        point = interior.baselines[j] + a * (interior.inputs[j] - interior.baselines[j])
        fig, axes = plt.subplots(1, 4, figsize=(12, 3))
        axes[0].imshow(to_image(point))
        axes[0].set_title(f"scaled image, alpha = {a:.3f}")
        axes[1].imshow(soft_window(images[j], masks[j][k]))
        axes[1].set_title("gradient at the scaled image")
        axes[2].plot(alphas, scores[:, j], ".-", ms=3)
        axes[2].axvline(a, color="C3")
        axes[2].set(xlabel="alpha", ylabel="score F", title="saturation", ylim=(0, max(1.0, scores[:, j].max())))
        axes[3].semilogy(alphas, norms[:, j], ".-", ms=3)
        axes[3].axvline(a, color="C3")
        axes[3].set(xlabel="alpha", title="gradient norm ||dF/dx||")
        for ax in axes[:2]:
            ax.set_axis_off()
        fig.tight_layout()
        rise = top[j] - base[j]
        return {"image": names[j], "alpha": a, "F": float(scores[k, j]), "gradient norm": float(norms[k, j]),
                "share of rise": float((scores[k, j] - base[j]) / rise) if rise else float("nan")}

    return slider_figure(
        draw,
        image=widgets.Dropdown(options=[(n, j) for j, n in enumerate(names)], value=0, description="image"),
        alpha=widgets.SelectionSlider(options=options, value=len(alphas) // 4, description="alpha",
                                      continuous_update=False),
    )


def explorer_widget(
    model: Callable[[Tensor], Tensor],
    images: Mapping[str, Tensor],
    class_names: Sequence[str],
    baselines: Mapping[str, Callable[[Tensor], Tensor]],
    steps: Sequence[int] = (8, 16, 32, 64),
    n_targets: int = 5,
    internal_batch_size: int | None = None,
    clip_percentile: float = 99.0,
    precomputed: Mapping[tuple, tuple[Tensor, float]] | None = None,
) -> SliderFigure:
    """Sliders: ``image`` (a key of ``images``, each [1, 3, H, W]), ``target`` (its k-th most
    likely class, k = 1..``n_targets``), ``steps`` (Gauss-Legendre nodes) and ``baseline``
    (a key of ``baselines``, each mapping the input to x').

    ``precomputed`` maps (image, k, steps, baseline) to (IG, delta) already computed, so the
    first view costs nothing. ``draw`` returns the class, its score, F(x'), the sum of IG and
    the completeness delta.
    """
    if not images or not baselines:
        raise ValueError("images and baselines must each hold at least one entry")
    steps = tuple(int(s) for s in steps)
    with torch.no_grad():
        scores = {name: model(x)[0] for name, x in images.items()}
    ranked = {name: s.argsort(descending=True)[:n_targets].tolist() for name, s in scores.items()}
    cache: dict[tuple, tuple[Tensor, float]] = dict(precomputed or {})

    @lru_cache(maxsize=None)
    def baseline_of(image: str, baseline: str) -> Tensor:
        return baselines[baseline](images[image])

    def attribution(image: str, k: int, n: int, baseline: str) -> tuple[Tensor, float]:
        key = (image, k, n, baseline)
        if key not in cache:
            a, delta = integrated_gradients(model, images[image], baseline_of(image, baseline),
                                            target=ranked[image][k - 1], n_steps=n,
                                            internal_batch_size=internal_batch_size, return_convergence_delta=True)
            cache[key] = (a, float(delta[0]))
        return cache[key]

    def draw(image: str, target: int, steps: int, baseline: str) -> dict:
        a, delta = attribution(image, target, steps, baseline)
        cls = ranked[image][target - 1]
        with torch.no_grad():
            f_base = float(model(baseline_of(image, baseline))[0, cls])
        picture = to_image(images[image])
        mask = attribution_mask(a, clip_percentile)
        fig, axes = plt.subplots(1, 4, figsize=(12, 3.2))
        panels = [(picture, "image"), (to_image(baseline_of(image, baseline)), f"baseline: {baseline}"),
                  (soft_window(picture, mask), "IG (soft window)"), (overlay(picture, mask), "IG (overlay)")]
        for ax, (p, title) in zip(axes, panels):
            ax.imshow(p)
            ax.set_title(title, fontsize=9)
            ax.set_axis_off()
        f_x = float(scores[image][cls])
        fig.suptitle(f"{class_names[cls]}: F(x) = {f_x:.3g}, F(x') = {f_base:.3g}, "
                     f"sum IG = {float(a.sum()):.3g}, delta = {delta:.2g}", fontsize=10)
        fig.tight_layout()
        return {"image": image, "class": class_names[cls], "F(x)": f_x, "F(x')": f_base,
                "sum IG": float(a.sum()), "delta": delta, "steps": steps, "baseline": baseline}

    names = list(images)
    return slider_figure(
        draw,
        image=widgets.Dropdown(options=names, value=names[0], description="image"),
        target=widgets.IntSlider(value=1, min=1, max=n_targets, description="class rank", continuous_update=False),
        steps=widgets.SelectionSlider(options=list(steps), value=steps[-1], description="steps", continuous_update=False),
        baseline=widgets.Dropdown(options=list(baselines), value=next(iter(baselines)), description="baseline"),
    )
