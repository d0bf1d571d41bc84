"""Trigger mining and rules on toy cases with known answers, and token_scores against plain embedding IG."""
import numpy as np
import pytest
import torch
from torch import nn

from iglib.experiments.text import embedding_integrated_gradients, triggers as tg


def test_ngrams_and_words():
    assert tg.ngrams(["how", "many", "?"], 2) == [(0, ("how", "many")), (1, ("many", "?"))]
    assert tg.ngrams(["a"], 2) == []
    assert tg.is_word("how") and tg.is_word("1940") and not tg.is_word("?") and not tg.is_word("<unk>")
    with pytest.raises(ValueError, match="n must be"):
        tg.ngrams(["a"], 0)


# Toy: "how many" carries all the NUMERIC attribution, "year" the DATETIME one; the other words get 0.
TOY_TOKENS = [["how", "many", "cats", "?"], ["how", "many", "dogs", "?"], ["how", "many", "cats", "?"],
              ["what", "year", "was", "it", "?"], ["in", "what", "year", "?"]]
TOY_SCORES = [[1.0, 2.0, 0.0, 0.5], [1.0, 2.0, 0.0, 0.5], [1.5, 2.0, -1.0, 0.5],
              [0.0, 3.0, 0.0, 0.0, 0.0], [0.0, 0.5, 2.0, 0.0]]
TOY_LABELS = ["NUMERIC", "NUMERIC", "NUMERIC", "DATETIME", "DATETIME"]


def test_mining_finds_the_known_triggers_with_exact_sums():
    mined = tg.mine_triggers(TOY_TOKENS, TOY_SCORES, TOY_LABELS, min_count=2, top=3)
    top = mined["NUMERIC"][2][0]
    assert top.phrase == ("how", "many") and top.count == 3 and top.total == pytest.approx(9.5)
    assert top.mean == pytest.approx(9.5 / 3) and top.start_share == 1.0
    assert [(t.text, t.total) for t in mined["NUMERIC"][1]] == [("many", 6.0), ("how", 3.5), ("cats", -1.0)]  # "dogs": once
    assert mined["NUMERIC"][3][0].text == "how many cats" and mined["NUMERIC"][3][0].count == 2
    assert all("?" not in t.phrase for by_n in mined.values() for ts in by_n.values() for t in ts)
    dt = mined["DATETIME"]
    assert dt[1][0].text == "year" and dt[1][0].total == pytest.approx(5.0) and dt[1][0].start_share == 0.0
    assert dt[2][0].text == "what year" and dt[2][0].start_share == 0.5 and dt[3] == []   # no trigram seen twice
    by_mean = tg.mine_triggers(TOY_TOKENS, TOY_SCORES, TOY_LABELS, min_count=1, top=1, rank_by="mean")
    assert by_mean["NUMERIC"][3][0].text == "how many dogs"                  # 3.0 per occurrence > 2.75
    opening = tg.mine_triggers(TOY_TOKENS, TOY_SCORES, TOY_LABELS, min_count=1, at_start=True)
    assert [t.text for t in opening["DATETIME"][1]] == ["in", "what"] and all(t.start_share == 1 for t in opening["DATETIME"][1])


def test_mining_checks_its_arguments():
    with pytest.raises(ValueError, match="one entry per question"):
        tg.mine_triggers(TOY_TOKENS, TOY_SCORES[:2], TOY_LABELS)
    with pytest.raises(ValueError, match="tokens but"):
        tg.mine_triggers([["a", "b"]], [[1.0]], ["X"])
    with pytest.raises(ValueError, match="rank_by"):
        tg.mine_triggers(TOY_TOKENS, TOY_SCORES, TOY_LABELS, rank_by="max")


def test_rule_precision_coverage_recall_on_a_toy_case():
    tokens = [["how", "many", "a"], ["how", "many", "b"], ["how", "many", "c"], ["how", "old", "x"],
              ["so", "how", "many"], ["who", "won"]]
    labels = ["NUMERIC", "NUMERIC", "STRING", "NUMERIC", "NUMERIC", "STRING"]
    start = tg.score_rule(tg.Rule(("how", "many"), "NUMERIC"), tokens, labels)
    assert (start.fires, start.correct, start.n_questions, start.n_label) == (3, 2, 6, 4)
    assert start.precision == pytest.approx(2 / 3) and start.coverage == pytest.approx(0.5) and start.recall == 0.5
    anywhere = tg.score_rule(tg.Rule(("how", "many"), "NUMERIC", at_start=False), tokens, labels)
    assert anywhere.fires == 4 and anywhere.precision == 0.75 and anywhere.recall == 0.75
    never = tg.score_rule(tg.Rule(("when",), "DATETIME"), tokens, labels)
    assert never.fires == 0 and never.precision == 0.0 and never.coverage == 0.0 and never.recall == 0.0
    assert str(tg.Rule(("how", "many"), "NUMERIC")) == 'if the question starts with "how many" then NUMERIC'
    assert tg.rule_from_trigger(tg.Trigger("DATETIME", ("what", "year"), 2, 1.0, 0.5)).at_start
    assert not tg.rule_from_trigger(tg.Trigger("DATETIME", ("year",), 2, 1.0, 0.4)).at_start
    rules = [tg.Rule(("how", "many"), "NUMERIC"), tg.Rule(("how",), "DATETIME")]
    assert [tg.apply_rules(rules, t, default="STRING") for t in tokens[:4]] == ["NUMERIC"] * 3 + ["DATETIME"]
    assert tg.apply_rules(rules, ["who", "won"], default="STRING") == "STRING"
    with pytest.raises(ValueError, match="one entry per question"):
        tg.score_rule(rules[0], tokens, labels[:2])


class _BagOfEmbeddings(nn.Module):
    """A small nonlinear text model: logits = W tanh(mean_t e_t) (length-agnostic, so padding would matter)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.embedding = nn.Embedding(12, 5, padding_idx=0)
        self.out = nn.Linear(5, 3)

    def forward(self, ids):
        return self.out(torch.tanh(self.embedding(ids).mean(1)))


def test_token_scores_equals_embedding_ig_question_by_question():
    model = _BagOfEmbeddings().double().eval()
    questions = [[3, 4, 5], [6, 7], [8, 9, 10], [11]]
    scores, targets, deltas = tg.token_scores(model, model.embedding, questions, n_steps=24, batch_size=1)
    with torch.no_grad():
        predicted = [int(model(torch.tensor([q])).argmax()) for q in questions]
    assert targets.tolist() == predicted
    for q, s, t, d in zip(questions, scores, targets, deltas):
        ig, delta = embedding_integrated_gradients(model, model.embedding, torch.tensor([q]), target=int(t),
                                                   n_steps=24, return_convergence_delta=True)
        assert s.shape == (len(q),)
        np.testing.assert_allclose(s, ig.sum(-1)[0].numpy(), rtol=1e-10, atol=1e-12)
        assert d == pytest.approx(delta.item(), abs=1e-12)
        assert abs(d) < 1e-3                                   # completeness
    fixed, chosen, _ = tg.token_scores(model, model.embedding, questions, targets=[2, 2, 2, 2], n_steps=8)
    assert chosen.tolist() == [2, 2, 2, 2] and len(fixed) == 4
    with pytest.raises(ValueError, match="one class per question"):
        tg.token_scores(model, model.embedding, questions, targets=[0])
    with pytest.raises(ValueError, match="at least one token"):
        tg.token_scores(model, model.embedding, [[]])


def test_plot_triggers_draws_one_panel_per_class():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mined = tg.mine_triggers(TOY_TOKENS, TOY_SCORES, TOY_LABELS, min_count=2)
    fig = tg.plot_triggers(mined, ["NUMERIC", "DATETIME", "YESNO"])
    assert len(fig.axes) == 3
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "how many" in labels and "many" in labels
    plt.close(fig)
    with pytest.raises(ValueError, match="value must be"):
        tg.plot_triggers(mined, value="max")
