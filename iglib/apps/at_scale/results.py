"""What a run writes and how it is read back: shard files, ``index.pt``, :func:`load` and :func:`summary`.

Each chunk's results are one ``torch.save`` file ``shard-NNNNNN.pt``, written by the rank that
computed it under a temporary name and then renamed, so an interrupted run leaves whole shards
only, and a rerun skips the items they hold. When all ranks are done, rank 0 writes ``index.pt``
(the configuration, the items in order, per item its shard, class, F(x) - F(x') and delta, and each
run's throughput). :func:`load` merges the shards.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

INDEX = "index.pt"
SHARD = "shard-{:06d}.pt"
FORMAT = 1


@dataclass
class Results:
    """One chunk's results, item name -> value (what a shard file holds, with the configuration)."""

    attributions: dict[str, Tensor] = field(default_factory=dict)
    targets: dict[str, int] = field(default_factory=dict)
    change: dict[str, float] = field(default_factory=dict)  # F_c(x) - F_c(x')
    completeness: dict[str, float] = field(default_factory=dict)  # delta = sum A - (F_c(x) - F_c(x'))
    tokens: dict[str, list[str]] = field(default_factory=dict)  # questions only

    def add(self, other: Results) -> None:
        for key in ("attributions", "targets", "change", "completeness", "tokens"):
            getattr(self, key).update(getattr(other, key))


# ------------------------------------------------------------------------------ the shards
def _save(obj: dict, path: Path) -> None:
    """torch.save to a temporary name, then rename: a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def write_shard(out: Path, number: int, config: dict, rank: int, world_size: int, results: Results) -> None:
    """Shard ``number`` of ``out``: one chunk's ``results``, with the configuration and the rank that computed it."""
    _save({"format": FORMAT, "config": config, "rank": rank, "world_size": world_size, **results.__dict__},
          out / SHARD.format(number))


def shard_files(out: Path) -> list[Path]:
    return sorted(out.glob("shard-*.pt"))


def _read_shard(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True, mmap=True)


def done_items(out: Path, config: dict) -> tuple[dict[str, str], int]:
    """(item -> shard file name of every item already in ``out``, the next free shard number).

    Raises a ValueError if a shard was computed with another configuration, or if an item is in two shards.
    """
    where: dict[str, str] = {}
    numbers = [-1]
    for path in shard_files(out):
        shard = _read_shard(path)
        if shard.get("config") != config:
            different = {k: (shard.get("config", {}).get(k), v) for k, v in config.items()
                         if shard.get("config", {}).get(k) != v}
            raise ValueError(f"--out {str(out)!r} holds results of another configuration ({path.name}: "
                             + ", ".join(f"{k} {old!r} there, {new!r} now" for k, (old, new) in different.items())
                             + "); choose a new --out folder or delete that one")
        for name in shard["attributions"]:
            if name in where:
                raise ValueError(f"item {name!r} is in two shards of {out}: {where[name]} and {path.name}")
            where[name] = path.name
        numbers.append(int(path.stem.split("-")[1]))
    return where, max(numbers) + 1


def write_index(out: Path, config: dict, items: list[str], this_run: dict) -> dict:
    """Read every shard's per-item numbers (not the attributions) and write ``index.pt``."""
    previous = torch.load(out / INDEX, weights_only=True) if (out / INDEX).exists() else {"runs": []}
    index = {"format": FORMAT, "config": config, "items": items, "shards": {}, "targets": {}, "change": {},
             "completeness": {}, "runs": previous.get("runs", []) + [this_run]}
    for path in shard_files(out):
        shard = _read_shard(path)
        for name in shard["attributions"]:
            index["shards"][name] = path.name
            for key in ("targets", "change", "completeness"):
                index[key][name] = shard[key][name]
    missing = [name for name in items if name not in index["shards"]]
    if missing:
        raise RuntimeError(f"{len(missing)} items have no shard after the run, e.g. {missing[:3]}")
    _save(index, out / INDEX)
    return index


# ------------------------------------------------------------------------------ the summary
def relative_errors(completeness: dict[str, float], change: dict[str, float], names: Sequence[str]) -> np.ndarray:
    """|delta| / |F(x) - F(x')| per item (inf where F(x) = F(x') and delta != 0)."""
    d = np.abs([completeness[n] for n in names])
    c = np.abs([change[n] for n in names])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d == 0, 0.0, d / c)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}{'es' if noun.endswith('s') else 's'}"


def summary(index: dict) -> str:
    """Throughput of the last run and the distribution of the completeness errors over every item."""
    last = index["runs"][-1]
    computed = sum(r["items"] for r in last["ranks"])
    seconds = max(r["seconds"] for r in last["ranks"])
    setup = max(r["setup_seconds"] for r in last["ranks"])
    rate = computed / seconds if seconds > 0 else float("nan")
    per_rank = ", ".join(f"{r['items']}" for r in last["ranks"])
    names = index["items"]
    rel = relative_errors(index["completeness"], index["change"], names)
    q = np.quantile(rel, [0.0, 0.5, 0.9, 1.0])
    delta = np.abs([index["completeness"][n] for n in names])
    return "\n".join([
        f"{_count(computed, 'item')} computed on {_count(last['world_size'], 'process')} (per rank: {per_rank}) "
        f"in {seconds:.1f} s: "
        f"{rate:.3g} items/s (setup {setup:.1f} s); {last['items_done_before']} were done before",
        f"completeness over all {len(names)} items, |delta| / |F(x) - F(x')|: min {q[0]:.2g}, median {q[1]:.2g}, "
        f"90% {q[2]:.2g}, max {q[3]:.2g}; within 5% for {np.mean(rel <= 0.05):.3f} of the items; "
        f"median |delta| {np.median(delta):.2g}",
    ])


# ----------------------------------------------------------------------------- reading back
@dataclass
class Attributions:
    """A finished (or, with ``partial``, interrupted) run: per item name, in the source's order."""

    config: dict
    names: list[str]
    attributions: dict[str, Tensor]
    targets: dict[str, int]
    change: dict[str, float]
    completeness: dict[str, float]
    tokens: dict[str, list[str]]

    def relative_errors(self) -> np.ndarray:
        """|delta| / |F(x) - F(x')| per item, in the order of ``names``."""
        return relative_errors(self.completeness, self.change, self.names)

    def token_scores(self) -> tuple[list[list[str]], list[np.ndarray], np.ndarray, np.ndarray]:
        """For a questions run: (tokens, scores, targets, deltas) in the split's order, what
        :func:`iglib.experiments.text.triggers.token_scores` returns (scores float64 [T_i], targets [N], deltas [N])
        with each question's tokens first, ready for :func:`iglib.experiments.text.triggers.mine_triggers`."""
        if self.config["kind"] != "questions":
            raise ValueError(f"token_scores needs a questions run, this one attributes {self.config['kind']}")
        return ([self.tokens[n] for n in self.names], [self.attributions[n].numpy() for n in self.names],
                np.array([self.targets[n] for n in self.names], dtype=np.int64),
                np.array([self.completeness[n] for n in self.names], dtype=np.float64))


def load(folder: str | Path, partial: bool = False) -> Attributions:
    """Merge the shards in ``folder`` (tensors memory-mapped, read on use).

    Without ``partial``, the run must be finished (``index.pt`` there, each of its items in a shard);
    with it, whatever shards an interrupted run left are returned. ``names`` are the last run's items
    (an earlier run with a larger ``--limit`` may have left more in the dictionaries).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"folder must be an output folder of python -m iglib.apps.at_scale, got {str(folder)!r}")
    index = torch.load(folder / INDEX, weights_only=True) if (folder / INDEX).exists() else None
    if index is None and not partial:
        raise ValueError(f"{folder} has no {INDEX}: the run has not finished. Rerun the same command to "
                         "complete it, or pass partial=True for the items done so far")
    merged, config, seen = Results(), None, {}
    for path in shard_files(folder):
        shard = _read_shard(path)
        if config is not None and shard["config"] != config:
            raise ValueError(f"{path.name} was computed with another configuration than the other shards of {folder}")
        config = shard["config"]
        for name in shard["attributions"]:
            if name in seen:
                raise ValueError(f"item {name!r} is in two shards of {folder}: {seen[name]} and {path.name}")
            seen[name] = path.name
        merged.add(Results(**{k: shard[k] for k in ("attributions", "targets", "change", "completeness", "tokens")}))
    if index is not None:
        if config is not None and config != index["config"]:
            raise ValueError(f"the shards of {folder} were computed with another configuration than {INDEX} records")
        config = index["config"]
        missing = [n for n in index["items"] if n not in seen]
        if missing and not partial:
            raise ValueError(f"{folder}: {len(missing)} of the {len(index['items'])} items {INDEX} lists are in no "
                             f"shard (e.g. {missing[0]!r}); rerun the same command to complete it")
        names = [n for n in index["items"] if n in seen]
    else:
        names = list(seen)
    if config is None:
        raise ValueError(f"{folder} holds no shard")
    return Attributions(config, names, merged.attributions, merged.targets, merged.change, merged.completeness,
                        merged.tokens)
