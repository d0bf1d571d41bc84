"""Word alignments read off an attribution matrix, and the alignment error rate (Och and Ney, 2003).

A link (i, j) joins source token i to target token j. A reference alignment has *sure* links S
(the annotator is certain) and *possible* links (acceptable, ambiguous: function words, phrases);
P = S union possible. For a predicted alignment A,

    precision = |A & P| / |A|,   recall = |A & S| / |S|,
    AER = 1 - (|A & S| + |A & P|) / (|A| + |S|),

so AER = 0 when every predicted link is possible and every sure link is predicted. With no
possible links (P = S) AER is 1 - F1. Over a corpus the counts are summed before dividing.

The *argmax alignment* of an attribution matrix A[j, i] (output token j, source token i) links
each output token to the source token with the largest attribution; the *diagonal alignment*,
which links target position j to the proportionally placed source position, is the baseline
that uses no model at all.

A model that reads word pieces gives a matrix over pieces; :func:`word_matrix` sums it over the
pieces of each word (IG is additive: a word's column is the attribution to its pieces together, and
a word's row explains log p(word) = the sum of its pieces' log p) before the argmax.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

Link = tuple[int, int]  # (source index i, target index j)


def argmax_alignment(matrix: Tensor) -> set[Link]:
    """{(argmax_i A[j, i], j)}: each output token j linked to its most positively attributed source token."""
    if not isinstance(matrix, Tensor) or matrix.dim() != 2 or 0 in matrix.shape:
        raise ValueError(f"matrix must be a 2-D tensor [output, source], got {getattr(matrix, 'shape', type(matrix))}")
    return {(int(i), j) for j, i in enumerate(matrix.argmax(1).tolist())}


def word_matrix(matrix: Tensor, output_words: Sequence[int], source_words: Sequence[int]) -> Tensor:
    """W[b, a] = sum of A[j, i] over the output pieces j of word b and the source pieces i of word a;
    ``output_words[j]`` / ``source_words[i]`` is the word of each piece (``iglib.experiments.text.subwords.word_index``)."""
    if not isinstance(matrix, Tensor) or matrix.dim() != 2:
        raise ValueError(f"matrix must be a 2-D tensor [output, source], got {getattr(matrix, 'shape', type(matrix))}")
    if (len(output_words), len(source_words)) != tuple(matrix.shape):
        raise ValueError(f"matrix has shape {tuple(matrix.shape)} but got {len(output_words)} output and "
                         f"{len(source_words)} source word indices")
    rows = torch.zeros(max(output_words) + 1, matrix.shape[0], dtype=matrix.dtype)
    rows[list(output_words), range(matrix.shape[0])] = 1
    cols = torch.zeros(matrix.shape[1], max(source_words) + 1, dtype=matrix.dtype)
    cols[range(matrix.shape[1]), list(source_words)] = 1
    return rows @ matrix @ cols


def diagonal_alignment(n_source: int, n_target: int) -> set[Link]:
    """{(round(j (S - 1) / (T - 1)), j)}: target position j linked to the proportional source position."""
    if n_source < 1 or n_target < 1:
        raise ValueError(f"both sentences need a token, got {n_source} source and {n_target} target tokens")
    if n_target == 1:
        return {(0, 0)}
    return {(int(round(j * (n_source - 1) / (n_target - 1))), j) for j in range(n_target)}


@dataclass(frozen=True)
class Scores:
    """Counts and rates of one alignment (or a corpus of them) against a reference."""

    predicted: int  # |A|
    sure: int  # |S|
    hit_sure: int  # |A & S|
    hit_possible: int  # |A & P|

    @property
    def precision(self) -> float:
        return self.hit_possible / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.hit_sure / self.sure if self.sure else 0.0

    @property
    def aer(self) -> float:
        return 1.0 - (self.hit_sure + self.hit_possible) / (self.predicted + self.sure)

    def __add__(self, other: Scores) -> Scores:
        return Scores(self.predicted + other.predicted, self.sure + other.sure,
                      self.hit_sure + other.hit_sure, self.hit_possible + other.hit_possible)


def score(predicted: Iterable[Link], sure: Iterable[Link], possible: Iterable[Link] = ()) -> Scores:
    """The counts behind precision, recall and AER; ``possible`` need not repeat the sure links."""
    a = {tuple(link) for link in predicted}
    s = {tuple(link) for link in sure}
    p = s | {tuple(link) for link in possible}
    if not a and not s:
        raise ValueError("both the predicted and the sure alignment are empty")
    return Scores(len(a), len(s), len(a & s), len(a & p))


def corpus_score(predicted: Sequence[Iterable[Link]], references: Sequence[Reference]) -> Scores:
    """Summed counts over sentence pairs (the usual corpus AER)."""
    if len(predicted) != len(references):
        raise ValueError(f"got {len(predicted)} predicted alignments but {len(references)} references")
    total = Scores(0, 0, 0, 0)
    for a, ref in zip(predicted, references):
        total = total + score(a, ref.sure, ref.possible)
    return total


@dataclass(frozen=True)
class Reference:
    """A hand-aligned sentence pair: tokens (as ``iglib.experiments.text.tokenize`` splits them), links (i, j), and
    the pair as written (case and punctuation; empty when the file does not give it)."""

    source: tuple[str, ...]
    target: tuple[str, ...]
    sure: frozenset[Link]
    possible: frozenset[Link]
    source_text: str = ""
    target_text: str = ""

    def __post_init__(self):
        for i, j in self.sure | self.possible:
            if not (0 <= i < len(self.source) and 0 <= j < len(self.target)):
                raise ValueError(f"link ({i}, {j}) is outside {len(self.source)} x {len(self.target)} tokens: "
                                 f"{' '.join(self.source)} / {' '.join(self.target)}")


def load_references(path: str | Path) -> list[Reference]:
    """Read a JSON list of {"source": [...], "target": [...], "sure": [[i, j], ...], "possible": [...],
    "source_text": "...", "target_text": "..."} (the texts optional)."""
    entries = json.loads(Path(path).read_text(encoding="utf-8"))
    if isinstance(entries, dict):
        entries = entries["pairs"]
    return [Reference(tuple(e["source"]), tuple(e["target"]), frozenset(map(tuple, e["sure"])),
                      frozenset(map(tuple, e.get("possible", []))), e.get("source_text", ""), e.get("target_text", ""))
            for e in entries]
