"""iglib.runner (`make figures`): runs notebooks headless in place, writes figures, prints a table."""
from __future__ import annotations

import nbformat

from iglib import runner


def test_runs_in_place_writes_figures_and_prints_the_table(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IGLIB_FIGURES_DIR", str(tmp_path / "figures"))
    monkeypatch.delenv("IGLIB_PROGRESS", raising=False)  # the runner sets both; monkeypatch restores them
    monkeypatch.delenv("IGLIB_MODE", raising=False)
    path = tmp_path / "01_tiny.ipynb"
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [
        nbformat.v4.new_code_cell("import os\nfrom iglib import settings\nprint(settings.mode(), os.environ['IGLIB_PROGRESS'])"),
        nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nfrom iglib import viz\n"
                                  "fig, ax = plt.subplots()\nprint(viz.savefig(fig, 'tiny'))"),
    ]
    nbformat.write(nb, path)

    assert runner.main(["--mode", "fast", str(path)]) == 0

    done = nbformat.read(path, as_version=4)
    assert [c.execution_count for c in done.cells] == [1, 2]
    assert done.cells[0].outputs[0].text == "fast 0\n"          # the mode reached the kernel; bars are off
    assert done.cells[1].outputs[0].text == "figures/tiny.png\n"
    assert (tmp_path / "figures" / "tiny.png").stat().st_size > 0
    table = capsys.readouterr().out.splitlines()
    assert table[-2].split() == ["01_tiny.ipynb", table[-2].split()[1], "1"]
    assert table[-1].split()[0] == "total" and table[-1].split()[-1] == "1"
