"""The committed question-classifier checkpoint still matches the training script, its config and its data.

Re-runs the first updates of ``iglib.experiments.text.classifier.train`` with the checkpoint's own config and
seed on the same data and compares the losses, and checks the config fields, the vocabulary and
the sha256 of the data files against what the code builds now.
"""
from dataclasses import asdict, replace
from pathlib import Path

import pytest
import torch

import iglib.experiments.text
from iglib.experiments.text import classifier as clf
from iglib.experiments.text.tokens import Vocab, tokenize

CHECKPOINT = Path(iglib.experiments.text.__file__).parent / "checkpoints" / "questions_fast.pt"
FIRST_STEPS = 5


@pytest.fixture(scope="module")
def saved():
    if not CHECKPOINT.exists():
        pytest.skip(f"no committed checkpoint at {CHECKPOINT}")
    return torch.load(CHECKPOINT, map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def split():
    return clf.split()


def test_checkpoint_is_small_and_matches_config_labels_and_data(saved):
    assert CHECKPOINT.stat().st_size < 20e6
    assert clf.checkpoint_problems(saved) == []                       # config fields, labels, data sha256
    assert saved["config"] == asdict(clf.TrainConfig.for_mode("fast"))  # written by `--mode fast`
    assert saved["data_sha256"] == clf.data_files_sha256()
    assert len(saved["losses"]) >= FIRST_STEPS


def test_vocabulary_is_the_one_the_script_builds(saved, split):
    config = clf.TrainConfig(**{**saved["config"], "widths": tuple(saved["config"]["widths"])})
    train_set, _ = split
    vocab = Vocab.build((tokenize(t)[: config.max_length] for t in train_set.texts),
                        min_count=config.min_count, max_size=config.max_vocab)
    assert vocab.itos == saved["vocab"]


def test_first_training_steps_reproduce_the_saved_losses(saved, split):
    config = clf.TrainConfig(**{**saved["config"], "widths": tuple(saved["config"]["widths"])})
    train_set, heldout = split
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rerun = clf.train(replace(config, max_steps=FIRST_STEPS, epochs=1), train_set, heldout.subset(range(8)),
                          device="cpu")
    finally:
        torch.set_num_threads(previous)
    assert rerun.losses == pytest.approx(saved["losses"][:FIRST_STEPS], abs=1e-5)
    assert rerun.losses[-1] < rerun.losses[0]


def test_loaded_checkpoint_reports_its_held_out_accuracy(saved, split):
    trained = clf.load(CHECKPOINT, device="cpu")
    _, heldout = split
    ids = trained.encode(heldout.texts)
    y = torch.tensor([clf.qs.LABELS.index(label) for label in heldout.labels])
    accuracy, confusion = clf.evaluate(trained.model, ids, y)
    assert accuracy == pytest.approx(saved["accuracy"], abs=1e-6) and confusion.tolist() == saved["confusion"]
    assert accuracy > 0.9
