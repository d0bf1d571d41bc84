"""The axiom table, shown: a coloured grid of verdicts and a widget.

Everything here reads an :class:`iglib.axioms.AxiomTable` that was computed once
(``iglib.axioms.axiom_table(attribution_methods)``); nothing is recomputed. The same table as
text (per-axiom reports, violations, a Markdown table) is :mod:`iglib.checks.report`.

- ``verdict_grid(table, footnotes)``: attribution methods x axioms as a figure, "✓" where the axiom
  held on every witness and "✗ k/n" (failing witnesses) where it did not, in colour-blind-safe
  Okabe-Ito blue and vermillion; ``footnotes`` marks verdicts that depend on the witness (a "✓" that
  another network refutes) with a numbered note (the cells of
  :func:`iglib.checks.report.verdict_markdown`).
- ``axiom_widget(table)``: dropdowns for an attribution method and a witness; bars of its
  attributions on the witness, the verdict, and every attribution method's verdict on the same witness.

Numbers are rounded as in :mod:`iglib.checks.report` (``digits``, and ``rough_digits`` for the
seeded Monte-Carlo estimates listed in ``rough``).
"""
from __future__ import annotations

import textwrap
from typing import Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from ..checks.axioms import (
    COMPLETENESS,
    IMPLEMENTATION_INVARIANCE,
    LINEARITY,
    SENSITIVITY_A,
    SENSITIVITY_B,
    AxiomResult,
    AxiomTable,
)
from ..checks.report import (
    HOLDS_MARK,
    VIOLATED_MARK,
    digits_for,
    format_number,
    result_of,
    round_numbers,
    verdict_cells,
    witness_cases,
)
from ..viz import QUALITATIVE
from . import SliderFigure, slider_figure

# Okabe-Ito blue and vermillion: told apart with every common colour-vision deficiency, and the
# verdicts also carry the symbols, so colour is never the only cue.
HOLDS, VIOLATED = QUALITATIVE[0], QUALITATIVE[5]


# ---------------------------------------------------------------- the grid
def verdict_grid(table: AxiomTable, footnotes: "dict[tuple[str, str], str] | None" = None) -> Figure:
    """Attribution methods (rows) x axioms (columns): a blue "✓" where the axiom held on every witness,
    a vermillion "✗ k/n" (k of the n witnesses failed) where it did not; verdicts named in
    ``footnotes`` ({(attribution method, axiom): note}) get a mark and their note under the grid."""
    names, axioms = table.attribution_methods, table.axioms
    cells, notes = verdict_cells(table, footnotes)
    held = np.array([[table.holds(m, a) for a in axioms] for m in names], dtype=float)
    fig, ax = plt.subplots(figsize=(1.55 * len(axioms) + 2.2, 0.5 * len(names) + 1.6 + 0.22 * len(notes)))
    ax.imshow(held, cmap=ListedColormap([VIOLATED, HOLDS]), vmin=0, vmax=1, aspect="auto")
    for i, row in enumerate(cells):
        for j, text in enumerate(row):
            ax.text(j, i, text, ha="center", va="center", fontsize=12, color="white", weight="bold")
    ax.set_xticks(range(len(axioms)), [a.replace(" ", "\n", 1) for a in axioms], fontsize=9)
    ax.set_yticks(range(len(names)), names, fontsize=9)
    ax.tick_params(top=True, bottom=False, labeltop=True, labelbottom=False, length=0)
    ax.set_xticks(np.arange(len(axioms) + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(len(names) + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=2)
    ax.tick_params(which="minor", length=0)
    caption = [f"{HOLDS_MARK}: held on every witness tried;  {VIOLATED_MARK} k/n: failed on k of the n witnesses"]
    ax.set_title("\n".join(caption + notes), fontsize=9, pad=12, y=-0.1 - 0.05 * len(notes), loc="left")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- the widget
def _bars(result: AxiomResult) -> tuple[list[str], list[float], list[float] | None, str | None]:
    """Labels, the attribution method's attributions, the compared bars (or None) and their legend."""
    w = result.witness
    a = w["attributions"][0].reshape(-1).tolist()
    labels = [f"x{k + 1}" for k in range(len(a))]
    if result.axiom == IMPLEMENTATION_INVARIANCE:
        return labels, a, w["attributions_g"][0].reshape(-1).tolist(), "for g"
    if result.axiom == LINEARITY:
        return labels, a, w["combined"][0].reshape(-1).tolist(), "a A(f1) + b A(f2)"
    if result.axiom == COMPLETENESS:
        return labels + ["sum"], a + [float(w["sum"][0])], [float("nan")] * len(a) + [float(w["delta_f"][0])], "F(x) - F(x')"
    return labels, a, None, None


def _marked(result: AxiomResult) -> int | None:
    """The feature the axiom is about: the changed one (Sensitivity(a)) or the dummy (Sensitivity(b))."""
    if result.axiom == SENSITIVITY_A:
        return int(result.witness["feature"][0])
    if result.axiom == SENSITIVITY_B:
        return int(result.witness["dummy"])
    return None


def axiom_widget(
    table: AxiomTable,
    attribution_method: str | None = None,
    witness: int = 0,
    rough: Sequence[str] = (),
    digits: int = 4,
    rough_digits: int = 3,
) -> SliderFigure:
    """Dropdowns ``attribution_method`` (the table's attribution methods) and ``witness``
    (index into the table's (axiom, witness) pairs, labelled "axiom: witness").

    ``draw`` shows the attribution method's attributions on the witness as bars (beside g's
    for implementation invariance, beside a A(f1) + b A(f2) for linearity, the sum beside
    F(x) - F(x') for completeness), the verdict and reason in the title, and every attribution
    method's verdict on that witness. Returns {"attribution_method", "axiom", "case", "holds",
    "reason", "attributions", "compared" (g's attributions, or a A(f1) + b A(f2); else None),
    "verdicts": {attribution method: holds}}, and for completeness also "sum" and "delta_f".
    """
    names, cases = table.attribution_methods, witness_cases(table)
    if not names:
        raise ValueError("the table is empty")
    attribution_method = names[0] if attribution_method is None else attribution_method
    if attribution_method not in names:
        raise ValueError(f"attribution_method must be one of {names}; got {attribution_method!r}")
    if not 0 <= witness < len(cases):
        raise ValueError(f"witness must be an index in 0..{len(cases) - 1}; got {witness}")
    limits = {}
    for axiom, case in cases:  # one y-scale per witness, so switching attribution methods keeps it
        values = np.concatenate([np.nan_to_num(np.r_[b[1], b[2] or []]) for b in
                                 (_bars(result_of(table, m, axiom, case)) for m in names)])
        limits[axiom, case] = 1.15 * max(float(np.abs(values).max()), 1e-9)

    def draw(attribution_method: str, witness: int) -> dict:
        axiom, case = cases[witness]
        r = result_of(table, attribution_method, axiom, case)
        d = digits_for(attribution_method, rough, digits, rough_digits)
        labels, a, compared, legend = _bars(r)
        verdicts = {m: result_of(table, m, axiom, case).holds for m in names}
        fig, (ax, side) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw=dict(width_ratios=(3, 1.2)))
        pos = np.arange(len(labels))
        shift = 0.2 if compared is not None else 0.0
        colours = ["tab:blue"] * len(labels)
        mark = _marked(r)
        if mark is not None:
            colours[mark] = "tab:purple"
        ax.bar(pos - shift, a, width=0.4 if shift else 0.6, color=colours, label=attribution_method)
        if compared is not None:
            ax.bar(pos + shift, compared, width=0.4, color="tab:orange", label=legend)
            ax.legend(fontsize=8, loc="upper right")
        for x, v in zip(pos - shift, a):
            ax.annotate(format_number(v, d), (x, v), ha="center", va="bottom" if v >= 0 else "top", fontsize=8)
        if mark is not None:
            labels[mark] += "\n(the only feature that changes)" if axiom == SENSITIVITY_A else "\n(F ignores it)"
        if axiom == SENSITIVITY_A:
            ax.axhline(float(r.witness["delta_f"][0]), color="tab:gray", ls="--", lw=1, label="F(x) - F(x')")
            ax.legend(fontsize=8, loc="upper right")
        ax.axhline(0, color="black", lw=0.6)
        ax.set_xticks(pos, labels)
        ax.set_ylim(-limits[axiom, case], limits[axiom, case])
        ax.set_ylabel("attribution")
        verdict = "holds" if r.holds else "VIOLATED"
        ax.set_title(f"{axiom} {verdict} for {attribution_method}\n{case}", fontsize=10,
                     color=HOLDS if r.holds else VIOLATED)
        ax.set_xlabel(textwrap.fill(round_numbers(r.reason, d), 80), fontsize=8)
        side.set_axis_off()
        side.set_title("every method on this witness", fontsize=9)
        for k, m in enumerate(names):
            y = 1 - (k + 0.5) / len(names)
            side.text(0.02, y, m, fontsize=9, va="center", weight="bold" if m == attribution_method else "normal")
            side.text(0.98, y, f"{HOLDS_MARK} holds" if verdicts[m] else f"{VIOLATED_MARK} violated", fontsize=9, va="center", ha="right",
                      color=HOLDS if verdicts[m] else VIOLATED, weight="bold")
        fig.tight_layout()
        return {
            "attribution_method": attribution_method,
            "axiom": axiom,
            "case": case,
            "holds": r.holds,
            "reason": r.reason,
            "attributions": tuple(float(v) for v in r.witness["attributions"][0].reshape(-1)),
            "compared": None if axiom == COMPLETENESS or compared is None else tuple(float(v) for v in compared),
            **({"sum": float(r.witness["sum"][0]), "delta_f": float(r.witness["delta_f"][0])}
               if axiom == COMPLETENESS else {}),
            "verdicts": verdicts,
        }

    sliders = {
        "attribution_method": widgets.Dropdown(options=names, value=attribution_method, description="attribution",
                                               style={"description_width": "initial"}),
        "witness": widgets.Dropdown(
            options=[(f"{a}: {c}", k) for k, (a, c) in enumerate(cases)], value=witness, description="witness",
            layout=widgets.Layout(width="560px"),
        ),
    }
    return slider_figure(draw, **sliders)
