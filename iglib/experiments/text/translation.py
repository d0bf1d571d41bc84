"""The project's English-to-German translator and the source x output attribution matrix.

Model: an encoder-decoder Transformer (Vaswani et al., 2017) from ``torch.nn`` layers on word
pieces (:mod:`iglib.experiments.text.subwords`), with SEPARATE source and target
embeddings, so that IG can attribute to the source embeddings alone
(``iglib.experiments.text.embedding_integrated_gradients(..., model.source_embedding, ...)``). The target
embedding is shared with the output layer (Press and Wolf, 2017). English is lowercased (the
paper's sentence is written in lower case), German keeps its case. Decoding is greedy:
y_t = argmax_y log p(y | y_<t, x).

Attribution (section 6.4 of the paper): for the j-th output piece y_j, F_j(x) = log p(y_j | y_<j, x)
with teacher forcing on a given output y (the model's own translation, or a reference); IG from
the zero source embedding to the source's embeddings, summed over the embedding dimensions,
gives one row of the matrix A[j, i] = attribution of source piece i to output piece j.
Completeness per row: sum_i A[j, i] = F_j(x) - F_j(zero source embedding). The positional
encodings are added after the embedding, so the baseline keeps them: it is "a sentence of the
same length with no words". :func:`attribution_matrix` also takes the other common text
baseline, every source piece replaced by <pad> (``baseline="pad"``).

:func:`load` reads a trained checkpoint (:data:`FAST_CHECKPOINT` by default), checked against this code's
:class:`TrainConfig` and the sha256 of the data files it names. The data, the training and the command line
that writes a checkpoint are in :mod:`iglib.experiments.text.translation_training`.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ... import data, settings
from .attribution import embedding_integrated_gradients
from .checkpoint import load_checkpoint
from .subwords import Subwords
from .tokens import Vocab, tokenize

# The corpora a TrainConfig can name (``corpora``): a checkpoint records the sha256 of the files it read.
TATOEBA = "tatoeba-deu-2018/deu-eng.zip"
EUROPARL = ("europarl-v7-20k/train.en", "europarl-v7-20k/train.de")
NEWSTEST = tuple((f"wmt-newstest-deen/{n}.eng", f"wmt-newstest-deen/{n}.deu") for n in (
    "news-test2008", "newssyscomb2009", "newstest2009", "newstest2010", "newstest2011", "newstest2012",
    "newstest2013", "newstest2014", "newstest2015", "newstest2016", "newstest2017"))
MULTI30K = ("multi30k/train.en.gz", "multi30k/train.de.gz")
CORPORA = {"tatoeba": ((TATOEBA,),), "europarl": (EUROPARL,), "newstest": NEWSTEST, "multi30k": (MULTI30K,)}

# The paper's sentence and notebook 10's two unseen examples: no pair mentioning them is trained on.
PAPER_SENTENCE = "good morning ladies and gentlemen"
GREETING = "good evening ladies and gentlemen"
PARLIAMENT = "ladies and gentlemen , the vote will take place tomorrow"
NEVER_TRAINED = (PAPER_SENTENCE, GREETING, PARLIAMENT)
FIGURE_5 = {"guten": "good", "morgen": "morning", "damen": "ladies", "herren": "gentlemen"}  # the paper's links


# ------------------------------------------------------------------------------------ model
def sinusoids(length: int, dim: int) -> Tensor:
    """The fixed positional encodings PE[t, 2k] = sin(t / 10000^(2k/D)), PE[t, 2k+1] = cos(...)."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    rate = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(length, dim)
    pe[:, 0::2] = torch.sin(position * rate)
    pe[:, 1::2] = torch.cos(position * rate)
    return pe


class Translator(nn.Module):
    """log p(y_t | y_<t, x) = log_softmax(E_y decoder(target_embedding(y_<t), encoder(source_embedding(x)))),
    with E_y the target embedding matrix (shared with the output layer)."""

    def __init__(self, source_vocab: int, target_vocab: int, d_model: int = 128, n_heads: int = 4,
                 encoder_layers: int = 2, decoder_layers: int = 2, d_ff: int = 256, dropout: float = 0.1,
                 max_positions: int = 256):
        super().__init__()
        self.d_model = d_model
        self.source_embedding = nn.Embedding(source_vocab, d_model, padding_idx=Vocab.pad)
        self.target_embedding = nn.Embedding(target_vocab, d_model, padding_idx=Vocab.pad)
        for embedding in (self.source_embedding, self.target_embedding):  # N(0, 1/D): scaled by sqrt(D)
            nn.init.normal_(embedding.weight, std=d_model ** -0.5)     # below, ~ as large as the positions
            with torch.no_grad():
                embedding.weight[Vocab.pad].zero_()
        self.register_buffer("positions", sinusoids(max_positions, d_model), persistent=False)
        self.dropout = nn.Dropout(dropout)
        self.encoder = nn.TransformerEncoder(
            nn.TransformerEncoderLayer(d_model, n_heads, d_ff, dropout, batch_first=True, norm_first=True),
            encoder_layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoder(
            nn.TransformerDecoderLayer(d_model, n_heads, d_ff, dropout, batch_first=True, norm_first=True),
            decoder_layers, norm=nn.LayerNorm(d_model))
        self.out_bias = nn.Parameter(torch.zeros(target_vocab))

    def _embed(self, embedding: nn.Embedding, ids: Tensor) -> Tensor:
        return self.dropout(embedding(ids) * math.sqrt(self.d_model) + self.positions[: ids.shape[1]])

    def encode(self, source: Tensor) -> Tensor:
        """The memory [N, S, D] of source ids [N, S] (<pad> positions are masked out)."""
        return self.encoder(self._embed(self.source_embedding, source), src_key_padding_mask=source == Vocab.pad)

    def decode(self, memory: Tensor, source: Tensor, target_in: Tensor) -> Tensor:
        """Log-probabilities [N, T, V] of the next target piece after each prefix of ``target_in``."""
        t = target_in.shape[1]
        causal = torch.triu(torch.ones(t, t, dtype=torch.bool, device=target_in.device), 1)
        h = self.decoder(self._embed(self.target_embedding, target_in), memory, tgt_mask=causal,
                         tgt_key_padding_mask=target_in == Vocab.pad,
                         memory_key_padding_mask=source == Vocab.pad)
        return F.log_softmax(F.linear(h, self.target_embedding.weight, self.out_bias), dim=-1)

    def forward(self, source: Tensor, target_in: Tensor) -> Tensor:
        """Teacher forcing: ``target_in`` = <bos> y_1 ... y_{T-1}; returns log p [N, T, V]."""
        return self.decode(self.encode(source), source, target_in)


# ----------------------------------------------------------------------------------- config
# Here, not in translation_training: a checkpoint's model is rebuilt from its TrainConfig (load),
# and checked against the sha256 of the data files the config names (checkpoint_problems).
FAST_STEPS = 23000  # the planned last update of the fast run: its linear schedule reaches its floor there ...
FAST_FIRST_END = 7000  # ... after a first line planned to end here (the run was extended: the rate restarts)
FAST_KEPT = 12500  # the update whose weights are kept (notebook 10, section 6: the run's record, and why these)


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of a training run; ``fast`` and ``full`` differ only in these numbers."""

    d_model: int = 192
    n_heads: int = 4
    encoder_layers: int = 3
    decoder_layers: int = 2
    d_ff: int = 768
    dropout: float = 0.1
    source_pieces: int = 5000  # English piece vocabulary (lowercased text)
    target_pieces: int = 6000  # German piece vocabulary
    max_pieces: int = 40  # pairs longer than this (either side, in pieces) are not trained on
    batch_pieces: int = 2000  # about this many target pieces per update
    epochs: int = 20
    lr: float = 2e-3  # peak learning rate, after ``warmup`` linear steps, then ~ 1/sqrt(step)
    warmup: int = 400
    label_smoothing: float = 0.1
    heldout: int = 1000  # Tatoeba English sentences held out (with all their German translations)
    corpora: str = "tatoeba europarl newstest"  # keys of CORPORA, space-separated
    seed: int = 0
    max_steps: int | None = None  # stop after this many updates (the planned last update of a linear schedule)
    max_minutes: float | None = None  # or after this much wall-clock time
    # LATER_FIELDS: added after the committed fast checkpoint; their defaults are how it was trained.
    strip_punctuation: float = 0.0  # share of English sources trained without punctuation, drawn each epoch
    schedule: str = "rsqrt"  # "rsqrt": warmup then ~ 1/sqrt(step); "linear": warmup then down to lr_floor * lr
    lr_floor: float = 0.05  # "linear": the learning rate at max_steps, as a share of lr
    ema: float = 0.0  # decay of an exponential moving average of the weights, the weights kept (0: none)
    extended_from: int | None = None  # "linear": a run planned to end here, then extended to max_steps ...
    restart_lr: float = 0.5  # ... where the learning rate restarts at restart_lr * lr and falls to the floor again
    stop_at: int | None = None  # end the run after this update; the schedule stays planned to max_steps

    @classmethod
    def for_mode(cls, mode: str) -> TrainConfig:
        """``fast``: the CPU model and the recipe of the committed checkpoint (Tatoeba + Europarl twice, no
        news; pairs up to 80 pieces; 30% of English sources unpunctuated; linear decay, restarted at
        FAST_FIRST_END; moving average; the weights at FAST_KEPT, 3.3 h on two cores, of a 5.6 h run);
        ``full``: the larger model for a GPU."""
        if mode == "fast":
            return cls(max_pieces=80, corpora="tatoeba europarl europarl", strip_punctuation=0.3,
                       schedule="linear", ema=0.999, max_steps=FAST_STEPS, extended_from=FAST_FIRST_END,
                       stop_at=FAST_KEPT)
        if mode == "full":
            return cls(d_model=512, n_heads=8, encoder_layers=6, decoder_layers=6, d_ff=2048, source_pieces=16000,
                       target_pieces=16000, max_pieces=80, batch_pieces=16000, epochs=30, lr=7e-4, warmup=4000,
                       corpora="tatoeba europarl newstest multi30k")
        raise ValueError(f"mode must be 'fast' or 'full', got {mode!r}")


LATER_FIELDS = {"strip_punctuation", "schedule", "lr_floor", "ema", "extended_from", "restart_lr", "stop_at"}  # a checkpoint may lack them (their defaults)


def data_files(config: TrainConfig) -> list[str]:
    """The data files a training run reads."""
    return [name for key in config.corpora.split() for files in CORPORA[key] for name in files]


def data_files_sha256(config: TrainConfig | None = None) -> dict[str, str]:
    """The sha256 of each data file training reads (as recorded in ``iglib.data``)."""
    return {name: data.sources()[name]["sha256"] for name in data_files(config or TrainConfig())}


# ----------------------------------------------------------------------------------- trained
@dataclass
class Trained:
    """A trained translator with its piece models, config, losses and held-out scores."""

    model: Translator
    source_pieces: Subwords
    target_pieces: Subwords
    config: TrainConfig
    losses: list[float]  # the training loss of every update
    scores: dict[str, dict[str, float]]  # test set -> {"bleu": ..., "chrf": ...}
    data_sha256: dict[str, str]
    seconds: float = float("nan")  # training wall-clock time

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def source_vocab(self) -> Vocab:
        return self.source_pieces.vocab

    @property
    def target_vocab(self) -> Vocab:
        return self.target_pieces.vocab

    def source_ids(self, sentences: Sequence[str] | Sequence[Sequence[str]]) -> Tensor:
        """Sentences (strings, or lists of English pieces) -> LongTensor [N, S] of source ids (right-padded)."""
        pieces = [self.source_pieces.pieces(s) if isinstance(s, str) else list(s) for s in sentences]
        return self.source_vocab.batch([p[:200] for p in pieces]).to(self.device)

    def translate_pieces(self, sentences: Sequence[str] | Sequence[Sequence[str]],
                         max_length: int | None = None) -> list[list[str]]:
        """Greedy translations (German pieces, without <eos>) of English sentences."""
        source = self.source_ids(sentences)
        limit = max_length or int(1.5 * source.shape[1]) + 10
        return [self.target_vocab.decode(row) for row in greedy_decode(self.model, source, limit)]

    def translate(self, sentences: Sequence[str], batch_size: int = 64) -> list[str]:
        """Greedy translations (German text) of English sentences, batched by length."""
        order = sorted(range(len(sentences)), key=lambda k: len(sentences[k]))
        out: list[str] = [""] * len(sentences)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            for k, pieces in zip(chunk, self.translate_pieces([sentences[k] for k in chunk])):
                out[k] = self.target_pieces.decode(pieces)
        return out


def greedy_decode(model: Translator, source: Tensor, max_length: int = 50) -> Tensor:
    """y_t = argmax_y log p(y | y_<t, x) until <eos> (or ``max_length`` pieces); returns ids [N, T] after <bos>."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        memory = model.encode(source)
        out = torch.full((source.shape[0], 1), Vocab.bos, dtype=torch.long, device=source.device)
        done = torch.zeros(source.shape[0], dtype=torch.bool, device=source.device)
        for _ in range(max_length):
            nxt = model.decode(memory, source, out)[:, -1].argmax(-1)
            nxt = torch.where(done, torch.full_like(nxt, Vocab.pad), nxt)
            out = torch.cat([out, nxt[:, None]], dim=1)
            done |= nxt == Vocab.eos
            if done.all():
                break
    model.train(was_training)
    return out[:, 1:]


# ------------------------------------------------------------------------------------ attribution
class TokenLogProb(nn.Module):
    """F(x) = log p(y_t | y_<t, x) with teacher forcing: row n returns the log-probabilities at
    position ``position[n]`` of ``target_in[n]``, [N, V]; the IG target picks y_t."""

    def __init__(self, model: Translator):
        super().__init__()
        self.model = model

    def forward(self, source: Tensor, target_in: Tensor, position: Tensor) -> Tensor:
        logp = self.model(source, target_in)
        return logp[torch.arange(logp.shape[0], device=logp.device), position]


@dataclass
class AttributionMatrix:
    """A[j, i]: IG of output piece j's log-probability w.r.t. source piece i's embedding, summed over D."""

    source: list[str]
    output: list[str]
    matrix: Tensor  # [len(output), len(source)]
    log_prob: Tensor  # F_j(x) = log p(y_j | y_<j, x), [len(output)]
    baseline_log_prob: Tensor  # F_j(x') at the baseline
    delta: Tensor  # sum_i A[j, i] - (F_j(x) - F_j(x')), [len(output)]
    baseline: str = "zero"  # "zero" embedding or "pad" token embeddings

    def relative_error(self) -> Tensor:
        """|delta_j| / |F_j(x) - F_j(x')| per output piece (completeness check)."""
        return self.delta.abs() / (self.log_prob - self.baseline_log_prob).abs()

    def complete(self, tolerance: float = 0.05, floor: float = 0.2) -> Tensor:
        """|delta_j| <= tolerance * max(|F_j(x) - F_j(x')|, floor) per output piece: the 5% rule, with a
        floor (in nats) for pieces whose log-probability the source barely moves (gap near 0)."""
        gap = (self.log_prob - self.baseline_log_prob).abs()
        return self.delta.abs() <= tolerance * gap.clamp(min=floor)


class ShiftedEmbedding(nn.Module):
    """e(ids) = b + inner(ids), with ``inner`` the embedding shifted by -b: the same vectors, but IG from
    ``inner``'s zero output runs from the baseline embedding b to e (Translator calls it like the original)."""

    def __init__(self, embedding: nn.Embedding, shift: Tensor):
        super().__init__()
        self.inner = nn.Embedding.from_pretrained(embedding.weight.detach() - shift, freeze=True)
        self.shift = shift

    def forward(self, ids: Tensor) -> Tensor:
        return self.inner(ids) + self.shift


def attribution_matrix(trained: Trained, source: str | Sequence[str], output: Sequence[str] | None = None,
                       n_steps: int = 50, method: str = "gausslegendre", baseline: str = "zero",
                       internal_batch_size: int | None = None) -> AttributionMatrix:
    """The source x output attribution matrix of one sentence pair (the paper's figure 5).

    ``source`` is English text (or its pieces); ``output`` (German pieces) defaults to the model's own
    greedy translation; every output piece j is explained under teacher forcing on ``output``: IG of
    log p(y_j | y_<j, x) from the baseline to the source's embeddings. ``baseline``: ``"zero"`` (the
    zero embedding, the paper's choice) or a source token such as ``"<pad>"`` or ``"<unk>"``: every
    source piece's embedding replaced by that token's (positions and attention mask unchanged).
    One IG call: the source is repeated once per output piece.
    """
    model = trained.model.eval()
    if baseline != "zero" and baseline not in trained.source_vocab:
        raise ValueError(f"baseline must be 'zero' or a source token such as '<pad>', got {baseline!r}")
    src_pieces = trained.source_pieces.pieces(source) if isinstance(source, str) else list(source)
    if output is None:
        output = trained.translate_pieces([src_pieces])[0]
    output = list(output)
    if not output or not src_pieces:
        raise ValueError("source and output must each have at least one piece")
    unknown = [p for p in output if p not in trained.target_vocab]
    if unknown:
        raise ValueError(f"output pieces {unknown} are not in the German piece vocabulary")
    n = len(output)
    src = trained.source_ids([src_pieces]).repeat(n, 1)
    out_ids = torch.tensor(trained.target_vocab.encode(output), dtype=torch.long, device=trained.device)
    target_in = torch.cat([torch.tensor([Vocab.bos], device=trained.device), out_ids[:-1]])[None].repeat(n, 1)
    position = torch.arange(n, device=trained.device)
    rows = torch.arange(n, device=trained.device)
    original = model.source_embedding
    shift = torch.zeros_like(original.weight[0]) if baseline == "zero" else \
        original.weight[trained.source_vocab.stoi[baseline]].detach()
    model.source_embedding = shifted = ShiftedEmbedding(original, shift)
    try:
        f = TokenLogProb(model).eval()
        ig, delta = embedding_integrated_gradients(
            f, shifted.inner, src, target=out_ids.tolist(), additional_forward_args=(target_in, position),
            n_steps=n_steps, method=method, internal_batch_size=internal_batch_size, return_convergence_delta=True)
        with torch.no_grad():
            log_prob = f(src, target_in, position)[rows, out_ids]
            handle = shifted.inner.register_forward_hook(lambda m, i, o: torch.zeros_like(o))
            try:
                base = f(src, target_in, position)[rows, out_ids]
            finally:
                handle.remove()
    finally:
        model.source_embedding = original
    return AttributionMatrix(src_pieces, output, ig.sum(-1).detach().cpu(), log_prob.cpu(), base.cpu(),
                             delta.detach().cpu(), baseline)


def word_matrix(att: AttributionMatrix, source_words: Sequence[str], output_words: Sequence[str]) -> Tensor:
    """The matrix summed into words (``iglib.experiments.text.alignment.word_matrix``): ``source_words`` and
    ``output_words`` tokenize the same texts as the pieces (``iglib.experiments.text.tokenize``)."""
    from .alignment import word_matrix as pool
    from .subwords import word_index

    return pool(att.matrix, word_index(att.output, output_words), word_index(att.source, source_words))


def reference_matrix(trained: Trained, source_text: str, target_text: str, n_steps: int = 50,
                     method: str = "gausslegendre", baseline: str = "zero") -> tuple[AttributionMatrix, Tensor]:
    """The attribution matrix of a sentence pair under teacher forcing on its German side (the model
    scores the human translation piece by piece), and the same summed into ``tokenize``'s words
    [German words, English words], the units of a hand alignment."""
    att = attribution_matrix(trained, source_text, output=trained.target_pieces.pieces(target_text),
                             n_steps=n_steps, method=method, baseline=baseline)
    return att, word_matrix(att, tokenize(source_text), tokenize(target_text))


@dataclass
class Figure5:
    """The paper's sentence read as figure 5: the model's own translation, its attribution matrix, and for
    each German word of the translation the English word it draws on most and its row sum (the rise of its
    log p from the baseline, nats), the matrix summed into words."""

    translation: str
    matrix: AttributionMatrix | None  # None when the translation is empty (an early snapshot)
    links: dict[str, str]  # German word -> the English word it draws most on
    rise: dict[str, float]  # German word -> sum over the English words (its row sum)

    def held(self, floor: float = 0.0) -> list[str]:
        """The German words of :data:`FIGURE_5` that draw most on the English word the paper links them to,
        their row raised by the source by more than ``floor`` nats (a row near zero has nothing to point at)."""
        return [g for g, e in FIGURE_5.items() if self.links.get(g) == e and self.rise[g] > floor]


def figure_5(trained: Trained, baseline: str = "zero", n_steps: int = 50) -> Figure5:
    """:func:`attribution_matrix` of :data:`PAPER_SENTENCE` on the model's greedy translation, summed into words."""
    output = trained.translate_pieces([PAPER_SENTENCE])[0]
    if not output:
        return Figure5("", None, {}, {})
    att = attribution_matrix(trained, PAPER_SENTENCE, output=output, n_steps=n_steps, baseline=baseline)
    text = trained.target_pieces.decode(att.output)
    german, english = tokenize(text), tokenize(PAPER_SENTENCE)
    words = word_matrix(att, english, german)
    return Figure5(text, att, {g: english[int(words[b].argmax())] for b, g in enumerate(german)},
                   {g: float(words[b].sum()) for b, g in enumerate(german)})


def cross_attention(trained: Trained, source_text: str, target_text: str) -> Tensor:
    """The decoder's attention on the source when it scores each piece of ``target_text`` under teacher
    forcing: the last decoder layer's cross-attention weights, heads averaged, [target pieces, source
    pieces] (each row sums to 1). The alignment attention-based explanations read off a Transformer."""
    model = trained.model
    source = trained.source_ids([source_text])
    target = trained.target_vocab.encode(trained.target_pieces.pieces(target_text))
    target_in = torch.tensor([[Vocab.bos] + target[:-1]], dtype=torch.long, device=trained.device)
    attention = model.decoder.layers[-1].multihead_attn
    weights: list[Tensor] = []

    def keep_weights(module: nn.Module, args: tuple, kwargs: dict, output: tuple) -> None:
        weights.append(module.forward(*args, **{**kwargs, "need_weights": True, "average_attn_weights": True})[1])

    handle = attention.register_forward_hook(keep_weights, with_kwargs=True)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(source, target_in)
    finally:
        handle.remove()
        model.train(was_training)
    return weights[0][0].cpu()


@dataclass
class Alignments:
    """Hand-aligned pairs read three ways, as word links (i, j): the argmax of the IG matrix summed into
    words, the argmax of the last decoder layer's cross-attention summed into words, and the diagonal."""

    ig: list[set[tuple[int, int]]]
    attention: list[set[tuple[int, int]]]
    diagonal: list[set[tuple[int, int]]]
    words: list[Tensor]  # the IG matrix summed into words, [German words, English words], per pair
    complete: list[Tensor]  # per pair: whether each output piece's row is complete (AttributionMatrix.complete)


def align_references(trained: Trained, references: Sequence, n_steps: int = 50, tolerance: float = 0.05,
                     floor: float = 0.2, baseline: str = "zero") -> Alignments:
    """:func:`reference_matrix` (from ``baseline``) and :func:`cross_attention` of each hand-aligned pair
    (``iglib.experiments.text.alignment.Reference``), read as argmax alignments; the diagonal needs no model."""
    from .alignment import argmax_alignment, diagonal_alignment, word_matrix as pool
    from .subwords import word_index

    out = Alignments([], [], [], [], [])
    for ref in references:
        att, words = reference_matrix(trained, ref.source_text, ref.target_text, n_steps=n_steps, baseline=baseline)
        weights = cross_attention(trained, ref.source_text, ref.target_text)
        attention_words = pool(weights, word_index(att.output, ref.target), word_index(att.source, ref.source))
        out.ig.append(argmax_alignment(words))
        out.attention.append(argmax_alignment(attention_words))
        out.diagonal.append(diagonal_alignment(len(ref.source), len(ref.target)))
        out.words.append(words)
        out.complete.append(att.complete(tolerance, floor))
    return out


def loops(trained: Trained, sentences: Sequence[str], times: int = 3) -> list[int]:
    """Indices of the sentences whose greedy translation repeats a piece ``times`` or more times in a row."""
    translated = [p for start in range(0, len(sentences), 64)
                  for p in trained.translate_pieces(list(sentences[start : start + 64]))]
    return [k for k, pieces in enumerate(translated) if repeats(pieces, times)]


def repeats(pieces: Sequence[str], times: int = 3) -> bool:
    """Whether some piece occurs ``times`` or more times in a row (the mark of a decoder caught in a loop)."""
    run = 1
    for previous, piece in zip(pieces, pieces[1:]):
        run = run + 1 if piece == previous else 1
        if run >= times:
            return True
    return times <= 1 and len(pieces) > 0


def plot_matrix(att: AttributionMatrix, ax=None, title: str | None = None, limit: float | None = None,
                annotate: bool = True, ylabel: bool = True, faint: float = 0.05):
    """The matrix as a heat map like the paper's figure 5: source pieces across (top), output pieces
    down, colour = A[j, i] in the collection's diverging map (``iglib.viz.DIVERGING``: positive red),
    centred on zero with limit ``limit`` (default max |A|); each cell carries its value, and a box marks
    each row's largest entry, unless that entry is below ``faint`` x the limit (a row the source barely
    moves has no entry to point at). ``ylabel=False`` leaves the row axis unnamed (for a panel beside
    another). Returns the image (for a colourbar)."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from ...viz import DIVERGING

    a = att.matrix.numpy()
    top = float(limit) if limit is not None else max(float(abs(a).max()), 1e-12)
    if ax is None:
        _, ax = plt.subplots(figsize=(0.75 * len(att.source) + 2.5, 0.5 * len(att.output) + 1.8))
    image = ax.imshow(a, cmap=DIVERGING, vmin=-top, vmax=top, aspect="auto")
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.set_xticks(range(len(att.source)), att.source, rotation=45, ha="left", fontsize=10)
    ax.set_yticks(range(len(att.output)), att.output, fontsize=10)
    ax.set_xlabel("source pieces (English)")
    if ylabel:
        ax.set_ylabel("output pieces (German)")
    for j in range(a.shape[0]):
        i = int(a[j].argmax())
        if a[j, i] >= faint * top:
            ax.add_patch(Rectangle((i - 0.5, j - 0.5), 1, 1, fill=False, edgecolor="black", lw=1.5))
        if annotate:
            for i in range(a.shape[1]):
                ax.text(i, j, f"{a[j, i]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if abs(a[j, i]) > 0.6 * top else "black")
    if title:
        ax.set_title(title, fontsize=10, pad=8)
    return image


# ------------------------------------------------------------------------------ checkpoints
FAST_CHECKPOINT = Path(__file__).with_name("checkpoints") / "translation_fast.pt"
REBUILD = ("python -m iglib.experiments.text.translation_training --mode fast --threads 2"
           " --out iglib/experiments/text/checkpoints/translation_fast.pt --state runs/translation.state --sitting-minutes 150")
# the project's first fast model, kept for notebook 10's punctuation section: every source punctuated, news trained on
PUNCTUATED_CHECKPOINT = FAST_CHECKPOINT.with_name("translation_punctuated.pt")
REBUILDS = {FAST_CHECKPOINT.name: REBUILD, PUNCTUATED_CHECKPOINT.name: (
    "python -m iglib.experiments.text.translation_training --mode fast --threads 1 --steps 2637 "
    "--set 'corpora=tatoeba europarl newstest' --set max_pieces=40 --set strip_punctuation=0 --set schedule=rsqrt --set ema=0 "
    "--out iglib/experiments/text/checkpoints/translation_punctuated.pt")}


def load(path: str | Path = FAST_CHECKPOINT, device: torch.device | str | None = None) -> Trained:
    """A checkpoint written by :func:`~iglib.experiments.text.translation_training.save`, with the model in
    float32 and eval mode on ``device``."""
    saved = load_checkpoint(path, rebuild=REBUILDS.get(Path(path).name, REBUILD))
    problems = checkpoint_problems(saved)
    if problems:
        raise ValueError(f"{path} does not match this version of iglib.experiments.text.translation: " + "; ".join(problems))
    config = TrainConfig(**saved["config"])
    source, target = stored_pieces(saved)
    model = Translator(len(source), len(target), config.d_model, config.n_heads, config.encoder_layers,
                       config.decoder_layers, config.d_ff, config.dropout)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in saved["state_dict"].items()})
    device = torch.device(device) if device is not None else settings.device()
    return Trained(model.to(device).eval(), source, target, config, saved["losses"], saved["scores"],
                   saved["data_sha256"], saved["seconds"])


def checkpoint_problems(saved: dict) -> list[str]:
    """What differs between a saved checkpoint and the current code and data (empty if nothing)."""
    problems = []
    names = {f.name for f in fields(TrainConfig)}
    if not names - LATER_FIELDS <= set(saved.get("config", {})) <= names:
        problems.append(f"config fields {sorted(saved.get('config', {}))} != TrainConfig's {sorted(names)}"
                        f" (of which {sorted(LATER_FIELDS)} may be missing)")
        return problems
    if saved.get("data_sha256") != data_files_sha256(TrainConfig(**saved["config"])):
        problems.append("it was trained on data files with other sha256 than iglib.data records")
    return problems


def stored_pieces(saved: dict) -> tuple[Subwords, Subwords]:
    """The English and German piece models stored in a checkpoint or a training state."""
    return (Subwords(saved["source_pieces"].numpy().tobytes(), lowercase=True),
            Subwords(saved["target_pieces"].numpy().tobytes()))
