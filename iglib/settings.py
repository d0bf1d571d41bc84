"""Run settings read from the environment: the mode (fast or full) and the device.

``IGLIB_MODE=fast`` is what a laptop CPU finishes in about a minute per notebook (fewer
images, fewer steps, smaller text models, still the real model and data); ``full`` is the
paper-scale run on a GPU. Default: ``full`` when a CUDA device is present, else ``fast``.
Both modes run the same code; only the parameters differ (see :func:`pick`).
"""
from __future__ import annotations

import os
from typing import TypeVar

import torch

T = TypeVar("T")
MODES = ("fast", "full")


def mode() -> str:
    """``IGLIB_MODE`` if set (``fast`` or ``full``), else ``full`` with CUDA and ``fast`` without."""
    value = os.environ.get("IGLIB_MODE", "").strip().lower()
    if not value:
        return "full" if torch.cuda.is_available() else "fast"
    if value not in MODES:
        raise ValueError(f"IGLIB_MODE must be 'fast' or 'full', got {value!r}")
    if value == "full" and not torch.cuda.is_available() and os.environ.get("IGLIB_FULL_ON_CPU") != "1":
        raise RuntimeError(
            "IGLIB_MODE=full is the paper-scale run (all 62 images, 300 steps, the larger text models) and "
            "expects a CUDA GPU, but torch sees none (torch.cuda.is_available() is False). Fix: unset IGLIB_MODE "
            "or set IGLIB_MODE=fast for the laptop-sized run, or set IGLIB_FULL_ON_CPU=1 to run full mode on "
            "this CPU anyway (hours, not minutes).")
    return value


def pick(fast: T, full: T) -> T:
    """The parameter for the current mode: ``pick(fast=64, full=300)``."""
    return full if mode() == "full" else fast


def device() -> torch.device:
    """cuda when available, else cpu; every model and tensor of the notebooks goes through it."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
