"""The project's question classifier: which type of answer (NUMERIC, DATETIME, YESNO, STRING)
does a WikiTableQuestions question ask for?

Model (Kim, 2014): token ids -> embeddings e [N, T, D] -> one 1-D convolution per width w
(1, 2, 3 words) with ReLU -> max over positions -> dropout -> linear layer -> 4 logits.
IG attributes a logit to e (``iglib.experiments.text.embedding_integrated_gradients(model,
model.embedding, ids, target=class)``); the <pad> row of the embedding is zero.

Data: trained on ``training.tsv`` and the pristine-seen questions, held out on the
pristine-unseen questions (WikiTableQuestions' own test set: tables never seen in training);
training questions whose text also occurs in the held-out set are dropped. Labels come from
the answers (``iglib.experiments.text.questions``).

Command line (writes a checkpoint with its config, vocabulary, held-out metrics and the sha256
of the data files it read):

    python -m iglib.experiments.text.classifier --mode fast --out PATH [--threads 1]

``fast`` trains on a 2-core CPU in well under two minutes; ``full`` is the larger model for a
GPU, same code.
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ... import data, settings
from ...progress import progress
from . import questions as qs
from .checkpoint import load_checkpoint, record_sha256, save_checkpoint
from .tokens import Vocab, tokenize


# ------------------------------------------------------------------------------------ model
class QuestionCNN(nn.Module):
    """logits = W [max_t ReLU(conv_w(e))_t for w in widths] + b, with e = embedding(ids)."""

    def __init__(self, vocab_size: int, embedding_dim: int = 64, n_filters: int = 64,
                 widths: tuple[int, ...] = (1, 2, 3), n_classes: int = len(qs.LABELS), dropout: float = 0.5):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=Vocab.pad)
        self.convs = nn.ModuleList(nn.Conv1d(embedding_dim, n_filters, w) for w in widths)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(n_filters * len(widths), n_classes)
        self.min_length = max(widths)

    def forward(self, ids: Tensor) -> Tensor:
        e = self.embedding(ids).transpose(1, 2)  # [N, D, T]
        if e.shape[-1] < self.min_length:  # pad with zero embeddings (<pad>) up to the widest filter
            e = F.pad(e, (0, self.min_length - e.shape[-1]))
        h = torch.cat([torch.relu(conv(e)).amax(-1) for conv in self.convs], dim=1)
        return self.out(self.dropout(h))


# ----------------------------------------------------------------------------------- config
@dataclass(frozen=True)
class TrainConfig:
    """Every knob of a training run; ``fast`` and ``full`` differ only in these numbers."""

    embedding_dim: int = 64
    n_filters: int = 64
    widths: tuple[int, ...] = (1, 2, 3)
    dropout: float = 0.5
    epochs: int = 4
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.0
    min_count: int = 2  # a word must occur this often in the training questions to get an id
    max_vocab: int = 8000
    max_length: int = 40  # tokens kept per question
    seed: int = 0
    max_steps: int | None = None  # stop after this many updates (tests)

    @classmethod
    def for_mode(cls, mode: str) -> TrainConfig:
        """``fast``: CPU, well under 2 minutes; ``full``: the larger model for a GPU."""
        if mode == "fast":
            return cls()
        if mode == "full":
            return cls(embedding_dim=300, n_filters=100, epochs=5, min_count=1, max_vocab=20000)
        raise ValueError(f"mode must be 'fast' or 'full', got {mode!r}")


@dataclass
class Trained:
    """A trained classifier with what produced it and how it does on the held-out questions."""

    model: QuestionCNN
    vocab: Vocab
    config: TrainConfig
    losses: list[float]  # the training loss of every update
    accuracy: float  # held-out
    confusion: Tensor  # [4, 4] held-out counts, rows = true label, columns = predicted (order qs.LABELS)
    data_sha256: dict[str, str]

    def encode(self, texts: list[str]) -> Tensor:
        """Questions -> LongTensor [N, T] of ids (right-padded), as the model takes them."""
        return encode(self.vocab, texts, self.config.max_length)

    def predict(self, texts: list[str]) -> list[str]:
        self.model.eval()
        with torch.no_grad():
            ids = self.encode(texts).to(next(self.model.parameters()).device)
            return [qs.LABELS[i] for i in self.model(ids).argmax(1).tolist()]


def encode(vocab: Vocab, texts: list[str], max_length: int) -> Tensor:
    """Tokenize and encode questions into a padded LongTensor [N, T], T <= ``max_length``."""
    tokens = [tokenize(t)[:max_length] for t in texts]
    return vocab.batch(tokens)


# --------------------------------------------------------------------------------- training
def split(heldout_split: str = "unseen", train_splits: tuple[str, ...] = ("training", "seen")) -> tuple[qs.Questions, qs.Questions]:
    """(train, held-out) questions; a training question whose tokens equal a held-out one is dropped."""
    heldout = qs.load(heldout_split)
    train_set = qs.Questions()
    for name in train_splits:
        train_set = train_set + qs.load(name)
    held_texts = {tuple(tokenize(t)) for t in heldout.texts}
    return train_set.subset([tuple(tokenize(t)) not in held_texts for t in train_set.texts]), heldout


def _targets(labels: list[str]) -> Tensor:
    return torch.tensor([qs.LABELS.index(label) for label in labels], dtype=torch.long)


def evaluate(model: nn.Module, ids: Tensor, y: Tensor, batch_size: int = 512) -> tuple[float, Tensor]:
    """(accuracy, confusion [C, C] with rows = true class, columns = predicted)."""
    model.eval()
    n_classes = len(qs.LABELS)
    confusion = torch.zeros(n_classes, n_classes, dtype=torch.long)
    with torch.no_grad():
        for start in range(0, len(ids), batch_size):
            pred = model(ids[start : start + batch_size]).argmax(1).cpu()
            confusion += torch.bincount(y[start : start + batch_size] * n_classes + pred,
                                        minlength=n_classes ** 2).reshape(n_classes, n_classes)
    return (confusion.diag().sum() / confusion.sum()).item(), confusion


def train(config: TrainConfig, train_set: qs.Questions | None = None, heldout: qs.Questions | None = None,
          device: torch.device | str | None = None, on_epoch: Callable[[int, float], None] | None = None) -> Trained:
    """Train a :class:`QuestionCNN` with Adam on cross-entropy, seeded by ``config.seed``.

    Without data, uses :func:`split` (the corpus files are fetched through ``iglib.data``).
    ``on_epoch(epoch, mean_loss)`` is called after each epoch (a progress hook).
    """
    if (train_set is None) != (heldout is None):
        raise ValueError("pass both train_set and heldout, or neither (then the WikiTableQuestions split is used)")
    if train_set is None:
        train_set, heldout = split()
    device = torch.device(device) if device is not None else settings.device()
    torch.manual_seed(config.seed)
    vocab = Vocab.build((tokenize(t)[: config.max_length] for t in train_set.texts),
                        min_count=config.min_count, max_size=config.max_vocab)
    x, y = encode(vocab, train_set.texts, config.max_length), _targets(train_set.labels)
    x_held, y_held = encode(vocab, heldout.texts, config.max_length), _targets(heldout.labels)
    lengths = (x != Vocab.pad).sum(1)
    model = QuestionCNN(len(vocab), config.embedding_dim, config.n_filters, config.widths,
                        len(qs.LABELS), config.dropout).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    order = torch.Generator().manual_seed(config.seed)
    losses: list[float] = []
    for epoch in progress(range(config.epochs), desc="training", unit="epoch"):
        model.train()
        epoch_losses = []
        for batch in torch.randperm(len(x), generator=order).split(config.batch_size):
            if config.max_steps is not None and len(losses) >= config.max_steps:
                break
            t = max(int(lengths[batch].max()), 1)  # trim the batch's common padding
            loss = F.cross_entropy(model(x[batch, :t].to(device)), y[batch].to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            epoch_losses.append(loss.item())
        if on_epoch is not None and epoch_losses:
            on_epoch(epoch, sum(epoch_losses) / len(epoch_losses))
    model.eval()
    accuracy, confusion = evaluate(model, x_held.to(device), y_held)
    return Trained(model, vocab, config, losses, accuracy, confusion, data_files_sha256())


def data_files_sha256() -> dict[str, str]:
    """The sha256 of each WikiTableQuestions file the split reads (as recorded in ``iglib.data``)."""
    return {name: data.sources()[name]["sha256"] for name in qs.FILES}


# ------------------------------------------------------------------------------ checkpoints
REBUILD = "python -m iglib.experiments.text.classifier --mode fast --threads 1 --out iglib/experiments/text/checkpoints/questions_fast.pt"


def save(trained: Trained, path: str | Path) -> Path:
    """Write the weights, config, vocabulary, held-out metrics and data sha256 to ``path``, with the
    content's own sha256 (:func:`iglib.experiments.text.checkpoint.save_checkpoint`)."""
    return save_checkpoint({
        "config": asdict(trained.config),
        "vocab": trained.vocab.itos,
        "labels": list(qs.LABELS),
        "state_dict": {k: v.detach().cpu() for k, v in trained.model.state_dict().items()},
        "accuracy": trained.accuracy,
        "confusion": trained.confusion.tolist(),
        "losses": trained.losses,
        "data_sha256": trained.data_sha256,
    }, path)


def load(path: str | Path, device: torch.device | str | None = None) -> Trained:
    """A checkpoint written by :func:`save`, with the model in eval mode on ``device``."""
    saved = load_checkpoint(path, rebuild=REBUILD)
    problems = checkpoint_problems(saved)
    if problems:
        raise ValueError(f"{path} does not match this version of iglib.experiments.text.classifier: " + "; ".join(problems))
    config = TrainConfig(**{**saved["config"], "widths": tuple(saved["config"]["widths"])})
    vocab = Vocab(saved["vocab"])
    model = QuestionCNN(len(vocab), config.embedding_dim, config.n_filters, config.widths, len(qs.LABELS), config.dropout)
    model.load_state_dict(saved["state_dict"])
    device = torch.device(device) if device is not None else settings.device()
    return Trained(model.to(device).eval(), vocab, config, saved["losses"], saved["accuracy"],
                   torch.tensor(saved["confusion"]), saved["data_sha256"])


def checkpoint_problems(saved: dict) -> list[str]:
    """What differs between a saved checkpoint and the current code and data (empty if nothing)."""
    problems = []
    names = {f.name for f in fields(TrainConfig)}
    if set(saved.get("config", {})) != names:
        problems.append(f"config fields {sorted(saved.get('config', {}))} != TrainConfig's {sorted(names)}")
    if saved.get("labels") != list(qs.LABELS):
        problems.append(f"labels {saved.get('labels')} != {list(qs.LABELS)}")
    if saved.get("data_sha256") != data_files_sha256():
        problems.append("it was trained on data files with other sha256 than iglib.data records")
    return problems


# -------------------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m iglib.experiments.text.classifier", description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=settings.MODES, default=None, help="default: IGLIB_MODE, else by device")
    parser.add_argument("--out", required=True, help="checkpoint file to write")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (1 for a fair timing)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    config = TrainConfig.for_mode(args.mode or settings.mode())
    train_set, heldout = split()
    start = time.perf_counter()
    trained = train(config, train_set, heldout, on_epoch=lambda e, loss: print(f"epoch {e + 1}: loss {loss:.4f}", flush=True))
    seconds = time.perf_counter() - start
    path = save(trained, args.out)
    record_sha256(path)
    print(f"trained on {len(train_set)} questions in {seconds:.1f} s ({torch.get_num_threads()} threads); "
          f"held-out accuracy {trained.accuracy:.3f} on {len(heldout)} questions")
    print("confusion (rows true, columns predicted):", " ".join(qs.LABELS))
    for label, row in zip(qs.LABELS, trained.confusion.tolist()):
        print(f"  {label:9s}", row)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
