"""How the notebooks' outputs are compared with the committed ones (loaded by the root conftest.py).

Another vector unit (AVX2, AVX-512, NEON, the scalar path) sums in another order, so a float32
network's outputs move in their last digits from one CPU to the next. A notebook prints what its
computation determines, and nbval then compares the text with these rules:

- everything but the numbers must be identical (words, lines, their count and order; a run of
  spaces counts as one, since a table column pads each number to its width);
- the numbers must be as many, and pairwise agree: an integer (no point, no exponent) exactly;
  a decimal within one unit in its last printed digit (the coarser of the two), or both below
  ``FLOOR`` in magnitude, where only round-off lives.

A notebook with widgets is run once, in JupyterLab, by the browser test (tests/e2e), which then
compares the notebook it saved with the committed one by these rules (``compare_notebook``); nbval
runs every other notebook, and a widget notebook too whenever its browser test is not selected or
cannot run here. No notebook is computed twice.

nbval is pinned exactly in pyproject.toml: this wraps ``IPyNbCell.compare_outputs`` and reuses
its helpers (cell markers, stream coalescing, sanitizing), so a new nbval is taken on only after
this module's tests pass with it.
"""
from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

# Below this magnitude two printed numbers agree whatever their digits: float64 round-off of the
# quantities the notebooks print (completeness gaps, closed-form checks) is 1e-16 to 1e-13.
FLOOR = Decimal("1e-12")

NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d+|\.\d+|\d+)(?:[eE][-+]?\d+)?")


SPACES = re.compile(r"[ \t]+")


def split_numbers(text: str) -> tuple[list[str], list[str]]:
    """The text between the numbers (runs of spaces as one: a column's padding depends on how many
    digits its number has) and the numbers themselves, in order."""
    return [SPACES.sub(" ", part) for part in NUMBER.split(text)], NUMBER.findall(text)


def _unit(number: str) -> Decimal:
    """One unit in the last printed digit: 0.001 for '0.897', 1e-18 for '5.6e-17'."""
    return Decimal(1).scaleb(Decimal(number).as_tuple().exponent)


def numbers_agree(reference: str, computed: str) -> bool:
    """Two printed numbers agree: integers exactly, decimals within one unit of the coarser last
    digit, or both below FLOOR in magnitude."""
    if not any(c in ".eE" for c in reference + computed):
        return int(reference) == int(computed)
    a, b = Decimal(reference), Decimal(computed)
    if abs(a) < FLOOR and abs(b) < FLOOR:
        return True
    return abs(a - b) <= max(_unit(reference), _unit(computed))


def texts_agree(reference: str, computed: str) -> bool:
    """The same text but for numbers, and the numbers pairwise agreeing (see ``numbers_agree``)."""
    return reference == computed or not disagreements(reference, computed)


def disagreements(reference: str, computed: str) -> list[str]:
    """What differs beyond the tolerance, in words (for the failure report)."""
    text_ref, numbers_ref = split_numbers(reference)
    text_new, numbers_new = split_numbers(computed)
    if text_ref != text_new or len(numbers_ref) != len(numbers_new):
        return ["the text differs, not only its numbers"]
    return [f"{a} (committed) vs {b} (computed)" for a, b in zip(numbers_ref, numbers_new)
            if not numbers_agree(a, b)]


# What nbval 0.11.0 never compares (IPyNbFile.skip_compare without nbdime): metadata, counters, and
# the data that differs every run (images, widget model ids).
SKIP = ("metadata", "traceback", "prompt_number", "output_type", "name", "execution_count",
        "application/vnd.jupyter.widget-view+json", "image/png", "image/jpeg")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
SANITIZE = Path(__file__).with_name("nbval_sanitize.cfg")


def _flatten(outputs, sanitize, skip) -> dict[str, list]:
    """nbval's view of a cell's outputs: every compared key (MIME types flattened) -> its values."""
    from nbval.plugin import transform_streams_for_comparison

    flat = defaultdict(list)
    for output in transform_streams_for_comparison(outputs):
        for key, value in output.items():
            if key in skip:
                continue
            if key == "data":
                for mime, data in value.items():
                    if mime not in skip:
                        flat[mime].append(sanitize(data))
            else:
                flat[key].append(sanitize(value))
    return flat


def outputs_agree(computed, committed, sanitize=lambda s: s, skip=SKIP) -> tuple[bool, list[str]]:
    """A cell's computed outputs agree with its committed ones under ``texts_agree``; with the reasons
    when they do not."""
    new, old = _flatten(computed, sanitize, skip), _flatten(committed, sanitize, skip)
    if set(new) != set(old):
        return False, [f"output fields {sorted(old)} committed, {sorted(new)} computed"]
    reasons = []
    for key, values in old.items():
        if len(values) != len(new[key]):
            return False, [f"{len(values)} '{key}' outputs committed, {len(new[key])} computed"]
        for a, b in zip(values, new[key]):
            if isinstance(a, str) and isinstance(b, str):
                if not texts_agree(a, b):
                    reasons += [f"'{key}': {why}" for why in disagreements(a, b)]
            elif a != b:
                reasons.append(f"'{key}' differs")
    return not reasons, reasons


def install() -> None:
    """Make nbval compare with ``outputs_agree``; its own report is kept when they disagree."""
    from nbval.plugin import IPyNbCell

    strict = IPyNbCell.compare_outputs
    if getattr(strict, "tolerant", False):
        return

    def compare_outputs(self, test, ref, skip_compare=None):
        if strict(self, test, ref, skip_compare):
            return True
        agree, reasons = outputs_agree(test, ref, self.sanitize, skip_compare or self.parent.skip_compare)
        if agree:
            self.comparison_traceback = []
            return True
        self.comparison_traceback.append(
            "beyond the tolerance (tests/nbcompare.py: the last printed digit +-1, integers exact, "
            f"below {FLOOR} ignored):\n  " + "\n  ".join(reasons))
        return False

    compare_outputs.tolerant = True
    IPyNbCell.compare_outputs = compare_outputs


def compare_notebook(committed, executed) -> list[str]:
    """nbval's check of every code cell, on a notebook executed elsewhere (JupyterLab): the cells nbval
    compares (not tagged nbval-ignore-output or nbval-skip, run in the committed notebook), their
    streams coalesced and text sanitized as nbval does, compared by ``outputs_agree``. A progress bar
    (a widget view in a cell whose committed outputs hold none) is not compared: the committed
    notebooks are written with progress bars off. Returns one line per disagreeing cell."""
    from nbval.plugin import (coalesce_streams, find_comment_markers, find_metadata_tags,
                              get_sanitize_patterns)

    patterns = get_sanitize_patterns(SANITIZE.read_text())

    def sanitize(s):
        if isinstance(s, str):
            for regex, replace in patterns:
                s = re.sub(regex, replace, s)
        return s

    old_cells = [c for c in committed.cells if c.cell_type == "code"]
    new_cells = [c for c in executed.cells if c.cell_type == "code"]
    if len(old_cells) != len(new_cells):
        return [f"{len(old_cells)} code cells committed, {len(new_cells)} executed"]
    failures = []
    for k, (old, new) in enumerate(zip(old_cells, new_cells)):
        options = defaultdict(bool, find_metadata_tags(old.metadata))
        options.update(dict(find_comment_markers(old.source)))
        if options["skip"] or not options.get("check", True) or old.execution_count is None:
            continue
        committed_widgets = any(WIDGET_VIEW in o.get("data", {}) for o in old.outputs)
        outputs = [o for o in new.outputs if committed_widgets or WIDGET_VIEW not in o.get("data", {})]
        agree, reasons = outputs_agree(coalesce_streams(outputs), coalesce_streams(old.outputs), sanitize)
        if not agree:
            failures.append(f"Cell {k}: " + "; ".join(reasons))
    return failures


def _browser_notebooks(items) -> set[str]:
    """The notebooks whose browser test is selected and can run here (it then compares them)."""
    names = {item.callspec.params["path"].name for item in items
             if getattr(item, "originalname", "") == "test_widgets_respond_in_jupyterlab"}
    if not names:
        return set()
    from e2e.conftest import lab_missing

    return set() if lab_missing() else names


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist's load balancing, except that a notebook's cells go together, in order, to one
    worker (they share its kernel). (xdist's own `--dist loadgroup` does not group with pytest 9.2,
    whose node ids it can no longer rename.)"""
    if config.getvalue("dist") not in ("load", "loadgroup"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class NotebookScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return path if path.endswith(".ipynb") else nodeid

    return NotebookScheduling(config, log)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items) -> None:
    """nbval leaves the notebooks the browser test compares (when it can run here). Last, after -k, -m
    and --deselect: a notebook whose browser test is deselected stays with nbval."""
    from nbval.plugin import IPyNbCell

    in_browser = _browser_notebooks(items)
    kept, dropped = [], []
    for item in items:
        (dropped if isinstance(item, IPyNbCell) and item.path.name in in_browser else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_configure(config) -> None:
    if config.pluginmanager.hasplugin("nbval"):
        install()

