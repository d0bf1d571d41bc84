"""The axiom widget and verdict grid (iglib.widgets.axioms); the text reports (iglib.checks.report)
are tested in tests/test_axioms.py.

Ground truths are the paper's closed-form counterexamples (ig-reference.md section 3):
gradient 0 on 1 - ReLU(1 - x) at x = 2; DeConvNet gives x2 exactly 0 on f;
DeepLIFT (1.5, -0.5) for f and (2, -1) for g; gradient x input (3, -1), summing to 2.
"""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from iglib import viz
from iglib.checks import axioms
from iglib.checks.axioms import COMPLETENESS, IMPLEMENTATION_INVARIANCE, LINEARITY, SENSITIVITY_A, SENSITIVITY_B
from iglib.checks.report import result_of, witness_index
from iglib.widgets.axioms import axiom_widget, verdict_grid

from test_axioms import REPORT_METHODS, ROUGH  # the same methods as the text reports' tests

matplotlib.use("Agg")

METHODS = REPORT_METHODS


@pytest.fixture(scope="module")
def table():
    return axioms.axiom_table(METHODS)


@pytest.fixture(scope="module")
def widget(table):
    return axiom_widget(table, rough=ROUGH)


def test_initial_draw_is_the_gradients_sensitivity_failure(widget):
    last = widget.last  # first attribution method, first witness: 1 - ReLU(1 - x) at x = 2 from 0
    assert last["attribution_method"] == "gradient" and last["axiom"] == SENSITIVITY_A
    assert last["case"].startswith("F(x) = 1 - ReLU(1 - x)")
    assert last["holds"] is False and last["attributions"] == (0.0,) and last["compared"] is None
    assert last["verdicts"] == {
        "gradient": False, "gradient x input": False, "DeConvNet": False,
        "DeepLIFT": True, "expected gradients": True, "IG": True,
    }
    assert plt.get_fignums() == []


def test_dropdowns_pick_the_precomputed_result(widget, table):
    deconv_x2 = witness_index(table, SENSITIVITY_A, 2)  # f at (3, 1) from (3, 0): only x2 changes
    widget.sliders["attribution_method"].value = "DeConvNet"
    widget.sliders["witness"].value = deconv_x2
    last = widget.last
    assert last["axiom"] == SENSITIVITY_A and last["holds"] is False
    assert last["attributions"] == (1.0, 0.0)  # x2 exactly 0 although F falls by 1

    widget.sliders["attribution_method"].value = "DeepLIFT"
    widget.sliders["witness"].value = witness_index(table, IMPLEMENTATION_INVARIANCE)
    last = widget.last
    assert last["holds"] is False
    assert last["attributions"] == pytest.approx((1.5, -0.5), abs=1e-12)
    assert last["compared"] == pytest.approx((2.0, -1.0), abs=1e-12)

    widget.sliders["attribution_method"].value = "IG"
    assert widget.last["holds"] is True
    assert widget.last["attributions"] == pytest.approx(widget.last["compared"], abs=1e-12)
    assert widget.last["attributions"] == pytest.approx((1.5, -0.5), abs=1e-9)

    widget.sliders["attribution_method"].value = "gradient x input"
    widget.sliders["witness"].value = witness_index(table, COMPLETENESS, 1)
    last = widget.last
    assert last["attributions"] == (3.0, -1.0) and last["sum"] == 2.0 and last["delta_f"] == 1.0
    assert last["holds"] is False and last["compared"] is None

    widget.sliders["attribution_method"].value = "DeConvNet"
    widget.sliders["witness"].value = witness_index(table, LINEARITY)
    assert widget.last["attributions"] == (2.0, 0.0) and widget.last["compared"] == (1.0, -1.0)
    assert plt.get_fignums() == []


def test_every_verdict_shown_is_the_tables(widget, table):
    for k, case in enumerate(table.results[i].witness["case"] for i in range(len(axioms.paper_witnesses()))):
        widget.sliders["witness"].value = k
        axiom = widget.last["axiom"]
        assert widget.last["case"] == case
        for m, shown in widget.last["verdicts"].items():
            assert shown == result_of(table, m, axiom, case).holds


def test_verdict_grid_symbols_colours_counts_and_footnotes(table):
    note = "holds on this witness; another network breaks it"
    footnotes = {("gradient", IMPLEMENTATION_INVARIANCE): note, ("DeepLIFT", SENSITIVITY_B): note}
    fig = verdict_grid(table, footnotes=footnotes)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert len(texts) == len(table.attribution_methods) * len(table.axioms)
    row = texts[table.attribution_methods.index("gradient") * len(table.axioms):][: len(table.axioms)]
    assert row[table.axioms.index(SENSITIVITY_A)] == "\u2717 2/3"          # ✗, failing witnesses of all
    assert row[table.axioms.index(IMPLEMENTATION_INVARIANCE)] == "\u2713\u00b9"   # ✓ with footnote 1
    assert all(t == "\u2713" for t in texts[-len(table.axioms):])  # IG keeps every axiom, no footnote
    assert "\u00b9 " + note in fig.axes[0].get_title(loc="left") and "\u00b2" not in "".join(texts)  # one note, once
    okabe_ito = {tuple(np.round(matplotlib.colors.to_rgb(c), 3)) for c in viz.QUALITATIVE}
    assert {tuple(np.round(matplotlib.colors.to_rgb(c), 3)) for c in fig.axes[0].images[0].cmap.colors} <= okabe_ito
    plt.close(fig)
    with pytest.raises(ValueError, match="not in the table"):
        verdict_grid(table, footnotes={("saliency", SENSITIVITY_A): note})


def test_bad_arguments(table):
    with pytest.raises(ValueError, match="attribution_method must be one of .*; got 'saliency'"):
        axiom_widget(table, attribution_method="saliency")
    # ``method`` is a quadrature rule everywhere in iglib, never an attribution method
    with pytest.raises(TypeError, match="unexpected keyword argument 'method'"):
        axiom_widget(table, method="DeepLIFT")
    with pytest.raises(ValueError, match="witness must be an index"):
        axiom_widget(table, witness=99)
