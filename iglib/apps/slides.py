"""Tag the notebooks' cells for lecture mode (reveal.js slides built by `make slides`).

    python -m iglib.apps.slides [notebooks/NN_slug.ipynb ... | folder]      (default: ./notebooks)

Sets only ``cell.metadata["slideshow"]["slide_type"]``, by rule, so any ``notebooks/NN_*.ipynb``
(new ones included) is tagged the same way:

- markdown with the ``# `` title or a ``## `` section heading  -> "slide"
  (on any line: a cell may end one section's prose and open the next)
- markdown with a ``### `` sub-heading                         -> "subslide"
- code tagged ``parameters``, and the import/setup code cells
  before the first section heading (plumbing)                 -> "skip"
- code whose output is a figure (PNG/JPEG/SVG) or a widget     -> "subslide" (a key result gets its own slide)
- everything else                                              -> "-" (continues the current slide)

``OVERRIDES`` (notebook stem -> {cell id: slide type}) changes single cells where the rule is wrong.
Sources, outputs, execution counts and all other metadata are left as they are (checked before
writing), and a notebook whose tags are already right is not rewritten: running it twice changes
nothing the second time.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

SLIDE_TYPES = ("slide", "subslide", "fragment", "skip", "notes", "-")
FIGURES = ("image/png", "image/jpeg", "image/svg+xml", "application/vnd.jupyter.widget-view+json")
OVERRIDES: dict[str, dict[str, str]] = {}


def _headings(cell) -> set[str]:
    """The markdown heading levels in a cell: {"#", "##", ...}."""
    return {line.split(" ", 1)[0] for line in cell.source.splitlines() if re.match(r"#{1,6} ", line)}


def _is_setup(cell) -> bool:
    """Imports (and the seeding that goes with them): the first code line is an import."""
    lines = [line for line in cell.source.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return bool(lines) and lines[0].startswith(("import ", "from "))


def _shows_figure(cell) -> bool:
    return any(mime in output.get("data", {}) for output in cell.get("outputs", []) for mime in FIGURES)


def slide_type(cell, before_first_section: bool) -> str:
    """The rule above, for one cell."""
    if cell.cell_type == "markdown":
        levels = _headings(cell)
        if levels & {"#", "##"}:
            return "slide"
        return "subslide" if "###" in levels else "-"
    if cell.cell_type != "code":
        return "skip"
    if "parameters" in cell.metadata.get("tags", []) or (before_first_section and _is_setup(cell)):
        return "skip"
    return "subslide" if _shows_figure(cell) else "-"


def tag(nb, overrides: dict[str, str] | None = None) -> int:
    """Set every cell's slide type in place; returns how many cells changed."""
    overrides = overrides or {}
    changed, before_first_section = 0, True
    for k, cell in enumerate(nb.cells):
        if k > 0 and cell.cell_type == "markdown" and "##" in _headings(cell):
            before_first_section = False
        wanted = overrides.get(cell.get("id", ""), slide_type(cell, before_first_section))
        if k == 0:
            wanted = "slide"  # the title opens the deck
        assert wanted in SLIDE_TYPES, wanted
        if cell.metadata.get("slideshow", {}).get("slide_type") != wanted:
            cell.metadata.setdefault("slideshow", {})["slide_type"] = wanted
            changed += 1
    return changed


def _content(nb) -> list:
    """What tagging must not touch: every cell without its slideshow metadata, and the notebook metadata."""
    cells = []
    for cell in nb.cells:
        copy = dict(cell)
        copy["metadata"] = {k: v for k, v in cell.metadata.items() if k != "slideshow"}
        cells.append(copy)
    return [nb.metadata, cells]


def tag_file(path: Path) -> int:
    raw = path.read_text(encoding="utf-8")
    nb = nbformat.reads(raw, as_version=4)
    before = nbformat.reads(raw, as_version=4)
    changed = tag(nb, OVERRIDES.get(path.stem))
    assert _content(nb) == _content(before), f"{path}: tagging changed more than slide metadata"
    if changed:
        path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    return changed


def main(argv: list[str]) -> int:
    if any(a.startswith("-") for a in argv):
        print(__doc__)
        return 0 if set(argv) <= {"-h", "--help"} else 2
    targets = [Path(a) for a in argv] or [Path("notebooks")]
    paths = []
    for target in targets:
        paths += sorted(target.glob("[0-9][0-9]_*.ipynb")) if target.is_dir() else [target]
    missing = [p for p in paths if p.suffix != ".ipynb" or not p.is_file()]
    if missing or not paths:
        print(f"not notebooks: {missing}" if missing else "no notebooks found", file=sys.stderr)
        return 1
    for path in paths:
        changed = tag_file(path)
        nb = nbformat.read(path, as_version=4)
        counts = {t: sum(c.metadata["slideshow"]["slide_type"] == t for c in nb.cells) for t in SLIDE_TYPES}
        summary = ", ".join(f"{n} {t}" for t, n in counts.items() if n)
        print(f"{path.name}: {changed} cells retagged ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
