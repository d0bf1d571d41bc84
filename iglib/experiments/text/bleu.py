"""Corpus BLEU-4 (Papineni et al., 2002) on token lists, with one or several references per sentence.

    BLEU = BP * exp( sum_{n=1..4} (1/4) log p_n ),
    p_n = sum over sentences of clipped n-gram matches / sum of hypothesis n-grams,
    BP = 1 if c > r else exp(1 - r / c),

where a hypothesis n-gram's count is clipped to its largest count in any one reference, c is the
total hypothesis length and r the total of the reference lengths closest to each hypothesis
length (the shorter one on a tie). No smoothing: a corpus with no matching 4-gram scores 0.
Returns a number in [0, 1] (multiply by 100 for the usual scale).
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

Tokens = Sequence[str]


def ngrams(tokens: Tokens, n: int) -> Counter:
    """The multiset of n-grams of ``tokens``."""
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def closest_length(hypothesis_length: int, references: Sequence[Tokens]) -> int:
    """The reference length closest to the hypothesis length (the shorter on a tie)."""
    return min((len(r) for r in references), key=lambda r: (abs(r - hypothesis_length), r))


def statistics(hypothesis: Tokens, references: Sequence[Tokens], max_n: int = 4) -> tuple[list[int], list[int], int, int]:
    """(clipped matches per n, hypothesis n-grams per n, c, r) of one sentence."""
    if not references:
        raise ValueError("each hypothesis needs at least one reference")
    matches, totals = [], []
    for n in range(1, max_n + 1):
        hyp = ngrams(hypothesis, n)
        best: Counter = Counter()
        for reference in references:
            best |= ngrams(reference, n)  # element-wise max over the references
        matches.append(sum(min(count, best[g]) for g, count in hyp.items()))
        totals.append(max(len(hypothesis) - n + 1, 0))
    return matches, totals, len(hypothesis), closest_length(len(hypothesis), references)


def corpus_bleu(hypotheses: Sequence[Tokens], references: Sequence[Tokens | Sequence[Tokens]], max_n: int = 4) -> float:
    """Corpus BLEU of token-list ``hypotheses``; ``references[k]`` is one token list or a list of them."""
    if len(hypotheses) != len(references):
        raise ValueError(f"got {len(hypotheses)} hypotheses but {len(references)} reference sets")
    matches, totals, c, r = [0] * max_n, [0] * max_n, 0, 0
    for hypothesis, refs in zip(hypotheses, references):
        if refs and isinstance(refs[0], str):
            refs = [refs]
        m, t, hc, hr = statistics(list(hypothesis), [list(x) for x in refs], max_n)
        matches = [a + b for a, b in zip(matches, m)]
        totals = [a + b for a, b in zip(totals, t)]
        c, r = c + hc, r + hr
    if c == 0 or min(matches) == 0:
        return 0.0
    log_precision = sum(math.log(m / t) for m, t in zip(matches, totals)) / max_n
    brevity = 1.0 if c > r else math.exp(1 - r / c)
    return brevity * math.exp(log_precision)
