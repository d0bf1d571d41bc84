"""The question classifier: the model's shape, training lowers the loss, seeding, checkpoints, CLI."""
from dataclasses import replace

import pytest
import torch

from iglib.experiments.text import classifier as clf, embedding_integrated_gradients, questions as qs
from iglib.experiments.text.checkpoint import save_checkpoint
from iglib.experiments.text.tokens import Vocab

TINY = clf.TrainConfig(embedding_dim=16, n_filters=16, epochs=1, batch_size=32, lr=5e-3, max_steps=40, seed=3)


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def _questions(texts, labels):
    n = len(texts)
    return qs.Questions([str(i) for i in range(n)], list(texts), [""] * n, list(labels), ["other"] * n, ["toy"] * n)


# A toy corpus with the paper's triggers: the label is decided by the first words.
TEMPLATES = {"NUMERIC": "how many {} were there ?", "DATETIME": "what year did the {} start ?",
             "YESNO": "did the {} win ?", "STRING": "who was the {} ?"}
NOUNS = ["team", "club", "player", "coach", "band", "album", "city", "film", "race", "ship", "school", "party"]
TOY = _questions([TEMPLATES[label].format(noun) for noun in NOUNS for label in qs.LABELS],
                 [label for _ in NOUNS for label in qs.LABELS])


@pytest.fixture(scope="module")
def real_split():
    train_set, heldout = clf.split()
    return train_set.subset(range(0, len(train_set), 8)), heldout.subset(range(0, len(heldout), 8))


def test_model_maps_ids_to_four_logits_even_for_one_token():
    model = clf.QuestionCNN(vocab_size=20, embedding_dim=8, n_filters=5, widths=(1, 2, 3)).eval()
    assert model(torch.tensor([[4]])).shape == (1, 4)
    assert model(torch.randint(1, 20, (3, 9))).shape == (3, 4)
    assert torch.all(model.embedding.weight[Vocab.pad] == 0)


def test_split_holds_out_the_unseen_tables_without_overlap(real_split):
    train_set, heldout = real_split
    assert set(heldout.sources) == {"unseen"} and set(train_set.sources) == {"training", "seen"}
    assert not set(train_set.texts) & set(heldout.texts)


def test_a_few_steps_lower_the_loss_on_real_questions(real_split):
    trained = clf.train(TINY, *real_split, device="cpu")
    assert len(trained.losses) == TINY.max_steps
    first, last = trained.losses[:5], trained.losses[-5:]
    assert sum(last) / 5 < 0.8 * sum(first) / 5
    assert trained.confusion.sum() == len(real_split[1])
    assert 0.0 <= trained.accuracy <= 1.0
    assert torch.all(trained.model.embedding.weight[Vocab.pad] == 0)  # the zero-embedding baseline is <pad>
    assert not trained.model.training


def test_training_is_deterministic_given_the_seed():
    config = replace(TINY, min_count=1, max_steps=None, epochs=3)
    a = clf.train(config, TOY, TOY, device="cpu")
    b = clf.train(config, TOY, TOY, device="cpu")
    assert a.losses == b.losses
    for (name, p), q in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(p, q), name
    c = clf.train(replace(config, seed=4), TOY, TOY, device="cpu")
    assert c.losses != a.losses


def test_trained_model_learns_the_toy_triggers_and_ig_points_at_them():
    trained = clf.train(replace(TINY, min_count=1, max_steps=None, epochs=30, dropout=0.0), TOY, TOY, device="cpu")
    assert trained.accuracy == 1.0
    assert trained.predict(["how many ships were there ?"]) == ["NUMERIC"]
    ids = trained.encode(["did the team win ?"])
    attributions, delta = embedding_integrated_gradients(
        trained.model, trained.model.embedding, ids, target=qs.LABELS.index("YESNO"), n_steps=64,
        return_convergence_delta=True)
    scores = attributions.sum(-1)[0]
    assert trained.vocab.itos[ids[0, scores.argmax()]] in {"did", "win"}
    change = scores.sum() - delta  # F(x) - F(zero embedding)
    assert abs(delta.item()) < 0.05 * abs(change.item())  # the paper's completeness check


def test_checkpoint_round_trip_and_mismatch_report(tmp_path):
    trained = clf.train(replace(TINY, min_count=1, max_steps=10), TOY, TOY, device="cpu")
    path = clf.save(trained, tmp_path / "question_cnn.pt")
    assert path.stat().st_size < 20e6
    loaded = clf.load(path, device="cpu")
    assert loaded.config == trained.config and loaded.vocab.itos == trained.vocab.itos
    ids = trained.encode(TOY.texts)
    torch.testing.assert_close(loaded.model(ids), trained.model.eval()(ids), atol=0, rtol=0)
    saved = torch.load(path, weights_only=True)
    assert clf.checkpoint_problems(saved) == []
    assert saved["data_sha256"] == {name: clf.data.sources()[name]["sha256"] for name in qs.FILES}
    saved["config"]["new_knob"] = 1
    saved["data_sha256"] = {}
    problems = clf.checkpoint_problems(saved)
    assert any("config fields" in p for p in problems) and any("sha256" in p for p in problems)
    save_checkpoint(saved, tmp_path / "stale.pt")  # intact (its own content hash), written by an older version
    with pytest.raises(ValueError, match="does not match this version"):
        clf.load(tmp_path / "stale.pt")


def test_configs_for_both_modes():
    assert clf.TrainConfig.for_mode("fast") == clf.TrainConfig()
    full = clf.TrainConfig.for_mode("full")
    assert full.embedding_dim > clf.TrainConfig().embedding_dim and full.widths == (1, 2, 3)
    with pytest.raises(ValueError, match="mode must be"):
        clf.TrainConfig.for_mode("medium")


def test_command_line_writes_a_checkpoint(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(clf, "split", lambda: (TOY, TOY))
    monkeypatch.setattr(clf.TrainConfig, "for_mode", classmethod(lambda cls, mode: replace(TINY, min_count=1, max_steps=5)))
    clf.main(["--mode", "fast", "--out", str(tmp_path / "ckpt.pt"), "--threads", str(torch.get_num_threads())])
    out = capsys.readouterr().out
    assert "held-out accuracy" in out and "wrote" in out
    assert clf.load(tmp_path / "ckpt.pt", device="cpu").config.max_steps == 5
