"""The translator: shapes and masks, training lowers the loss, greedy decoding, the attribution
matrix (completeness per output piece, rows equal separate IG calls, the zero / <pad> / <unk>
baselines), the split (held out, never-trained sentences), sacreBLEU, the config, the committed
checkpoint (config, data and first training steps reproduced)."""
from dataclasses import asdict, replace

import pytest
import torch

from iglib.experiments.text import bleu, embedding_integrated_gradients, translation as tr
from iglib.experiments.text.subwords import Subwords
from iglib.experiments.text.tokens import Vocab

TINY = tr.TrainConfig(d_model=32, n_heads=2, encoder_layers=1, decoder_layers=1, d_ff=64, dropout=0.0,
                      source_pieces=30, target_pieces=30, batch_pieces=60, epochs=100, lr=3e-3, warmup=30,
                      heldout=2, seed=1, max_steps=300)
WORDS = {"one": "eins", "two": "zwei", "three": "drei", "four": "vier", "red": "rot", "blue": "blau"}


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def _toy_split() -> tr.Split:
    """Word-for-word 'translations' of 2- and 3-word sentences (a task a tiny model learns in seconds)."""
    g = torch.Generator().manual_seed(0)
    en = list(WORDS)
    pairs = []
    for _ in range(240):
        n = 2 + int(torch.randint(3, (1,), generator=g))
        s = [en[int(i)] for i in torch.randint(len(en), (n,), generator=g)]
        pairs.append((" ".join(s), " ".join(WORDS[w] for w in s)))
    return tr.Split(pairs, ["one red two blue", "blue two four"], [["eins rot zwei blau"], ["blau zwei vier"]])


@pytest.fixture(scope="module")
def trained():
    return tr.train(TINY, _toy_split(), device="cpu")


def test_training_lowers_the_loss_and_learns_the_toy_task(trained):
    first, last = sum(trained.losses[:10]) / 10, sum(trained.losses[-10:]) / 10
    assert len(trained.losses) == TINY.max_steps
    assert last < 0.5 * first
    assert trained.translate(["one red two blue", "blue two four"]) == ["eins rot zwei blau", "blau zwei vier"]
    assert tr.evaluate(trained, _toy_split(), test_sets=())["tatoeba"]["bleu"] == pytest.approx(100.0)


def test_training_is_seeded_and_stops_on_time():
    pieces = tr.learn_pieces(_toy_split(), TINY)
    again = tr.train(replace(TINY, max_steps=5), _toy_split(), device="cpu", pieces=pieces)
    once = tr.train(replace(TINY, max_steps=5), _toy_split(), device="cpu", pieces=pieces)
    assert again.losses == once.losses
    timed = tr.train(replace(TINY, max_steps=None, max_minutes=0.0), _toy_split(), device="cpu", pieces=pieces)
    assert timed.losses == []  # out of time before the first update
    assert timed.config.max_minutes is None and timed.config.max_steps == 0  # the config that rebuilds it


def test_batches_hold_about_the_asked_pieces_and_every_pair_once():
    pairs = [([4] * (1 + k % 7), [2] + [5] * (1 + k % 9) + [3]) for k in range(500)]
    out = tr.batches(pairs, 60, torch.Generator().manual_seed(0))
    assert sorted(k for b in out for k in b) == list(range(500))
    assert all(len(b) * max(len(pairs[k][1]) for k in b) <= 60 for b in out if len(b) > 1)


def test_model_shapes_and_separate_embeddings(trained):
    model = trained.model
    assert model.source_embedding is not model.target_embedding
    src = trained.source_ids(["one red", "two"])
    assert src[1, -1].item() == Vocab.pad
    tgt_in = torch.tensor([[Vocab.bos, 5, 6], [Vocab.bos, 7, Vocab.pad]])
    logp = model(src, tgt_in)
    assert logp.shape == (2, 3, len(trained.target_vocab))
    assert torch.allclose(logp.exp().sum(-1), torch.ones(2, 3), atol=1e-5)
    # padding the source does not change the second sentence's output (the <pad> positions are masked)
    alone = model(trained.source_ids(["two"]), tgt_in[1:])
    assert torch.allclose(alone, logp[1:], atol=1e-5)
    # the decoder is causal: a later target piece does not change an earlier position
    changed = tgt_in.clone()
    changed[0, 2] = 9
    assert torch.allclose(model(src, changed)[0, :2], logp[0, :2], atol=1e-6)


def test_attribution_matrix_is_complete_per_output_piece(trained):
    att = tr.attribution_matrix(trained, "blue two four", n_steps=64)
    assert trained.target_pieces.decode(att.output) == "blau zwei vier"
    assert att.source == trained.source_pieces.pieces("blue two four") and att.source[0].startswith("\u2581")
    assert att.matrix.shape == (len(att.output), len(att.source))
    gap = att.log_prob - att.baseline_log_prob
    assert torch.allclose(att.matrix.sum(1), gap + att.delta, atol=1e-5)
    assert att.complete().all()
    tiny_gap = tr.AttributionMatrix(["a"], ["b", "c"], torch.tensor([[0.011], [0.011]]), torch.tensor([0.0, 1.0]),
                                    torch.tensor([-0.001, -1.0]), torch.tensor([0.01, 0.01]))
    assert tiny_gap.relative_error()[0] > 1 and tiny_gap.complete().tolist() == [True, True]
    assert tiny_gap.complete(floor=0.01).tolist() == [False, True]


def test_each_output_word_draws_most_on_the_word_it_translates(trained):
    from iglib.experiments.text import alignment
    from iglib.experiments.text.subwords import word_index

    att = tr.attribution_matrix(trained, "one red two blue", n_steps=64)
    words = alignment.word_matrix(att.matrix, word_index(att.output, ["eins", "rot", "zwei", "blau"]),
                                  word_index(att.source, ["one", "red", "two", "blue"]))
    assert words.argmax(1).tolist() == [0, 1, 2, 3]


def test_figure_5_reads_the_links_and_row_sums_of_the_translation(trained, monkeypatch):
    """figure_5 on a toy 'paper sentence': the model's translation, each German word's argmax English word
    (all right here), its row sum = F(x) - F(x') summed over its pieces; held lists the figure's links (rows above a floor)."""
    monkeypatch.setattr(tr, "PAPER_SENTENCE", "one red two blue")
    monkeypatch.setattr(tr, "FIGURE_5", {"eins": "one", "rot": "red", "blau": "two"})
    read = tr.figure_5(trained, "<unk>", n_steps=64)
    assert read.translation == "eins rot zwei blau" and read.matrix.baseline == "<unk>"
    assert read.links == {"eins": "one", "rot": "red", "zwei": "two", "blau": "blue"}
    assert read.held() == ["eins", "rot"]  # blau draws on blue, not on the (wrong) link given
    low, high = sorted(["eins", "rot"], key=read.rise.get)
    assert read.held(floor=read.rise[low]) == [high]  # a row raised by no more than the floor does not count
    gap = (read.matrix.log_prob - read.matrix.baseline_log_prob).tolist()
    assert sum(read.rise.values()) == pytest.approx(sum(gap), rel=0.05)
    monkeypatch.setattr(tr.Trained, "translate_pieces", lambda self, sentences, max_length=None: [[]])
    assert tr.figure_5(trained) == tr.Figure5("", None, {}, {})  # a snapshot that says nothing yet


def test_attribution_matrix_rows_equal_separate_ig_calls(trained):
    output = trained.target_pieces.pieces("eins rot")
    att = tr.attribution_matrix(trained, "one red", output=output, n_steps=16)
    model = trained.model
    src = trained.source_ids(["one red"])
    for j, piece in enumerate(output):
        prefix = [Vocab.bos] + trained.target_vocab.encode(output)[:j]

        def f(ids, j=j, prefix=prefix):
            return model(ids, torch.tensor([prefix]).repeat(ids.shape[0], 1))[:, j]

        ig = embedding_integrated_gradients(f, model.source_embedding, src,
                                            target=trained.target_vocab.stoi[piece], n_steps=16)
        assert torch.allclose(att.matrix[j], ig.sum(-1)[0], atol=1e-5)


def test_token_baselines(trained):
    zero = tr.attribution_matrix(trained, "one red two blue", n_steps=64)
    pad = tr.attribution_matrix(trained, "one red two blue", n_steps=64, baseline="<pad>")
    # <pad>'s embedding row is kept at zero (padding_idx), so the <pad> baseline IS the zero baseline
    assert torch.count_nonzero(trained.model.source_embedding.weight[Vocab.pad]) == 0
    assert torch.allclose(pad.matrix, zero.matrix, atol=1e-6) and pad.baseline == "<pad>"
    unk = tr.attribution_matrix(trained, "one red two blue", output=zero.output, n_steps=64, baseline="<unk>")
    assert unk.complete().all()
    # F at the baseline is the model on a sentence of <unk> pieces (same length, same mask)
    ids = torch.full((1, len(unk.source)), Vocab.unk)
    out_ids = trained.target_vocab.encode(zero.output)
    with torch.no_grad():
        logp = trained.model(ids, torch.tensor([[Vocab.bos] + out_ids[:-1]]))[0]
    assert torch.allclose(unk.baseline_log_prob, logp[range(len(out_ids)), out_ids], atol=1e-5)
    assert not torch.allclose(unk.matrix, zero.matrix, atol=1e-3)
    with pytest.raises(ValueError, match="baseline must be 'zero' or a source token"):
        tr.attribution_matrix(trained, "one", baseline="mean")
    # the model's own embedding is back in place afterwards
    assert isinstance(trained.model.source_embedding, torch.nn.Embedding)


def test_checkpoint_round_trip_in_half_precision(trained, tmp_path, monkeypatch):
    monkeypatch.setattr(tr, "checkpoint_problems", lambda saved: [])  # the toy split reads no data files
    path = tr.save(trained, tmp_path / "t.pt")
    back = tr.load(path, device="cpu")
    assert back.config == trained.config and back.losses == trained.losses
    assert back.source_pieces.model == trained.source_pieces.model
    assert back.translate(["one red"]) == ["eins rot"]
    for (name, a), b in zip(trained.model.state_dict().items(), back.model.state_dict().values()):
        assert torch.allclose(a, b, rtol=1e-3, atol=1e-4), name


def test_a_checkpoint_of_other_data_is_refused(trained, tmp_path):
    saved = {"config": asdict(tr.TrainConfig()), "data_sha256": {tr.TATOEBA: "0" * 64}}
    assert any("other sha256" in p for p in tr.checkpoint_problems(saved))
    saved["config"]["d_model"] = None
    del saved["config"]["seed"]
    assert "config fields" in tr.checkpoint_problems(saved)[0]


def test_config_modes_and_learning_rate():
    fast = tr.TrainConfig.for_mode("fast")   # issue 26's recipe: no news, Europarl twice, 30% unpunctuated, ...
    assert fast.corpora.split() == ["tatoeba", "europarl", "europarl"] and fast.max_pieces == 80
    assert (fast.strip_punctuation, fast.schedule, fast.ema, fast.max_steps) == (0.3, "linear", 0.999, tr.FAST_STEPS)
    assert (fast.extended_from, fast.stop_at) == (tr.FAST_FIRST_END, tr.FAST_KEPT) and fast.stop_at < fast.max_steps
    assert tr.TrainConfig.for_mode("full").max_steps is None
    assert tr.TrainConfig.for_mode("full").d_model > tr.TrainConfig().d_model
    with pytest.raises(ValueError, match="mode must be"):
        tr.TrainConfig.for_mode("medium")
    c = tr.TrainConfig(lr=1e-3, warmup=100)
    assert tr.learning_rate(50, c) == pytest.approx(5e-4) and tr.learning_rate(100, c) == pytest.approx(1e-3)
    assert tr.learning_rate(400, c) == pytest.approx(5e-4)


def test_never_trained_phrases_are_matched_as_words():
    assert tr.mentions("Good morning, ladies and gentlemen!", tr.PAPER_SENTENCE)
    assert tr.mentions("Ladies and gentlemen, the vote will take place tomorrow at noon.", tr.PARLIAMENT)
    assert not tr.mentions("Good morning, Madam President.", tr.PAPER_SENTENCE)
    assert not tr.mentions("good morning ladies and gentlemenfolk", tr.PAPER_SENTENCE)
    assert tr.never_trained("GOOD EVENING LADIES AND GENTLEMEN")


def test_sacrebleu_scores_and_agrees_with_the_hand_written_bleu():
    hyps = ["Die Katze sitzt auf der Matte .", "Ich mag Katzen ."]
    refs = [["Die Katze saß auf der Matte .", "Eine Katze sitzt auf der Matte ."], ["Ich mag Katzen ."]]
    s = tr.corpus_scores(hyps, refs)
    assert s["bleu"] == pytest.approx(100 * bleu.corpus_bleu([h.split() for h in hyps],
                                                             [[r.split() for r in rs] for rs in refs]), abs=1e-6)
    assert tr.corpus_scores(["Ich mag Katzen."], ["Ich mag Katzen."]) == {"bleu": pytest.approx(100),
                                                                        "chrf": pytest.approx(100)}
    assert 0 < s["chrf"] < 100
    with pytest.raises(ValueError, match="2 hypotheses but 1 reference"):
        tr.corpus_scores(hyps, refs[:1])


# ------------------------------------------------------------------ the real data and checkpoint
FIRST_STEPS = 3


@pytest.fixture(scope="module")
def corpus_split():
    return tr.split(tr.TrainConfig())


def test_the_split_holds_out_tatoeba_sentences_and_never_trains_on_the_demo_sentences(corpus_split):
    from iglib.experiments.text import tokenize

    trained_en = {tuple(tokenize(en)) for en, _ in corpus_split.train}
    held = {tuple(tokenize(en)) for en in corpus_split.heldout_sources}
    assert len(held) == len(corpus_split.heldout_sources) >= 1000 and not held & trained_en
    assert set(corpus_split.sizes) == set(tr.TrainConfig().corpora.split())
    assert corpus_split.excluded >= 1  # Tatoeba's "Good evening, ladies and gentlemen."
    for phrase in tr.NEVER_TRAINED:
        assert not any(tr.mentions(en, phrase) for en, _ in corpus_split.train), phrase
    assert not any(tr.mentions(de, "guten morgen meine damen und herren") for _, de in corpus_split.train)
    # ... while the words the paper's sentence needs are there
    assert sum(tr.mentions(en, "ladies and gentlemen") for en, _ in corpus_split.train) > 100
    assert sum(tr.mentions(en, "good morning") for en, _ in corpus_split.train) >= 5


@pytest.fixture(scope="module")
def saved():
    if not tr.FAST_CHECKPOINT.exists():
        pytest.skip(f"no committed checkpoint at {tr.FAST_CHECKPOINT}")
    return torch.load(tr.FAST_CHECKPOINT, map_location="cpu", weights_only=True)


def test_checkpoint_is_small_and_matches_the_fast_config_and_data(saved):
    assert tr.FAST_CHECKPOINT.stat().st_size < 20e6
    assert tr.checkpoint_problems(saved) == []
    # written by `--mode fast`, before the fields that default to how it trained (strip_punctuation, ...)
    assert tr.TrainConfig(**saved["config"]) == tr.TrainConfig.for_mode("fast")
    assert saved["data_sha256"] == tr.data_files_sha256(tr.TrainConfig.for_mode("fast"))
    assert len(saved["losses"]) == saved["config"]["stop_at"] < saved["config"]["max_steps"]
    assert "tatoeba" in saved["scores"] and set(saved["scores"]) <= {"tatoeba", *tr.TEST_SETS}
    assert saved["scores"]["tatoeba"]["bleu"] > 20


def test_checkpoint_first_training_steps_are_reproduced(saved):
    """The stored piece models, the data and the seed give the stored losses of the first updates
    (learning the pieces again takes minutes: test_text_subwords checks that it is deterministic)."""
    config = tr.TrainConfig(**saved["config"])
    pieces = (Subwords(saved["source_pieces"].numpy().tobytes(), lowercase=True),
              Subwords(saved["target_pieces"].numpy().tobytes()))
    assert (len(pieces[0]), len(pieces[1])) == (config.source_pieces, config.target_pieces)
    # stopped as a sitting (the schedule, which decays to its floor at max_steps, stays the run's)
    rerun = tr.train(config, tr.split(config), device="cpu", pieces=pieces, sitting_steps=FIRST_STEPS)
    assert rerun.losses == pytest.approx(saved["losses"][:FIRST_STEPS], abs=1e-4)


RESUMABLE = replace(TINY, dropout=0.1, strip_punctuation=0.5, schedule="linear", lr_floor=0.1, ema=0.9, max_steps=40,
                    epochs=100)


def _punctuated_split() -> tr.Split:
    """The toy task with punctuation on the English side (what strip_punctuation removes)."""
    toy = _toy_split()
    return tr.Split([(en + (" ." if k % 2 else " ?"), de) for k, (en, de) in enumerate(toy.train)],
                    toy.heldout_sources, toy.heldout_references)


def test_a_run_in_two_sittings_equals_one_run(tmp_path):
    """N + N updates in two sittings (model, optimizer, moving average, epoch position, random states
    carried in the state file) give the losses and weights of 2N updates in one."""
    pieces = tr.learn_pieces(_punctuated_split(), RESUMABLE)
    once = tr.train(RESUMABLE, _punctuated_split(), device="cpu", pieces=pieces)
    state = tmp_path / "run.state"
    first = tr.train(RESUMABLE, _punctuated_split(), device="cpu", pieces=pieces, state=state, sitting_steps=13)
    assert len(first.losses) == 13 and state.exists()
    second = tr.train(RESUMABLE, _punctuated_split(), device="cpu", state=state, state_every=7)
    assert len(second.losses) == RESUMABLE.max_steps == len(once.losses)
    assert second.losses[:13] == first.losses
    assert second.losses == pytest.approx(once.losses, abs=1e-6)
    for name, value in once.model.state_dict().items():
        torch.testing.assert_close(second.model.state_dict()[name], value, atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="another config .*'lr'"):
        tr.train(replace(RESUMABLE, lr=1e-3), _punctuated_split(), device="cpu", state=state)


def test_a_run_stopped_early_keeps_the_planned_schedule_and_its_weights_at_that_update(tmp_path):
    """stop_at = N ends the run after update N on the schedule planned to max_steps: its losses and weights
    are those of the planned run's first N updates (its snapshot at N), and its state goes on to the end."""
    pieces = tr.learn_pieces(_punctuated_split(), RESUMABLE)
    planned = tr.train(RESUMABLE, _punctuated_split(), device="cpu", pieces=pieces, snapshots=tmp_path / "s",
                       snapshot_every=20)
    stopped = tr.train(replace(RESUMABLE, stop_at=20), _punctuated_split(), device="cpu", pieces=pieces,
                       state=tmp_path / "run.state")
    assert len(stopped.losses) == 20 and stopped.losses == planned.losses[:20]
    snapshot = tr.load_snapshot(planned, tmp_path / "s" / "step_00020.pt")
    for name, value in stopped.model.state_dict().items():
        torch.testing.assert_close(snapshot.model.state_dict()[name], value, atol=2e-3, rtol=1e-3)  # fp16
    went_on = tr.train(RESUMABLE, _punctuated_split(), device="cpu", state=tmp_path / "run.state")
    assert went_on.losses == pytest.approx(planned.losses, abs=1e-6)


def test_linear_schedule_ends_at_its_floor_and_needs_a_planned_end():
    assert tr.learning_rate(RESUMABLE.warmup, RESUMABLE) == pytest.approx(RESUMABLE.lr)
    assert tr.learning_rate(RESUMABLE.max_steps, RESUMABLE) == pytest.approx(RESUMABLE.lr_floor * RESUMABLE.lr)
    assert tr.learning_rate(RESUMABLE.max_steps + 50, RESUMABLE) == pytest.approx(RESUMABLE.lr_floor * RESUMABLE.lr)
    with pytest.raises(ValueError, match="max_steps"):
        tr.learning_rate(5, replace(RESUMABLE, max_steps=None))
    with pytest.raises(ValueError, match="'rsqrt' or 'linear'"):
        tr.learning_rate(5, replace(RESUMABLE, schedule="cosine"))


def test_an_extended_run_restarts_its_schedule_and_goes_on_from_the_finished_state(tmp_path):
    """A finished linear run (max_steps = E) goes on as its extension: the learning rate restarts at
    restart_lr * lr after E and falls to the floor at the new max_steps; the first E updates are the
    finished run's, and only the extension's fields may differ from the state's config."""
    longer = replace(RESUMABLE, extended_from=RESUMABLE.max_steps, max_steps=RESUMABLE.max_steps + 20)
    E = RESUMABLE.max_steps
    assert [tr.learning_rate(s, longer) for s in (3, E)] == pytest.approx([tr.learning_rate(s, RESUMABLE) for s in (3, E)])
    assert tr.learning_rate(E + 1, longer) == pytest.approx(longer.restart_lr * longer.lr)
    assert tr.learning_rate(longer.max_steps, longer) == pytest.approx(longer.lr_floor * longer.lr)
    with pytest.raises(ValueError, match="extended_from=900"):
        tr.learning_rate(5, replace(longer, extended_from=900))
    state = tmp_path / "run.state"
    finished = tr.train(RESUMABLE, _punctuated_split(), device="cpu", state=state)
    extended = tr.train(longer, _punctuated_split(), device="cpu", state=state)
    assert len(extended.losses) == longer.max_steps and extended.losses[:E] == finished.losses
    assert extended.losses[-1] < extended.losses[E - 1] + 1.0  # it went on training, not from scratch
    with pytest.raises(ValueError, match="another config .*'lr'"):
        tr.train(replace(longer, lr=1e-3, max_steps=longer.max_steps + 5), _punctuated_split(), device="cpu", state=state)


def test_punctuation_stripping_and_config_fields():
    assert tr.strip_punctuation("Good morning, ladies and gentlemen.") == "Good morning ladies and gentlemen"
    assert tr.strip_punctuation("I'm here!") == "I'm here"
    config = tr.with_fields(tr.TrainConfig(), ["strip_punctuation=0.3", "corpora=tatoeba europarl", "max_pieces=80"])
    assert (config.strip_punctuation, config.corpora, config.max_pieces) == (0.3, "tatoeba europarl", 80)
    with pytest.raises(ValueError, match="TrainConfig field"):
        tr.with_fields(tr.TrainConfig(), ["strip=0.3"])


def test_repeats_finds_a_piece_three_times_in_a_row():
    assert tr.repeats(["▁Morgen", "▁Morgen", "▁Morgen"]) and tr.repeats(["a", "b", "b", "b", "c"])
    assert not tr.repeats(["a", "b", "b", "a", "a"]) and not tr.repeats([])
    assert tr.repeats(["a", "a"], times=2) and not tr.repeats(["a", "b"], times=2)


def test_loops_counts_the_looping_translations(trained, monkeypatch):
    outputs = {"one": ["▁eins"], "two": ["▁zwei", "▁zwei", "▁zwei"], "red": ["▁rot", "▁rot"]}
    monkeypatch.setattr(tr.Trained, "translate_pieces", lambda self, sentences: [outputs[s] for s in sentences])
    assert tr.loops(trained, ["one", "two", "red", "two"]) == [1, 3]


def test_cross_attention_rows_are_distributions_over_the_source_pieces(trained):
    weights = tr.cross_attention(trained, "one red two", "eins rot zwei")
    n_target, n_source = len(trained.target_pieces.pieces("eins rot zwei")), len(trained.source_pieces.pieces("one red two"))
    assert weights.shape == (n_target, n_source)
    assert torch.allclose(weights.sum(1), torch.ones(n_target)) and (weights >= 0).all()
    assert trained.model.training is False  # restored (load() and train() return eval models)
    again = tr.cross_attention(trained, "one red two", "eins rot zwei")
    assert torch.equal(weights, again)  # the hook is gone: no weights pile up, same answer


def test_align_references_reads_ig_attention_and_the_diagonal(trained):
    from iglib.experiments.text.alignment import Reference, corpus_score

    ref = Reference(("one", "red", "two"), ("eins", "rot", "zwei"), frozenset({(0, 0), (1, 1), (2, 2)}), frozenset(),
                    "one red two", "eins rot zwei")
    read = tr.align_references(trained, [ref], n_steps=20)
    assert read.diagonal == [{(0, 0), (1, 1), (2, 2)}]
    assert read.words[0].shape == (3, 3) and read.complete[0].all()
    assert corpus_score(read.ig, [ref]).aer == 0.0  # word for word: the toy model draws on the same position
    assert len(read.attention[0]) == 3 and all(0 <= i < 3 for i, _ in read.attention[0])


def test_a_corpus_named_twice_is_trained_on_twice():
    once = tr.split(replace(tr.TrainConfig(), corpora="europarl"))
    twice = tr.split(replace(tr.TrainConfig(), corpora="europarl europarl"))
    assert len(twice.train) == 2 * len(once.train) and twice.sizes == {"europarl": 2 * once.sizes["europarl"]}


def test_snapshots_hold_the_kept_weights_along_the_run(tmp_path):
    config = replace(TINY, max_steps=6, ema=0.5)
    pieces = tr.learn_pieces(_toy_split(), config)
    run = tr.train(config, _toy_split(), device="cpu", pieces=pieces, snapshots=tmp_path, snapshot_every=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step_00003.pt", "step_00006.pt"]
    last = tr.load_snapshot(run, tmp_path / "step_00006.pt")  # the moving average, in fp16
    for name, value in run.model.state_dict().items():
        assert torch.allclose(last.model.state_dict()[name], value, atol=1e-3), name
    assert last.model is not run.model and not last.model.training


def test_plot_matrix_boxes_only_rows_with_a_visible_largest_entry():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    att = tr.AttributionMatrix(["▁a", "▁b"], ["▁x", "▁y", "▁z"], torch.tensor([[2.0, -1.0], [0.01, 0.05], [-0.5, -0.2]]),
                               torch.zeros(3), torch.zeros(3), torch.zeros(3))
    fig, ax = plt.subplots()
    tr.plot_matrix(att, ax=ax, ylabel=False)
    boxes = [(p.get_x() + 0.5, p.get_y() + 0.5) for p in ax.patches if isinstance(p, Rectangle)]
    assert boxes == [(0.0, 0.0)] and ax.get_ylabel() == ""   # rows 2 (below 5% of 2.0) and 3 (all negative): no box
    plt.close(fig)


def test_epoch_sources_strips_a_fresh_share_each_epoch():
    pairs = [([k], [2, k, 3], [-1 - k]) for k in range(2000)]  # stripped sources are negative
    g = torch.Generator().manual_seed(0)
    first, second = tr.epoch_sources(pairs, 0.3, g), tr.epoch_sources(pairs, 0.3, g)
    share = [sum(s[0] < 0 for (s, _) in epoch) / len(pairs) for epoch in (first, second)]
    assert all(0.27 < x < 0.33 for x in share) and first != second
    assert tr.epoch_sources(pairs, 0.0, g) == [(p[0], p[1]) for p in pairs]
