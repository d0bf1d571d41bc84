"""iglib: Integrated Gradients you can run (Sundararajan, Taly and Yan, ICML 2017)."""
from .integrated_gradients import integrated_gradients
from .paths import axis_parallel_path, path_integrated_gradients, shapley_values, straight_line
from . import data, quadrature, settings, viz

__all__ = [
    "integrated_gradients",
    "path_integrated_gradients",
    "straight_line",
    "axis_parallel_path",
    "shapley_values",
    "data",
    "quadrature",
    "settings",
    "viz",
]
