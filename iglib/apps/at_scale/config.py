"""A run's configuration and every check of its arguments, usable from Python.

:func:`image_config` and :func:`question_config` build the configuration (what the results depend
on); :func:`run_options` checks the arguments of :func:`iglib.apps.at_scale.run` that do not change
the results; :func:`chosen` checks a list of items. Each bad argument is a ``TypeError`` or
``ValueError`` from :mod:`iglib.arguments`' helpers, whose message starts with the argument's name
and quotes the value given; the command line (:mod:`iglib.apps.at_scale.cli`) turns the name into
its flag.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ... import baselines as bl, data, methods, quadrature
from ...arguments import check_batch_size, check_choice, check_count, quote
from ...experiments import imagenet

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
LOW, HIGH = (0 - imagenet.MEAN) / imagenet.SCALE, (255 - imagenet.MEAN) / imagenet.SCALE  # valid input range
N_CLASSES = 1000  # ImageNet's

# Image baselines x', in the classifier's input space.
BASELINES: dict[str, Callable[[Tensor], Tensor]] = {
    "black": imagenet.black,  # the paper's
    "zero": torch.zeros_like,  # mid-grey (pixels 127)
    "blurred": bl.blurred,  # Gaussian blur, sigma 20 pixels
    "uniform": lambda x: bl.uniform_noise(x, LOW, HIGH, seed=0),
    "gaussian": lambda x: bl.gaussian_noise(x, 0.5, LOW, HIGH, seed=0),  # x + N(0, 0.5^2) (64 pixel levels), clipped
    "maximum_distance": lambda x: bl.maximum_distance(x, LOW, HIGH),  # the valid image farthest from x
}
# Attribution methods in the common convention attribute(model, inputs, baselines, target=...).
ATTRIBUTION_METHODS = ("ig", *methods.__all__)
SAMPLING = ("smoothgrad", "expected_gradients")  # steps is their n_samples, drawn with seed 0
OUTPUTS = ("logit", "probability")  # images: F, the class's logit or its softmax probability
QUESTION_SPLITS = {"heldout": "unseen", "unseen": "unseen", "seen": "seen", "training": "training"}


# -------------------------------------------------------------------------------- the items
def list_images(folder: str | Path) -> list[str]:
    """The images under ``folder`` (any depth), as sorted POSIX paths relative to it: the item names."""
    if not isinstance(folder, (str, os.PathLike)):
        raise TypeError(f"folder must be a folder of images (a str or Path), got {quote(folder)}")
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"folder must be a folder of images, got {str(folder)!r}, which is not a folder")
    names = sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                   if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not names:
        raise ValueError(f"folder {str(folder)!r} holds no image (files ending in {', '.join(IMAGE_SUFFIXES)})")
    return names


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
    from ...experiments.text.checkpoint import FOLDER
    return FOLDER / "questions_fast.pt"


# ----------------------------------------------------------------------------- the checks
def check_steps(steps: Any, method: str | None = None) -> int:
    """IG's ``n_steps`` (or a sampling method's ``n_samples``): an int >= 1, >= 2 for the trapezoid rule."""
    steps = check_count(steps, "steps")
    if method == "riemann_trapezoid":
        check_count(steps, "steps for method riemann_trapezoid (it needs both ends)", minimum=2)
    return steps


def check_image_target(target: Any) -> str:
    """``"top1"`` (the classifier's top class) or a class index ``"0"``..``"999"``, as a str."""
    expected = f"top1 or a class index 0..{N_CLASSES - 1} (the str 'top1' or '0'..'{N_CLASSES - 1}')"
    if not isinstance(target, str):
        raise TypeError(f"target must be {expected}, got {quote(target)}")
    if target != "top1" and not (target.isascii() and target.isdigit() and int(target) < N_CLASSES):
        raise ValueError(f"target must be {expected}, got {target!r}")
    return target


def check_question_target(target: Any) -> str:
    """``"predicted"`` (``"top1"`` says the same), a label or its index: ``"predicted"`` or the index as a str."""
    from ...experiments.text.questions import LABELS

    expected = f"predicted, one of {', '.join(LABELS)} or 0..{len(LABELS) - 1} (a str)"
    if not isinstance(target, str):
        raise TypeError(f"target must be {expected}, got {quote(target)}")
    if target in ("predicted", "top1"):
        return "predicted"
    if target in LABELS:
        return str(LABELS.index(target))
    if not (target.isascii() and target.isdigit() and int(target) < len(LABELS)):
        raise ValueError(f"target must be {expected} for questions, got {target!r}")
    return target


def check_checkpoint(checkpoint: Any) -> Path:
    """A question classifier's checkpoint file; None is the committed one (:func:`default_checkpoint`)."""
    if checkpoint is None:
        checkpoint = default_checkpoint()
    if not isinstance(checkpoint, (str, os.PathLike)):
        raise TypeError(f"checkpoint must be None or a checkpoint file (a str or Path), got {quote(checkpoint)}")
    if not Path(checkpoint).is_file():
        raise ValueError(f"checkpoint must be a classifier checkpoint file, got {str(checkpoint)!r}, "
                         "which does not exist")
    return Path(checkpoint)


def check_device_name(device: Any) -> str | torch.device | None:
    """None (cuda if there is one), ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (a str or torch.device)."""
    if device is None:
        return None
    expected = "cpu, cuda or cuda:N"
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be None, {expected} (a str or torch.device), got {quote(device)}")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"device must be {expected}, got {device!r}") from None
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be {expected}, got {device!r}")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r}: torch sees no CUDA device here")
    return device


def run_options(chunk: Any, device: Any = None, internal_batch_size: Any = None,
                limit: Any = None) -> tuple[int, str | torch.device | None, int | str | None, int | None]:
    """The arguments of a run that do not change its results, checked: items per shard file, the device,
    IG's path points per forward pass (None, an int or ``"auto"``), the first ``limit`` items only."""
    return (check_count(chunk, "chunk"), check_device_name(device), check_batch_size(internal_batch_size),
            None if limit is None else check_count(limit, "limit"))


# ----------------------------------------------------------------------------- configuration
def image_config(folder: str | Path, attribution_method: str = "ig", baseline: str = "black", target: str = "top1",
                 steps: int = 32, method: str = "gausslegendre", output: str = "logit") -> dict:
    """The configuration of an image run (what its results depend on), as the command line builds it:
    ``run(image_config(folder, steps=300, output="probability"), out, chunk=1)`` is
    ``python -m iglib.apps.at_scale --images FOLDER --out OUT --steps 300 --output probability --chunk 1``."""
    check_choice(attribution_method, "attribution_method", ATTRIBUTION_METHODS)
    check_choice(baseline, "baseline", tuple(BASELINES))
    check_choice(method, "method", quadrature.METHODS)
    check_choice(output, "output", OUTPUTS)
    check_image_target(target)
    steps = check_steps(steps, method if attribution_method == "ig" else None)
    list_images(folder)  # a ValueError unless the folder holds images
    return {"kind": "images", "source": str(Path(folder).resolve()), "model": imagenet.WEIGHTS_FILE,
            "attribution_method": attribution_method, "baseline": baseline, "target": target,
            "steps": steps if attribution_method in ("ig", *SAMPLING) else None,
            "method": method if attribution_method == "ig" else None, "output": output}


def question_config(split: str = "heldout", target: str = "predicted", steps: int = 16, method: str = "gausslegendre",
                    checkpoint: str | Path | None = None) -> dict:
    """The configuration of a question run: embedding IG of the question classifier at ``checkpoint`` (None:
    the committed one) from the zero embedding. ``run(question_config("heldout"), out, chunk=256)`` is
    ``python -m iglib.apps.at_scale --questions heldout --out OUT``."""
    check_choice(split, "split", tuple(QUESTION_SPLITS))
    target = check_question_target(target)
    check_choice(method, "method", quadrature.METHODS)
    steps = check_steps(steps, method)
    return {"kind": "questions", "source": split, "model": data.sha256(check_checkpoint(checkpoint)),
            "attribution_method": "ig", "baseline": "zero-embedding", "target": target,
            "steps": steps, "method": method}
