"""Corpus BLEU-4 on cases computed by hand (clipping, brevity penalty, several references)."""
import math

import pytest

from iglib.experiments.text.bleu import closest_length, corpus_bleu, ngrams, statistics


def t(s):
    return s.split()


def test_identical_sentences_score_one_and_disjoint_ones_zero():
    assert corpus_bleu([t("the cat sat on the mat")], [t("the cat sat on the mat")]) == pytest.approx(1.0)
    assert corpus_bleu([t("a b c d")], [t("e f g h")]) == 0.0
    assert corpus_bleu([[]], [t("a b c d")]) == 0.0


def test_precisions_by_hand():
    # 1-grams 5/6 ("the" clipped to one), 2-grams 3/5, 3-grams 2/4, 4-grams 1/3; c = r = 6 so BP = 1
    hyp, ref = t("the cat sat on the mat"), t("the cat sat on a mat")
    assert statistics(hyp, [ref]) == ([5, 3, 2, 1], [6, 5, 4, 3], 6, 6)
    assert corpus_bleu([hyp], [ref]) == pytest.approx((5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25)


def test_clipping_counts_a_word_at_most_as_often_as_a_reference_has_it():
    assert statistics(t("the the the the"), [t("the cat the")], max_n=1)[0] == [2]
    assert corpus_bleu([t("the the the the")], [t("the cat the dog")]) == 0.0  # no 2-gram matches


def test_brevity_penalty():
    # every n-gram matches, c = 4 < r = 6: BP = exp(1 - 6/4)
    assert corpus_bleu([t("the cat sat on")], [t("the cat sat on the mat")]) == pytest.approx(math.exp(-0.5))
    # longer than the reference: no penalty, only precision loss
    assert corpus_bleu([t("the cat sat on the mat")], [t("the cat sat on")]) == pytest.approx((4 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25)


def test_several_references_clip_by_the_best_and_take_the_closest_length():
    assert closest_length(6, [t("a b c"), t("a b c d e f g")]) == 7
    assert closest_length(5, [t("a b c d"), t("a b c d e f")]) == 4  # tie: the shorter
    refs = [t("the cat is on the mat"), t("there is a cat on the mat")]
    m, tot, c, r = statistics(t("the cat the cat on the mat"), refs)
    assert m[0] == 5 and tot[0] == 7  # "the" x3 clipped to 2 (first reference), "cat" x2 to 1, "on", "mat"
    assert (c, r) == (7, 7)
    assert corpus_bleu([t("the cat is on the mat")], [refs]) == pytest.approx(1.0)


def test_corpus_bleu_pools_counts_before_dividing():
    hyps = [t("a b c d"), t("e f g h i j")]
    refs = [t("a b c d"), t("e f g h x y")]
    # pooled: 1-grams 8/10, 2-grams 6/8, 3-grams 4/6, 4-grams 2/4; c = r = 10
    assert corpus_bleu(hyps, refs) == pytest.approx((8 / 10 * 6 / 8 * 4 / 6 * 2 / 4) ** 0.25)
    assert ngrams(t("a b a b"), 2) == {("a", "b"): 2, ("b", "a"): 1}
    with pytest.raises(ValueError, match="2 hypotheses but 1 reference"):
        corpus_bleu(hyps, refs[:1])
