"""The notebook comparison's tolerance (tests/nbcompare.py): the last printed digit may move, and
nothing else may."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import nbformat
import pytest

from nbcompare import FLOOR, compare_notebook, disagreements, numbers_agree, texts_agree

pytest_plugins = ["pytester"]


@pytest.mark.parametrize("committed, computed", [
    ("0.897", "0.898"),             # one unit in the last digit (issue 25: 08 on AVX-512)
    ("0.003", "0.0029"),            # another count of digits: the coarser unit decides
    ("-0.000", "0.000"),            # the sign of a zero
    ("2.4", "2.5"),
    ("1.23e-05", "1.24e-05"),
    ("5.6e-17", "1.1e-16"),         # both below the floor: round-off (issue 25: 01 cell 7)
    ("17", "17"),
])
def test_numbers_that_agree(committed, computed):
    assert numbers_agree(committed, computed)


@pytest.mark.parametrize("committed, computed", [
    ("0.897", "0.899"),             # two units
    ("0.003", "0.0045"),
    ("17", "18"),                   # integers (counts, labels) exactly
    ("1.23e-05", "1.25e-05"),
    ("5.6e-17", "2e-12"),           # one side above the floor
    ("0.5", "-0.5"),
])
def test_numbers_that_disagree(committed, computed):
    assert not numbers_agree(committed, computed)


def test_floor_is_round_off_only():
    assert FLOOR <= Decimal("1e-12")


TEXT = "completeness gap 0.897 on fireboat (8/8 images)\nbest: IG by 0.012\n"


@pytest.mark.parametrize("computed", [
    TEXT,
    TEXT.replace("0.897", "0.898"),
    TEXT.replace("0.012", "0.011"),
    TEXT.replace(" 0.897 ", "  0.8971 "),   # a column padded to another width
])
def test_texts_that_agree(computed):
    assert texts_agree(TEXT, computed)


@pytest.mark.parametrize("computed, why", [
    (TEXT.replace("best: IG", "best: gradient"), "a changed word"),
    (TEXT.replace("0.897", "0.901"), "a number beyond the tolerance"),
    (TEXT.replace("8/8", "7/8"), "a changed count"),
    (TEXT.replace("best: IG by 0.012\n", ""), "a missing line"),
    (TEXT + "best: IG by 0.012\n", "an extra line"),
    (TEXT.replace("best: IG", "best:IG"), "a space removed"),
    (TEXT.replace("0.897", "0.897 0.1"), "an extra number"),
    (TEXT.replace("fireboat", "fireboat2"), "a number glued to a word"),
])
def test_texts_that_disagree(computed, why):
    assert not texts_agree(TEXT, computed), why
    assert disagreements(TEXT, computed)


def test_the_report_names_the_numbers():
    assert disagreements(TEXT, TEXT.replace("0.897", "0.901")) == ["0.897 (committed) vs 0.901 (computed)"]


def _notebook(path, source: str, committed: str) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(source, execution_count=1)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=committed)]
    nb.cells = [cell]
    nbformat.write(nb, str(path))


@pytest.mark.parametrize("committed, passes", [
    ("gap 0.8976 on 12 pixels\n", True),    # the last digit moved
    ("gap 0.8978 on 12 pixels\n", False),   # three units
    ("gap 0.8975 of 12 pixels\n", False),   # a word
    ("gap 0.8975 on 12 pixels\nmore\n", False),  # a line the cell does not print
])
def test_nbval_uses_the_tolerance(pytester, monkeypatch, committed, passes):
    """nbval itself, on a one-cell notebook whose committed output is varied."""
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))
    _notebook(pytester.path / "one.ipynb", 'print("gap 0.8975 on 12 pixels")', committed)
    result = pytester.runpytest_subprocess("-p", "nbcompare", "--nbval", "--nbval-current-env",
                                           "-p", "no:cacheprovider", "one.ipynb")
    result.assert_outcomes(passed=1) if passes else result.assert_outcomes(failed=1)
    if not passes and "pixels" in committed and "more" not in committed:
        result.stdout.fnmatch_lines(["*beyond the tolerance*"])


def _executed(committed, **changes):
    """A copy of ``committed`` whose cell outputs are replaced: {code cell index: outputs}."""
    executed = nbformat.from_dict(committed)
    code = [c for c in executed.cells if c.cell_type == "code"]
    for k, outputs in changes.items():
        code[int(k[1:])].outputs = outputs
    return executed


def _stdout(text):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


@pytest.fixture
def committed():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A notebook"),
                nbformat.v4.new_code_cell("print(gap)", execution_count=1, outputs=[_stdout("gap 0.897\n")]),
                nbformat.v4.new_code_cell("show(slider)", execution_count=2, outputs=[_stdout("slider 3\n")],
                                          metadata={"tags": ["nbval-ignore-output"]}),
                nbformat.v4.new_code_cell("loop()", execution_count=3, outputs=[_stdout("done: 4 images\n")])]
    return nb


def test_browser_run_compared_like_nbval(committed):
    progress = nbformat.v4.new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2, "version_minor": 0},
        "text/plain": "  0%|          | 0/4"})
    same = _executed(committed, c0=[_stdout("gap "), _stdout("0.898\n")],   # streams coalesced, digit moved
                     c1=[_stdout("slider 7\n")],                            # nbval-ignore-output
                     c2=[progress, _stdout("done: 4 images\n")])            # a progress bar is not compared
    assert compare_notebook(committed, same) == []


@pytest.mark.parametrize("changes, expected", [
    ({"c0": [_stdout("gap 0.899\n")]}, "Cell 0: 'stdout': 0.897 (committed) vs 0.899 (computed)"),
    ({"c2": [_stdout("done: 3 images\n")]}, "Cell 2: 'stdout': 4 (committed) vs 3 (computed)"),
    ({"c0": []}, "Cell 0: output fields ['stdout'] committed, [] computed"),
    ({"c2": [_stdout("done: 4 images\n"), nbformat.v4.new_output("stream", name="stderr", text="Warning\n")]},
     "Cell 2: output fields ['stdout'] committed, ['stderr', 'stdout'] computed"),
])
def test_browser_run_differences_are_reported(committed, changes, expected):
    assert compare_notebook(committed, _executed(committed, **changes)) == [expected]
