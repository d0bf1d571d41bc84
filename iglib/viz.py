"""Figures: saving them deterministically, and the paper's visualization of image attributions."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from torch import Tensor


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
