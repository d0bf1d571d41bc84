"""Checkpoints that carry their own content hash, loaded only when intact, wherever they lie.

:func:`save_checkpoint` writes a checkpoint (a dict of tensors, numbers, strings, lists and dicts) with one more
entry, ``content_sha256``: the sha256 of everything else in it (:func:`content_sha256`, over the
names, dtypes, shapes and bytes of the tensors and the values of the rest). :func:`load_checkpoint`
recomputes it, so a copied file, or a user's own trained one, is checked as strictly as a committed
one: one flipped bit in a weight is an error, not a weight of 2.7e38.

The committed files in ``checkpoints/`` are also recorded in ``checkpoints/SHA256SUMS`` (the format
of ``sha256sum``, so ``cd iglib/experiments/text/checkpoints && sha256sum -c SHA256SUMS`` checks them by hand).
A file written before checkpoints carried their hash is accepted only when its bytes match a
record there. Every error names the file and how to restore or rebuild it.
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import torch

from iglib import data

FOLDER = Path(__file__).with_name("checkpoints")
IN_PROJECT = "iglib/experiments/text/checkpoints"  # FOLDER, as a clone names it (for the advice)
SUMS = "SHA256SUMS"  # in FOLDER
HASH = "content_sha256"  # the entry save_checkpoint adds
_RECORD = re.compile(r"([0-9a-f]{64}) [ *](.+)")


def _sums_fix() -> str:
    return (f"Restore it with `git checkout -- {IN_PROJECT}/{SUMS}`, or write it again with "
            f"`cd {IN_PROJECT} && sha256sum *.pt > {SUMS}` once every checkpoint there is known to be good.")


def recorded_sha256(missing_ok: bool = False) -> dict[str, str]:
    """File name -> sha256, as recorded in ``SHA256SUMS`` (a missing or garbled file is a ValueError
    naming it; with ``missing_ok`` a missing one is empty)."""
    path = FOLDER / SUMS
    try:
        text = path.read_text()
    except FileNotFoundError:
        if missing_ok:
            return {}
        raise ValueError(f"{path} is missing: it records the sha256 of the committed checkpoints. {_sums_fix()}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path} is garbled: it is not text. {_sums_fix()}") from None
    records = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _RECORD.fullmatch(line.strip())
        if match is None:
            raise ValueError(f"{path} is garbled: line {number} reads {line[:80]!r}, expected '<64 hex digits>  "
                             f"<file name>' as sha256sum writes it. {_sums_fix()}")
        records[match[2]] = match[1]
    return records


def _committed(path: Path) -> bool:
    return path.resolve().parent == FOLDER.resolve()


def record_sha256(path: str | Path) -> None:
    """After writing a checkpoint into the committed folder, record its sha256 in ``SHA256SUMS``."""
    path = Path(path)
    if _committed(path):
        records = {**recorded_sha256(missing_ok=True), path.name: data.sha256(path)}
        (FOLDER / SUMS).write_text("".join(f"{digest}  {name}\n" for name, digest in sorted(records.items())))


def _update(digest: Any, value: Any) -> None:
    """Feed ``value`` to ``digest`` unambiguously: a type tag, then its contents."""
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous().reshape(-1)
        digest.update(f"tensor {t.dtype} {tuple(value.shape)}\0".encode())
        digest.update(t.view(torch.uint8).numpy().tobytes())
    elif isinstance(value, dict):
        digest.update(f"dict {len(value)}\0".encode())
        for key in sorted(value, key=repr):
            _update(digest, key)
            _update(digest, value[key])
    elif isinstance(value, (list, tuple)):  # a tuple saved may load as a list: the same content
        digest.update(f"list {len(value)}\0".encode())
        for v in value:
            _update(digest, v)
    elif value is None or isinstance(value, (bool, int, float, str)):
        digest.update(f"{type(value).__name__} {value!r}\0".encode())
    else:
        raise TypeError(f"a checkpoint holds tensors, numbers, strings, lists and dicts, not {type(value).__name__}")


def content_sha256(saved: dict) -> str:
    """The sha256 of a checkpoint's content, every entry but ``content_sha256`` itself."""
    digest = hashlib.sha256()
    _update(digest, {k: v for k, v in saved.items() if k != HASH})
    return digest.hexdigest()


def save_checkpoint(content: dict, path: str | Path) -> Path:
    """``torch.save`` ``content`` with its :func:`content_sha256` added, through a temporary file
    (a reader never sees half a checkpoint)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    torch.save({**content, HASH: content_sha256(content)}, partial)
    os.replace(partial, path)
    return path


def _restore(path: Path, rebuild: str) -> str:
    if _committed(path):
        return f"Restore it with `git checkout -- {IN_PROJECT}/{path.name}`, or rebuild it with `{rebuild}`."
    committed = ", ".join(f"{IN_PROJECT}/{p.name}" for p in sorted(FOLDER.glob("*.pt"))) or IN_PROJECT
    return f"Copy it again from where it came from (the committed checkpoints: {committed}), or rebuild it with `{rebuild}`."


def load_checkpoint(path: str | Path, rebuild: str) -> dict:
    """``torch.load(path)`` (tensors only, never code) after checking that the file is intact.

    Every floating-point weight must be finite, and the content must match the ``content_sha256`` it
    carries. A committed file must also match its record in ``SHA256SUMS``; a file that carries no
    hash (written before :func:`save_checkpoint` added one) must match one of those records. ``rebuild`` is the
    command that writes the file again.
    """
    path = Path(path)
    damaged, fix = f"{path} is damaged", _restore(path, rebuild)
    if _committed(path):
        expected = recorded_sha256().get(path.name)
        if expected is None:
            raise ValueError(f"{path} has no sha256 recorded in {FOLDER / SUMS}; add `sha256sum {path.name}` there "
                             f"after rebuilding it with `{rebuild}`")
        got = data.sha256(path)
        if got != expected:
            raise ValueError(f"{damaged}: its sha256 is {got}, but {SUMS} records {expected}. {fix}")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as e:  # a truncated or garbled archive: torch says so in its own words
        raise ValueError(f"{damaged}: torch.load cannot read it ({e}). {fix}") from None
    if not isinstance(saved, dict):
        raise ValueError(f"{damaged}: it holds a {type(saved).__name__}, not a checkpoint's dict. {fix}")
    weights = saved.get("state_dict", {})
    weights = weights if isinstance(weights, dict) else {}
    bad = [k for k, v in weights.items() if torch.is_tensor(v) and v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise ValueError(f"{damaged}: non-finite weights in {', '.join(bad[:5])}{' ...' if len(bad) > 5 else ''}. {fix}")
    if HASH in saved:
        got = content_sha256(saved)
        if got != saved[HASH]:
            raise ValueError(f"{damaged}: its content hashes to {got}, but it records {HASH} = {saved[HASH]!r}. {fix}")
    elif not _committed(path) and data.sha256(path) not in recorded_sha256().values():
        raise ValueError(
            f"{path} carries no {HASH} (it was written by torch.save, not iglib.experiments.text.checkpoint.save_checkpoint) and its bytes "
            f"match no checkpoint recorded in {FOLDER / SUMS}: it is damaged, or cannot be verified. {fix} "
            "If you trust the file, seal it: iglib.experiments.text.checkpoint.save_checkpoint(torch.load(path, weights_only=True), path)."
        )
    return saved
