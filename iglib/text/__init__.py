"""The text experiments (paper, section 6): question classification and translation.

- ``embedding_integrated_gradients``: IG w.r.t. the embeddings of token ids (zero-embedding baseline);
- ``tokens``: the word tokenizer and the vocabulary;
- ``questions``: WikiTableQuestions, each question labelled by its answer's type;
- ``classifier``: the project's question classifier (a Kim-style CNN) and its training script;
- ``render``: tokens coloured by their attribution (HTML and matplotlib).
"""
# classifier (and the translation model) are imported on use: they are also run as `python -m`.
from . import questions, render, tokens
from .attribution import embedding_integrated_gradients, token_attributions
from .tokens import Vocab, detokenize, tokenize

__all__ = [
    "Vocab",
    "detokenize",
    "embedding_integrated_gradients",
    "questions",
    "render",
    "token_attributions",
    "tokenize",
    "tokens",
]
