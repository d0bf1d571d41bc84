"""Run the collection's notebooks headless, in place, and time them.

    python -m iglib.apps.runner [--mode fast|full] [--out DIR] [notebooks/NN_slug.ipynb ...]

Each notebook runs top to bottom in a fresh kernel (so its execution counts are 1..N),
its outputs are written back into the file, and its figures into ``figures/`` (or
``IGLIB_FIGURES_DIR``). With ``--out DIR`` the notebook in ``notebooks/`` is left as it is:
the executed copy goes to ``DIR``, its figures to ``DIR/figures`` (how full-mode runs are kept,
``make full``): its title names the mode, a line under it says when, on what machine, how long and how
much memory, and ``DIR/record.json`` keeps the same per notebook (notebook 00 prints it); ``--resume``
skips a notebook kept there with the same cells. Progress is shown per notebook and per cell; at the end,
a table of run times, the kernel's peak memory (Linux) and the figures each notebook wrote. Progress bars
inside the notebooks are off (``IGLIB_PROGRESS=0``), so the committed outputs hold none.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[2]
# Seconds one cell may run: a fast cell that takes half an hour has hung; a full-mode cell on a CPU can take
# an hour (08's 62 images at three step counts: about 57 s per image on 2 cores), so full mode has no limit.
CELL_TIMEOUT = {"fast": 1800, "full": None}
SHARDS = "shards"  # in an --out folder: what notebooks compute through at_scale, one folder per notebook
RECORD = "record.json"  # in an --out folder: per kept notebook, its mode, time, memory, date and machine


def notebooks(paths: list[str] | None = None) -> list[Path]:
    """The given notebooks, or every ``notebooks/NN_*.ipynb`` in reading order."""
    if paths:
        return [Path(p).resolve() for p in paths]
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _figures() -> dict[Path, int]:
    from ..viz import figures_dir

    return {p: p.stat().st_mtime_ns for p in figures_dir().rglob("*.png")}


def peak_memory(pid: int | None) -> int | None:
    """The peak resident memory of process ``pid`` so far, in bytes (Linux's VmHWM); None elsewhere."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def run(path: Path, mode: str, timeout: int | None = None, out: Path | None = None) -> tuple[float, int | None]:
    """Execute ``path`` with ``IGLIB_MODE=mode``, in place or into the folder ``out``, each cell within
    ``timeout`` seconds (default: ``CELL_TIMEOUT[mode]``); returns the seconds it took and the kernel's
    peak memory in bytes (None where it cannot be read)."""
    nb = nbformat.read(path, as_version=4)
    n_code = sum(cell.cell_type == "code" for cell in nb.cells)
    done, peak = 0, None
    earlier = inherited(out, path.name) if out is not None else []  # before this sitting makes any shards
    bar = tqdm(total=n_code, desc=f"  {path.name}", unit="cell", file=sys.stdout, disable=None)  # a terminal's bar
    started = 0  # code cells started: the one running when a run stops

    def start(cell, cell_index, **_):  # nbclient's on_cell_start hook
        nonlocal started
        started += cell.cell_type == "code"

    def progress(cell, cell_index, execute_reply=None, **_):  # nbclient's on_cell_executed hook
        nonlocal done, peak
        if cell.cell_type == "code":
            done += 1
            pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
            peak = peak_memory(pid) or peak   # VmHWM is already the high-water mark
            bar.update(1)
            if bar.disable:  # a log file: the count on one line
                print(f"\r  {path.name}: cell {done}/{n_code}", end="", flush=True)

    os.environ["IGLIB_MODE"] = mode
    os.environ["IGLIB_PROGRESS"] = "0"  # no tqdm bars in the committed outputs (see iglib.progress)
    client = NotebookClient(
        nb, timeout=timeout if timeout is not None else CELL_TIMEOUT[mode], kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        on_cell_start=start, on_cell_executed=progress,
        record_timing=False,  # no per-cell timestamps in the committed notebooks
    )
    began = time.perf_counter()
    try:
        client.execute()
    except (Exception, KeyboardInterrupt) as error:  # a cell failed, the kernel died, or Ctrl-C (kill -INT):
        # a kept run records the sitting, then stops
        if out is not None:
            stopped(out, path.name, time.perf_counter() - began, f"cell {started} of {n_code}: {type(error).__name__}")
        raise
    finally:
        bar.close()
    seconds = time.perf_counter() - began
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        keep(nb, out, path.name, mode, seconds, peak, earlier)
    nbformat.write(nb, path if out is None else out / path.name)
    print(f"\r  {path.name}: {n_code} cells in {seconds:.1f} s")
    return seconds, peak


def source_digest(nb: nbformat.NotebookNode) -> str:
    """sha256 of a notebook's cell sources (not its outputs): a kept run of the same sources is current."""
    return hashlib.sha256(json.dumps([cell.source for cell in nb.cells]).encode()).hexdigest()


def is_kept(path: Path, out: Path, mode: str) -> bool:
    """Whether ``out`` already keeps a ``mode`` run of ``path`` as it is now (its record entry: the same
    sources)."""
    if not (out / path.name).exists():
        return False
    entry = _read_record(out).get(path.name, {})
    return entry.get("mode") == mode and entry.get("sources") == source_digest(nbformat.read(path, as_version=4))


def machine() -> str:
    """This machine in words: CPU cores and architecture, the GPU if torch sees one, torch's version."""
    import torch

    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"
    return f"{os.cpu_count()} CPU cores ({platform.machine()}), {gpu}, torch {torch.__version__}"


def duration(seconds: float) -> str:
    """"41 s", "23 min", "1 h 38 min"."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _read_record(out: Path) -> dict:
    return json.loads((out / RECORD).read_text()) if (out / RECORD).exists() else {}


def _write_record(out: Path, record: dict) -> None:
    (out / RECORD).write_text(json.dumps(dict(sorted(record.items())), indent=1) + "\n")


def stopped(out: Path, name: str, seconds: float, why: str) -> None:
    """Record in ``out/record.json`` a sitting of notebook ``name`` that stopped before its end."""
    out.mkdir(parents=True, exist_ok=True)
    record = _read_record(out)
    entry = record.setdefault(name, {})
    entry["stopped"] = entry.get("stopped", []) + [{"seconds": round(seconds, 1), "finished": _now(), "why": why}]
    _write_record(out, record)


def inherited(out: Path, name: str) -> list[dict]:
    """The earlier sittings a new run of ``name`` builds on, read before it starts. A notebook whose work
    is in ``out/shards/<name>`` (through :mod:`iglib.apps.at_scale`) goes on from there, so every earlier
    sitting counts: those that stopped, and a complete run of cells that changed since. Where the shards
    are not there (any other notebook, or a new checkout: the shards are not committed) the run starts
    from nothing, and only its own sitting counts."""
    if not (out / SHARDS / Path(name).stem).is_dir():
        return []
    before = _read_record(out).get(name, {})
    earlier = list(before.get("stopped", []))
    if "seconds" in before:
        earlier.append({"seconds": before["seconds"], "finished": before["finished"],
                        "why": "a complete run of earlier cells, whose shards this run reused"})
    return earlier


def total_seconds(entry: dict) -> float:
    """A kept run's time: its last sitting's and those of the earlier sittings it built on."""
    return entry["seconds"] + sum(s["seconds"] for s in entry.get("stopped", []))


def keep(nb: nbformat.NotebookNode, out: Path, name: str, mode: str, seconds: float, peak: int | None,
         earlier: list[dict]) -> dict:
    """Mark an executed copy kept in ``out``: the mode in its title and, under it, when and where it ran,
    how long it took (over all its sittings) and its peak memory; the same goes into ``out/record.json``
    (one entry per notebook)."""
    entry = {"mode": mode, "sources": source_digest(nb), "seconds": round(seconds, 1),
             "peak_memory_gib": round(peak / 2**30, 2) if peak else None, "finished": _now(), "machine": machine(),
             "stopped": earlier}
    memory = f", peak memory {entry['peak_memory_gib']:.1f} GiB" if peak else ""
    sittings = f" in {len(earlier) + 1} sittings" if earlier else ""
    line = (f"> **{mode.capitalize()} mode**, run by `python -m iglib.apps.runner --mode {mode} --out` "
            f"({entry['finished']}, {entry['machine']}): {duration(total_seconds(entry))}{sittings}{memory}. The "
            f"notebook in `notebooks/` holds the fast-mode run the tests compare; this copy is a record, not compared.")
    first = nb.cells[0] if nb.cells else None
    if first is not None and first.cell_type == "markdown" and first.source.startswith("# "):
        title, _, rest = first.source.partition("\n")
        first.source = f"{title} ({mode} mode)\n\n{line}\n{rest}"
    else:
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(line))
    record = _read_record(out)
    record[name] = entry
    _write_record(out, record)
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="notebooks to run (default: all, in order)")
    parser.add_argument("--mode", choices=("fast", "full"), default=os.environ.get("IGLIB_MODE") or None)
    parser.add_argument("--out", type=Path, default=None,
                        help="write the executed notebooks here (figures in OUT/figures), not in place")
    parser.add_argument("--resume", action="store_true",
                        help="with --out: skip the notebooks OUT already keeps a run of, sources unchanged")
    args = parser.parse_args(argv)
    if args.resume and args.out is None:
        parser.error("--resume goes with --out (the folder whose kept runs are skipped)")
    from ..settings import mode as default_mode

    mode = args.mode or default_mode()
    paths = notebooks(args.paths)
    if args.out is not None and "IGLIB_FIGURES_DIR" not in os.environ:
        os.environ["IGLIB_FIGURES_DIR"] = str((args.out / "figures").resolve())
    where = "in place" if args.out is None else f"into {args.out}"
    print(f"running {len(paths)} notebooks in {mode} mode, {where}")
    rows = []  # (name, seconds, peak memory, figures written), one per run: two notebooks may share a name
    for p in paths:
        if args.resume and is_kept(p, args.out, mode):
            print(f"  {p.name}: kept in {args.out} (sources unchanged), skipped")
            continue
        before = _figures()
        seconds, peak = run(p, mode, out=args.out)
        rows.append((p.name, seconds, peak, sum(before.get(f) != t for f, t in _figures().items())))
    if not rows:
        return 0
    width = max(len(name) for name, *_ in rows)
    print(f"\n{'notebook'.ljust(width)}  seconds ({mode})  peak memory  figures written")
    for name, seconds, peak, written in rows:
        memory = f"{peak / 2**30:.1f} GiB" if peak else "n/a"
        print(f"{name.ljust(width)}  {seconds:8.1f}  {memory:>19}  {written:>15}")
    print(f"{'total'.ljust(width)}  {sum(r[1] for r in rows):8.1f}  {'':>19}  {sum(r[3] for r in rows):>15}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
