"""A translator's training run, measured at its snapshots: does a better translator give better IG alignments?

At every snapshot of a run (``python -m iglib.experiments.text.translation ... --snapshots DIR``) the weights kept
then are scored on what notebook 10 measures on the final ones:

- held-out Tatoeba BLEU and chrF of greedy translations (:func:`iglib.experiments.text.translation.evaluate`);
- loops: outputs with a piece repeated 3 or more times in a row, on held-out sentences without punctuation;
- figure 5: the translation of the paper's sentence, and the English word each German word draws on most
  (with its row sum) under each IG baseline;
- AER on the hand-aligned pairs (short and long) of four readings of the model: the argmax of the IG
  matrix from the zero embedding (``ig``) and from ``<unk>`` (``ig_unk``), the argmax of the last decoder
  layer's cross-attention, and the diagonal (no model).

Command line (writes one JSON record of the run beside the checkpoint it measures):

    python -m iglib.experiments.text.history --checkpoint iglib/experiments/text/checkpoints/translation_fast.pt \\
        --snapshots runs/snapshots --out iglib/experiments/text/checkpoints/translation_fast_history.json
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from . import translation
from .alignment import corpus_score, load_references

REFERENCES = Path(__file__).resolve().parents[3] / "tests"  # the hand-aligned pairs, in the repository
ALIGNED_SETS = {"short": "alignments_de_en.json", "long": "alignments_de_en_long.json"}
LOOP_SENTENCES = 200  # held-out Tatoeba sentences, punctuation stripped, checked for loops
STEPS = 50  # IG's Gauss-Legendre nodes for every attribution the record holds
IG_BASELINES = {"ig": "zero", "ig_unk": "<unk>"}  # reading -> the baseline of its IG matrix


def unpunctuated_heldout(split_: translation.Split, n: int = LOOP_SENTENCES) -> list[str]:
    """The first ``n`` held-out Tatoeba English sentences with their punctuation stripped."""
    return [translation.strip_punctuation(s) for s in split_.heldout_sources[:n]]


def measure(trained: translation.Trained, split_: translation.Split, n_steps: int = STEPS) -> dict:
    """Held-out Tatoeba BLEU/chrF, the loop count, figure 5's links per IG baseline, and AER of IG (per
    baseline), attention and the diagonal per aligned set."""
    record = dict(translation.evaluate(trained, split_, test_sets=())["tatoeba"])
    sentences = unpunctuated_heldout(split_)
    record["loops"] = len(translation.loops(trained, sentences))
    record["loop_sentences"] = len(sentences)
    for reading, baseline in IG_BASELINES.items():
        read = translation.figure_5(trained, baseline, n_steps=n_steps)
        record["paper_translation"] = read.translation
        record[f"figure5_{reading}"] = read.links
        record[f"figure5_rise_{reading}"] = read.rise
    for name, file in ALIGNED_SETS.items():
        references = load_references(REFERENCES / file)
        reads = {reading: translation.align_references(trained, references, n_steps=n_steps, baseline=baseline)
                 for reading, baseline in IG_BASELINES.items()}
        for reading, read in reads.items():
            record[f"aer_{name}_{reading}"] = corpus_score(read.ig, references).aer
        for reading in ("attention", "diagonal"):  # neither depends on IG's baseline
            record[f"aer_{name}_{reading}"] = corpus_score(getattr(reads["ig"], reading), references).aer
    return record


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m iglib.experiments.text.history", description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True, help="the run's final checkpoint (its pieces and config)")
    parser.add_argument("--snapshots", required=True, help="folder of step_NNNNN.pt snapshots of the run")
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--every", type=int, default=1, help="measure every this-many-th snapshot (and the first and the last)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for the measurements")
    parser.add_argument("--train-threads", type=int, default=2, help="the threads the run trained on (recorded)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    final = translation.load(args.checkpoint)
    split_ = translation.split(final.config)
    paths = sorted(Path(args.snapshots).glob("step_*.pt"))
    paths = [p for k, p in enumerate(paths) if k % args.every == args.every - 1 or k in (0, len(paths) - 1)]
    rows = []
    for path in paths:
        start = time.perf_counter()
        row = {"update": int(path.stem.split("_")[1]), **measure(translation.load_snapshot(final, path), split_)}
        rows.append(row)
        print(f"{path.name}: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()
                                           if not k.startswith("figure5_rise"))
              + f" ({time.perf_counter() - start:.0f} s)", flush=True)
    run = {"checkpoint": Path(args.checkpoint).name, "updates": len(final.losses), "seconds": final.seconds,
           "threads": args.train_threads, "updates_per_epoch": translation.updates_per_epoch(split_, final)}
    Path(args.out).write_text(json.dumps({**run, "snapshots": rows}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
