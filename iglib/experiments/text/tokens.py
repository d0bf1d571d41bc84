"""Words to token ids and back: a deterministic word tokenizer and a vocabulary.

The text models see token ids; Integrated Gradients then attributes to the ids' embedding
vectors (section 6 of the paper: the baseline is the all-zero embedding). The padding token
<pad> has id 0 and its embedding row is kept at zero (``nn.Embedding(..., padding_idx=0)``),
so padded positions are identical at the input and at the baseline and get no attribution.

Tokenizer: NFC-normalise, lowercase (``str.lower``, which keeps German ß and umlauts; ``casefold``
would turn ß into ss), then split into
- numbers with inner separators (``12,467``, ``3.5``),
- words, keeping inner apostrophes and hyphens (``piotr's``, ``a-league``, ``geht's``),
- every other non-space character on its own (punctuation: ``?``, ``,``, ``/``, ``"``).
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

import torch
from torch import Tensor

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)

_TOKEN = re.compile(r"\d+(?:[.,]\d+)+|\w+(?:['’-]\w+)*|[^\w\s]")
_NO_SPACE_BEFORE = set(".,;:!?%)]}'’\"“”»")
_NO_SPACE_AFTER = set("([{$£€#„«")


def tokenize(text: str, lowercase: bool = True) -> list[str]:
    """Split ``text`` into word, number and punctuation tokens (German-capable: Mädchen, Straße)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    text = unicodedata.normalize("NFC", text)
    if lowercase:
        text = text.lower()
    return _TOKEN.findall(text)


def detokenize(tokens: Sequence[str]) -> str:
    """Join tokens with spaces, attaching closing punctuation to the word before it.

    For ordinary sentences ``detokenize(tokenize(s)) == s.lower()``. Quotes attach to the word on
    their left, except the German opening quotes „ and «, which attach to the right; so an
    English quoted phrase comes back as ``" hello"``.
    """
    out = ""
    for token in tokens:
        if out and token not in _NO_SPACE_BEFORE and out[-1] not in _NO_SPACE_AFTER:
            out += " "
        out += token
    return out


class Vocab:
    """Token <-> id, with the special tokens first: <pad>=0, <unk>=1, <bos>=2, <eos>=3.

    Built from a corpus of token lists by :meth:`build`: tokens seen at least ``min_count``
    times, the ``max_size`` most frequent (ties broken alphabetically, so the ids are
    deterministic). A token outside the vocabulary encodes to <unk>.
    """

    def __init__(self, itos: Sequence[str]):
        if tuple(itos[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"a vocabulary must start with the special tokens {SPECIALS}, got {list(itos[:4])}")
        if len(set(itos)) != len(itos):
            raise ValueError("a vocabulary must not list a token twice")
        self.itos = list(itos)
        self.stoi = {t: i for i, t in enumerate(self.itos)}

    pad, unk, bos, eos = range(4)

    @classmethod
    def build(cls, corpus: Iterable[Sequence[str]], min_count: int = 1, max_size: int | None = None) -> Vocab:
        """The vocabulary of ``corpus`` (an iterable of token lists); ``max_size`` counts the specials."""
        if min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {min_count}")
        if max_size is not None and max_size < len(SPECIALS):
            raise ValueError(f"max_size must leave room for the {len(SPECIALS)} special tokens, got {max_size}")
        counts = Counter(t for tokens in corpus for t in tokens if t not in SPECIALS)
        words = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
        if max_size is not None:
            words = words[: max_size - len(SPECIALS)]
        return cls(list(SPECIALS) + words)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def encode(self, tokens: Sequence[str], bos: bool = False, eos: bool = False) -> list[int]:
        """Token ids, with <bos> / <eos> around them when asked; unknown tokens -> <unk>."""
        ids = [self.stoi.get(t, self.unk) for t in tokens]
        return ([self.bos] if bos else []) + ids + ([self.eos] if eos else [])

    def decode(self, ids: Iterable[int] | Tensor, strip: bool = True) -> list[str]:
        """Tokens of ``ids``; with ``strip``, drop <pad>/<bos> and stop at the first <eos>."""
        tokens = []
        for i in (ids.tolist() if isinstance(ids, Tensor) else ids):
            if strip and i == self.eos:
                break
            if strip and i in (self.pad, self.bos):
                continue
            tokens.append(self.itos[i])
        return tokens

    def batch(self, sequences: Sequence[Sequence[str]], length: int | None = None, bos: bool = False,
              eos: bool = False) -> Tensor:
        """Encode token lists into one LongTensor [N, T], right-padded with <pad> (cut to ``length``)."""
        encoded = [self.encode(s, bos=bos, eos=eos) for s in sequences]
        t = length if length is not None else max((len(e) for e in encoded), default=0)
        t = max(t, 1)
        out = torch.full((len(encoded), t), self.pad, dtype=torch.long)
        for row, ids in enumerate(encoded):
            ids = ids[:t]
            out[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        return out
