"""Figures: one helper that saves the figures reproducing the paper's, deterministically."""
from __future__ import annotations

import os
from pathlib import Path

from matplotlib.figure import Figure


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
    name = name.removesuffix(".png")
    path = figures_dir() / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
    return f"figures/{name}.png"
