"""Remove and retrain (ROAR; Hooker, Erhan, Kindermans and Kim, NeurIPS 2019).

A deletion curve (:mod:`iglib.checks.evaluation`) removes a method's top features and asks the *same*
network again. The images it then sees are unlike any it was trained on, so its score may fall
because the input left the training distribution, not because the removed features carried the
evidence. ROAR removes each image's top-k% features, from the training and the test images alike,
trains a fresh network on what is left and measures its test accuracy:

    ROAR(k) = accuracy on the test images with their top-k% features set to ``fill``, of a network
              trained on the training images with theirs set to ``fill`` too.

A ranking that finds the features that carry the class makes the accuracy fall fast as k grows; a
random ranking is the control. Without retraining, the same masked test images scored by the
original network give the deletion curve's answer (:attr:`Roar.not_retrained`).

:func:`digits` and :func:`train_classifier` are the small case notebook 12 runs it on: scikit-learn's
8 x 8 digits and a one-hidden-layer network, in float64 so that the retraining does not depend on
the CPU's vector unit.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ..arguments import is_int

Classifier = Callable[[Tensor], Tensor]
Trainer = Callable[[Tensor, Tensor, int], Classifier]


def remove_top(inputs: Tensor, attributions: Tensor, fraction: float, fill: float | Tensor, seed: int = 0) -> Tensor:
    """``inputs`` with each example's top k = round(fraction P) of its P features set to ``fill``.

    Features are ranked by attribution, most positive first (pixels of [N, C, H, W] images by the sum
    over channels, as in :func:`iglib.checks.evaluation.feature_ranking`); features with equal attribution
    (IG_i = 0 wherever x_i = x'_i) are ordered at random with ``seed``, not by position.
    """
    if not isinstance(inputs, Tensor) or not isinstance(attributions, Tensor):
        raise TypeError("inputs and attributions must be torch.Tensors, got "
                        f"{type(inputs).__name__} and {type(attributions).__name__}")
    if attributions.shape != inputs.shape:
        raise ValueError(f"attributions must be shaped like inputs {tuple(inputs.shape)}, got {tuple(attributions.shape)}")
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be a number from 0 to 1, got {fraction!r}")
    if not is_int(seed):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    per_feature = (attributions.sum(dim=1) if inputs.dim() == 4 else attributions).reshape(len(inputs), -1)
    n, n_features = per_feature.shape
    generator = torch.Generator().manual_seed(seed)
    shuffle = torch.rand(n, n_features, generator=generator).argsort(dim=1).to(inputs.device)
    # a stable sort of the shuffled features: equal attributions keep their random order
    order = shuffle.gather(1, per_feature.gather(1, shuffle).argsort(dim=1, descending=True, stable=True))
    k = round(fraction * n_features)
    chosen = torch.zeros(n, n_features, dtype=torch.bool, device=inputs.device)
    chosen.scatter_(1, order[:, :k], True)
    shape = (n, 1) + inputs.shape[2:] if inputs.dim() == 4 else inputs.shape
    return torch.where(chosen.reshape(shape), torch.as_tensor(fill, dtype=inputs.dtype, device=inputs.device), inputs)


def accuracy(model: Classifier, inputs: Tensor, labels: Tensor) -> float:
    """The share of ``inputs`` whose largest output is their label."""
    with torch.no_grad():
        return (model(inputs).argmax(dim=1) == labels).double().mean().item()


@dataclass
class Roar:
    """``retrained[method]`` [K, S]: test accuracy of a network retrained with the top ``fractions[k]``
    removed, one column per seed; ``not_retrained[method]`` [K]: the original network's accuracy on the
    same masked test images (the deletion curve's answer)."""

    fractions: list[float]
    seeds: list[int]
    retrained: dict[str, np.ndarray]
    not_retrained: dict[str, np.ndarray]

    def area(self, method: str, retrained: bool = True) -> float:
        """Area under the accuracy curve over the fractions (trapezoid rule; seeds averaged): smaller
        means the ranking removed the class evidence sooner."""
        values = self.retrained[method].mean(axis=1) if retrained else self.not_retrained[method]
        f = np.asarray(self.fractions, dtype=np.float64)
        return float(((values[1:] + values[:-1]) / 2 * np.diff(f)).sum())


def remove_and_retrain(
    train: Trainer, model: Classifier, train_set: tuple[Tensor, Tensor], test_set: tuple[Tensor, Tensor],
    attributions: Mapping[str, tuple[Tensor, Tensor]], fractions: Sequence[float], seeds: Sequence[int],
    fill: float | Tensor = 0.0,
) -> Roar:
    """ROAR for each method's (training, test) attributions: for every fraction f and seed s, remove
    the top f of each image's features (:func:`remove_top`), ``train(x, y, s)`` a fresh network and
    measure its test accuracy. ``model`` is the original network (its accuracy on the masked test
    images is recorded too). Fraction 0 is trained once per seed and shared by every method.
    """
    if not callable(train) or not callable(model):
        raise TypeError("train and model must be callable: train(x, y, seed) -> network, model(x) -> logits")
    (x_train, y_train), (x_test, y_test) = train_set, test_set
    fractions = [float(f) for f in fractions]
    if not fractions or any(not 0 <= f <= 1 for f in fractions) or any(b <= a for a, b in zip(fractions, fractions[1:])):
        raise ValueError(f"fractions must rise strictly within 0 to 1, got {fractions}")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    for method, pair in attributions.items():
        if not (isinstance(pair, tuple) and len(pair) == 2 and pair[0].shape == x_train.shape and pair[1].shape == x_test.shape):
            raise ValueError(f"attributions[{method!r}] must be a pair (training, test) shaped like the two sets")
    clean: dict[int, float] = {}
    retrained, not_retrained = {}, {}
    for method, (a_train, a_test) in attributions.items():
        table = np.zeros((len(fractions), len(seeds)))
        original = np.zeros(len(fractions))
        for i, f in enumerate(fractions):
            removed_test = remove_top(x_test, a_test, f, fill)
            original[i] = accuracy(model, removed_test, y_test)
            removed_train = remove_top(x_train, a_train, f, fill) if f > 0 else x_train
            for j, s in enumerate(seeds):
                if f == 0 and s in clean:
                    table[i, j] = clean[s]
                    continue
                table[i, j] = accuracy(train(removed_train, y_train, s), removed_test, y_test)
                if f == 0:
                    clean[s] = table[i, j]
        retrained[method], not_retrained[method] = table, original
    return Roar(fractions, seeds, retrained, not_retrained)


# ---------------------------------------------------------------- the small case: 8 x 8 digits
def digits(test_fraction: float = 0.3, seed: int = 0) -> tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor]]:
    """scikit-learn's 8 x 8 digits (1797 images, shipped with scikit-learn) as ((x, y) train, (x, y) test):
    x [N, 64] float64, pixels scaled from 0..16 to 0..1; y [N] the digit; a split stratified by digit."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x_tr, x_te, y_tr, y_te = train_test_split(data.data / 16.0, data.target, test_size=test_fraction,
                                              stratify=data.target, random_state=seed)
    as_x = lambda v: torch.tensor(v, dtype=torch.float64, device="cpu")  # noqa: E731
    as_y = lambda v: torch.tensor(v, dtype=torch.long, device="cpu")  # noqa: E731
    return (as_x(x_tr), as_y(y_tr)), (as_x(x_te), as_y(y_te))


def train_classifier(inputs: Tensor, labels: Tensor, seed: int = 0, hidden: int = 32, steps: int = 150,
                     lr: float = 0.02) -> nn.Module:
    """A network 64 -> ``hidden`` (ReLU) -> 10 trained on all of ``inputs`` at once: ``steps`` steps of
    Adam on the cross-entropy, initialised with ``seed``; float64, in eval mode."""
    if not isinstance(inputs, Tensor) or inputs.dim() != 2:
        raise ValueError(f"inputs must be a 2-D tensor [N, features], got {getattr(inputs, 'shape', type(inputs).__name__)}")
    generator = torch.Generator().manual_seed(seed)
    n_classes = int(labels.max()) + 1
    net = nn.Sequential(nn.Linear(inputs.shape[1], hidden), nn.ReLU(), nn.Linear(hidden, n_classes)).double()
    with torch.no_grad():  # PyTorch's default initialisation, drawn from our generator
        for layer in (net[0], net[2]):
            bound = layer.in_features ** -0.5
            layer.weight.uniform_(-bound, bound, generator=generator)
            layer.bias.uniform_(-bound, bound, generator=generator)
    optimiser = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(steps):
        optimiser.zero_grad()
        nn.functional.cross_entropy(net(inputs), labels).backward()
        optimiser.step()
    return net.eval()
