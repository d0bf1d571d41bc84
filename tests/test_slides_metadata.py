"""Lecture mode: every notebook carries reveal.js slide metadata on its key cells (`make slides`)."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SLIDE_TYPES = {"slide", "subslide", "fragment", "skip", "notes", "-"}


def slide_type(cell) -> str | None:
    return cell.metadata.get("slideshow", {}).get("slide_type")


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 11


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_key_cells_carry_slide_metadata(path):
    cells = nbformat.read(path, as_version=4).cells
    types = [slide_type(cell) for cell in cells]
    assert set(types) - {None} <= SLIDE_TYPES, f"unknown slide types in {path.name}: {set(types)}"
    assert types[0] == "slide", f"{path.name}: the title cell must open the deck"
    for cell, kind in zip(cells, types):
        if cell.cell_type == "markdown" and re.search(r"^## ", cell.source, re.MULTILINE):
            assert kind == "slide", f"{path.name}: a '## ' section heading must start a slide: {cell.source[:60]!r}"
        if "parameters" in cell.metadata.get("tags", []):
            assert kind == "skip", f"{path.name}: the parameters cell is plumbing, skipped in the deck"
    assert sum(kind in ("slide", "subslide") for kind in types) >= 3, f"{path.name}: fewer than 3 slides"
    assert sum(kind is not None for kind in types) >= len(types) // 2, f"{path.name}: most cells are untagged"
