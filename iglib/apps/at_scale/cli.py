"""Attributions for a whole dataset on as many processes as there are: ``torchrun`` shards the items.

The command line of :mod:`iglib.apps.at_scale`: :func:`parse_args` reads the flags into a
configuration (:func:`~iglib.apps.at_scale.config.image_config` or
:func:`~iglib.apps.at_scale.config.question_config`, which check them) and :func:`main` runs it.
A check's error names a Python argument (``internal_batch_size``); here it names the flag
(``--internal-batch-size``) and is an argparse error.
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence

import torch

from ... import quadrature
from ...arguments import check_count
from .config import (ATTRIBUTION_METHODS, BASELINES, OUTPUTS, QUESTION_SPLITS, image_config, question_config,
                     run_options)
from .sharding import run

# The flag of each argument the checks name: an argument's name with dashes, but for these two.
FLAGS = {"folder": "--images", "split": "--questions"}
ARGUMENTS = {"attribution_method", "baseline", "target", "steps", "method", "output", "checkpoint", "chunk",
             "device", "internal_batch_size", "limit", "threads", *FLAGS}


def build_parser() -> argparse.ArgumentParser:
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
                        help=f"images: black (default, the paper's), {', '.join(sorted(set(BASELINES) - {'black'}))}; "
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
    return parser


def as_flags(message: str) -> str:
    """A check's message, which starts with the argument's name, starting with its flag instead."""
    name, _, rest = message.partition(" ")
    if name not in ARGUMENTS:
        return message
    return f"{FLAGS.get(name, '--' + name.replace('_', '-'))} {rest}"


def _given(args: argparse.Namespace, *names: str) -> dict:
    """The flags among ``names`` that were given: the others keep the configuration's defaults."""
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def _image_config(args: argparse.Namespace) -> dict:
    if args.checkpoint is not None:
        raise ValueError("--checkpoint is for --questions; images use the ImageNet classifier")
    if args.baseline == "zero-embedding":
        raise ValueError(f"--baseline zero-embedding is for --questions; images take {', '.join(BASELINES)}")
    return image_config(args.images, **_given(args, "attribution_method", "baseline", "target", "steps", "method",
                                              "output"))


def _question_config(args: argparse.Namespace) -> dict:
    if args.output != "logit":
        raise ValueError(f"--output is for --images; questions attribute the classifier's logit, got {args.output!r}")
    if args.attribution_method != "ig":
        raise ValueError(f"--attribution-method must be ig for --questions (embedding IG), got {args.attribution_method!r}")
    if args.baseline not in (None, "zero-embedding"):
        raise ValueError(f"--baseline must be zero-embedding for --questions, got {args.baseline!r}")
    return question_config(args.questions, **_given(args, "target", "steps", "method", "checkpoint"))


def parse_args(argv: Sequence[str] | None = None) -> tuple[dict, argparse.Namespace]:
    """The run's configuration (what the results depend on) and the remaining arguments, checked."""
    parser = build_parser()
    args = parser.parse_args(argv)
    ibs = args.internal_batch_size
    if ibs is not None and ibs.isascii() and ibs.isdigit():
        ibs = int(ibs)
    if args.chunk is None:
        args.chunk = 4 if args.images is not None else 256
    try:
        args.chunk, args.device, args.internal_batch_size, args.limit = run_options(args.chunk, args.device, ibs,
                                                                                    args.limit)
        if args.threads is not None:
            check_count(args.threads, "threads")
        config = _image_config(args) if args.images is not None else _question_config(args)
    except (TypeError, ValueError) as error:
        parser.error(as_flags(str(error)))
    return config, args


def main(argv: Sequence[str] | None = None) -> int:
    config, args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    run(config, args.out, args.chunk, args.device, args.internal_batch_size, args.checkpoint, args.limit)
    return 0
