"""Every reference to a numbered section of a notebook ("notebook 08, section 8", "Section 8 of notebook
02", or "section 6" within the same notebook) names a section that exists: a heading "## 8. ..." there."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
OTHER = re.compile(r"[Nn]otebook (?P<nb>\d\d)(?:'s)?,? section (?P<k>\d+)|[Ss]ection (?P<k2>\d+) of notebook (?P<nb2>\d\d)")
# "section 6" of this notebook; not "section 6.1 of the paper" or "the paper's section 6"
SAME = re.compile(r"(?<!paper's )(?<![Nn]otebook \d\d, )\b[Ss]ection (?P<k>\d+)\b(?!\.\d| of (?:the paper|notebook))")
HEADING = re.compile(r"^## (\d+)\. ", re.MULTILINE)


def sections(path: Path) -> set[int]:
    nb = nbformat.read(path, as_version=4)
    return {int(k) for cell in nb.cells if cell.cell_type == "markdown" for k in HEADING.findall(cell.source)}


def references(path: Path) -> list[tuple[str, int, str]]:
    """(notebook number, section, the text) of every section reference in the notebook's cells."""
    found = []
    for cell in nbformat.read(path, as_version=4).cells:
        for m in OTHER.finditer(cell.source):
            found.append((m["nb"] or m["nb2"], int(m["k"] or m["k2"]), m[0]))
        for m in SAME.finditer(cell.source):
            found.append((path.name[:2], int(m["k"]), m[0]))
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_section_references_resolve(path):
    by_number = {p.name[:2]: p for p in NOTEBOOKS}
    missing = [f"{text!r} (notebook {nb} has sections {sorted(sections(by_number[nb])) if nb in by_number else 'none'})"
               for nb, k, text in references(path) if nb not in by_number or k not in sections(by_number[nb])]
    assert not missing, f"{path.name}: " + "; ".join(missing)


def test_the_patterns_find_references():
    text = ("As in notebook 08, section 8, and Section 8 of notebook 02; see section 3. "
            "Section 6.1 of the paper and the paper's section 4 are not ours.")
    cell = nbformat.v4.new_markdown_cell(text)
    nb = nbformat.v4.new_notebook(cells=[cell])
    found = [(m["nb"] or m["nb2"], int(m["k"] or m["k2"])) for m in OTHER.finditer(text)]
    assert found == [("08", 8), ("02", 8)]
    assert [int(m["k"]) for m in SAME.finditer(nb.cells[0].source)] == [3]
