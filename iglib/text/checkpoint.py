"""The committed checkpoints, loaded only when intact.

Each file in ``checkpoints/`` has its sha256 recorded in ``checkpoints/SHA256SUMS`` (the format of
``sha256sum``, so ``cd iglib/text/checkpoints && sha256sum -c SHA256SUMS`` checks them by hand).
:func:`load_checkpoint` refuses a committed file whose bytes differ from the record, and any
checkpoint with a non-finite weight, naming the file and the command that rebuilds it.
"""
from __future__ import annotations

from pathlib import Path

import torch

from iglib import data

FOLDER = Path(__file__).with_name("checkpoints")
SUMS = "SHA256SUMS"  # in FOLDER


def recorded_sha256() -> dict[str, str]:
    """File name -> sha256, as recorded in ``SHA256SUMS``."""
    records = {}
    for line in (FOLDER / SUMS).read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            records[name.lstrip("*")] = digest
    return records


def _committed(path: Path) -> bool:
    return path.resolve().parent == FOLDER.resolve()


def record_sha256(path: str | Path) -> None:
    """After writing a checkpoint into the committed folder, record its sha256 in ``SHA256SUMS``."""
    path = Path(path)
    if _committed(path):
        records = {**recorded_sha256(), path.name: data.sha256(path)}
        (FOLDER / SUMS).write_text("".join(f"{digest}  {name}\n" for name, digest in sorted(records.items())))


def load_checkpoint(path: str | Path, rebuild: str) -> dict:
    """``torch.load(path)`` (tensors only, never code) after checking that the file is intact.

    A file in the committed ``checkpoints/`` folder must match its recorded sha256; every floating
    point weight must be finite. ``rebuild`` is the command that writes the file again.
    """
    path = Path(path)
    damaged = f"{path} is damaged"
    fix = f"Restore it with `git checkout -- iglib/text/checkpoints/{path.name}`, or rebuild it with `{rebuild}`."
    if _committed(path):
        expected = recorded_sha256().get(path.name)
        if expected is None:
            raise ValueError(f"{path} has no sha256 recorded in {FOLDER / SUMS}; add `sha256sum {path.name}` there after rebuilding it with `{rebuild}`")
        got = data.sha256(path)
        if got != expected:
            raise ValueError(f"{damaged}: its sha256 is {got}, but {SUMS} records {expected}. {fix}")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as e:  # a truncated or garbled archive: torch says so in its own words
        raise ValueError(f"{damaged}: torch.load cannot read it ({e}). {fix}") from None
    weights = saved.get("state_dict", {}) if isinstance(saved, dict) else {}
    bad = [k for k, v in weights.items() if torch.is_tensor(v) and v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise ValueError(f"{damaged}: non-finite weights in {', '.join(bad[:5])}{' ...' if len(bad) > 5 else ''}. {fix}")
    return saved
