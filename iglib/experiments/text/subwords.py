"""Word pieces (Kudo and Richardson, 2018): a sentencepiece unigram vocabulary learned from the
training text, as the paper's translation model uses (section 6.4; its figure 5 shows the pieces).

A sentence becomes pieces such as ``▁good ▁morning ▁lad ies``: ``▁`` marks the start of a word,
so the words can be read back (:func:`word_index`). Every character of the training text is in
the vocabulary, so ordinary text has no <unk>.

The ids 0..3 are <pad>, <unk>, <bos>, <eos>, the same as :class:`iglib.experiments.text.Vocab`, so the model
code does not care where its ids come from. The trained model is kept as bytes (its protobuf),
inside the translation checkpoint.
"""
from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable, Sequence

import sentencepiece as spm

from .tokens import SPECIALS, Vocab

WORD_START = "\u2581"  # ▁


def normalize(text: str, lowercase: bool = False) -> str:
    """NFC, one space between words, no space at the ends (and lowercase when asked)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()
    return text.lower() if lowercase else text


class Subwords:
    """A learned piece vocabulary: text -> pieces -> ids and back."""

    def __init__(self, model: bytes, lowercase: bool = False):
        self.model = bytes(model)
        self.lowercase = lowercase
        self.processor = spm.SentencePieceProcessor(model_proto=self.model)
        itos = [self.processor.id_to_piece(i) for i in range(self.processor.get_piece_size())]
        self.vocab = Vocab(itos)  # checks that ids 0..3 are the special tokens

    @classmethod
    def learn(cls, sentences: Iterable[str], vocab_size: int, lowercase: bool = False,
              character_coverage: float = 1.0) -> Subwords:
        """A unigram piece model of ``vocab_size`` pieces (the 4 specials included) learned from ``sentences``."""
        if vocab_size <= len(SPECIALS):
            raise ValueError(f"vocab_size must exceed the {len(SPECIALS)} special tokens, got {vocab_size}")
        text = [normalize(s, lowercase) for s in sentences]
        out = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(text), model_writer=out, vocab_size=vocab_size, model_type="unigram",
            character_coverage=character_coverage, normalization_rule_name="identity",
            pad_id=0, unk_id=1, bos_id=2, eos_id=3, pad_piece=SPECIALS[0], unk_piece=SPECIALS[1],
            bos_piece=SPECIALS[2], eos_piece=SPECIALS[3], input_sentence_size=0, shuffle_input_sentence=False,
            max_sentence_length=8192, num_threads=1, hard_vocab_limit=False, minloglevel=2)
        return cls(out.getvalue(), lowercase)

    def __len__(self) -> int:
        return len(self.vocab)

    def pieces(self, text: str) -> list[str]:
        """The pieces of ``text`` (normalized first), e.g. ``['▁good', '▁morning']``."""
        return self.processor.encode(normalize(text, self.lowercase), out_type=str)

    def encode(self, text: str) -> list[int]:
        """The ids of :meth:`pieces`."""
        return self.processor.encode(normalize(text, self.lowercase), out_type=int)

    def decode(self, pieces: Sequence[str]) -> str:
        """Pieces back to text: ``▁`` becomes a space."""
        return "".join(pieces).replace(WORD_START, " ").strip()


def word_index(pieces: Sequence[str], words: Sequence[str]) -> list[int]:
    """For each piece, the index of the word (of ``words``, a tokenization of the same text) holding
    its first character; spaces and ``▁`` are ignored and letters compared in lower case.

    Joins a piece-level matrix to word-level reference alignments (``iglib.experiments.text.tokenize`` splits
    punctuation from words, the pieces may split a word in several pieces or join two)."""
    owner = [k for k, w in enumerate(words) for _ in normalize(w, True).replace(" ", "")]
    chars = "".join(normalize(w, True).replace(" ", "") for w in words)
    out, at = [], 0
    for piece in pieces:
        text = normalize(piece.replace(WORD_START, " "), True).replace(" ", "")
        if not text:  # a lone ▁ belongs to the next word
            out.append(owner[at] if at < len(owner) else len(words) - 1)
            continue
        if chars[at : at + len(text)] != text:
            raise ValueError(f"the pieces {list(pieces)} do not spell the words {list(words)} (at {piece!r})")
        out.append(owner[at])
        at += len(text)
    if at != len(chars):
        raise ValueError(f"the pieces {list(pieces)} spell only part of the words {list(words)}")
    return out
