"""Figures: saving them deterministically, and the paper's visualization of image attributions."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from torch import Tensor


# One visual language for the collection. Signed attributions: ColorBrewer's RdBu (readable with
# the common colour-vision deficiencies), reversed so that positive credit is red and negative blue,
# always centred on zero. Magnitudes (|attribution|, masks): a perceptually uniform sequential map.
DIVERGING = "RdBu_r"
SEQUENTIAL = "viridis"
# Lines and bars for several methods: the Okabe-Ito palette (distinct for every common colour-vision deficiency).
QUALITATIVE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


def figures_dir() -> Path:
    """``IGLIB_FIGURES_DIR`` if set, else the collection's ``figures/`` folder (beside ``iglib/``)."""
    configured = os.environ.get("IGLIB_FIGURES_DIR")
    folder = Path(configured) if configured else Path(__file__).resolve().parent.parent / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def savefig(fig: Figure, name: str) -> str:
    """Save ``fig`` as ``figures/<name>.png`` (no timestamp in the file, so reruns are identical).

    Returns the file name relative to the figures folder, stable enough to print in a notebook.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str such as 'saturation_toys' or 'imagenet/fireboat', got {name!r}")
    name = name.removesuffix(".png")
    folder = figures_dir().resolve()
    path = (folder / f"{name}.png").resolve()
    if not name or Path(name).is_absolute() or not path.is_relative_to(folder):
        raise ValueError(
            f"name must be a file name inside the figures folder ({folder}), such as 'imagenet/fireboat'; "
            f"got {name!r}, which would be written to {path}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
    return f"figures/{name}.png"


# ------------------------------------------------------------ the paper's image visualization
def attribution_mask(attributions: "Tensor | np.ndarray", clip_percentile: float = 99.0) -> np.ndarray:
    """The paper's pixel importance: m = sum_c |a_c| over colour channels, divided by its
    ``clip_percentile``-th percentile and clipped to [0, 1]. Attributions [3, H, W] or [1, 3, H, W]
    (channels first, as the model takes them) -> mask [H, W] (float64, max 1 unless all zero)."""
    a = np.asarray(attributions.detach().cpu() if hasattr(attributions, "detach") else attributions, dtype=np.float64)
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 3:
        raise ValueError(f"attributions must be [C, H, W] or [1, C, H, W], got shape {a.shape}")
    if not 0 < clip_percentile <= 100:
        raise ValueError(f"clip_percentile must be in (0, 100], got {clip_percentile}")
    m = np.abs(a).sum(axis=0)
    top = np.percentile(m, clip_percentile)
    if top <= 0:
        top = m.max()
    return np.clip(m / top, 0.0, 1.0) if top > 0 else np.zeros_like(m)


def _image_and_mask(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    image, mask = np.asarray(image, dtype=np.float64), np.asarray(mask, dtype=np.float64)
    if image.ndim != 3 or image.shape[-1] != 3 or mask.shape != image.shape[:2]:
        raise ValueError(f"image must be [H, W, 3] and mask [H, W] of the same size; got {image.shape} and {mask.shape}")
    return image, mask


def soft_window(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The paper's picture: the image [H, W, 3] in [0, 1] times the mask, so unimportant pixels go dark."""
    image, mask = _image_and_mask(image, mask)
    return image * mask[..., None]


def overlay(image: np.ndarray, mask: np.ndarray, color: tuple[float, float, float] = (1.0, 0.35, 0.0),
            dim: float = 0.35) -> np.ndarray:
    """The mask painted in ``color`` over a dimmed grey copy of the image (each pixel mixes
    grey * dim and the colour by the mask's value), so both the object and the attribution show."""
    image, mask = _image_and_mask(image, mask)
    grey = image.mean(axis=-1, keepdims=True) * dim
    return (1 - mask[..., None]) * grey + mask[..., None] * np.asarray(color)


def attribution_grid(rows: "list[tuple[np.ndarray, dict, str]]", clip_percentile: float = 99.0,
                     with_overlay: bool = False, panel: float = 2.1) -> Figure:
    """One row per image: the image, then each named attribution as the paper's soft window
    (and, with ``with_overlay``, as an overlay after it). ``rows``: (image [H, W, 3] in [0, 1],
    {name: attributions [3, H, W]}, row title)."""
    import matplotlib.pyplot as plt

    if not rows:
        raise ValueError("rows must hold at least one (image, {name: attributions}, title)")
    per = 1 + max(len(r[1]) for r in rows) * (2 if with_overlay else 1)
    fig, axes = plt.subplots(len(rows), per, figsize=(panel * per, panel * len(rows) + 0.3), squeeze=False)
    for ax_row, (image, attributions, title) in zip(axes, rows):
        ax_row[0].imshow(image)
        ax_row[0].set_title(title, fontsize=8)
        k = 1
        for name, a in attributions.items():
            mask = attribution_mask(a, clip_percentile)
            ax_row[k].imshow(soft_window(image, mask))
            ax_row[k].set_title(name, fontsize=8)
            k += 1
            if with_overlay:
                ax_row[k].imshow(overlay(image, mask))
                ax_row[k].set_title(f"{name} (overlay)", fontsize=8)
                k += 1
        for ax in ax_row:
            ax.set_axis_off()
    fig.tight_layout()
    return fig


def _channel_sum(a: "Tensor | np.ndarray", absolute: bool) -> np.ndarray:
    a = np.asarray(a.detach().cpu() if hasattr(a, "detach") else a, dtype=np.float64)
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 3:
        raise ValueError(f"attributions must be [C, H, W] or [1, C, H, W], got shape {a.shape}")
    return np.abs(a).sum(axis=0) if absolute else a.sum(axis=0)


def attribution_comparison(image: np.ndarray, maps: "dict[str, Tensor | np.ndarray]", title: str = "",
                           own_scale: "tuple[str, ...]" = (), clip_percentile: float = 99.5,
                           panel: float = 2.8) -> Figure:
    """Several attributions of one image on ONE colour scale, so their sizes can be compared.

    Top row: the signed map (sum over colour channels) in :data:`DIVERGING`, centred on zero (red =
    positive credit); bottom row: the magnitude (sum of |a| over channels) in :data:`SEQUENTIAL`. Both
    rows share one limit, the ``clip_percentile`` of the largest map, with a colourbar. Maps named in
    ``own_scale`` (a gradient, whose units are not the score's) get their own limit and colourbar.
    ``maps``: {title: attributions [3, H, W]}; put the sums that matter in the titles.
    """
    import matplotlib.pyplot as plt

    if not maps:
        raise ValueError("maps must hold at least one {title: attributions}")
    unknown = set(own_scale) - set(maps)
    if unknown:
        raise ValueError(f"own_scale names {sorted(unknown)}, which are not among the maps {list(maps)}")
    signed = {name: _channel_sum(a, absolute=False) for name, a in maps.items()}
    magnitude = {name: _channel_sum(a, absolute=True) for name, a in maps.items()}

    def limit(names, values):
        top = max((np.percentile(np.abs(values[n]), clip_percentile) for n in names), default=0.0)
        return top if top > 0 else 1.0

    shared = [n for n in maps if n not in own_scale]
    limits = {n: (limit(shared, signed), limit(shared, magnitude)) for n in shared}
    limits.update({n: (limit([n], signed), limit([n], magnitude)) for n in own_scale})
    cols = 1 + len(maps)
    fig, axes = plt.subplots(2, cols, figsize=(panel * cols + 0.8, 2 * panel + 0.6), squeeze=False)
    axes[0, 0].imshow(image)
    axes[0, 0].set_title(title, fontsize=9)
    axes[1, 0].set_visible(False)
    last_shared = shared[-1] if shared else None
    for k, name in enumerate(maps, start=1):
        top_limit, bottom_limit = limits[name]
        top = axes[0, k].imshow(signed[name], cmap=DIVERGING, vmin=-top_limit, vmax=top_limit)
        bottom = axes[1, k].imshow(magnitude[name], cmap=SEQUENTIAL, vmin=0, vmax=bottom_limit)
        axes[0, k].set_title(name, fontsize=9)
        axes[1, k].set_title("|" + name.split("\n")[0] + "|", fontsize=9)
        if name == last_shared or name in own_scale:
            what = "own scale" if name in own_scale else "shared scale"
            fig.colorbar(top, ax=axes[0, k], fraction=0.046, pad=0.03, label=f"sum over channels ({what})")
            fig.colorbar(bottom, ax=axes[1, k], fraction=0.046, pad=0.03, label=f"sum of |a| ({what})")
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].set_axis_off()
    fig.tight_layout()
    return fig
