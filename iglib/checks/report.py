"""The axiom table as text: per-axiom reports, every violation, a summary, and the verdicts in Markdown.

Everything here reads an :class:`iglib.checks.axioms.AxiomTable` that was computed once
(``iglib.axioms.axiom_table(attribution_methods)``); nothing is recomputed.

- ``result_of(table, attribution_method, axiom, witness)``: one check's result (verdict, reason, numbers).
- ``axiom_report(table, axiom)``: for each witness of the axiom, one line per attribution method with
  its attributions, the number the axiom compares them with, and the verdict.
- ``violations_report(table)``: every violation with its witness and reason (long: one paragraph each).
- ``violations_summary(table)``: the same, compact: one line per attribution method, each broken axiom
  with its failing witnesses "k of n".
- ``verdict_markdown(table, footnotes)``: attribution methods x axioms as a Markdown table, "✓" where
  the axiom held on every witness and "✗ k/n" (failing witnesses) where it did not; ``footnotes``
  marks verdicts that depend on the witness (a "✓" that another network refutes) with a numbered
  note. :func:`iglib.widgets.axioms.verdict_grid` draws the same cells (:func:`verdict_cells`).

Numbers are printed with ``digits`` significant digits; attribution methods listed in ``rough``
(seeded Monte-Carlo estimates such as SmoothGrad or expected gradients) get ``rough_digits``.
"""
from __future__ import annotations

import re
from typing import Sequence

from torch import Tensor

from .axioms import (
    AXIOMS,
    COMPLETENESS,
    IMPLEMENTATION_INVARIANCE,
    LINEARITY,
    SENSITIVITY_A,
    SENSITIVITY_B,
    AxiomResult,
    AxiomTable,
)

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
def format_number(v: float, digits: int) -> str:
    """``v`` with ``digits`` significant digits; |v| < 1e-12 (float residue) and -0 print as 0."""
    return "0" if abs(v) < 1e-12 else f"{v:.{digits}g}"


def _vector(t: Tensor | float, digits: int) -> str:
    """One example's numbers: a plain number for one value, else ``(a1, a2, ...)``."""
    values = t.detach().cpu().reshape(-1).tolist() if isinstance(t, Tensor) else [float(t)]
    if len(values) == 1:
        return format_number(values[0], digits)
    return "(" + ", ".join(format_number(v, digits) for v in values) + ")"


def round_numbers(text: str, digits: int) -> str:
    """Every decimal number in ``text`` rounded to ``digits`` significant digits."""
    return re.sub(r"-?\d+\.\d+(?:e[-+]?\d+)?", lambda m: format_number(float(m.group()), digits), text)


def digits_for(attribution_method: str, rough: Sequence[str], digits: int, rough_digits: int) -> int:
    """The significant digits for ``attribution_method``: ``rough_digits`` if it is ``rough``."""
    return rough_digits if attribution_method in rough else digits


def witness_cases(table: AxiomTable, axiom: str | None = None) -> list[tuple[str, str]]:
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
    cases = witness_cases(table, axiom)
    if not 0 <= witness < len(cases):
        raise KeyError(f"no result for {attribution_method!r} on {axiom} witness {witness}: the table has {len(cases)}")
    return _result(table, attribution_method, axiom, cases[witness][1])


def witness_index(table: AxiomTable, axiom: str, k: int = 0) -> int:
    """The widget's ``witness`` value that shows the ``k``-th witness of ``axiom``."""
    cases = witness_cases(table)
    return cases.index(witness_cases(table, axiom)[k])


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
    cases = witness_cases(table, axiom)
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
        d = digits_for(m, rough, digits, rough_digits)
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
        reason = round_numbers(r.reason, rough_digits) if r.attribution_method in rough else r.reason
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


# ---------------------------------------------------------------- the verdicts
def verdict_cells(table: AxiomTable, footnotes: "dict[tuple[str, str], str] | None"
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
    cells, notes = verdict_cells(table, footnotes)
    lines = ["| attribution method | " + " | ".join(table.axioms) + " |", "|---" * (len(table.axioms) + 1) + "|"]
    for m, row in zip(table.attribution_methods, cells):
        lines.append(f"| {m} | " + " | ".join(c if c.startswith(HOLDS_MARK) else f"**{c}**" for c in row) + " |")
    return "\n".join(lines + ([""] + [n + "<br>" for n in notes] if notes else []))
