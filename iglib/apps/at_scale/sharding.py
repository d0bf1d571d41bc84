"""A run: the items cut into chunks, the chunks dealt to the ranks, each rank's chunks computed and saved.

Every rank sees the same list of items and of those already done in OUT (rank 0 lists them and
broadcasts both), cut into chunks of ``chunk`` items (questions of one length together); the
chunks with items left to do are numbered, and chunk k goes to rank k mod W. Every item is
computed exactly once: no padding, no duplicates (``DistributedSampler`` instead repeats items to
even out the ranks). An item is computed alone (an image) or in its chunk (questions, batched as
:func:`iglib.experiments.text.triggers.token_scores` batches them), never with items of another
rank, so its result does not depend on W: at equal threads per process the merged result equals
the one-process result bit for bit.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
import torch.distributed as dist

from ...progress import progress
from .config import chosen, run_options
from .results import done_items, summary, write_index, write_shard
from .sources import Images, Questions


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


# --------------------------------------------------------------------------- distributed
def setup_distributed(device: str | torch.device | None) -> tuple[int, int, torch.device]:
    """(rank, world size, device). Under torchrun (RANK and WORLD_SIZE set) joins the process group:
    nccl on CUDA, gloo on CPU; each rank takes the GPU of its LOCAL_RANK."""
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
def run(config: dict, out: str | Path, chunk: int, device: str | torch.device | None = None,
        internal_batch_size: int | str | None = None, checkpoint: str | Path | None = None,
        limit: int | None = None, items: Sequence[str] | None = None, quiet: bool = False) -> dict | None:
    """Attribute every pending item of ``config``'s source into ``out`` (this process's share under
    torchrun), in chunks of ``chunk`` items; with ``items``, only those of the source's items, in that
    order; with ``limit``, only the first ``limit`` of them.
    ``config`` holds what the results depend on (see :func:`~iglib.apps.at_scale.config.image_config`
    and :func:`~iglib.apps.at_scale.config.question_config`); the other arguments do not change them
    (:func:`~iglib.apps.at_scale.config.run_options` checks them). Rank 0 returns the index it wrote
    (and prints its :func:`~iglib.apps.at_scale.results.summary` unless ``quiet``), the other ranks None."""
    chunk, device, internal_batch_size, limit = run_options(chunk, device, internal_batch_size, limit)
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
            write_shard(out, plan["next"] + k, config, rank, world_size, source.compute(work[k]))
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
