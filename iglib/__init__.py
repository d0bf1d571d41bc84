"""iglib: Integrated Gradients you can run (Sundararajan, Taly and Yan, ICML 2017).

- ``integrated_gradients``: IG along the straight line (a drop-in for Captum's).
- ``path_integrated_gradients``, ``axis_parallel_path``, ``shapley_values``: path methods.
- ``exact_integrated_gradients``: exact IG for piecewise-linear networks.
- the methods IG is judged against: ``gradient``, ``gradient_x_input``, ``deconvnet``,
  ``guided_backprop``, ``deeplift``, ``lrp``, ``smoothgrad``, ``expected_gradients``.
- ``interior_gradients``: F and dF/dx along IG's path (saturation, and IG from the same evaluations).
- ``axioms``: executable checks; ``toys``: the paper's counterexample networks.
- ``baselines``: image baselines; ``imagenet``: the ImageNet classifier and its images.
- ``lime``, ``surrogate`` (imported on demand, they need scikit-learn): the model-agnostic
  methods set beside IG in notebook 11.
"""
from . import axioms, baselines, data, imagenet, quadrature, settings, toys, viz
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

__all__ = [
    "integrated_gradients",
    "interior_gradients",
    "path_integrated_gradients",
    "straight_line",
    "axis_parallel_path",
    "shapley_values",
    "exact_integrated_gradients",
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
