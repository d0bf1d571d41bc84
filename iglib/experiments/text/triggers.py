"""Trigger phrases: the word n-grams that IG credits for a class, and the rules they suggest.

Section 6.3 of the paper attributes a question classifier's prediction to the words of the
question and reads off *trigger phrases* ("how many" -> NUMERIC, "what year", "when" ->
DATETIME, "did" -> YESNO), which "can be turned into readable rules". Here that is measured:

1. :func:`token_scores`: IG of the predicted (or any) class for every question of a set, one
   score a_t per token (the sum over its embedding dimensions, zero-embedding baseline).
2. :func:`mine_triggers`: an n-gram's attribution in a question is the sum of its tokens'
   scores, A(g) = sum_{t in g} a_t. Over the questions explained as class c, for each n-gram g
   seen at least ``min_count`` times: its count, its summed attribution sum A(g), its mean
   attribution and the share of its occurrences that start the question. The top phrases per
   class and n rank by summed (or mean) attribution.
3. :class:`Rule` "if the question starts with (or contains) g then c", built from a trigger by
   :func:`rule_from_trigger`, and :func:`score_rule`: on labelled questions (labels from the
   answers, never from the wording),

       coverage  = #questions the rule fires on / #questions,
       precision = #fired questions whose label is c / #fired questions,
       recall    = #fired questions whose label is c / #questions labelled c.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ...progress import progress
from .attribution import embedding_integrated_gradients

Phrase = tuple[str, ...]


# ----------------------------------------------------------------------------- attribution
def token_scores(model: nn.Module, embedding: nn.Embedding, ids: Sequence[Sequence[int]],
                 targets: Sequence[int] | None = None, n_steps: int = 32, method: str = "gausslegendre",
                 batch_size: int = 256) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """IG per token for each question ``ids[i]`` (a list of token ids, no padding).

    Questions are batched by length, so none is padded and each is explained exactly as it
    reads. ``targets[i]`` is the class explained (default: the model's prediction). Returns
    (scores: one float64 array [T_i] per question, targets [N], deltas [N]) with
    delta_i = sum_t a_t - (F(x_i) - F(zero embedding)).
    """
    if targets is not None and len(targets) != len(ids):
        raise ValueError(f"targets must give one class per question: {len(targets)} targets, {len(ids)} questions")
    if any(len(q) == 0 for q in ids):
        raise ValueError("every question must hold at least one token id")
    device = embedding.weight.device
    by_length: dict[int, list[int]] = defaultdict(list)
    for i, q in enumerate(ids):
        by_length[len(q)].append(i)
    scores: list[np.ndarray | None] = [None] * len(ids)
    chosen = np.zeros(len(ids), dtype=np.int64)
    deltas = np.zeros(len(ids), dtype=np.float64)
    chunks = [chunk for length in sorted(by_length) for chunk in torch.tensor(by_length[length]).split(batch_size)]
    for chunk in progress(chunks, desc="IG per question", unit="batch"):
        x = torch.tensor([list(ids[i]) for i in chunk.tolist()], dtype=torch.long, device=device)
        if targets is None:
            with torch.no_grad():
                t = model(x).argmax(1)
        else:
            t = torch.tensor([targets[i] for i in chunk.tolist()], dtype=torch.long, device=device)
        a, delta = embedding_integrated_gradients(model, embedding, x, target=t, n_steps=n_steps,
                                                  method=method, return_convergence_delta=True)
        a = a.sum(-1).detach().double().cpu().numpy()
        for row, i in enumerate(chunk.tolist()):
            scores[i] = a[row]
        chosen[chunk.numpy()] = t.cpu().numpy()
        deltas[chunk.numpy()] = delta.detach().double().cpu().numpy()
    return scores, chosen, deltas  # type: ignore[return-value]


# ----------------------------------------------------------------------------------- mining
def ngrams(tokens: Sequence[str], n: int) -> list[tuple[int, Phrase]]:
    """(start position, phrase) of every n-gram of ``tokens``."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return [(s, tuple(tokens[s : s + n])) for s in range(len(tokens) - n + 1)]


def is_word(token: str) -> bool:
    """A token that can be part of a phrase: has a letter or digit and is not a special (<unk>)."""
    return any(ch.isalnum() for ch in token) and not (token.startswith("<") and token.endswith(">"))


@dataclass(frozen=True)
class Trigger:
    """An n-gram and what IG gave it over the questions explained as ``label``."""

    label: str
    phrase: Phrase
    count: int  # occurrences
    total: float  # summed attribution, sum over occurrences of A(g)
    start_share: float  # share of occurrences that start the question

    @property
    def mean(self) -> float:
        return self.total / self.count

    @property
    def text(self) -> str:
        return " ".join(self.phrase)


def mine_triggers(tokens: Sequence[Sequence[str]], scores: Sequence[Sequence[float]], labels: Sequence[str],
                  n_values: Sequence[int] = (1, 2, 3), min_count: int = 10, top: int = 5,
                  rank_by: str = "total", at_start: bool = False) -> dict[str, dict[int, list[Trigger]]]:
    """The ``top`` n-grams per class and per n, by summed (``rank_by="total"``) or mean attribution.

    ``tokens[i]``, ``scores[i]`` (one per token) and ``labels[i]`` (the class whose score was
    attributed) describe question i. Only n-grams of words (see :func:`is_word`) seen at least
    ``min_count`` times in that class's questions count. Returns {label: {n: [Trigger, ...]}},
    best first; ties are broken by the phrase, so the result is deterministic. With ``at_start``,
    only the n-grams that open a question count (the candidates for "starts with" rules).
    """
    if not len(tokens) == len(scores) == len(labels):
        raise ValueError(f"tokens, scores and labels must have one entry per question, got "
                         f"{len(tokens)}, {len(scores)} and {len(labels)}")
    if rank_by not in ("total", "mean"):
        raise ValueError(f"rank_by must be 'total' or 'mean', got {rank_by!r}")
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1, got {min_count}")
    stats: dict[tuple[str, Phrase], list[float]] = defaultdict(lambda: [0, 0.0, 0])  # count, total, starts
    for words, a, label in zip(tokens, scores, labels):
        a = np.asarray(a, dtype=np.float64)
        if len(a) != len(words):
            raise ValueError(f"a question has {len(words)} tokens but {len(a)} scores")
        for n in n_values:
            for start, phrase in ngrams(words, n):
                if (start == 0 or not at_start) and all(is_word(w) for w in phrase):
                    s = stats[label, phrase]
                    s[0] += 1
                    s[1] += float(a[start : start + n].sum())
                    s[2] += start == 0
    mined: dict[str, dict[int, list[Trigger]]] = {label: {n: [] for n in n_values} for label in dict.fromkeys(labels)}
    for (label, phrase), (count, total, starts) in stats.items():
        if count >= min_count:
            mined[label][len(phrase)].append(Trigger(label, phrase, int(count), total, starts / count))
    key = (lambda t: (-t.total, t.phrase)) if rank_by == "total" else (lambda t: (-t.mean, t.phrase))
    return {label: {n: sorted(found, key=key)[:top] for n, found in by_n.items()} for label, by_n in mined.items()}


# ------------------------------------------------------------------------------------ rules
@dataclass(frozen=True)
class Rule:
    """If the question starts with (``at_start``) or contains ``phrase``, then ``label``."""

    phrase: Phrase
    label: str
    at_start: bool = True

    def matches(self, tokens: Sequence[str]) -> bool:
        n = len(self.phrase)
        if self.at_start:
            return tuple(tokens[:n]) == self.phrase
        return any(p == self.phrase for _, p in ngrams(tokens, n))

    def __str__(self) -> str:
        where = "starts with" if self.at_start else "contains"
        return f'if the question {where} "{" ".join(self.phrase)}" then {self.label}'


@dataclass(frozen=True)
class RuleScore:
    """How a rule does on labelled questions (see the module's equations)."""

    rule: Rule
    fires: int
    correct: int
    n_questions: int
    n_label: int  # questions whose label is the rule's

    @property
    def coverage(self) -> float:
        return self.fires / self.n_questions if self.n_questions else 0.0

    @property
    def precision(self) -> float:
        return self.correct / self.fires if self.fires else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.n_label if self.n_label else 0.0


def rule_from_trigger(trigger: Trigger, min_start_share: float = 0.5) -> Rule:
    """"starts with" when at least ``min_start_share`` of the trigger's occurrences start the question, else "contains"."""
    return Rule(trigger.phrase, trigger.label, at_start=trigger.start_share >= min_start_share)


def score_rule(rule: Rule, tokens: Sequence[Sequence[str]], labels: Sequence[str]) -> RuleScore:
    """Coverage, precision and recall of ``rule`` on questions ``tokens`` with true ``labels``."""
    if len(tokens) != len(labels):
        raise ValueError(f"tokens and labels must have one entry per question, got {len(tokens)} and {len(labels)}")
    fired = [rule.matches(t) for t in tokens]
    correct = sum(f and y == rule.label for f, y in zip(fired, labels))
    return RuleScore(rule, sum(fired), correct, len(labels), sum(y == rule.label for y in labels))


def apply_rules(rules: Sequence[Rule], tokens: Sequence[str], default: str) -> str:
    """A decision list: the label of the first rule that fires, else ``default``."""
    for rule in rules:
        if rule.matches(tokens):
            return rule.label
    return default


# ----------------------------------------------------------------------------------- figure
def plot_triggers(mined: dict[str, dict[int, list[Trigger]]], labels: Sequence[str] | None = None, per_n: int = 4,
                  value: str = "total"):
    """One panel per class: its top ``per_n`` phrases of each length as bars of summed (``value="total"``)
    or mean attribution, coloured by n (:data:`iglib.viz.QUALITATIVE`), with the number of occurrences
    ("n = 12") beside each bar; the legend says so."""
    import matplotlib.pyplot as plt

    from ...viz import QUALITATIVE

    if value not in ("total", "mean"):
        raise ValueError(f"value must be 'total' or 'mean', got {value!r}")
    labels = list(labels if labels is not None else mined)
    fig, axes = plt.subplots(1, len(labels), figsize=(3.6 * len(labels), 4.2), squeeze=False)
    for ax, label in zip(axes[0], labels):
        rows = [t for n in sorted(mined.get(label, {})) for t in mined[label][n][:per_n]]
        heights = [getattr(t, value) for t in rows]
        y = np.arange(len(rows))[::-1]
        ax.barh(y, heights, color=[QUALITATIVE[len(t.phrase) - 1] for t in rows])
        ax.set_yticks(y, [t.text for t in rows], fontsize=8)
        for yy, h, t in zip(y, heights, rows):
            ax.text(h, yy, f" n = {t.count}", va="center", fontsize=7)
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("summed IG" if value == "total" else "mean IG per occurrence", fontsize=8)
        ax.margins(x=0.25)
        if not rows:
            ax.text(0.5, 0.5, "no phrase\nseen often enough", ha="center", va="center", transform=ax.transAxes)
    handles = [plt.Rectangle((0, 0), 1, 1, color=QUALITATIVE[n - 1]) for n in (1, 2, 3)]
    bar = "summed IG over its occurrences" if value == "total" else "mean IG per occurrence"
    fig.legend(handles, ["1 word", "2 words", "3 words"], loc="lower center", ncol=3, fontsize=8,
               title=f"bar: the phrase's {bar}; n = its number of occurrences", title_fontsize=8)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig
