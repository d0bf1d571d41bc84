"""Training the English-to-German translator of :mod:`iglib.experiments.text.translation`: its data and
split, word pieces, schedule, held-out BLEU/chrF, and the command line that writes a checkpoint.

Data (names as in ``iglib.data``): the Tatoeba English-German release of 2018, the first 20,000
pairs of Europarl v7, WMT newstest 2008-2017 and the Multi30k training set (``fast`` trains on Tatoeba and
Europarl, the latter twice per epoch; ``full`` on all four). Held out: a Tatoeba
split disjoint by English sentence (every German translation of a held-out English sentence is a
reference), WMT newstest2019 (en-de) and the FLORES-101 devtest. No pair whose English contains
one of :data:`NEVER_TRAINED` (the paper's sentence and notebook 10's two unseen examples) is
trained on. The word pieces are learned here (:func:`learn_pieces`).

Training: Adam on label-smoothed cross-entropy, (1 - eps) NLL + eps * mean_v(-log p_v), with the
learning rate of :func:`learning_rate`; held-out scores are sacreBLEU's BLEU and chrF (:func:`corpus_scores`).

Command line (writes a checkpoint with config, piece models, losses, held-out BLEU/chrF and the
sha256 of every data file read; ``--minutes`` stops on time, and the checkpoint's config then
records the step count reached, which rebuilds it step for step):

    python -m iglib.experiments.text.translation_training --mode fast --out PATH [--threads 2] [--minutes 60]
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
from torch import Tensor, nn

from ... import data, settings
from ...progress import progress
from .checkpoint import record_sha256, save_checkpoint
from .subwords import Subwords, normalize
from .tokens import Vocab, tokenize
from .translation import (CORPORA, FAST_CHECKPOINT, NEVER_TRAINED, TATOEBA, Trained, TrainConfig, Translator,
                          data_files_sha256, load, stored_pieces)

TEST_SETS = {"newstest2019": ("wmt-newstest-ende/newstest2019.eng", "wmt-newstest-ende/newstest2019.deu"),
             "flores": ("flores101-devtest/eng.devtest", "flores101-devtest/deu.devtest")}

# The English sentences of the hand-aligned pairs in tests/alignments_de_en.json: always held out.
ALIGNED = ("i bought a hat .", "we left together .", "i want to visit you .", "i'll miss you all .",
           "i hate silent movies .", "this is ridiculous .", "tom looked hesitant .", "i have no friends .",
           "isn't that dangerous ?", "did i really say that ?", "is tom with you ?", "i hope so , too .",
           "do you see that ?", "i like cats .", "i don't like cats .", "supper is cold .",
           "who stole the apples ?", "she gets up early .", "i can't save you .", "tom caught many fish .")


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


# ------------------------------------------------------------------------------ checkpoints
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
    parser = argparse.ArgumentParser(prog="python -m iglib.experiments.text.translation_training",
                                     description=__doc__.split("\n\n")[0])
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
