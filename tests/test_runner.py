"""iglib.apps.runner (`make figures`): runs notebooks headless in place, writes figures, prints a table."""
from __future__ import annotations

import json

import nbformat
import pytest

from iglib.apps import runner


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
    name, seconds, memory, unit, figures = table[-2].split()
    assert (name, unit, figures) == ("01_tiny.ipynb", "GiB", "1") and 0 < float(memory) < 8   # a kernel's peak
    assert table[-1].split()[0] == "total" and table[-1].split()[-1] == "1"


def test_with_out_the_executed_copy_and_its_figures_go_there(tmp_path, monkeypatch, capsys):
    """``--out``: the notebook is left unexecuted where it is; the run and its figures land in the folder."""
    monkeypatch.delenv("IGLIB_FIGURES_DIR", raising=False)
    monkeypatch.delenv("IGLIB_PROGRESS", raising=False)
    monkeypatch.delenv("IGLIB_MODE", raising=False)
    monkeypatch.setenv("IGLIB_FULL_ON_CPU", "1")  # full mode on a machine without a GPU, as make full does here
    path = tmp_path / "notebooks" / "01_tiny.ipynb"
    path.parent.mkdir()
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_markdown_cell("# 01 · Tiny\n\nWhat it is."),
                nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nfrom iglib import settings, viz\n"
                                          "fig, ax = plt.subplots()\nprint(settings.mode(), viz.savefig(fig, 'tiny'))")]
    nbformat.write(nb, path)

    assert runner.main(["--mode", "full", "--out", str(tmp_path / "full"), str(path)]) == 0

    original = nbformat.read(path, as_version=4)
    assert original.cells[1].outputs == [] and original.cells[0].source == "# 01 · Tiny\n\nWhat it is."  # untouched
    done = nbformat.read(tmp_path / "full" / "01_tiny.ipynb", as_version=4)
    assert done.cells[1].outputs[0].text.startswith("full ")
    title, blank, line, *rest = done.cells[0].source.splitlines()
    assert title == "# 01 · Tiny (full mode)" and blank == "" and rest == ["", "What it is."]
    assert line.startswith("> **Full mode**, run by") and "CPU cores" in line and "peak memory" in line
    record = json.loads((tmp_path / "full" / "record.json").read_text())
    assert list(record) == ["01_tiny.ipynb"] and record["01_tiny.ipynb"]["mode"] == "full"
    assert record["01_tiny.ipynb"]["seconds"] > 0 and 0 < record["01_tiny.ipynb"]["peak_memory_gib"] < 8
    assert (tmp_path / "full" / "figures" / "tiny.png").stat().st_size > 0
    assert "into " + str(tmp_path / "full") in capsys.readouterr().out


@pytest.mark.parametrize("mode, expected", [("fast", 1800), ("full", None)])
def test_a_cell_may_run_half_an_hour_in_fast_mode_and_without_limit_in_full_mode(mode, expected, tmp_path, monkeypatch):
    """Full mode on a CPU has cells of an hour (08's 62 images): the fast limit stopped it once."""
    seen = {}

    class Client:
        def __init__(self, nb, timeout, **kwargs):
            seen["timeout"] = timeout

        def execute(self):
            pass

    monkeypatch.setattr(runner, "NotebookClient", Client)
    monkeypatch.delenv("IGLIB_MODE", raising=False)  # run() sets both; monkeypatch restores them
    monkeypatch.delenv("IGLIB_PROGRESS", raising=False)
    path = tmp_path / "01_tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), path)
    runner.run(path, mode, out=tmp_path / "out")
    assert seen["timeout"] == expected == runner.CELL_TIMEOUT[mode]
    runner.run(path, mode, timeout=5, out=tmp_path / "out")
    assert seen["timeout"] == 5


def test_resume_skips_a_kept_run_until_its_sources_change(tmp_path, monkeypatch, capsys):
    """``make full`` resumes: a notebook whose kept run (record.json) has the same sources is not run again."""
    for name in ("IGLIB_FIGURES_DIR", "IGLIB_PROGRESS", "IGLIB_MODE"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "02_count.ipynb"
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell("print(1 + 1)")]
    nbformat.write(nb, path)
    argv = ["--mode", "fast", "--out", str(tmp_path / "kept"), "--resume", str(path)]

    assert runner.main(argv) == 0
    first = json.loads((tmp_path / "kept" / "record.json").read_text())["02_count.ipynb"]
    assert runner.is_kept(path, tmp_path / "kept", "fast") and not runner.is_kept(path, tmp_path / "kept", "full")
    capsys.readouterr()
    assert runner.main(argv) == 0
    assert "02_count.ipynb: kept in" in capsys.readouterr().out
    assert json.loads((tmp_path / "kept" / "record.json").read_text())["02_count.ipynb"] == first   # not rerun

    nb.cells[0].source = "print(2 + 2)"
    nbformat.write(nb, path)
    assert not runner.is_kept(path, tmp_path / "kept", "fast")
    assert runner.main(argv) == 0
    assert nbformat.read(tmp_path / "kept" / "02_count.ipynb", as_version=4).cells[-1].outputs[0].text == "4\n"
    assert runner.duration(41.2) == "41 s" and runner.duration(1380) == "23 min" and runner.duration(5880) == "1 h 38 min"


def test_resume_needs_out(capsys):
    with pytest.raises(SystemExit):
        runner.main(["--resume", "x.ipynb"])
    assert "--resume goes with --out" in capsys.readouterr().err


@pytest.mark.parametrize("resumes", [True, False])
def test_a_stopped_sitting_is_recorded_and_counted_when_the_run_resumes(resumes, tmp_path, monkeypatch):
    """A full run that stops (a failed assert, a killed kernel) goes on in a second sitting. When the notebook
    keeps its work in shards (out/shards/<name>), the kept run's time is both sittings'; otherwise the second
    sitting started from nothing, and only its time counts."""
    for name in ("IGLIB_FIGURES_DIR", "IGLIB_PROGRESS", "IGLIB_MODE"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "03_stop.ipynb"
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_markdown_cell("# 03 · Stop"), nbformat.v4.new_code_cell("x = 1"),
                nbformat.v4.new_code_cell("assert x == 2")]
    nbformat.write(nb, path)
    out = tmp_path / "kept"
    with pytest.raises(Exception, match="AssertionError"):
        runner.run(path, "fast", out=out)
    entry = json.loads((out / "record.json").read_text())["03_stop.ipynb"]
    assert [s["why"] for s in entry["stopped"]] == ["cell 2 of 2: CellExecutionError"] and "sources" not in entry
    assert not runner.is_kept(path, out, "fast")

    if resumes:
        (out / "shards" / "03_stop").mkdir(parents=True)
    nb.cells[1].source = "x = 2"
    nbformat.write(nb, path)
    seconds, _ = runner.run(path, "fast", out=out)
    entry = json.loads((out / "record.json").read_text())["03_stop.ipynb"]
    assert entry["seconds"] == round(seconds, 1) and runner.is_kept(path, out, "fast")
    banner = nbformat.read(out / "03_stop.ipynb", as_version=4).cells[0].source
    if not resumes:
        assert entry["stopped"] == [] and runner.total_seconds(entry) == entry["seconds"]
        assert " sittings" not in banner
        return
    assert len(entry["stopped"]) == 1
    assert runner.total_seconds(entry) == entry["seconds"] + entry["stopped"][0]["seconds"]
    assert " in 2 sittings" in banner

    # the cells change and the run is redone from its shards: the complete run before counts too
    nb.cells[1].source = "x = 2  # changed"
    nbformat.write(nb, path)
    runner.run(path, "fast", out=out)
    entry = json.loads((out / "record.json").read_text())["03_stop.ipynb"]
    assert len(entry["stopped"]) == 2 and "reused" in entry["stopped"][1]["why"]
    assert " in 3 sittings" in nbformat.read(out / "03_stop.ipynb", as_version=4).cells[0].source


def test_shards_made_by_this_sitting_do_not_count_earlier_sittings(tmp_path, monkeypatch):
    """A new checkout has no shards (they are not committed): a run that then makes them started from
    nothing, so the sittings recorded before it, whose shards are gone, do not count in its time."""
    for name in ("IGLIB_FIGURES_DIR", "IGLIB_PROGRESS", "IGLIB_MODE"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "05_shards.ipynb"
    out = tmp_path / "kept"
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_markdown_cell("# 05 · Shards"),
                nbformat.v4.new_code_cell(f"import pathlib; pathlib.Path({str(out / 'shards' / '05_shards')!r}).mkdir(parents=True)")]
    nbformat.write(nb, path)
    runner.stopped(out, path.name, 7306.8, "cell 1 of 1: CellExecutionError")   # an earlier machine's sitting
    seconds, _ = runner.run(path, "fast", out=out)
    entry = json.loads((out / "record.json").read_text())["05_shards.ipynb"]
    assert (out / "shards" / "05_shards").is_dir()
    assert entry["stopped"] == [] and runner.total_seconds(entry) == round(seconds, 1)
    assert " sittings" not in nbformat.read(out / "05_shards.ipynb", as_version=4).cells[0].source


def test_an_interrupted_sitting_is_recorded(tmp_path, monkeypatch):
    """Ctrl-C (or kill -INT) stops a long full run between sessions; the sitting is recorded, so the next
    one, resuming from the shards, counts it."""
    monkeypatch.delenv("IGLIB_MODE", raising=False)
    path = tmp_path / "04_long.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 04 · Long"), nbformat.v4.new_code_cell("x = 1")]
    nbformat.write(nb, path)

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner.NotebookClient, "execute", interrupted)
    out = tmp_path / "kept"
    with pytest.raises(KeyboardInterrupt):
        runner.run(path, "fast", out=out)
    entry = json.loads((out / "record.json").read_text())["04_long.ipynb"]
    assert [s["why"] for s in entry["stopped"]] == ["cell 0 of 1: KeyboardInterrupt"]
