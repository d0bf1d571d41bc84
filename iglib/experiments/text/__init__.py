"""The text experiments (paper, section 6): question classification and translation.

- ``embedding_integrated_gradients``: IG w.r.t. the embeddings of token ids (zero-embedding baseline);
- ``tokens``: the word tokenizer and the vocabulary; ``subwords``: learned word pieces (sentencepiece);
- ``questions``: WikiTableQuestions, each question labelled by its answer's type;
- ``classifier``: the project's question classifier (a Kim-style CNN) and its training script;
- ``render``: tokens coloured by their attribution (HTML and matplotlib);
- ``translation``: the English-to-German Transformer, its training script and the source x output
  attribution matrix (scored with sacrebleu); ``bleu``: corpus BLEU-4 written out, checked against sacrebleu;
  ``alignment``: argmax alignments and their error rate.
"""
# classifier (and the translation model) are imported on use: they are also run as `python -m`.
from . import alignment, bleu, questions, render, tokens
from .attribution import embedding_integrated_gradients, token_attributions
from .tokens import Vocab, detokenize, tokenize

__all__ = [
    "alignment",
    "bleu",
    "Vocab",
    "detokenize",
    "embedding_integrated_gradients",
    "questions",
    "render",
    "token_attributions",
    "tokenize",
    "tokens",
]
