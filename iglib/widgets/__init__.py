"""Sliders that redraw a figure: the one pattern every notebook widget uses.

Expensive work happens before the widget is built, by functions of the modules the work belongs
to (``iglib.interior``, ``iglib.paths``, ``iglib.checks``, ...): a widget module only draws and wires
sliders. Moving a slider only calls ``draw``, which indexes precomputed arrays, draws with
matplotlib and returns the numbers it showed.
A factory returns a :class:`SliderFigure`, so a test can set ``sliders[name].value`` and
read ``last`` (what the callback drew) without a browser.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt


@dataclass
class SliderFigure:
    """The widget to display, its sliders by name, and what the last redraw showed."""

    widget: widgets.Widget
    sliders: dict[str, widgets.ValueWidget]
    update: Callable[..., dict]
    last: dict = field(default_factory=dict)

    def _ipython_display_(self) -> None:  # display(sf) shows the widget
        from IPython.display import display

        display(self.widget)


def slider_figure(draw: Callable[..., dict], **sliders: widgets.ValueWidget) -> SliderFigure:
    """Wire ``sliders`` to ``draw(**values) -> dict`` through ``interactive_output``.

    ``draw`` makes its own figure; after it returns, the figure is shown (inline backend)
    and closed. The dict it returns is kept in ``SliderFigure.last``. A notebook that reads
    several positions calls ``update(show=False, **values)`` for those it does not draw.
    """
    if "show" in sliders:
        raise ValueError("sliders must not include one named 'show': update(show=...) decides whether a frame is drawn")
    result = SliderFigure(widget=widgets.VBox(), sliders=dict(sliders), update=lambda **v: {})

    def update(show: bool = True, **values: Any) -> dict:
        shown = draw(**values)
        if show:
            plt.show()
        plt.close("all")
        result.last = dict(shown or {})
        return result.last

    result.update = update
    output = widgets.interactive_output(update, sliders)
    result.widget = widgets.VBox([widgets.HBox(list(sliders.values())), output])
    return result
