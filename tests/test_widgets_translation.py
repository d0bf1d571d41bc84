"""The output-token slider, driven without a browser: set the sliders, read what was drawn."""
import matplotlib
import pytest
import torch

from iglib.experiments.text.translation import AttributionMatrix
from iglib.widgets.translation import output_token_widget

matplotlib.use("Agg")


def _matrix(source, output, values):
    m = torch.tensor(values, dtype=torch.float32)
    z = torch.zeros(len(output))
    return AttributionMatrix(list(source), list(output), m, m.sum(1), z, z)


def test_slider_shows_the_row_of_the_chosen_output_token():
    a = _matrix(["good", "morning"], ["guten", "morgen", "."], [[2.0, 0.5], [0.1, 3.0], [0.4, -0.2]])
    b = _matrix(["i", "like", "cats", "."], ["ich", "mag"], [[1.0, 0, 0, 0], [0, 2.0, 0.5, 0]])
    view = output_token_widget([a, b], ["first", "second"])
    assert view.last["sentence"] == "first" and view.last["output token"] == "guten"
    assert view.last["top source"] == "good" and view.last["scores"] == pytest.approx([2.0, 0.5])
    view.sliders["output"].value = 1
    assert view.last["output token"] == "morgen" and view.last["top source"] == "morning"
    assert view.last["sum"] == pytest.approx(3.1)
    view.sliders["output"].value = 2
    assert view.last["position"] == 2 and view.last["output token"] == "."
    view.sliders["sentence"].value = 1  # position 2 is past the end of the second sentence: its last token
    assert view.last["sentence"] == "second" and view.last["position"] == 1
    assert view.last["top source"] == "like" and view.last["scores"] == pytest.approx([0, 2.0, 0.5, 0])
    assert view.sliders["output"].max == 2  # the longest output has 3 tokens


def test_widget_checks_its_arguments():
    a = _matrix(["x"], ["y"], [[1.0]])
    with pytest.raises(ValueError, match="at least one"):
        output_token_widget([])
    with pytest.raises(ValueError, match="names must name each"):
        output_token_widget([a], ["a", "b"])
    assert output_token_widget([a]).last["sentence"] == "x"
