"""The project's English-to-German translator and the source x output attribution matrix.

Model: an encoder-decoder Transformer (Vaswani et al., 2017) from ``torch.nn`` layers on word
pieces (:mod:`iglib.experiments.text.subwords`, learned by this script), with SEPARATE source and target
embeddings, so that IG can attribute to the source embeddings alone
(``iglib.experiments.text.embedding_integrated_gradients(..., model.source_embedding, ...)``). The target
embedding is shared with the output layer (Press and Wolf, 2017). English is lowercased (the
paper's sentence is written in lower case), German keeps its case.

Attribution (section 6.4 of the paper): for the j-th output piece y_j, F_j(x) = log p(y_j | y_<j, x)
with teacher forcing on a given output y (the model's own translation, or a reference); IG from
the zero source embedding to the source's embeddings, summed over the embedding dimensions,
gives one row of the matrix A[j, i] = attribution of source piece i to output piece j.
Completeness per row: sum_i A[j, i] = F_j(x) - F_j(zero source embedding). The positional
encodings are added after the embedding, so the baseline keeps them: it is "a sentence of the
same length with no words". :func:`attribution_matrix` also takes the other common text
baseline, every source piece replaced by <pad> (``baseline="pad"``).

Data (names as in ``iglib.data``): the Tatoeba English-German release of 2018, the first 20,000
pairs of Europarl v7, WMT newstest 2008-2017 and the Multi30k training set (``fast`` trains on Tatoeba and
Europarl, the latter twice per epoch; ``full`` on all four). Held out: a Tatoeba
split disjoint by English sentence (every German translation of a held-out English sentence is a
reference), WMT newstest2019 (en-de) and the FLORES-101 devtest. No pair whose English contains
one of :data:`NEVER_TRAINED` (the paper's sentence and notebook 10's two unseen examples) is
trained on.

Command line (writes a checkpoint with config, piece models, losses, held-out BLEU/chrF and the
sha256 of every data file read; ``--minutes`` stops on time, and the checkpoint's config then
records the step count reached, which rebuilds it step for step):

    python -m iglib.experiments.text.translation --mode fast --out PATH [--threads 2] [--minutes 60]
        [--set FIELD=VALUE ...] [--state RUN.state [--state-every 500] [--sitting-minutes 100]]
        [--snapshots DIR [--snapshot-every 500]] [--stop-at N] [--extend-to N]

``fast`` is the model for a CPU (3.3 hours on two cores), ``full`` the larger one for a
GPU, same code. The fast config keeps the weights at update 12,500 of a schedule planned to 23,000
(``stop_at``); ``--stop-at 23000 --snapshots runs/snapshots`` runs it to its end, keeping the weights every
500 updates, which ``python -m iglib.experiments.text.history`` scores (notebook 10 reads that record).
``--set`` changes a TrainConfig field (``--set strip_punctuation=0.3 --set schedule=linear``).
A run longer than one sitting keeps its whole state in ``--state`` (model, optimizer, moving average,
update, position in the epoch, random states): the same command continues it, and N + N updates in
two sittings equal 2N in one.
"""
from __future__ import annotations

import argparse
import copy
import functools
import gzip
import math
import re
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ... import data, settings
from ...progress import progress
from .attribution import embedding_integrated_gradients
from .checkpoint import load_checkpoint, record_sha256, save_checkpoint
from .subwords import Subwords, normalize
from .tokens import Vocab, tokenize

TATOEBA = "tatoeba-deu-2018/deu-eng.zip"
EUROPARL = ("europarl-v7-20k/train.en", "europarl-v7-20k/train.de")
NEWSTEST = tuple((f"wmt-newstest-deen/{n}.eng", f"wmt-newstest-deen/{n}.deu") for n in (
    "news-test2008", "newssyscomb2009", "newstest2009", "newstest2010", "newstest2011", "newstest2012",
    "newstest2013", "newstest2014", "newstest2015", "newstest2016", "newstest2017"))
MULTI30K = ("multi30k/train.en.gz", "multi30k/train.de.gz")
CORPORA = {"tatoeba": ((TATOEBA,),), "europarl": (EUROPARL,), "newstest": NEWSTEST, "multi30k": (MULTI30K,)}
TEST_SETS = {"newstest2019": ("wmt-newstest-ende/newstest2019.eng", "wmt-newstest-ende/newstest2019.deu"),
             "flores": ("flores101-devtest/eng.devtest", "flores101-devtest/deu.devtest")}

PAPER_SENTENCE = "good morning ladies and gentlemen"
GREETING = "good evening ladies and gentlemen"
PARLIAMENT = "ladies and gentlemen , the vote will take place tomorrow"
NEVER_TRAINED = (PAPER_SENTENCE, GREETING, PARLIAMENT)
FIGURE_5 = {"guten": "good", "morgen": "morning", "damen": "ladies", "herren": "gentlemen"}  # the paper's links

# The English sentences of the hand-aligned pairs in tests/alignments_de_en.json: always held out.
ALIGNED = ("i bought a hat .", "we left together .", "i want to visit you .", "i'll miss you all .",
           "i hate silent movies .", "this is ridiculous .", "tom looked hesitant .", "i have no friends .",
           "isn't that dangerous ?", "did i really say that ?", "is tom with you ?", "i hope so , too .",
           "do you see that ?", "i like cats .", "i don't like cats .", "supper is cold .",
           "who stole the apples ?", "she gets up early .", "i can't save you .", "tom caught many fish .")


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

# ------------------------------------------------------------------------------------- data
def read_lines(name: str) -> list[str]:
    """The lines of data file ``name`` (gunzipped when it ends in .gz), split at "\\n" only (the news
    files hold other Unicode line separators inside sentences)."""
    path = data.fetch(name)
    raw = gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()
    return raw.decode("utf-8").removesuffix("\n").split("\n")


def load_tatoeba() -> list[tuple[str, str]]:
    """(English, German) pairs of the Tatoeba 2018 release (``deu.txt`` in the zip), in file order."""
    with zipfile.ZipFile(data.fetch(TATOEBA)) as z:
        lines = z.read("deu.txt").decode("utf-8").split("\n")
    pairs = []
    for line in lines:
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].strip() and parts[1].strip():
            pairs.append((parts[0].strip(), parts[1].strip()))
    return pairs


def load_parallel(english: str, german: str) -> list[tuple[str, str]]:
    """(English, German) pairs of two line-aligned files (empty lines dropped)."""
    en, de = read_lines(english), read_lines(german)
    if len(en) != len(de):
        raise ValueError(f"{english} has {len(en)} lines but {german} has {len(de)}")
    return [(e.strip(), d.strip()) for e, d in zip(en, de) if e.strip() and d.strip()]


@functools.lru_cache(maxsize=1 << 18)  # a corpus is checked for several phrases: each sentence normalized once
def _letters(text: str) -> str:
    return " " + " ".join(re.findall(r"\w+", normalize(text, lowercase=True))) + " "


def mentions(text: str, phrase: str) -> bool:
    """Whether ``text`` contains ``phrase`` as words, ignoring case and punctuation."""
    return _letters(phrase) in _letters(text)


def never_trained(english: str) -> bool:
    """Whether the English side mentions one of :data:`NEVER_TRAINED`."""
    return any(mentions(english, phrase) for phrase in NEVER_TRAINED)


@dataclass
class Split:
    """Training pairs (texts) and the held-out Tatoeba English sentences with all their German references."""

    train: list[tuple[str, str]]
    heldout_sources: list[str]
    heldout_references: list[list[str]]
    excluded: int = 0  # pairs dropped because they mention a sentence of NEVER_TRAINED
    sizes: dict[str, int] = field(default_factory=dict)  # training pairs per corpus


def data_files(config: TrainConfig) -> list[str]:
    """The data files a training run reads."""
    return [name for key in config.corpora.split() for files in CORPORA[key] for name in files]


def split(config: TrainConfig) -> Split:
    """Hold out ``config.heldout`` Tatoeba English sentences (a seeded draw over its distinct English
    sentences, as ``iglib.experiments.text.tokenize`` splits them) and those of :data:`ALIGNED`; every other pair
    of the chosen corpora whose English does not mention :data:`NEVER_TRAINED` is trained on."""
    keys = config.corpora.split()
    unknown = [k for k in keys if k not in CORPORA]
    if unknown:
        raise ValueError(f"config.corpora names {unknown}; known corpora are {sorted(CORPORA)}")
    groups: dict[tuple[str, ...], list[tuple[str, str]]] = {}
    for en, de in load_tatoeba():
        groups.setdefault(tuple(tokenize(en)), []).append((en, de))
    order = torch.randperm(len(groups), generator=torch.Generator().manual_seed(1234)).tolist()
    names = list(groups)
    aligned = {tuple(tokenize(s)) for s in ALIGNED}
    held = [names[i] for i in order[: config.heldout]] + [k for k in names if k in aligned]
    held_set = set(held)
    train, excluded, sizes = [], 0, {}
    for key in keys:
        if key == "tatoeba":
            pairs = [pair for k in names if k not in held_set for pair in groups[k]]
        else:
            pairs = [pair for files in CORPORA[key] for pair in load_parallel(*files)]
            pairs = [(en, de) for en, de in pairs if tuple(tokenize(en)) not in held_set]
        kept = [(en, de) for en, de in pairs if not never_trained(en)]
        excluded += len(pairs) - len(kept)
        sizes[key] = sizes.get(key, 0) + len(kept)  # a corpus named twice is trained on twice
        train += kept
    return Split(train, [groups[k][0][0] for k in held], [[de for _, de in groups[k]] for k in held], excluded, sizes)


def test_set(name: str) -> tuple[list[str], list[str]]:
    """(English sentences, German references) of a held-out test set: ``newstest2019`` or ``flores``."""
    if name not in TEST_SETS:
        raise ValueError(f"test set must be one of {sorted(TEST_SETS)}, got {name!r}")
    en, de = read_lines(TEST_SETS[name][0]), read_lines(TEST_SETS[name][1])
    return en, de


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


def corpus_scores(hypotheses: Sequence[str], references: Sequence[str] | Sequence[Sequence[str]]) -> dict[str, float]:
    """sacreBLEU's corpus BLEU and chrF (default settings: 13a tokenization, case-sensitive) of detokenized
    text; ``references[k]`` is one German sentence or a list of them (any number per sentence)."""
    import sacrebleu

    refs = [[r] if isinstance(r, str) else list(r) for r in references]
    if len(refs) != len(hypotheses):
        raise ValueError(f"got {len(hypotheses)} hypotheses but {len(refs)} reference sets")
    streams = [[r[k] if k < len(r) else None for r in refs] for k in range(max(map(len, refs)))]
    return {"bleu": sacrebleu.corpus_bleu(list(hypotheses), streams).score,
            "chrf": sacrebleu.corpus_chrf(list(hypotheses), streams).score}


def evaluate(trained: Trained, split_: Split, test_sets: Sequence[str] = tuple(TEST_SETS),
             limit: int | None = None) -> dict[str, dict[str, float]]:
    """BLEU and chrF of greedy translations on the Tatoeba held-out split and each test set
    (the first ``limit`` sentences of each, when given)."""
    sets = {"tatoeba": (split_.heldout_sources, split_.heldout_references)}
    sets.update({name: test_set(name) for name in test_sets})
    return {name: corpus_scores(trained.translate(en[:limit]), refs[:limit]) for name, (en, refs) in sets.items()}


# --------------------------------------------------------------------------------- training
def learn_pieces(split_: Split, config: TrainConfig) -> tuple[Subwords, Subwords]:
    """The English (lowercased) and German piece models, learned from the training pairs."""
    return (Subwords.learn((en for en, _ in split_.train), config.source_pieces, lowercase=True),
            Subwords.learn((de for _, de in split_.train), config.target_pieces))


def encode_pairs(split_: Split, source: Subwords, target: Subwords, max_pieces: int,
                 stripped: bool = False) -> list[tuple[list[int], list[int]]]:
    """(source ids, <bos> target ids <eos>) of every training pair with 1..max_pieces pieces a side;
    with ``stripped``, a third entry: the source ids of the English without punctuation."""
    out = []
    for en, de in split_.train:
        s, t = source.encode(en), target.encode(de)
        if 0 < len(s) <= max_pieces and 0 < len(t) <= max_pieces:
            out.append((s, [Vocab.bos] + t + [Vocab.eos]) + ((source.encode(strip_punctuation(en)) or s,) if stripped else ()))
    return out


def batches(pairs: list[tuple[list[int], list[int]]], batch_pieces: int, generator: torch.Generator,
            pool: int = 100) -> list[list[int]]:
    """Indices of batches of pairs of similar length, about ``batch_pieces`` target pieces each: shuffle,
    sort each pool of ~``pool`` batches by length, cut it, and shuffle the batches."""
    order = torch.randperm(len(pairs), generator=generator).tolist()
    mean = max(1, sum(len(t) for _, t in pairs) // max(len(pairs), 1))
    out: list[list[int]] = []
    for start in range(0, len(order), pool * max(1, batch_pieces // mean)):
        chunk = sorted(order[start : start + pool * max(1, batch_pieces // mean)],
                       key=lambda k: (len(pairs[k][1]), len(pairs[k][0])))
        batch: list[int] = []
        for k in chunk:
            longest = max([len(pairs[k][1])] + [len(pairs[b][1]) for b in batch[-1:]])
            if batch and longest * (len(batch) + 1) > batch_pieces:
                out.append(batch)
                batch = []
            batch.append(k)
        if batch:
            out.append(batch)
    return [out[k] for k in torch.randperm(len(out), generator=generator).tolist()]


def _pad(rows: list[list[int]]) -> Tensor:
    out = torch.full((len(rows), max(map(len, rows))), Vocab.pad, dtype=torch.long)
    for k, row in enumerate(rows):
        out[k, : len(row)] = torch.tensor(row, dtype=torch.long)
    return out


def learning_rate(step: int, config: TrainConfig) -> float:
    """``rsqrt``: lr * min(step / warmup, sqrt(warmup / step)); ``linear``: lr * step / warmup, then a
    straight line from lr at warmup to lr_floor * lr at max_steps (step counts from 1). An extended run
    (``extended_from`` = E) follows the line planned for max_steps = E, then restarts: a second line from
    restart_lr * lr at E + 1 to lr_floor * lr at max_steps."""
    if config.schedule == "rsqrt":
        return config.lr * min(step / config.warmup, math.sqrt(config.warmup / step))
    if config.schedule == "linear":
        if config.max_steps is None or config.max_steps <= config.warmup:
            raise ValueError(f"schedule 'linear' decays to its floor at max_steps, which must exceed warmup "
                             f"({config.warmup}); got max_steps={config.max_steps}")
        end = config.max_steps
        if config.extended_from is not None:
            if not config.warmup < config.extended_from < config.max_steps:
                raise ValueError(f"extended_from must lie between warmup ({config.warmup}) and max_steps "
                                 f"({config.max_steps}); got extended_from={config.extended_from}")
            if step > config.extended_from:
                done = min(1.0, (step - config.extended_from - 1) / (config.max_steps - config.extended_from - 1))
                return config.lr * (config.restart_lr - (config.restart_lr - config.lr_floor) * done)
            end = config.extended_from
        if step <= config.warmup:
            return config.lr * step / config.warmup
        done = min(1.0, (step - config.warmup) / (end - config.warmup))
        return config.lr * (1 - (1 - config.lr_floor) * done)
    raise ValueError(f"config.schedule must be 'rsqrt' or 'linear', got {config.schedule!r}")


PUNCTUATION = re.compile(r"[^\w\s']+")


def strip_punctuation(english: str) -> str:
    """The sentence without punctuation (apostrophes kept): "Good morning, ladies." -> "Good morning ladies"."""
    return " ".join(PUNCTUATION.sub(" ", english).split())


def _smoothed_loss(logp: Tensor, target: Tensor, smoothing: float) -> Tensor:
    """(1 - eps) NLL + eps * mean over the vocabulary of -log p, averaged over non-<pad> targets."""
    keep = target != Vocab.pad
    nll = -logp.gather(-1, target[..., None])[..., 0]
    uniform = -logp.mean(-1)
    return ((1 - smoothing) * nll + smoothing * uniform)[keep].mean()


def train(config: TrainConfig, split_: Split | None = None, device: torch.device | str | None = None,
          on_log: Callable[[int, float, float], None] | None = None, log_every: int = 100,
          pieces: tuple[Subwords, Subwords] | None = None, state: str | Path | None = None,
          state_every: int | None = None, sitting_minutes: float | None = None,
          sitting_steps: int | None = None, snapshots: str | Path | None = None,
          snapshot_every: int = 500) -> Trained:
    """Train a :class:`Translator` with Adam on label-smoothed cross-entropy, seeded by ``config.seed``.

    Without ``split_`` uses :func:`split` (files fetched through ``iglib.data``); without ``pieces``
    learns the piece models from its training pairs. Stops after ``config.epochs``, ``max_steps``
    updates, ``stop_at`` updates or ``max_minutes``, whichever comes first. ``on_log(step, mean loss,
    seconds)`` is called every ``log_every`` updates. Held-out scores are not computed here (:func:`evaluate`).

    A run can go on in another sitting: with ``state``, the run's whole state (model, optimizer, moving
    average, update count, epoch and position in it, random states, losses, piece models) is written
    there every ``state_every`` updates and when the sitting ends, after ``sitting_minutes`` or
    ``sitting_steps`` updates (these end the sitting, not the run: the config, and so the schedule, is
    unchanged). If ``state`` exists, training continues from it, and ends where one sitting would have.
    With ``snapshots`` (a folder), the kept weights (the moving average, if any) are written there in fp16
    every ``snapshot_every`` updates, as ``step_00500.pt`` etc. (:func:`load_snapshot`): the run's history.
    """
    split_ = split_ if split_ is not None else split(config)
    device = torch.device(device) if device is not None else settings.device()
    saved = _load_state(state, config) if state is not None and Path(state).exists() else None
    if saved is not None:
        pieces = stored_pieces(saved)
    source, target = pieces if pieces is not None else learn_pieces(split_, config)
    pairs = encode_pairs(split_, source, target, config.max_pieces, stripped=config.strip_punctuation > 0)
    torch.manual_seed(config.seed)
    model = Translator(len(source), len(target), config.d_model, config.n_heads, config.encoder_layers,
                       config.decoder_layers, config.d_ff, config.dropout).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(0.9, 0.98), eps=1e-9)
    average = {k: v.detach().clone() for k, v in model.state_dict().items()} if config.ema > 0 else None
    generator = torch.Generator().manual_seed(config.seed)
    losses: list[float] = []
    first_epoch, skip, seconds_before = 0, 0, 0.0
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        average = saved["average"]
        generator.set_state(saved["epoch_generator"])
        torch.set_rng_state(saved["rng"])
        losses, first_epoch, skip, seconds_before = saved["losses"], saved["epoch"], saved["batch"], saved["seconds"]
    start = time.perf_counter()
    sitting_start = len(losses)

    def out_of_budget() -> bool:
        return ((config.max_steps is not None and len(losses) >= config.max_steps)
                or (config.stop_at is not None and len(losses) >= config.stop_at)
                or (config.max_minutes is not None and time.perf_counter() - start > 60 * config.max_minutes))

    def sitting_over() -> bool:
        return ((sitting_steps is not None and len(losses) - sitting_start >= sitting_steps)
                or (sitting_minutes is not None and time.perf_counter() - start > 60 * sitting_minutes))

    def write_state(epoch: int, batch: int, epoch_generator: Tensor) -> None:
        _save_state(state, config, model, optimizer, average, epoch, batch, epoch_generator, losses,
                    seconds_before + time.perf_counter() - start, source, target)

    model.train()
    for epoch in progress(range(first_epoch, config.epochs), desc="training", unit="epoch"):
        epoch_generator = generator.get_state()  # batches and stripped sources of this epoch follow from it
        epoch_pairs = epoch_sources(pairs, config.strip_punctuation, generator)
        for b, batch in enumerate(batches(epoch_pairs, config.batch_pieces, generator)):
            if b < skip:
                continue
            if out_of_budget() or sitting_over():
                break
            src = _pad([epoch_pairs[k][0] for k in batch]).to(device)
            tgt = _pad([epoch_pairs[k][1] for k in batch]).to(device)
            logp = model(src, tgt[:, :-1])
            loss = _smoothed_loss(logp, tgt[:, 1:], config.label_smoothing)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(len(losses) + 1, config)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            if average is not None:
                exponential_moving_average(average, model, config.ema)
            if on_log is not None and len(losses) % log_every == 0:
                on_log(len(losses), sum(losses[-log_every:]) / log_every, seconds_before + time.perf_counter() - start)
            if state is not None and state_every and len(losses) % state_every == 0:
                write_state(epoch, b + 1, epoch_generator)
            if snapshots is not None and len(losses) % snapshot_every == 0:
                _save_snapshot(Path(snapshots) / f"step_{len(losses):05d}.pt", average or model.state_dict())
        else:
            skip = 0
            continue
        if state is not None:  # the sitting (or the run) ended inside this epoch, before batch b
            write_state(epoch, b, epoch_generator)
        break
    else:
        if state is not None:
            write_state(config.epochs, 0, generator.get_state())
    seconds = seconds_before + time.perf_counter() - start
    if average is not None:
        model.load_state_dict(average)
    model.eval()
    if config.max_minutes is not None:  # record the step count reached: it rebuilds the run step for step
        config = replace(config, max_steps=len(losses), max_minutes=None)
    return Trained(model, source, target, config, losses, {}, data_files_sha256(config), seconds)


def epoch_sources(pairs: list[tuple], strip: float, generator: torch.Generator) -> list[tuple[list[int], list[int]]]:
    """One epoch's (source, target) pairs: each English source without its punctuation (the third entry of
    :func:`encode_pairs` ``stripped=True``) with probability ``strip``, drawn afresh each epoch."""
    if strip <= 0:
        return [(p[0], p[1]) for p in pairs]
    stripped = (torch.rand(len(pairs), generator=generator) < strip).tolist()
    return [(p[2] if cut else p[0], p[1]) for p, cut in zip(pairs, stripped)]


def updates_per_epoch(split_: Split, trained: Trained) -> int:
    """The number of batches (updates) in the first epoch of ``trained``'s run (later ones differ by a few)."""
    config = trained.config
    pairs = encode_pairs(split_, trained.source_pieces, trained.target_pieces, config.max_pieces,
                         stripped=config.strip_punctuation > 0)
    generator = torch.Generator().manual_seed(config.seed)
    return len(batches(epoch_sources(pairs, config.strip_punctuation, generator), config.batch_pieces, generator))


def exponential_moving_average(average: dict[str, Tensor], model: nn.Module, decay: float) -> None:
    """average <- decay * average + (1 - decay) * weights, for every floating-point tensor of the model."""
    with torch.no_grad():
        for name, value in model.state_dict().items():
            if value.is_floating_point():
                average[name].mul_(decay).add_(value, alpha=1 - decay)
            else:
                average[name].copy_(value)


def _save_snapshot(path: Path, weights: dict[str, Tensor]) -> None:
    """The weights of one moment of a run, floating-point tensors in fp16."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in weights.items()}, path)


def load_snapshot(trained: Trained, path: str | Path) -> Trained:
    """``trained`` (the run's final checkpoint: its pieces and config) with the weights of a snapshot."""
    weights = torch.load(path, map_location="cpu", weights_only=True)
    model = copy.deepcopy(trained.model)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in weights.items()})
    return replace(trained, model=model.eval())


def _save_state(path: str | Path, config: TrainConfig, model: nn.Module, optimizer: torch.optim.Optimizer,
                average: dict[str, Tensor] | None, epoch: int, batch: int, epoch_generator: Tensor,
                losses: list[float], seconds: float, source: Subwords, target: Subwords) -> None:
    """A resumable training state (written to a temporary file, then renamed: never half a state)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    torch.save({"config": asdict(config), "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "average": average, "epoch": epoch, "batch": batch, "epoch_generator": epoch_generator,
                "rng": torch.get_rng_state(), "losses": list(losses), "seconds": seconds,
                "source_pieces": torch.frombuffer(bytearray(source.model), dtype=torch.uint8),
                "target_pieces": torch.frombuffer(bytearray(target.model), dtype=torch.uint8)}, partial)
    partial.replace(path)


def stored_pieces(saved: dict) -> tuple[Subwords, Subwords]:
    """The English and German piece models stored in a checkpoint or a training state."""
    return (Subwords(saved["source_pieces"].numpy().tobytes(), lowercase=True),
            Subwords(saved["target_pieces"].numpy().tobytes()))


def _load_state(path: str | Path, config: TrainConfig) -> dict:
    """The state :func:`_save_state` wrote, refused when it belongs to a run of another config. A run that
    ended at max_steps = E goes on as its extension (``extended_from`` = E)."""
    saved = torch.load(path, map_location="cpu", weights_only=False)
    defaults = asdict(TrainConfig())
    ours = {k: v for k, v in asdict(config).items() if k not in ("max_minutes", "stop_at")}  # where it stops may differ
    theirs = {k: saved["config"].get(k, defaults[k]) for k in ours}
    if ours != theirs and config.extended_from is not None and theirs["extended_from"] is None:
        ours = dict(ours, max_steps=config.extended_from, extended_from=None, restart_lr=defaults["restart_lr"])
        theirs = dict(theirs, restart_lr=defaults["restart_lr"])
    if ours != theirs:
        differ = sorted(k for k in ours if ours[k] != theirs[k])
        raise ValueError(f"state={str(path)!r} is a run of another config (differs in {differ}); "
                         "resume with the config that started it, or start a new state file")
    return saved


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
REBUILD = ("python -m iglib.experiments.text.translation --mode fast --threads 2 --out iglib/experiments/text/checkpoints/translation_fast.pt"
           " --state runs/translation.state --sitting-minutes 150")
# the project's first fast model, kept for notebook 10's punctuation section: every source punctuated, news trained on
PUNCTUATED_CHECKPOINT = FAST_CHECKPOINT.with_name("translation_punctuated.pt")
REBUILDS = {FAST_CHECKPOINT.name: REBUILD, PUNCTUATED_CHECKPOINT.name: (
    "python -m iglib.experiments.text.translation --mode fast --threads 1 --steps 2637 --set 'corpora=tatoeba europarl newstest' "
    "--set max_pieces=40 --set strip_punctuation=0 --set schedule=rsqrt --set ema=0 "
    "--out iglib/experiments/text/checkpoints/translation_punctuated.pt")}


def save(trained: Trained, path: str | Path, half: bool = True) -> Path:
    """Write the weights (float16 when ``half``), config, piece models, losses, scores and data sha256,
    with the content's own sha256 (:func:`iglib.experiments.text.checkpoint.save_checkpoint`)."""
    state = {k: v.detach().cpu().clone() for k, v in trained.model.state_dict().items()}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    return save_checkpoint({
        "config": asdict(trained.config),
        "source_pieces": torch.frombuffer(bytearray(trained.source_pieces.model), dtype=torch.uint8),
        "target_pieces": torch.frombuffer(bytearray(trained.target_pieces.model), dtype=torch.uint8),
        "state_dict": state,
        "scores": trained.scores,
        "losses": trained.losses,
        "seconds": trained.seconds,
        "data_sha256": trained.data_sha256,
    }, path)


def load(path: str | Path = FAST_CHECKPOINT, device: torch.device | str | None = None) -> Trained:
    """A checkpoint written by :func:`save`, with the model in float32 and eval mode on ``device``."""
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


def load_or_train(mode: str | None = None, path: str | Path = FAST_CHECKPOINT,
                  on_log: Callable[[int, float, float], None] | None = None) -> tuple[Trained, str]:
    """Fast mode loads the committed checkpoint when it exists; otherwise (or in full mode) trains.

    Returns the model and how it was obtained ("loaded <file>" or "trained").
    """
    mode = mode or settings.mode()
    if mode == "fast" and Path(path).exists():
        return load(path), f"loaded {Path(path).name}"
    trained = train(TrainConfig.for_mode(mode), on_log=on_log)
    return trained, "trained"


def with_fields(config: TrainConfig, assignments: Sequence[str]) -> TrainConfig:
    """``config`` with fields set from "name=value" strings, each value parsed as its field's type."""
    types = {f.name: f.type for f in fields(TrainConfig)}
    changes = {}
    for assignment in assignments:
        name, sep, value = assignment.partition("=")
        if not sep or name not in types:
            raise ValueError(f"--set takes FIELD=VALUE with a TrainConfig field ({', '.join(types)}); got {assignment!r}")
        kind = types[name].split("|")[0].strip()
        changes[name] = {"int": int, "float": float, "str": str}[kind](value)
    return replace(config, **changes)


def parameter_count(model: nn.Module) -> int:
    """The number of trained numbers of ``model``."""
    return sum(p.numel() for p in model.parameters())


# -------------------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m iglib.experiments.text.translation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=settings.MODES, default=None, help="default: IGLIB_MODE, else by device")
    parser.add_argument("--out", required=True, help="checkpoint file to write")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument("--minutes", type=float, default=None, help="stop training after this much time")
    parser.add_argument("--steps", type=int, default=None, help="stop training after this many updates")
    parser.add_argument("--eval-limit", type=int, default=None, help="score only the first N sentences per set")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="change one TrainConfig field, e.g. --set strip_punctuation=0.3 (repeatable)")
    parser.add_argument("--state", default=None, help="resumable training state: continued if it exists, else written")
    parser.add_argument("--state-every", type=int, default=500, help="write --state every this many updates")
    parser.add_argument("--snapshots", default=None, help="folder: keep the weights every --snapshot-every updates")
    parser.add_argument("--snapshot-every", type=int, default=500, help="updates between snapshots")
    parser.add_argument("--extend-to", type=int, default=None, metavar="N",
                        help="go on with a finished linear run (its --state) to update N: the schedule restarts")
    parser.add_argument("--stop-at", type=int, default=None, metavar="N",
                        help="end the run after update N (its schedule still planned to max_steps)")
    parser.add_argument("--sitting-minutes", type=float, default=None,
                        help="end this sitting after this much time (with --state; the run goes on later)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    config = TrainConfig.for_mode(args.mode or settings.mode())
    if args.minutes is not None:
        config = replace(config, max_minutes=args.minutes)
    if args.steps is not None:
        config = replace(config, max_steps=args.steps)
    config = with_fields(config, args.set)
    if args.extend_to is not None:
        config = replace(config, extended_from=config.max_steps, max_steps=args.extend_to)
    if args.stop_at is not None:
        config = replace(config, stop_at=args.stop_at)
    if args.sitting_minutes is not None and args.state is None:
        parser.error("--sitting-minutes needs --state (where the run goes on from)")
    t0 = time.perf_counter()
    split_ = split(config)
    resuming = args.state is not None and Path(args.state).exists()
    source, target = stored_pieces(_load_state(args.state, config)) if resuming else learn_pieces(split_, config)
    if resuming:
        print(f"continuing the run in {args.state} (its piece models)", flush=True)
    pairs = encode_pairs(split_, source, target, config.max_pieces)
    print(f"data: {len(split_.train)} training pairs {split_.sizes}, {split_.excluded} excluded (NEVER_TRAINED), "
          f"{len(pairs)} with at most {config.max_pieces} pieces a side "
          f"({sum(len(t) - 1 for _, t in pairs)} target pieces); {len(split_.heldout_sources)} held-out "
          f"English sentences; pieces: {len(source)} English, {len(target)} German "
          f"({time.perf_counter() - t0:.0f} s)", flush=True)
    trained = train(config, split_, pieces=(source, target), on_log=lambda step, loss, s: print(
        f"step {step}: loss {loss:.4f} lr {learning_rate(step, config):.2e} ({s:.0f} s)", flush=True),
        state=args.state, state_every=args.state_every, sitting_minutes=args.sitting_minutes,
        snapshots=args.snapshots, snapshot_every=args.snapshot_every)
    planned = min(n for n in (config.max_steps, config.stop_at, float("inf")) if n is not None)
    if args.state is not None and len(trained.losses) < planned and args.sitting_minutes is not None:
        print(f"sitting over after update {len(trained.losses)}: go on with the same command ({args.state})", flush=True)
        return
    print(f"trained {len(trained.losses)} updates in {trained.seconds:.0f} s ({torch.get_num_threads()} threads), "
          f"{parameter_count(trained.model)} parameters", flush=True)
    path = save(trained, args.out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)", flush=True)
    for sentence in NEVER_TRAINED + ("I love you.", "Tom is my friend."):
        print(f"  {sentence} -> {trained.translate([sentence])[0]}", flush=True)
    trained.scores = evaluate(trained, split_, limit=args.eval_limit)
    for name, s in trained.scores.items():
        print(f"  {name}: BLEU {s['bleu']:.1f}, chrF {s['chrf']:.1f}", flush=True)
    save(trained, args.out)
    record_sha256(path)
    print(f"wrote {path} with its scores ({time.perf_counter() - t0:.0f} s in all)", flush=True)


if __name__ == "__main__":
    main()
