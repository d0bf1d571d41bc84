"""Progress bars for the long loops (IG over many images, training), quiet where nobody watches.

``progress(iterable)`` is ``tqdm.auto.tqdm``: a bar widget in JupyterLab, a text bar in a
terminal. It is switched off when ``IGLIB_PROGRESS=0``, and by default when ``CI`` is set,
so CI logs stay readable. The collection's runner and the test suite set ``IGLIB_PROGRESS=0``
for the kernels they start: committed notebook outputs, and the outputs nbval compares with
them, never hold a bar (whose text changes with every run).
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def shown() -> bool:
    """``IGLIB_PROGRESS`` if set (``0`` or ``1``), else on unless ``CI`` is set."""
    value = os.environ.get("IGLIB_PROGRESS", "").strip()
    if value not in ("", "0", "1"):
        raise ValueError(f"IGLIB_PROGRESS must be '0' or '1', got {value!r}")
    if value:
        return value == "1"
    return not os.environ.get("CI")


def progress(iterable: Iterable[T] | None, desc: str | None = None, total: int | None = None,
             hide: bool = False, **kwargs) -> Iterable[T]:
    """``iterable``, drawing a progress bar labelled ``desc`` while it is consumed (if :func:`shown` and
    not ``hide``). With ``iterable=None``, a bar of ``total`` steps advanced by its ``update(n)``."""
    return tqdm(iterable, desc=desc, total=total, disable=hide or not shown(), **kwargs)
