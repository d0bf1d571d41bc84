"""The project's English-to-German translator and the source x output attribution matrix.

Model: a small encoder-decoder Transformer (Vaswani et al., 2017) from ``torch.nn`` layers,
with SEPARATE source and target embeddings, so that IG can attribute to the source
embeddings alone (``iglib.text.embedding_integrated_gradients(..., model.source_embedding, ...)``).

Attribution (section 6.4 of the paper): for the j-th output token y_j, F_j(x) = log p(y_j | y_<j, x)
with teacher forcing on a given output sentence y (the model's own translation, or a reference);
IG from the zero source embedding to the source's embeddings, summed over the embedding
dimensions, gives one row of the matrix A[j, i] = attribution of source token i to output token j.
Completeness per row: sum_i A[j, i] = F_j(x) - F_j(zero source embedding). The positional
encodings are added after the embedding, so the baseline keeps them: it is "a sentence of
the same length with no words".

Data: the Tatoeba English-German pairs (``tatoeba-deu-50k/deu.txt``), split by English
sentence (every German translation of a held-out English sentence is one of its references
and none of its pairs is trained on), plus the short sentence pairs of the OpenNMT WMT toy
corpus (Europarl / news; for "ladies and gentlemen") in training only.

Command line (writes a checkpoint with config, vocabularies, losses, held-out BLEU and the
sha256 of every data file read):

    python -m iglib.text.translation --mode fast --out PATH [--threads 1]

``fast`` trains on one CPU core in about six minutes; ``full`` is the larger model for a GPU,
same code.
"""
from __future__ import annotations

import argparse
import html
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import data, settings
from ..progress import progress
from . import bleu
from .attribution import embedding_integrated_gradients
from .checkpoint import load_checkpoint, record_sha256
from .tokens import Vocab, tokenize

TATOEBA = "tatoeba-deu-50k/deu.txt"
TOY_SOURCE, TOY_TARGET = "opennmt-toy-ende/src-train.txt", "opennmt-toy-ende/tgt-train.txt"
FILES = (TATOEBA, TOY_SOURCE, TOY_TARGET)

Pair = tuple[list[str], list[str]]  # (English tokens, German tokens)


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
    """log p(y_t | y_<t, x) = log_softmax(W decoder(target_embedding(y_<t), encoder(source_embedding(x))))."""

    def __init__(self, source_vocab: int, target_vocab: int, d_model: int = 128, n_heads: int = 4,
                 n_layers: int = 2, d_ff: int = 256, dropout: float = 0.1, max_positions: int = 128):
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
            n_layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoder(
            nn.TransformerDecoderLayer(d_model, n_heads, d_ff, dropout, batch_first=True, norm_first=True),
            n_layers, norm=nn.LayerNorm(d_model))
        self.out = nn.Linear(d_model, target_vocab)

    def _embed(self, embedding: nn.Embedding, ids: Tensor) -> Tensor:
        return self.dropout(embedding(ids) * math.sqrt(self.d_model) + self.positions[: ids.shape[1]])

    def encode(self, source: Tensor) -> Tensor:
        """The memory [N, S, D] of source ids [N, S] (<pad> positions are masked out)."""
        return self.encoder(self._embed(self.source_embedding, source), src_key_padding_mask=source == Vocab.pad)

    def decode(self, memory: Tensor, source: Tensor, target_in: Tensor) -> Tensor:
        """Log-probabilities [N, T, V] of the next target token after each prefix of ``target_in``."""
        t = target_in.shape[1]
        causal = torch.triu(torch.ones(t, t, dtype=torch.bool, device=target_in.device), 1)
        h = self.decoder(self._embed(self.target_embedding, target_in), memory, tgt_mask=causal,
                         tgt_key_padding_mask=target_in == Vocab.pad,
                         memory_key_padding_mask=source == Vocab.pad)
        return F.log_softmax(self.out(h), dim=-1)

    def forward(self, source: Tensor, target_in: Tensor) -> Tensor:
        """Teacher forcing: ``target_in`` = <bos> y_1 ... y_{T-1}; returns log p [N, T, V]."""
        return self.decode(self.encode(source), source, target_in)


# ----------------------------------------------------------------------------------- config
@dataclass(frozen=True)
class TrainConfig:
    """Every knob of a training run; ``fast`` and ``full`` differ only in these numbers."""

    d_model: int = 128
    n_heads: int = 4
    n_layers: int = 2
    d_ff: int = 256
    dropout: float = 0.1
    epochs: int = 5
    batch_size: int = 100
    lr: float = 1.5e-3  # peak learning rate, after ``warmup`` linear steps, then ~ 1/sqrt(step)
    warmup: int = 400
    label_smoothing: float = 0.1
    min_count: int = 3  # a word must occur this often in the training side to get an id
    max_vocab: int = 6000
    max_length: int = 16  # pairs longer than this (either side, in tokens) are not trained on
    heldout: int = 1000  # English sentences held out (with all their German translations)
    toy_corpus: bool = True  # also train on the short pairs of the OpenNMT WMT toy corpus
    seed: int = 0
    max_steps: int | None = None  # stop after this many updates (tests)

    @classmethod
    def for_mode(cls, mode: str) -> TrainConfig:
        """``fast``: one CPU core, about six minutes; ``full``: the larger model for a GPU."""
        if mode == "fast":
            return cls()
        if mode == "full":
            return cls(d_model=256, n_heads=8, n_layers=3, d_ff=1024, epochs=30, batch_size=128, lr=7e-4,
                       warmup=2000, min_count=1, max_vocab=30000, max_length=50)
        raise ValueError(f"mode must be 'fast' or 'full', got {mode!r}")


# ------------------------------------------------------------------------------------- data
def load_tatoeba() -> list[tuple[str, str]]:
    """(English, German) sentence pairs of the Tatoeba file, in file order (its header row skipped)."""
    lines = data.fetch(TATOEBA).read_text(encoding="utf-8").splitlines()
    pairs = []
    for line in lines[1:]:  # the first row is a header "1<TAB>2"
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].strip() and parts[1].strip():
            pairs.append((parts[0].strip(), parts[1].strip()))
    return pairs


def load_toy_corpus() -> list[tuple[str, str]]:
    """(English, German) pairs of the OpenNMT WMT toy training corpus (HTML entities decoded)."""
    en = data.fetch(TOY_SOURCE).read_text(encoding="utf-8").splitlines()
    de = data.fetch(TOY_TARGET).read_text(encoding="utf-8").splitlines()
    return [(html.unescape(e).strip(), html.unescape(d).strip()) for e, d in zip(en, de)]


@dataclass
class Split:
    """Training pairs and the held-out English sentences with all their German references."""

    train: list[Pair]
    heldout_sources: list[list[str]]
    heldout_references: list[list[list[str]]]
    heldout_texts: list[str]  # the held-out English sentences as written

    def heldout_pairs(self) -> list[Pair]:
        """(English, first German reference) for each held-out sentence."""
        return [(s, refs[0]) for s, refs in zip(self.heldout_sources, self.heldout_references)]


def split(config: TrainConfig) -> Split:
    """Hold out ``config.heldout`` English sentences (a seeded draw over the distinct tokenized English
    sentences of Tatoeba); everything else with at most ``max_length`` tokens per side is trained on."""
    groups: dict[tuple[str, ...], list[list[str]]] = {}
    texts: dict[tuple[str, ...], str] = {}
    for en, de in load_tatoeba():
        key = tuple(tokenize(en))
        groups.setdefault(key, []).append(tokenize(de))
        texts.setdefault(key, en)
    keys = list(groups)
    order = torch.randperm(len(keys), generator=torch.Generator().manual_seed(1234)).tolist()
    held = [keys[i] for i in order[: config.heldout]]
    held_set = set(held)
    train = [(list(k), de) for k in keys if k not in held_set for de in groups[k]]
    if config.toy_corpus:
        for en, de in load_toy_corpus():
            src, tgt = tokenize(en), tokenize(de)
            if tuple(src) not in held_set:
                train.append((src, tgt))
    train = [(s, t) for s, t in train if 0 < len(s) <= config.max_length and 0 < len(t) <= config.max_length]
    return Split(train, [list(k) for k in held], [groups[k] for k in held], [texts[k] for k in held])


def data_files_sha256(config: TrainConfig | None = None) -> dict[str, str]:
    """The sha256 of each data file training reads (as recorded in ``iglib.data``)."""
    names = FILES if config is None or config.toy_corpus else (TATOEBA,)
    return {name: data.sources()[name]["sha256"] for name in names}


# ----------------------------------------------------------------------------------- trained
@dataclass
class Trained:
    """A trained translator with its vocabularies, config, losses and held-out BLEU."""

    model: Translator
    source_vocab: Vocab
    target_vocab: Vocab
    config: TrainConfig
    losses: list[float]  # the training loss of every update
    bleu: float  # corpus BLEU-4 (x 100) of greedy translations of the held-out sentences
    data_sha256: dict[str, str]

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def source_ids(self, sentences: Sequence[str] | Sequence[Sequence[str]]) -> Tensor:
        """Sentences (strings or token lists) -> LongTensor [N, S] of source ids (right-padded)."""
        tokens = [tokenize(s) if isinstance(s, str) else list(s) for s in sentences]
        return self.source_vocab.batch([t[: self.config.max_length * 2] for t in tokens]).to(self.device)

    def translate(self, sentences: Sequence[str] | Sequence[Sequence[str]], max_length: int | None = None) -> list[list[str]]:
        """Greedy translations (German tokens, without <eos>) of English sentences."""
        out = greedy_decode(self.model, self.source_ids(sentences), max_length or self.config.max_length * 2)
        return [self.target_vocab.decode(row) for row in out]


def greedy_decode(model: Translator, source: Tensor, max_length: int = 50) -> Tensor:
    """y_t = argmax_y log p(y | y_<t, x) until <eos> (or ``max_length`` tokens); returns ids [N, T] after <bos>."""
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


def heldout_bleu(trained: Trained, split_: Split, batch_size: int = 250) -> float:
    """Corpus BLEU-4 (x 100) of greedy translations against every reference of each held-out sentence."""
    hypotheses = []
    for start in range(0, len(split_.heldout_sources), batch_size):
        hypotheses += trained.translate(split_.heldout_sources[start : start + batch_size])
    return 100 * bleu.corpus_bleu(hypotheses, split_.heldout_references)


# --------------------------------------------------------------------------------- training
def _batches(pairs: list[Pair], source_vocab: Vocab, target_vocab: Vocab) -> tuple[Tensor, Tensor]:
    return source_vocab.batch([s for s, _ in pairs]), target_vocab.batch([t for _, t in pairs], bos=True, eos=True)


def _length_buckets(order: Tensor, lengths: Tensor, batch_size: int, generator: torch.Generator,
                    pool: int = 50) -> list[Tensor]:
    """Batches of similar source length (less padding): sort each run of ``pool`` batches of the shuffled
    ``order`` by length, cut it into batches, and shuffle the batches."""
    batches = []
    for chunk in order.split(batch_size * pool):
        chunk = chunk[torch.sort(lengths[chunk], stable=True).indices]
        batches += list(chunk.split(batch_size))
    return [batches[k] for k in torch.randperm(len(batches), generator=generator).tolist()]


def learning_rate(step: int, config: TrainConfig) -> float:
    """lr * min(step / warmup, sqrt(warmup / step)) (step counts from 1)."""
    return config.lr * min(step / config.warmup, math.sqrt(config.warmup / step))


def train(config: TrainConfig, split_: Split | None = None, device: torch.device | str | None = None,
          on_epoch: Callable[[int, float], None] | None = None, evaluate: bool = True) -> Trained:
    """Train a :class:`Translator` with Adam on label-smoothed cross-entropy, seeded by ``config.seed``.

    Without ``split_`` uses :func:`split` (files fetched through ``iglib.data``). ``on_epoch(epoch,
    mean_loss)`` is a progress hook; ``evaluate=False`` skips the held-out BLEU (set to nan).
    """
    split_ = split_ if split_ is not None else split(config)
    device = torch.device(device) if device is not None else settings.device()
    torch.manual_seed(config.seed)
    source_vocab = Vocab.build((s for s, _ in split_.train), min_count=config.min_count, max_size=config.max_vocab)
    target_vocab = Vocab.build((t for _, t in split_.train), min_count=config.min_count, max_size=config.max_vocab)
    x, y = _batches(split_.train, source_vocab, target_vocab)
    x_len, y_len = (x != Vocab.pad).sum(1), (y != Vocab.pad).sum(1)
    model = Translator(len(source_vocab), len(target_vocab), config.d_model, config.n_heads, config.n_layers,
                       config.d_ff, config.dropout).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(0.9, 0.98), eps=1e-9)
    order = torch.Generator().manual_seed(config.seed)
    losses: list[float] = []
    for epoch in progress(range(config.epochs), desc="training", unit="epoch"):
        model.train()
        epoch_losses = []
        for batch in _length_buckets(torch.randperm(len(x), generator=order), x_len, config.batch_size, order):
            if config.max_steps is not None and len(losses) >= config.max_steps:
                break
            src = x[batch, : int(x_len[batch].max())].to(device)
            tgt = y[batch, : int(y_len[batch].max())].to(device)
            logp = model(src, tgt[:, :-1])
            loss = F.nll_loss(logp.reshape(-1, logp.shape[-1]), tgt[:, 1:].reshape(-1), ignore_index=Vocab.pad) \
                if config.label_smoothing == 0 else _smoothed_loss(logp, tgt[:, 1:], config.label_smoothing)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(len(losses) + 1, config)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            epoch_losses.append(loss.item())
        if on_epoch is not None and epoch_losses:
            on_epoch(epoch, sum(epoch_losses) / len(epoch_losses))
    model.eval()
    trained = Trained(model, source_vocab, target_vocab, config, losses, float("nan"), data_files_sha256(config))
    if evaluate:
        trained.bleu = heldout_bleu(trained, split_)
    return trained


def _smoothed_loss(logp: Tensor, target: Tensor, smoothing: float) -> Tensor:
    """(1 - eps) NLL + eps * mean over the vocabulary of -log p, averaged over non-<pad> targets."""
    keep = target != Vocab.pad
    nll = -logp.gather(-1, target[..., None])[..., 0]
    uniform = -logp.mean(-1)
    return ((1 - smoothing) * nll + smoothing * uniform)[keep].mean()


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
    """A[j, i]: IG of output token j's log-probability w.r.t. source token i's embedding, summed over D."""

    source: list[str]
    output: list[str]
    matrix: Tensor  # [len(output), len(source)]
    log_prob: Tensor  # F_j(x) = log p(y_j | y_<j, x), [len(output)]
    baseline_log_prob: Tensor  # F_j(x') with the zero source embedding
    delta: Tensor  # sum_i A[j, i] - (F_j(x) - F_j(x')), [len(output)]

    def relative_error(self) -> Tensor:
        """|delta_j| / |F_j(x) - F_j(x')| per output token (completeness check)."""
        return self.delta.abs() / (self.log_prob - self.baseline_log_prob).abs()

    def complete(self, tolerance: float = 0.05, floor: float = 0.2) -> Tensor:
        """|delta_j| <= tolerance * max(|F_j(x) - F_j(x')|, floor) per output token: the 5% rule, with a
        floor (in nats) for tokens whose log-probability the source barely moves (gap near 0)."""
        gap = (self.log_prob - self.baseline_log_prob).abs()
        return self.delta.abs() <= tolerance * gap.clamp(min=floor)


def attribution_matrix(trained: Trained, source: str | Sequence[str], output: Sequence[str] | None = None,
                       n_steps: int = 50, method: str = "gausslegendre",
                       internal_batch_size: int | None = None) -> AttributionMatrix:
    """The source x output attribution matrix of one sentence pair (the paper's figure 5).

    ``output`` (German tokens) defaults to the model's own greedy translation; every output
    token j is explained under teacher forcing on ``output``: IG of log p(y_j | y_<j, x) from the
    zero source embedding. One IG call: the source is repeated once per output token.
    """
    model = trained.model.eval()
    src_tokens = tokenize(source) if isinstance(source, str) else list(source)
    if output is None:
        output = trained.translate([src_tokens])[0]
    output = list(output)
    if not output or not src_tokens:
        raise ValueError("source and output must each have at least one token")
    n = len(output)
    src = trained.source_ids([src_tokens]).repeat(n, 1)
    out_ids = torch.tensor(trained.target_vocab.encode(output), dtype=torch.long, device=trained.device)
    target_in = torch.cat([torch.tensor([Vocab.bos], device=trained.device), out_ids[:-1]])[None].repeat(n, 1)
    position = torch.arange(n, device=trained.device)
    f = TokenLogProb(model).eval()
    ig, delta = embedding_integrated_gradients(
        f, model.source_embedding, src, target=out_ids.tolist(), additional_forward_args=(target_in, position),
        n_steps=n_steps, method=method, internal_batch_size=internal_batch_size, return_convergence_delta=True)
    with torch.no_grad():
        rows = torch.arange(n, device=trained.device)
        log_prob = f(src, target_in, position)[rows, out_ids]
        handle = model.source_embedding.register_forward_hook(lambda m, i, o: torch.zeros_like(o))
        try:
            base = f(src, target_in, position)[rows, out_ids]
        finally:
            handle.remove()
    return AttributionMatrix(src_tokens, output, ig.sum(-1).detach().cpu(), log_prob.cpu(), base.cpu(),
                             delta.detach().cpu())


def plot_matrix(att: AttributionMatrix, ax=None, title: str | None = None, cmap: str = "RdBu"):
    """The matrix as a heat map like the paper's figure 5: source tokens across, output tokens down,
    colour = A[j, i] / max |A| (blue positive, red negative)."""
    import matplotlib.pyplot as plt

    a = att.matrix.numpy()
    top = max(float(abs(a).max()), 1e-12)
    if ax is None:
        _, ax = plt.subplots(figsize=(0.7 * len(att.source) + 1.8, 0.45 * len(att.output) + 1.4))
    image = ax.imshow(a / top, cmap=cmap, vmin=-1, vmax=1)
    ax.set_xticks(range(len(att.source)), att.source, rotation=45, ha="right")
    ax.set_yticks(range(len(att.output)), att.output)
    ax.set_xlabel("source (English)")
    ax.set_ylabel("output (German)")
    for j in range(a.shape[0]):
        ax.text(a[j].argmax(), j, "*", ha="center", va="center", fontsize=9)
    if title:
        ax.set_title(title, fontsize=10)
    return image


# ------------------------------------------------------------------------------ checkpoints
FAST_CHECKPOINT = Path(__file__).with_name("checkpoints") / "translation_fast.pt"
REBUILD = "python -m iglib.text.translation --mode fast --threads 1 --out iglib/text/checkpoints/translation_fast.pt"


def save(trained: Trained, path: str | Path) -> Path:
    """Write the weights, config, vocabularies, losses, held-out BLEU and data sha256 to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({
        "config": asdict(trained.config),
        "source_vocab": trained.source_vocab.itos,
        "target_vocab": trained.target_vocab.itos,
        "state_dict": {k: v.detach().cpu().clone() for k, v in trained.model.state_dict().items()},
        "bleu": trained.bleu,
        "losses": trained.losses,
        "data_sha256": trained.data_sha256,
    }, path)
    return path


def load(path: str | Path = FAST_CHECKPOINT, device: torch.device | str | None = None) -> Trained:
    """A checkpoint written by :func:`save`, with the model in eval mode on ``device``."""
    saved = load_checkpoint(path, rebuild=REBUILD)
    problems = checkpoint_problems(saved)
    if problems:
        raise ValueError(f"{path} does not match this version of iglib.text.translation: " + "; ".join(problems))
    config = TrainConfig(**saved["config"])
    source_vocab, target_vocab = Vocab(saved["source_vocab"]), Vocab(saved["target_vocab"])
    model = Translator(len(source_vocab), len(target_vocab), config.d_model, config.n_heads, config.n_layers,
                       config.d_ff, config.dropout)
    model.load_state_dict(saved["state_dict"])
    device = torch.device(device) if device is not None else settings.device()
    return Trained(model.to(device).eval(), source_vocab, target_vocab, config, saved["losses"], saved["bleu"],
                   saved["data_sha256"])


def checkpoint_problems(saved: dict) -> list[str]:
    """What differs between a saved checkpoint and the current code and data (empty if nothing)."""
    problems = []
    names = {f.name for f in fields(TrainConfig)}
    if set(saved.get("config", {})) != names:
        problems.append(f"config fields {sorted(saved.get('config', {}))} != TrainConfig's {sorted(names)}")
        return problems
    if saved.get("data_sha256") != data_files_sha256(TrainConfig(**saved["config"])):
        problems.append("it was trained on data files with other sha256 than iglib.data records")
    return problems


def load_or_train(mode: str | None = None, path: str | Path = FAST_CHECKPOINT,
                  on_epoch: Callable[[int, float], None] | None = None) -> tuple[Trained, str]:
    """Fast mode loads the committed checkpoint when it exists; otherwise (or in full mode) trains.

    Returns the model and how it was obtained ("loaded <file>" or "trained").
    """
    mode = mode or settings.mode()
    if mode == "fast" and Path(path).exists():
        return load(path), f"loaded {Path(path).name}"
    return train(TrainConfig.for_mode(mode), on_epoch=on_epoch), "trained"


# -------------------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m iglib.text.translation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=settings.MODES, default=None, help="default: IGLIB_MODE, else by device")
    parser.add_argument("--out", required=True, help="checkpoint file to write")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (1 for a fair timing)")
    parser.add_argument("--epochs", type=int, default=None, help="override the mode's number of epochs")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    config = TrainConfig.for_mode(args.mode or settings.mode())
    if args.epochs is not None:
        config = replace(config, epochs=args.epochs)
    split_ = split(config)
    start = time.perf_counter()
    trained = train(config, split_, on_epoch=lambda e, loss: print(
        f"epoch {e + 1}: loss {loss:.4f} ({time.perf_counter() - start:.0f} s)", flush=True))
    seconds = time.perf_counter() - start
    path = save(trained, args.out)
    record_sha256(path)
    print(f"trained on {len(split_.train)} pairs in {seconds:.1f} s ({torch.get_num_threads()} threads); "
          f"held-out BLEU {trained.bleu:.2f} on {len(split_.heldout_sources)} sentences")
    print(f"vocabularies: {len(trained.source_vocab)} English, {len(trained.target_vocab)} German tokens")
    for sentence in ("good morning ladies and gentlemen", "I love you.", "Tom is my friend."):
        print(f"  {sentence} -> {' '.join(trained.translate([sentence])[0])}")
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
