"""The axiom table, shown: per-axiom reports, a coloured grid of verdicts, and a widget.

Everything here reads an :class:`iglib.axioms.AxiomTable` that was computed once
(``iglib.axioms.axiom_table(attribution_methods)``); nothing is recomputed.

- ``result_of(table, attribution_method, axiom, witness)``: one check's result (verdict, reason, numbers).
- ``axiom_report(table, axiom)``: for each witness of the axiom, one line per attribution method with
  its attributions, the number the axiom compares them with, and the verdict.
- ``violations_report(table)``: every violation with its witness and reason (long: one paragraph each).
- ``violations_summary(table)``: the same, compact: one line per attribution method, each broken axiom
  with its failing witnesses "k of n".
- ``verdict_grid(table, footnotes)`` / ``verdict_markdown(table, footnotes)``: attribution methods x
  axioms as a figure / a Markdown table, "✓" where the axiom held on every witness and "✗ k/n" (failing
  witnesses) where it did not, in colour-blind-safe Okabe-Ito blue and vermillion; ``footnotes`` marks
  verdicts that depend on the witness (a "✓" that another network refutes) with a numbered note.
- ``axiom_widget(table)``: dropdowns for an attribution method and a witness; bars of its
  attributions on the witness, the verdict, and every attribution method's verdict on the same witness.

Numbers are printed with ``digits`` significant digits; attribution methods listed in ``rough``
(seeded Monte-Carlo estimates such as SmoothGrad or expected gradients) get ``rough_digits``.
"""
from __future__ import annotations

import re
import textwrap
from typing import Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from torch import Tensor

from ..checks.axioms import (
    AXIOMS,
    COMPLETENESS,
    IMPLEMENTATION_INVARIANCE,
    LINEARITY,
    SENSITIVITY_A,
    SENSITIVITY_B,
    AxiomResult,
    AxiomTable,
)
from ..viz import QUALITATIVE
from . import SliderFigure, slider_figure

# Okabe-Ito blue and vermillion: told apart with every common colour-vision deficiency, and the
# verdicts also carry the symbols, so colour is never the only cue.
HOLDS, VIOLATED = QUALITATIVE[0], QUALITATIVE[5]
HOLDS_MARK, VIOLATED_MARK = "\u2713", "\u2717"  # ✓, ✗
SUPERSCRIPTS = "\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"  # ¹ ... ⁹ for footnote marks

# What each axiom compares the attributions with: (column header, key in result.witness).
COMPARED: dict[str, tuple[str, str]] = {
    SENSITIVITY_A: ("a_k (changed feature)", "attribution_of_feature"),
    SENSITIVITY_B: ("a_k (dummy feature)", "attribution_of_dummy"),
    IMPLEMENTATION_INVARIANCE: ("attributions for g", "attributions_g"),
    COMPLETENESS: ("sum_i a_i", "sum"),
    LINEARITY: ("a A(f1) + b A(f2)", "combined"),
}


# ---------------------------------------------------------------- numbers as text
def _number(v: float, digits: int) -> str:
    """``v`` with ``digits`` significant digits; |v| < 1e-12 (float residue) and -0 print as 0."""
    return "0" if abs(v) < 1e-12 else f"{v:.{digits}g}"


def _vector(t: Tensor | float, digits: int) -> str:
    """One example's numbers: a plain number for one value, else ``(a1, a2, ...)``."""
    values = t.detach().cpu().reshape(-1).tolist() if isinstance(t, Tensor) else [float(t)]
    if len(values) == 1:
        return _number(values[0], digits)
    return "(" + ", ".join(_number(v, digits) for v in values) + ")"


def _round_text(text: str, digits: int) -> str:
    """Every decimal number in ``text`` rounded to ``digits`` significant digits."""
    return re.sub(r"-?\d+\.\d+(?:e[-+]?\d+)?", lambda m: _number(float(m.group()), digits), text)


def _digits(attribution_method: str, rough: Sequence[str], digits: int, rough_digits: int) -> int:
    return rough_digits if attribution_method in rough else digits


def _cases(table: AxiomTable, axiom: str | None = None) -> list[tuple[str, str]]:
    """The distinct (axiom, witness description) pairs, in the table's order."""
    pairs = [(r.axiom, r.witness["case"]) for r in table.results]
    return [p for p in dict.fromkeys(pairs) if axiom is None or p[0] == axiom]


def _result(table: AxiomTable, attribution_method: str, axiom: str, case: str) -> AxiomResult:
    for r in table.results:
        if r.attribution_method == attribution_method and r.axiom == axiom and r.witness["case"] == case:
            return r
    raise KeyError(f"no result for {attribution_method!r} on {axiom} witness {case!r}")


def result_of(table: AxiomTable, attribution_method: str, axiom: str, witness: int | str = 0) -> AxiomResult:
    """The check of ``attribution_method`` on a witness of ``axiom``: the ``witness``-th one
    (0, 1, ...) in the table's order, or the one with that description."""
    if isinstance(witness, str):
        return _result(table, attribution_method, axiom, witness)
    cases = _cases(table, axiom)
    if not 0 <= witness < len(cases):
        raise KeyError(f"no result for {attribution_method!r} on {axiom} witness {witness}: the table has {len(cases)}")
    return _result(table, attribution_method, axiom, cases[witness][1])


def witness_index(table: AxiomTable, axiom: str, k: int = 0) -> int:
    """The widget's ``witness`` value that shows the ``k``-th witness of ``axiom``."""
    cases = _cases(table)
    return cases.index(_cases(table, axiom)[k])


# ---------------------------------------------------------------- reports
def axiom_report(
    table: AxiomTable, axiom: str, digits: int = 4, rough: Sequence[str] = (), rough_digits: int = 3
) -> str:
    """One compact table per axiom: a row per attribution method, a column per witness W1, W2, ...
    (listed above it with F(x) - F(x')); each cell is what the axiom compares (the attributions
    for f and for g for implementation invariance; the attributions when nothing else is compared)
    for the first example, then a check mark where the axiom holds and a cross where it is violated."""
    if axiom not in AXIOMS:
        raise ValueError(f"axiom must be one of {', '.join(AXIOMS)}; got {axiom!r}")
    cases = _cases(table, axiom)
    if not cases:
        raise KeyError(f"the table has no witness for {axiom}")
    header, key = COMPARED.get(axiom, ("attributions", ""))
    if axiom == IMPLEMENTATION_INVARIANCE:
        header = "attributions for f | for g"
    lines = [f"{axiom}: {header}, per witness ({HOLDS_MARK} holds, {VIOLATED_MARK} violated)"]
    for k, (_, case) in enumerate(cases, start=1):
        first = _result(table, table.attribution_methods[0], axiom, case).witness
        change = f"   [F(x) - F(x') = {_vector(first['delta_f'][0], digits)}]" if "delta_f" in first else ""
        lines.append(f"  W{k}: {case}{change}")
    rows = {}
    for m in table.attribution_methods:
        d = _digits(m, rough, digits, rough_digits)
        cells = []
        for _, case in cases:
            r = _result(table, m, axiom, case)
            shown = _vector(r.witness["attributions"][0], d)
            if axiom == IMPLEMENTATION_INVARIANCE:
                shown = f"{shown} | {_vector(r.witness[key][0], d)}"
            elif key:
                shown = _vector(r.witness[key][0], d)
            cells.append(f"{shown} {HOLDS_MARK if r.holds else VIOLATED_MARK}")
        rows[m] = cells
    width = max(len("attribution method"), *(len(m) for m in rows))
    column = max(len(c) for cells in rows.values() for c in cells) + 3
    lines.append(f"  {'attribution method'.ljust(width)}" + "".join(f"W{k}".rjust(column) for k in range(1, len(cases) + 1)))
    lines += [f"  {m.ljust(width)}" + "".join(c.rjust(column) for c in cells) for m, cells in rows.items()]
    return "\n".join(lines)


def violations_report(table: AxiomTable, rough: Sequence[str] = (), rough_digits: int = 3) -> str:
    """Every violation: attribution method, axiom, witness and the check's reason (numbers of
    ``rough`` attribution methods rounded to ``rough_digits`` significant digits)."""
    lines = []
    for r in table.violations():
        reason = _round_text(r.reason, rough_digits) if r.attribution_method in rough else r.reason
        lines.append(f"{r.attribution_method} breaks {r.axiom} on {r.witness['case']}:\n    {reason}")
    return "\n".join(lines)


def violations_summary(table: AxiomTable) -> str:
    """One line per attribution method: the axioms it breaks, each with "k of n" failing witnesses
    (the details are in :func:`violations_report` and the per-axiom reports)."""
    width = max(len(m) for m in table.attribution_methods)
    lines = []
    for m in table.attribution_methods:
        broken = []
        for a in table.axioms:
            found = [r.holds for r in table.results if r.attribution_method == m and r.axiom == a]
            if not all(found):
                broken.append(f"{a} ({found.count(False)} of {len(found)})")
        lines.append(f"{m.ljust(width)}  {', '.join(broken) if broken else 'breaks none'}")
    return "\n".join(lines)


# ---------------------------------------------------------------- the grid
def _verdicts(table: AxiomTable, footnotes: "dict[tuple[str, str], str] | None"
              ) -> tuple[list[list[str]], list[str]]:
    """The cells' text ("✓", "✓¹", "✗ 2/3") and the numbered footnotes, in table order."""
    footnotes = dict(footnotes or {})
    unknown = [key for key in footnotes if key[0] not in table.attribution_methods or key[1] not in table.axioms]
    if unknown:
        raise ValueError(f"footnotes name (attribution method, axiom) pairs that are not in the table: {unknown}")
    if len(set(footnotes.values())) > len(SUPERSCRIPTS):
        raise ValueError(f"footnotes can hold at most {len(SUPERSCRIPTS)} distinct notes, got {len(set(footnotes.values()))}")
    notes: list[str] = []
    cells = []
    for m in table.attribution_methods:
        row = []
        for a in table.axioms:
            found = [r.holds for r in table.results if r.attribution_method == m and r.axiom == a]
            text = HOLDS_MARK if all(found) else f"{VIOLATED_MARK} {found.count(False)}/{len(found)}"
            if (m, a) in footnotes:
                note = footnotes[m, a]
                if note not in notes:
                    notes.append(note)
                text += SUPERSCRIPTS[notes.index(note)]
            row.append(text)
        cells.append(row)
    return cells, [f"{SUPERSCRIPTS[k]} {note}" for k, note in enumerate(notes)]


def verdict_markdown(table: AxiomTable, footnotes: "dict[tuple[str, str], str] | None" = None) -> str:
    """The table in Markdown: "✓" held on every witness, "✗ k/n" failed on k of the n witnesses,
    footnote marks on the verdicts named in ``footnotes`` ({(attribution method, axiom): note})."""
    cells, notes = _verdicts(table, footnotes)
    lines = ["| attribution method | " + " | ".join(table.axioms) + " |", "|---" * (len(table.axioms) + 1) + "|"]
    for m, row in zip(table.attribution_methods, cells):
        lines.append(f"| {m} | " + " | ".join(c if c.startswith(HOLDS_MARK) else f"**{c}**" for c in row) + " |")
    return "\n".join(lines + ([""] + [n + "<br>" for n in notes] if notes else []))


def verdict_grid(table: AxiomTable, footnotes: "dict[tuple[str, str], str] | None" = None) -> Figure:
    """Attribution methods (rows) x axioms (columns): a blue "✓" where the axiom held on every witness,
    a vermillion "✗ k/n" (k of the n witnesses failed) where it did not; verdicts named in
    ``footnotes`` ({(attribution method, axiom): note}) get a mark and their note under the grid."""
    names, axioms = table.attribution_methods, table.axioms
    cells, notes = _verdicts(table, footnotes)
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
    names, cases = table.attribution_methods, _cases(table)
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
                                 (_bars(_result(table, m, axiom, case)) for m in names)])
        limits[axiom, case] = 1.15 * max(float(np.abs(values).max()), 1e-9)

    def draw(attribution_method: str, witness: int) -> dict:
        axiom, case = cases[witness]
        r = _result(table, attribution_method, axiom, case)
        d = _digits(attribution_method, rough, digits, rough_digits)
        labels, a, compared, legend = _bars(r)
        verdicts = {m: _result(table, m, axiom, case).holds for m in names}
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
            ax.annotate(_number(v, d), (x, v), ha="center", va="bottom" if v >= 0 else "top", fontsize=8)
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
        ax.set_xlabel(textwrap.fill(_round_text(r.reason, d), 80), fontsize=8)
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
