"""Attributions for a whole dataset on as many processes as there are: ``torchrun`` shards the items.

    python -m iglib.apps.at_scale --images FOLDER --out OUT [--attribution-method ig --steps 32 --baseline black --target top1]
    python -m iglib.apps.at_scale --questions heldout --out OUT [--steps 16 --target predicted]
    torchrun --nproc_per_node=N -m iglib.apps.at_scale ...   (the same flags; one process per CPU share or GPU)

Per item (an image of the folder, or a held-out question) it stores the attribution A (an image:
[3, 224, 224] in the classifier's input space; a question: one score per token, the sum of
embedding IG over the embedding dimensions), the explained class c, F_c(x) - F_c(x'), and the
completeness error

    delta = sum_i A_i - (F_c(x) - F_c(x')),

which IG drives to zero as the steps grow (for other methods it measures how far they are from
completeness).

Sharding. Every rank sees the same list of items and of those already done in OUT (rank 0 lists
them and broadcasts both), cut into chunks of ``--chunk`` items (questions of one length
together); the chunks with items left to do are numbered, and chunk k goes to rank k mod W.
Every item is computed exactly once: no padding, no duplicates (``DistributedSampler`` instead
repeats items to even out the ranks). An item is computed alone (an image) or in its chunk
(questions, batched as :func:`iglib.experiments.text.triggers.token_scores` batches them), never with items
of another rank, so its result does not depend on W: at equal threads per process the merged
result equals the one-process result bit for bit.

Files. Each chunk's results are one ``torch.save`` file ``shard-NNNNNN.pt``, written by the rank
that computed it under a temporary name and then renamed, so an interrupted run leaves whole
shards only, and a rerun skips the items they hold. When all ranks are done, rank 0 writes
``index.pt`` (the configuration, the items in order, per item its shard, class, F(x) - F(x') and
delta, and each run's throughput). :func:`load` merges the shards.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor

from .. import baselines as bl, data, methods, quadrature
from ..arguments import check_count
from ..experiments import imagenet
from ..integrated_gradients import integrated_gradients
from ..progress import progress

INDEX = "index.pt"
SHARD = "shard-{:06d}.pt"
FORMAT = 1
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
LOW, HIGH = (0 - imagenet.MEAN) / imagenet.SCALE, (255 - imagenet.MEAN) / imagenet.SCALE  # valid input range

# Image baselines x', in the classifier's input space.
BASELINES: dict[str, Callable[[Tensor], Tensor]] = {
    "black": imagenet.black,  # the paper's
    "zero": torch.zeros_like,  # mid-grey (pixels 127)
    "blurred": bl.blurred,  # Gaussian blur, sigma 20 pixels
    "uniform": lambda x: bl.uniform_noise(x, LOW, HIGH, seed=0),
}
# Attribution methods in the common convention attribute(model, inputs, baselines, target=...).
ATTRIBUTION_METHODS = ("ig", *methods.__all__)
SAMPLING = ("smoothgrad", "expected_gradients")  # --steps is their n_samples, drawn with seed 0
OUTPUTS = ("logit", "probability")  # images: F, the class's logit or its softmax probability
QUESTION_SPLITS = {"heldout": "unseen", "unseen": "unseen", "seen": "seen", "training": "training"}


# -------------------------------------------------------------------------------- the items
def list_images(folder: str | Path) -> list[str]:
    """The images under ``folder`` (any depth), as sorted POSIX paths relative to it: the item names."""
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"--images must be a folder of images, got {str(folder)!r}, which is not a folder")
    names = sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                   if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not names:
        raise ValueError(f"--images {str(folder)!r} holds no image (files ending in {', '.join(IMAGE_SUFFIXES)})")
    return names


def chunks(names: Sequence[str], size: int, group: Callable[[str], int] | None = None) -> list[list[str]]:
    """``names`` cut into chunks of at most ``size``, in order; with ``group``, a chunk never mixes groups
    (the groups in increasing order, the names in their order inside a group)."""
    if group is None:
        return [list(names[i : i + size]) for i in range(0, len(names), size)]
    by_group: dict[int, list[str]] = {}
    for name in names:
        by_group.setdefault(group(name), []).append(name)
    return [c for g in sorted(by_group) for c in chunks(by_group[g], size)]


def assigned(n_chunks: int, rank: int, world_size: int) -> list[int]:
    """The chunks of ``rank``: k = rank, rank + W, rank + 2W, ... Each chunk has exactly one rank."""
    return list(range(rank, n_chunks, world_size))


def chosen(available: list[str], items: Sequence[str] | None) -> list[str]:
    """``items`` (all of ``available`` if None), checked: each one of the source's, none twice."""
    if items is None:
        return available
    if isinstance(items, str) or not all(isinstance(name, str) for name in items):
        raise TypeError(f"items must be a list of item names (str), got {items!r:.80}")
    known = set(available)
    unknown = [name for name in items if name not in known]
    if unknown:
        raise ValueError(f"items must be items of the source, got {len(unknown)} that are not, e.g. {unknown[0]!r}")
    if len(set(items)) != len(items):
        raise ValueError(f"items must not repeat a name, got {len(items)} names of which {len(set(items))} differ")
    return list(items)


def default_checkpoint() -> Path:
    """The committed question classifier (fast mode), what notebook 09 loads."""
    from ..experiments.text.checkpoint import FOLDER
    return FOLDER / "questions_fast.pt"


# ----------------------------------------------------------------------------- attributing
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


class Images:
    """The ImageNet classifier over a folder of images: ``compute(names)`` attributes each image alone.
    F is the class's logit, or with ``config["output"] == "probability"`` its softmax probability."""

    group = None  # any image with any other

    def __init__(self, config: dict, device: torch.device, internal_batch_size: int | str | None = None):
        self.config, self.device, self.internal_batch_size = config, device, internal_batch_size
        self.root = Path(config["source"])
        classifier = imagenet.load_classifier(device)
        self.model = (classifier if config.get("output", "logit") == "logit"
                      else lambda x: classifier(x).softmax(dim=-1))

    def items(self) -> list[str]:
        return list_images(self.root)

    def compute(self, names: Sequence[str]) -> Results:
        c, out = self.config, Results()
        for name in names:
            try:
                x = imagenet.preprocess(self.root / name).to(self.device)
            except (OSError, ValueError) as error:
                raise ValueError(f"{self.root / name} is not a readable image: {error}") from error
            x_base = BASELINES[c["baseline"]](x)
            with torch.no_grad():
                scores = self.model(torch.cat([x, x_base]))
            target = int(scores[0].argmax()) if c["target"] == "top1" else int(c["target"])
            a = attribute_image(self.model, x, x_base, target, c, self.internal_batch_size)
            out.attributions[name] = a[0].detach().cpu()
            out.targets[name] = target
            out.change[name] = float(scores[0, target] - scores[1, target])
            out.completeness[name] = float(a.double().sum()) - out.change[name]
        return out


def attribute_image(model: Callable[[Tensor], Tensor], x: Tensor, x_base: Tensor, target: int, config: dict,
                    internal_batch_size: int | str | None = None) -> Tensor:
    """``config["attribution_method"]``'s attribution of class ``target`` at image ``x`` [1, 3, H, W] against
    ``x_base`` (IG with the quadrature rule ``config["method"]``)."""
    attribution_method, steps = config["attribution_method"], config["steps"]
    if attribution_method == "ig":
        return integrated_gradients(model, x, x_base, target=target, n_steps=steps, method=config["method"],
                                    internal_batch_size=internal_batch_size)
    options = {"n_samples": steps, "seed": 0} if attribution_method in SAMPLING else {}
    return getattr(methods, attribution_method)(model, x, x_base, target=target, **options)


class Questions:
    """The question classifier over a split: ``compute(names)`` attributes a chunk (one length) at once,
    as :func:`iglib.experiments.text.triggers.token_scores` does, so both give the same scores."""

    def __init__(self, config: dict, device: torch.device, checkpoint: str | Path | None = None):
        from ..experiments.text import classifier as clf, questions as qs
        from ..experiments.text.tokens import tokenize

        self.config, self.device = config, device
        checkpoint = Path(checkpoint or default_checkpoint())
        if data.sha256(checkpoint) != config["model"]:
            raise ValueError(f"checkpoint {str(checkpoint)!r} is not the configuration's model (sha256 {config['model']})")
        self.trained = clf.load(checkpoint, device)
        split = qs.load(QUESTION_SPLITS[config["source"]])
        vocab, max_length = self.trained.vocab, self.trained.config.max_length
        self.ids = {q: vocab.encode(tokenize(text)[:max_length]) for q, text in zip(split.ids, split.texts)}
        self.order = list(split.ids)
        empty = [q for q in self.order if not self.ids[q]]
        if empty:
            raise ValueError(f"questions without a single token cannot be attributed: {empty[:5]}")

    def items(self) -> list[str]:
        return self.order

    def group(self, name: str) -> int:
        """A question's length: a chunk holds questions of one length, so none is padded."""
        return len(self.ids[name])

    def compute(self, names: Sequence[str]) -> Results:
        from ..experiments.text import embedding_integrated_gradients, token_attributions

        model, vocab = self.trained.model, self.trained.vocab
        if len({len(self.ids[n]) for n in names}) != 1:
            raise ValueError("a chunk of questions must hold questions of one length (unpadded)")
        x = torch.tensor([self.ids[n] for n in names], dtype=torch.long, device=self.device)
        with torch.no_grad():
            if self.config["target"] == "predicted":
                t = model(x).argmax(1)
            else:
                t = torch.full((len(names),), int(self.config["target"]), dtype=torch.long, device=self.device)
        a, delta = embedding_integrated_gradients(model, model.embedding, x, target=t, n_steps=self.config["steps"],
                                                  method=self.config["method"], return_convergence_delta=True)
        scores = token_attributions(a).detach().double().cpu()
        out = Results()
        for row, name in enumerate(names):
            out.attributions[name] = scores[row]
            out.targets[name] = int(t[row])
            out.completeness[name] = float(delta[row])
            out.change[name] = float(scores[row].sum()) - out.completeness[name]  # G(e) - G(0)
            out.tokens[name] = [vocab.itos[i] for i in self.ids[name]]
        return out


# ------------------------------------------------------------------------------ the shards
def _save(obj: dict, path: Path) -> None:
    """torch.save to a temporary name, then rename: a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


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


# --------------------------------------------------------------------------- distributed
def setup_distributed(device: str | None) -> tuple[int, int, torch.device]:
    """(rank, world size, device). Under torchrun (RANK and WORLD_SIZE set) joins the process group:
    nccl on CUDA, gloo on CPU; each rank takes the GPU of its LOCAL_RANK."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:  # not under torchrun
        return 0, 1, dev
    dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size(), dev


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def _broadcast(obj, rank: int):
    if not _distributed():
        return obj
    box = [obj if rank == 0 else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def _all_gather(obj) -> list:
    if not _distributed():
        return [obj]
    gathered = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, obj)
    return gathered


# ----------------------------------------------------------------------------------- a run
def run(config: dict, out: str | Path, chunk: int, device: str | None = None,
        internal_batch_size: int | str | None = None, checkpoint: str | Path | None = None,
        limit: int | None = None, items: Sequence[str] | None = None, quiet: bool = False) -> dict | None:
    """Attribute every pending item of ``config``'s source into ``out`` (this process's share under
    torchrun), in chunks of ``chunk`` items; with ``items``, only those of the source's items, in that
    order; with ``limit``, only the first ``limit`` of them.
    ``config`` holds what the results depend on (see :func:`parse_args`); the other arguments do not
    change them. Rank 0 returns the index it wrote (and prints its :func:`summary` unless ``quiet``), the
    other ranks None."""
    out = Path(out)
    rank, world_size, dev = setup_distributed(device)
    try:
        start = time.perf_counter()
        source = (Images(config, dev, internal_batch_size) if config["kind"] == "images"
                  else Questions(config, dev, checkpoint))
        plan: dict | str
        if rank == 0:
            try:
                out.mkdir(parents=True, exist_ok=True)
                done, next_shard = done_items(out, config)
                plan = {"items": chosen(source.items(), items)[:limit], "done": done, "next": next_shard}
            except (ValueError, OSError) as error:
                plan = str(error)
        else:
            plan = None
        plan = _broadcast(plan, rank)
        if isinstance(plan, str):  # every rank stops with rank 0's error
            raise ValueError(plan)
        # Chunks of all the items, less the ones done: the same command, rerun, recomputes whole chunks
        # exactly as a fresh run would (questions are batched per chunk, which moves delta by rounding).
        work = [[name for name in c if name not in plan["done"]]
                for c in chunks(plan["items"], chunk, source.group)]
        work = [c for c in work if c]
        mine = assigned(len(work), rank, world_size)
        setup_s = time.perf_counter() - start
        start = time.perf_counter()
        n_items = sum(len(work[k]) for k in mine)
        desc = f"{config['kind']}, rank 0 of {world_size}" if world_size > 1 else config["kind"]
        bar = progress(None, desc=desc, total=n_items, unit="item", hide=rank != 0)  # rank 0's bar only
        for k in mine:
            results = source.compute(work[k])
            _save({"format": FORMAT, "config": config, "rank": rank, "world_size": world_size,
                   **results.__dict__}, out / SHARD.format(plan["next"] + k))
            bar.update(len(work[k]))
        bar.close()
        seconds = time.perf_counter() - start
        stats = _all_gather({"rank": rank, "items": n_items, "seconds": seconds, "setup_seconds": setup_s})
        index = None
        if rank == 0:
            index = write_index(out, config, plan["items"], {"world_size": world_size, "ranks": stats,
                                                              "items_done_before": len(plan["items"]) - sum(map(len, work))})
            if not quiet:
                print(summary(index), flush=True)
        if _distributed():
            dist.barrier()  # nobody leaves before the index is written
        return index
    finally:  # after an error torchrun stops the other ranks
        if _distributed():
            dist.destroy_process_group()


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


# ----------------------------------------------------------------------------- configuration
def image_config(folder: str | Path, attribution_method: str = "ig", baseline: str = "black", target: str = "top1",
                 steps: int = 32, method: str = "gausslegendre", output: str = "logit") -> dict:
    """The configuration of an image run (what its results depend on), as the command line builds it:
    ``run(image_config(folder, steps=300, output="probability"), out, chunk=1)`` is
    ``python -m iglib.apps.at_scale --images FOLDER --out OUT --steps 300 --output probability --chunk 1``."""
    for name, value, allowed in (("attribution_method", attribution_method, ATTRIBUTION_METHODS),
                                 ("baseline", baseline, tuple(BASELINES)), ("method", method, quadrature.METHODS),
                                 ("output", output, OUTPUTS)):
        if value not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    if target != "top1" and not (isinstance(target, str) and target.isdigit() and int(target) < 1000):
        raise ValueError(f"target must be 'top1' or a class index '0'..'999' (a str), got {target!r}")
    check_count(steps, "steps")
    list_images(folder)  # a ValueError unless the folder holds images
    config = {"kind": "images", "source": str(Path(folder).resolve()), "model": imagenet.WEIGHTS_FILE,
              "attribution_method": attribution_method, "baseline": baseline, "target": target,
              "steps": steps, "method": method if attribution_method == "ig" else None, "output": output}
    if attribution_method not in ("ig", *SAMPLING):
        config["steps"] = None
    return config


# ----------------------------------------------------------------------------- command line
def parse_args(argv: Sequence[str] | None = None) -> tuple[dict, argparse.Namespace]:
    """The run's configuration (what the results depend on) and the remaining arguments."""
    parser = argparse.ArgumentParser(prog="python -m iglib.apps.at_scale", description=__doc__.split("\n\n")[0])
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--images", metavar="FOLDER", help="attribute every image under FOLDER (ImageNet classifier)")
    what.add_argument("--questions", choices=sorted(QUESTION_SPLITS),
                      help="attribute every question of a WikiTableQuestions split (heldout = pristine-unseen)")
    parser.add_argument("--out", required=True, metavar="FOLDER", help="output folder (created; a rerun resumes)")
    parser.add_argument("--attribution-method", default="ig", choices=ATTRIBUTION_METHODS,
                        help="attribution method (default ig; questions: ig only)")
    parser.add_argument("--steps", type=int, default=None,
                        help="IG's n_steps (and smoothgrad's, expected_gradients' n_samples); "
                             "default 32 for images, 16 for questions")
    parser.add_argument("--method", default="gausslegendre", choices=quadrature.METHODS,
                        help="IG's quadrature rule (the method= of iglib.integrated_gradients)")
    parser.add_argument("--baseline", default=None, choices=sorted(BASELINES) + ["zero-embedding"],
                        help="images: black (default, the paper's), zero, blurred, uniform; "
                             "questions: zero-embedding (the only one)")
    parser.add_argument("--target", default=None,
                        help="images: top1 (default) or a class index 0..999; "
                             "questions: predicted (default; top1 says the same), a label (NUMERIC, ...) or its index 0..3")
    parser.add_argument("--output", default="logit", choices=OUTPUTS,
                        help="images: F is the class's logit (default) or its softmax probability (the paper's)")
    parser.add_argument("--checkpoint", default=None, metavar="FILE",
                        help="questions: the classifier checkpoint (default: the committed questions_fast.pt)")
    parser.add_argument("--chunk", type=int, default=None,
                        help="items per shard file, the unit of sharding and of resuming "
                             "(default 4 images, 256 questions)")
    parser.add_argument("--internal-batch-size", default=None,
                        help="IG: at most this many path points per forward pass, or auto (default: all steps)")
    parser.add_argument("--limit", type=int, default=None,
                        help="only the first LIMIT items (a trial run; the full run later skips them)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads per process (torchrun sets OMP_NUM_THREADS=1 unless it is set)")
    parser.add_argument("--device", default=None,
                        help="cpu, cuda, cuda:N (default: cuda if there is one, each rank on GPU LOCAL_RANK)")
    args = parser.parse_args(argv)

    def positive(flag: str, value: int | None) -> None:
        if value is not None and value < 1:
            parser.error(f"{flag} must be a positive integer, got {value}")

    positive("--steps", args.steps)
    positive("--chunk", args.chunk)
    positive("--threads", args.threads)
    positive("--limit", args.limit)
    ibs = args.internal_batch_size
    if ibs is not None and ibs != "auto":
        if not ibs.isdigit() or int(ibs) < 1:
            parser.error(f"--internal-batch-size must be a positive integer or auto, got {ibs!r}")
        ibs = int(ibs)
    if args.device is not None:
        try:
            dev = torch.device(args.device)
        except RuntimeError:
            parser.error(f"--device must be cpu, cuda or cuda:N, got {args.device!r}")
        if dev.type == "cuda" and not torch.cuda.is_available():
            parser.error(f"--device {args.device}: torch sees no CUDA device here")
        if dev.type not in ("cpu", "cuda"):
            parser.error(f"--device must be cpu, cuda or cuda:N, got {args.device!r}")
    if args.method == "riemann_trapezoid" and args.steps == 1:
        parser.error("--steps must be >= 2 for --method riemann_trapezoid")

    if args.images is not None:
        if args.checkpoint is not None:
            parser.error("--checkpoint is for --questions; images use the ImageNet classifier")
        if args.baseline == "zero-embedding":
            parser.error("--baseline zero-embedding is for --questions; images take black, zero, blurred or uniform")
        target = args.target or "top1"
        if target != "top1" and not (target.isdigit() and int(target) < 1000):
            parser.error(f"--target must be top1 or a class index 0..999 for images, got {target!r}")
        try:  # image_config checks the folder (and what the flags above have checked already)
            config = image_config(args.images, attribution_method=args.attribution_method,
                                  baseline=args.baseline or "black", target=target, steps=args.steps or 32,
                                  method=args.method, output=args.output)
        except ValueError as error:
            parser.error(str(error))
        chunk = args.chunk or 4
    else:
        from ..experiments.text import questions as qs

        if args.output != "logit":
            parser.error(f"--output is for --images; questions attribute the classifier's logit, got {args.output!r}")
        if args.attribution_method != "ig":
            parser.error(f"--attribution-method must be ig for --questions (embedding IG), got {args.attribution_method!r}")
        if args.baseline not in (None, "zero-embedding"):
            parser.error(f"--baseline must be zero-embedding for --questions, got {args.baseline!r}")
        target = "predicted" if args.target in (None, "top1") else args.target
        if target in qs.LABELS:
            target = str(qs.LABELS.index(target))
        if target != "predicted" and not (target.isdigit() and int(target) < len(qs.LABELS)):
            parser.error(f"--target must be predicted, one of {', '.join(qs.LABELS)} or 0..{len(qs.LABELS) - 1} "
                         f"for questions, got {args.target!r}")
        checkpoint = Path(args.checkpoint) if args.checkpoint else default_checkpoint()
        if not checkpoint.is_file():
            parser.error(f"--checkpoint must be a classifier checkpoint file, got {str(checkpoint)!r}, which does not exist")
        config = {"kind": "questions", "source": args.questions, "model": data.sha256(checkpoint),
                  "attribution_method": "ig", "baseline": "zero-embedding", "target": target,
                  "steps": args.steps or 16, "method": args.method}
        args.checkpoint = checkpoint
        chunk = args.chunk or 256
    args.chunk, args.internal_batch_size = chunk, ibs
    return config, args


def main(argv: Sequence[str] | None = None) -> int:
    config, args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    run(config, args.out, args.chunk, args.device, args.internal_batch_size, args.checkpoint, args.limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
