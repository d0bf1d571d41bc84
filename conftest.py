"""pytest's configuration for the whole tree: tests/ and, through nbval, notebooks/.

- nbval compares the notebooks' outputs with the committed ones, tolerant of the last printed digit,
  and leaves the widget notebooks to the browser test, which compares them the same way
  (tests/nbcompare.py); this applies however pytest is called (``pytest notebooks/01...``).
- Under pytest-xdist (``make test`` runs two workers) each worker, and every kernel it starts, gets
  its share of the cores as torch threads, so that two workers do not run four threads on two cores.
"""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "tests"))
pytest_plugins = ["nbcompare"]

# The kernels nbval starts inherit this: no tqdm bars, whose text changes every run, in the outputs
# compared with the committed ones (iglib.progress).
os.environ.setdefault("IGLIB_PROGRESS", "0")


def pytest_configure(config):
    workers = getattr(config, "workerinput", {}).get("workercount")
    if workers:
        threads = str(max(1, (os.cpu_count() or 1) // int(workers)))
        os.environ["OMP_NUM_THREADS"] = threads  # inherited by nbval's kernels and JupyterLab's
        import torch

        torch.set_num_threads(int(threads))
