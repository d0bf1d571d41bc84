"""iglib: Integrated Gradients you can run (Sundararajan, Taly and Yan, ICML 2017).

- ``integrated_gradients``: IG along the straight line (a drop-in for Captum's);
  ``adaptive_integrated_gradients``: IG with nodes placed where the integrand changes.
- ``path_integrated_gradients``, ``axis_parallel_path``, ``shapley_values``: path methods.
- ``exact_integrated_gradients``: exact IG for piecewise-linear networks.
- beyond the straight line: ``guided_integrated_gradients`` (a path guided by the gradients),
  ``blur_integrated_gradients`` (the path through the Gaussian scale-space);
  ``integrated_hessians``: the interaction of every pair of features, rows summing to IG.
- the methods IG is judged against: ``gradient``, ``gradient_x_input``, ``deconvnet``,
  ``guided_backprop``, ``deeplift``, ``lrp``, ``smoothgrad``, ``expected_gradients``.
- ``interior_gradients``: F and dF/dx along IG's path (saturation, and IG from the same evaluations).
- ``axioms``: executable checks; ``toys``: the paper's counterexample networks.
- ``baselines``: image baselines; ``imagenet``: the ImageNet classifier and its images.
- ``lime``, ``surrogate`` (imported on demand, they need scikit-learn): the model-agnostic
  methods set beside IG in notebook 11.

The package is laid out by role, each layer importing only the ones before it: the equation and
its plumbing at the top (``integrated_gradients``, ``quadrature``, ``forward``, ``paths``, ...);
``variants/`` (Guided IG, Blur IG, Integrated Hessians); ``methods/`` (what IG is compared with);
``checks/`` (axioms, faithfulness, sanity); ``experiments/`` (ImageNet, text); ``widgets/``;
``apps/`` (the runner, at-scale IG, slides). The names above are the public API.

Every public function takes ``model`` first (an ``nn.Module`` or any callable) and checks its
arguments in one place (:mod:`iglib.arguments`). ``import iglib`` does not import matplotlib:
``iglib.viz``, ``iglib.imagenet`` and ``iglib.data`` load on first use.
"""
from __future__ import annotations

import importlib
from typing import Any

from . import baselines, quadrature, settings, toys
from .adaptive import adaptive_integrated_gradients
from .checks import axioms
from .exact import breakpoints, exact_integrated_gradients
from .integrated_gradients import integrated_gradients
from .interior import interior_gradients
from .methods import (
    deconvnet,
    deeplift,
    expected_gradients,
    gradient,
    gradient_x_input,
    guided_backprop,
    lrp,
    smoothgrad,
)
from .paths import axis_parallel_path, path_integrated_gradients, shapley_values, straight_line
from .variants.blur_ig import blur_integrated_gradients
from .variants.guided_ig import guided_integrated_gradients
from .variants.integrated_hessians import integrated_hessians

_ON_DEMAND = {"viz": ".viz", "data": ".data", "imagenet": ".experiments.imagenet",
              "lime": ".methods.lime", "surrogate": ".methods.surrogate"}


def __getattr__(name: str) -> Any:
    """``iglib.viz`` (matplotlib), ``iglib.imagenet``, ``iglib.data``, ``iglib.lime`` and
    ``iglib.surrogate`` (scikit-learn) are imported on first use."""
    if name in _ON_DEMAND:
        return importlib.import_module(_ON_DEMAND[name], __name__)
    raise AttributeError(f"module 'iglib' has no attribute {name!r}")


__all__ = [
    "integrated_gradients",
    "adaptive_integrated_gradients",
    "interior_gradients",
    "path_integrated_gradients",
    "straight_line",
    "axis_parallel_path",
    "shapley_values",
    "exact_integrated_gradients",
    "guided_integrated_gradients",
    "blur_integrated_gradients",
    "integrated_hessians",
    "breakpoints",
    "gradient",
    "gradient_x_input",
    "deconvnet",
    "guided_backprop",
    "deeplift",
    "lrp",
    "smoothgrad",
    "expected_gradients",
    "axioms",
    "baselines",
    "imagenet",
    "toys",
    "data",
    "quadrature",
    "settings",
    "viz",
]
