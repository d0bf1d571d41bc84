"""Throughput of ``python -m iglib.apps.at_scale`` on 1 and N processes, for the README's "At scale".

    python benchmarks/at_scale_benchmark.py [--images 16] [--steps 16] [--nproc 2] [--questions]

Copies the first ``--images`` paper images into a temporary folder and runs, each into a fresh
output folder: one process with 1 thread, one process with N threads, and ``torchrun
--nproc_per_node=N`` with 1 thread per process (the same N cores, split by processes instead of
threads). Items per second are the ones each run records in its ``index.pt`` (the compute phase:
from the first item to the last rank's last item; process start and model loading are reported
apart). With ``--questions``, the same for every held-out question. The merged results of the
runs at 1 thread per process are checked to be equal item by item.
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from iglib import data  # noqa: E402
from iglib.apps import at_scale  # noqa: E402
from iglib.experiments import imagenet  # noqa: E402


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(args: list[str], out: Path, nproc: int, threads: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "IGLIB_PROGRESS": "0", "OMP_NUM_THREADS": str(threads)}
    launcher = [sys.executable] if nproc == 1 else [sys.executable, "-m", "torch.distributed.run",
                                                     f"--nproc_per_node={nproc}", "--master_addr=127.0.0.1",
                                                     f"--master_port={_port()}"]
    start = time.perf_counter()
    subprocess.run([*launcher, "-m", "iglib.apps.at_scale", *args, "--threads", str(threads), "--out", str(out)],
                   env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    run = torch.load(out / at_scale.INDEX, weights_only=True)["runs"][-1]
    items = sum(r["items"] for r in run["ranks"])
    seconds = max(r["seconds"] for r in run["ranks"])
    return {"processes": nproc, "threads": threads, "items": items, "seconds": seconds,
            "items_per_s": items / seconds, "wall_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--questions", action="store_true", help="held-out questions instead of images")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if opts.questions:
            args = ["--questions", "heldout", "--steps", str(opts.steps)]
        else:
            folder = tmp / "images"
            folder.mkdir()
            for name in imagenet.paper_images()[: opts.images]:
                shutil.copy(data.fetch(name), folder)
            args = ["--images", str(folder), "--steps", str(opts.steps), "--chunk", "1"]
        rows = [measure(args, tmp / f"p{n}t{t}", n, t) for n, t in ((1, 1), (1, opts.nproc), (opts.nproc, 1))]
        a, b = at_scale.load(tmp / "p1t1"), at_scale.load(tmp / f"p{opts.nproc}t1")
        same = a.names == b.names and all(torch.equal(a.attributions[n], b.attributions[n]) for n in a.names)
    print(f"{'processes':>9} {'threads':>7} {'items':>6} {'compute s':>9} {'items/s':>8} {'wall s':>7}")
    for r in rows:
        print(f"{r['processes']:>9} {r['threads']:>7} {r['items']:>6} {r['seconds']:>9.1f} "
              f"{r['items_per_s']:>8.3g} {r['wall_s']:>7.1f}")
    print(f"{opts.nproc} processes / 1 process at 1 thread: {rows[2]['items_per_s'] / rows[0]['items_per_s']:.2f}x; "
          f"/ 1 process at {opts.nproc} threads: {rows[2]['items_per_s'] / rows[1]['items_per_s']:.2f}x; "
          f"results equal item by item: {same}")


if __name__ == "__main__":
    main()
