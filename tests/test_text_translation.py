"""The translator: shapes and masks, training lowers the loss, greedy decoding, the attribution
matrix (completeness per output token, rows equal separate IG calls), the config and the CLI."""
from dataclasses import replace

import pytest
import torch

from iglib.text import embedding_integrated_gradients
from iglib.text import translation as tr
from iglib.text.tokens import Vocab

TINY = tr.TrainConfig(d_model=32, n_heads=2, n_layers=1, d_ff=64, dropout=0.0, epochs=30, batch_size=16,
                      lr=3e-3, warmup=30, min_count=1, heldout=2, toy_corpus=False, seed=1, max_steps=300)
WORDS = {"one": "eins", "two": "zwei", "three": "drei", "four": "vier", "red": "rot", "blue": "blau"}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _toy_split() -> tr.Split:
    """Word-for-word 'translations' of 2- and 3-word sentences (a task a tiny model learns in seconds)."""
    g = torch.Generator().manual_seed(0)
    en = list(WORDS)
    pairs = []
    for _ in range(240):
        n = 2 + int(torch.randint(3, (1,), generator=g))
        s = [en[int(i)] for i in torch.randint(len(en), (n,), generator=g)]
        pairs.append((s, [WORDS[w] for w in s]))
    return tr.Split(pairs, [["one", "red", "two", "blue"], ["blue", "two", "four"]],
                    [[["eins", "rot", "zwei", "blau"]], [["blau", "zwei", "vier"]]], ["one red two blue", "blue two four"])


@pytest.fixture(scope="module")
def trained():
    return tr.train(TINY, _toy_split(), device="cpu")


def test_training_lowers_the_loss_and_learns_the_toy_task(trained):
    first, last = sum(trained.losses[:10]) / 10, sum(trained.losses[-10:]) / 10
    assert len(trained.losses) == TINY.max_steps
    assert last < 0.5 * first
    assert trained.translate(["one red two blue", "blue two four"]) == [["eins", "rot", "zwei", "blau"], ["blau", "zwei", "vier"]]
    assert trained.bleu == pytest.approx(100.0)


def test_training_is_seeded():
    again = tr.train(replace(TINY, max_steps=5), _toy_split(), device="cpu", evaluate=False)
    once = tr.train(replace(TINY, max_steps=5), _toy_split(), device="cpu", evaluate=False)
    assert again.losses == once.losses


def test_model_shapes_and_separate_embeddings(trained):
    model = trained.model
    assert model.source_embedding is not model.target_embedding
    src = trained.source_ids(["one red", "two"])
    assert src.tolist()[1][1] == Vocab.pad
    tgt_in = torch.tensor([[Vocab.bos, 5, 6], [Vocab.bos, 7, Vocab.pad]])
    logp = model(src, tgt_in)
    assert logp.shape == (2, 3, len(trained.target_vocab))
    assert torch.allclose(logp.exp().sum(-1), torch.ones(2, 3), atol=1e-5)
    # padding the source does not change the first sentence's output (the <pad> positions are masked)
    alone = model(trained.source_ids(["two"]), tgt_in[1:])
    assert torch.allclose(alone, logp[1:], atol=1e-5)
    # the decoder is causal: a later target token does not change an earlier position
    changed = tgt_in.clone()
    changed[0, 2] = 9
    assert torch.allclose(model(src, changed)[0, :2], logp[0, :2], atol=1e-6)


def test_attribution_matrix_is_complete_per_output_token(trained):
    att = tr.attribution_matrix(trained, "blue two four", n_steps=64)
    assert att.output == ["blau", "zwei", "vier"]
    assert att.matrix.shape == (3, 3)
    gap = att.log_prob - att.baseline_log_prob
    assert torch.allclose(att.matrix.sum(1), gap + att.delta, atol=1e-5)
    assert (att.relative_error() < 0.05).all() and att.complete().all()
    tiny_gap = tr.AttributionMatrix(["a"], ["b", "c"], torch.tensor([[0.011], [0.011]]), torch.tensor([0.0, 1.0]),
                                    torch.tensor([-0.001, -1.0]), torch.tensor([0.01, 0.01]))
    assert tiny_gap.relative_error()[0] > 1 and tiny_gap.complete().tolist() == [True, True]
    assert tiny_gap.complete(floor=0.01).tolist() == [False, True]
    # each output token draws most on the source word it translates (word-for-word toy task)
    assert tr.attribution_matrix(trained, "one red two blue", n_steps=64).matrix.argmax(1).tolist() == [0, 1, 2, 3]


def test_attribution_matrix_rows_equal_separate_ig_calls(trained):
    att = tr.attribution_matrix(trained, ["one", "red"], output=["eins", "rot"], n_steps=16)
    model = trained.model
    src = trained.source_ids([["one", "red"]])
    for j, token in enumerate(["eins", "rot"]):
        prefix = [Vocab.bos] + trained.target_vocab.encode(["eins", "rot"])[:j]

        def f(ids, j=j, prefix=prefix):
            return model(ids, torch.tensor([prefix]).repeat(ids.shape[0], 1))[:, j]

        ig = embedding_integrated_gradients(f, model.source_embedding, src,
                                            target=trained.target_vocab.stoi[token], n_steps=16)
        assert torch.allclose(att.matrix[j], ig.sum(-1)[0], atol=1e-5)


def test_checkpoint_round_trip_and_mismatch(trained, tmp_path):
    path = tr.save(trained, tmp_path / "t.pt")
    back = tr.load(path, device="cpu")
    assert back.config == trained.config and back.losses == trained.losses
    assert back.source_vocab.itos == trained.source_vocab.itos
    assert back.translate(["one red"]) == [["eins", "rot"]]
    saved = torch.load(path, weights_only=True)
    saved["data_sha256"] = {"tatoeba-deu-50k/deu.txt": "0" * 64}
    torch.save(saved, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="other sha256"):
        tr.load(tmp_path / "bad.pt")


def test_config_modes_and_learning_rate():
    assert tr.TrainConfig.for_mode("fast") == tr.TrainConfig()
    assert tr.TrainConfig.for_mode("full").d_model > tr.TrainConfig().d_model
    with pytest.raises(ValueError, match="mode must be"):
        tr.TrainConfig.for_mode("medium")
    c = tr.TrainConfig(lr=1e-3, warmup=100)
    assert tr.learning_rate(50, c) == pytest.approx(5e-4) and tr.learning_rate(100, c) == pytest.approx(1e-3)
    assert tr.learning_rate(400, c) == pytest.approx(5e-4)


# ------------------------------------------------------------------ the committed checkpoint
FIRST_STEPS = 3


@pytest.fixture(scope="module")
def saved():
    if not tr.FAST_CHECKPOINT.exists():
        pytest.skip(f"no committed checkpoint at {tr.FAST_CHECKPOINT}")
    return torch.load(tr.FAST_CHECKPOINT, map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def corpus_split(saved):
    return tr.split(tr.TrainConfig(**saved["config"]))


def test_checkpoint_is_small_and_matches_the_fast_config_and_data(saved):
    from dataclasses import asdict

    assert tr.FAST_CHECKPOINT.stat().st_size < 15e6
    assert tr.checkpoint_problems(saved) == []
    assert saved["config"] == asdict(tr.TrainConfig.for_mode("fast"))  # written by `--mode fast`
    assert saved["data_sha256"] == tr.data_files_sha256(tr.TrainConfig.for_mode("fast"))
    assert saved["bleu"] > 10


def test_checkpoint_first_training_steps_and_vocabularies_are_reproduced(saved, corpus_split):
    config = tr.TrainConfig(**saved["config"])
    rerun = tr.train(replace(config, max_steps=FIRST_STEPS, epochs=1), corpus_split, device="cpu", evaluate=False)
    assert rerun.source_vocab.itos == saved["source_vocab"] and rerun.target_vocab.itos == saved["target_vocab"]
    assert rerun.losses == pytest.approx(saved["losses"][:FIRST_STEPS], abs=1e-5)
