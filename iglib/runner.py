"""Run the collection's notebooks headless, in place, and time them.

    python -m iglib.runner [--mode fast|full] [--out DIR] [notebooks/NN_slug.ipynb ...]

Each notebook runs top to bottom in a fresh kernel (so its execution counts are 1..N),
its outputs are written back into the file, and its figures into ``figures/`` (or
``IGLIB_FIGURES_DIR``). With ``--out DIR`` the notebook in ``notebooks/`` is left as it is:
the executed copy goes to ``DIR``, its figures to ``DIR/figures`` (how full-mode runs are kept,
``make full``). Progress is printed per notebook and per cell; at the end, a table of run times,
the kernel's peak memory (Linux) and the figures each notebook wrote. Progress bars inside the notebooks are off
(``IGLIB_PROGRESS=0``), so the committed outputs hold none.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
# Seconds one cell may run: a fast cell that takes half an hour has hung; a full-mode cell on a CPU can take
# an hour (08's 62 images at three step counts: about 57 s per image on 2 cores), so full mode has no limit.
CELL_TIMEOUT = {"fast": 1800, "full": None}


def notebooks(paths: list[str] | None = None) -> list[Path]:
    """The given notebooks, or every ``notebooks/NN_*.ipynb`` in reading order."""
    if paths:
        return [Path(p).resolve() for p in paths]
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _figures() -> dict[Path, int]:
    from .viz import figures_dir

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

    def progress(cell, cell_index, execute_reply=None, **_):  # nbclient's on_cell_executed hook
        nonlocal done, peak
        if cell.cell_type == "code":
            done += 1
            pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
            peak = peak_memory(pid) or peak   # VmHWM is already the high-water mark
            print(f"\r  {path.name}: cell {done}/{n_code}", end="", flush=True)

    os.environ["IGLIB_MODE"] = mode
    os.environ["IGLIB_PROGRESS"] = "0"  # no tqdm bars in the committed outputs (see iglib.progress)
    client = NotebookClient(
        nb, timeout=timeout if timeout is not None else CELL_TIMEOUT[mode], kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        on_cell_executed=progress, record_timing=False,  # no per-cell timestamps in the committed notebooks
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path if out is None else out / path.name)
    print(f"\r  {path.name}: {n_code} cells in {seconds:.1f} s")
    return seconds, peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="notebooks to run (default: all, in order)")
    parser.add_argument("--mode", choices=("fast", "full"), default=os.environ.get("IGLIB_MODE") or None)
    parser.add_argument("--out", type=Path, default=None,
                        help="write the executed notebooks here (figures in OUT/figures), not in place")
    args = parser.parse_args(argv)
    from .settings import mode as default_mode

    mode = args.mode or default_mode()
    paths = notebooks(args.paths)
    if args.out is not None and "IGLIB_FIGURES_DIR" not in os.environ:
        os.environ["IGLIB_FIGURES_DIR"] = str((args.out / "figures").resolve())
    where = "in place" if args.out is None else f"into {args.out}"
    print(f"running {len(paths)} notebooks in {mode} mode, {where}")
    rows = []  # (name, seconds, peak memory, figures written), one per run: two notebooks may share a name
    for p in paths:
        before = _figures()
        seconds, peak = run(p, mode, out=args.out)
        rows.append((p.name, seconds, peak, sum(before.get(f) != t for f, t in _figures().items())))
    width = max(len(name) for name, *_ in rows)
    print(f"\n{'notebook'.ljust(width)}  seconds ({mode})  peak memory  figures written")
    for name, seconds, peak, written in rows:
        memory = f"{peak / 2**30:.1f} GiB" if peak else "n/a"
        print(f"{name.ljust(width)}  {seconds:8.1f}  {memory:>19}  {written:>15}")
    print(f"{'total'.ljust(width)}  {sum(r[1] for r in rows):8.1f}  {'':>19}  {sum(r[3] for r in rows):>15}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
