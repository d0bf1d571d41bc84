"""The two sources of items and how each attributes a chunk of them: :class:`Images` (a folder,
the ImageNet classifier) and :class:`Questions` (a split, the question classifier).

Per item it stores the attribution A (an image: [3, 224, 224] in the classifier's input space; a
question: one score per token, the sum of embedding IG over the embedding dimensions), the
explained class c, F_c(x) - F_c(x') and the completeness error

    delta = sum_i A_i - (F_c(x) - F_c(x')),

which IG drives to zero as the steps grow (for other methods it measures how far they are from
completeness).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import Tensor

from ... import data, methods
from ...experiments import imagenet
from ...integrated_gradients import integrated_gradients
from .config import BASELINES, QUESTION_SPLITS, SAMPLING, default_checkpoint, list_images
from .results import Results


class Images:
    """The ImageNet classifier over a folder of images: ``compute(names)`` attributes each image alone.
    F is the class's logit, or with ``config["output"] == "probability"`` its softmax probability."""

    group = None  # any image with any other

    def __init__(self, config: dict, device: torch.device, internal_batch_size: int | str | None = None):
        self.config, self.device, self.internal_batch_size = config, device, internal_batch_size
        self.root = Path(config["source"])
        # channels-last weights: about 1.3x faster on a CPU in float32, the same function (last digits move)
        classifier = imagenet.load_classifier(device, channels_last=torch.device(device).type == "cpu")
        self.model = (classifier if config.get("output", "logit") == "logit"
                      else lambda x: classifier(x).softmax(dim=-1))

    def items(self) -> list[str]:
        return list_images(self.root)

    def compute(self, names: Sequence[str]) -> Results:
        c, out = self.config, Results()
        for name in names:
            try:
                x = imagenet.preprocess(self.root / name).to(self.device)
            except (OSError, ValueError) as error:
                raise ValueError(f"{self.root / name} is not a readable image: {error}") from error
            x_base = BASELINES[c["baseline"]](x)
            with torch.no_grad():
                scores = self.model(torch.cat([x, x_base]))
            target = int(scores[0].argmax()) if c["target"] == "top1" else int(c["target"])
            a = attribute_image(self.model, x, x_base, target, c, self.internal_batch_size)
            out.attributions[name] = a[0].detach().cpu()
            out.targets[name] = target
            out.change[name] = float(scores[0, target] - scores[1, target])
            out.completeness[name] = float(a.double().sum()) - out.change[name]
        return out


def attribute_image(model: Callable[[Tensor], Tensor], x: Tensor, x_base: Tensor, target: int, config: dict,
                    internal_batch_size: int | str | None = None) -> Tensor:
    """``config["attribution_method"]``'s attribution of class ``target`` at image ``x`` [1, 3, H, W] against
    ``x_base`` (IG with the quadrature rule ``config["method"]``)."""
    attribution_method, steps = config["attribution_method"], config["steps"]
    if attribution_method == "ig":
        return integrated_gradients(model, x, x_base, target=target, n_steps=steps, method=config["method"],
                                    internal_batch_size=internal_batch_size)
    options = {"n_samples": steps, "seed": 0} if attribution_method in SAMPLING else {}
    return getattr(methods, attribution_method)(model, x, x_base, target=target, **options)


class Questions:
    """The question classifier over a split: ``compute(names)`` attributes a chunk (one length) at once,
    as :func:`iglib.experiments.text.triggers.token_scores` does, so both give the same scores."""

    def __init__(self, config: dict, device: torch.device, checkpoint: str | Path | None = None):
        from ...experiments.text import classifier as clf, questions as qs
        from ...experiments.text.tokens import tokenize

        self.config, self.device = config, device
        checkpoint = Path(checkpoint or default_checkpoint())
        if data.sha256(checkpoint) != config["model"]:
            raise ValueError(f"checkpoint {str(checkpoint)!r} is not the configuration's model (sha256 {config['model']})")
        self.trained = clf.load(checkpoint, device)
        split = qs.load(QUESTION_SPLITS[config["source"]])
        vocab, max_length = self.trained.vocab, self.trained.config.max_length
        self.ids = {q: vocab.encode(tokenize(text)[:max_length]) for q, text in zip(split.ids, split.texts)}
        self.order = list(split.ids)
        empty = [q for q in self.order if not self.ids[q]]
        if empty:
            raise ValueError(f"questions without a single token cannot be attributed: {empty[:5]}")

    def items(self) -> list[str]:
        return self.order

    def group(self, name: str) -> int:
        """A question's length: a chunk holds questions of one length, so none is padded."""
        return len(self.ids[name])

    def compute(self, names: Sequence[str]) -> Results:
        from ...experiments.text import embedding_integrated_gradients, token_attributions

        model, vocab = self.trained.model, self.trained.vocab
        if len({len(self.ids[n]) for n in names}) != 1:
            raise ValueError("a chunk of questions must hold questions of one length (unpadded)")
        x = torch.tensor([self.ids[n] for n in names], dtype=torch.long, device=self.device)
        with torch.no_grad():
            if self.config["target"] == "predicted":
                t = model(x).argmax(1)
            else:
                t = torch.full((len(names),), int(self.config["target"]), dtype=torch.long, device=self.device)
        a, delta = embedding_integrated_gradients(model, model.embedding, x, target=t, n_steps=self.config["steps"],
                                                  method=self.config["method"], return_convergence_delta=True)
        scores = token_attributions(a).detach().double().cpu()
        out = Results()
        for row, name in enumerate(names):
            out.attributions[name] = scores[row]
            out.targets[name] = int(t[row])
            out.completeness[name] = float(delta[row])
            out.change[name] = float(scores[row].sum()) - out.completeness[name]  # G(e) - G(0)
            out.tokens[name] = [vocab.itos[i] for i in self.ids[name]]
        return out
