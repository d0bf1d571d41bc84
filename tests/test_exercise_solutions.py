"""Exercises that run (issue 18, item 5): each notebook's exercise solutions are code cells that nbval executes.

A solution cell is tagged ``solution``, collapsed (``"jupyter": {"source_hidden": true}``), starts with
``# Solution k`` (k = 1, 2, ... in order) and asserts its answer. The cells' outputs are checked by nbval
with the notebooks; this file checks only their form, in every notebook, the index included.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTION = re.compile(r"# Solution (\d+)\b")


def solution_cells(cells) -> list:
    return [cell for cell in cells if "solution" in cell.metadata.get("tags", [])]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_exercises_have_collapsed_solution_cells_that_assert(path):
    cells = nbformat.read(path, as_version=4).cells
    has_exercises = any(c.cell_type == "markdown" and re.search(r"^## Exercises", c.source, re.MULTILINE) for c in cells)
    solutions = solution_cells(cells)
    if not has_exercises:
        assert not solutions, f"{path.name}: solution cells without an '## Exercises' section"
        return
    assert solutions, f"{path.name}: '## Exercises' but no code cell tagged 'solution'"
    numbers = []
    for cell in solutions:
        assert cell.cell_type == "code", f"{path.name}: a markdown cell tagged 'solution'"
        assert cell.metadata.get("jupyter", {}).get("source_hidden") is True, \
            f"{path.name}: solution cell not collapsed: {cell.source[:40]!r}"
        match = SOLUTION.match(cell.source)
        assert match, f"{path.name}: a solution cell must start with '# Solution k', got {cell.source[:40]!r}"
        numbers.append(int(match.group(1)))
        assert re.search(r"^\s*assert\b", cell.source, re.MULTILINE), f"{path.name}: Solution {numbers[-1]} asserts nothing"
    assert numbers == list(range(1, len(numbers) + 1)), f"{path.name}: solutions numbered {numbers}"
    exercises = next(k for k, c in enumerate(cells) if c.cell_type == "markdown" and "## Exercises" in c.source)
    assert all(k > exercises for k, c in enumerate(cells) if "solution" in c.metadata.get("tags", [])), \
        f"{path.name}: a solution cell before the '## Exercises' section"
