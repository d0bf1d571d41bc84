"""Alignment error rate on toy cases by hand, the argmax and diagonal alignments, and the hand-written
reference alignments in tests/alignments_de_en.json and tests/alignments_de_en_long.json (well-formed,
never trained on), and the sum of a piece matrix into words."""
from pathlib import Path

import pytest
import torch

from iglib.experiments.text import alignment as al, tokenize

REFERENCES = Path(__file__).with_name("alignments_de_en.json")
LONG = Path(__file__).with_name("alignments_de_en_long.json")


def test_aer_on_a_toy_case_by_hand():
    sure, possible = {(0, 0), (1, 2)}, {(2, 1)}
    predicted = {(0, 0), (2, 1), (1, 1)}
    s = al.score(predicted, sure, possible)
    # |A| = 3, |S| = 2, |A & S| = 1, |A & P| = 2
    assert (s.predicted, s.sure, s.hit_sure, s.hit_possible) == (3, 2, 1, 2)
    assert s.precision == pytest.approx(2 / 3) and s.recall == pytest.approx(1 / 2)
    assert s.aer == pytest.approx(1 - 3 / 5)
    assert al.score(sure, sure).aer == 0.0                  # perfect
    assert al.score({(5, 5)}, sure).aer == 1.0               # all wrong
    assert al.score(sure | possible, sure, possible).aer == 0.0  # possible links cost nothing


def test_without_possible_links_aer_is_one_minus_f1():
    sure, predicted = {(0, 0), (1, 1), (2, 2), (3, 3)}, {(0, 0), (1, 1), (3, 2)}
    s = al.score(predicted, sure)
    f1 = 2 * s.precision * s.recall / (s.precision + s.recall)
    assert s.aer == pytest.approx(1 - f1)


def test_corpus_score_pools_counts():
    refs = [al.Reference(("a", "b"), ("x", "y"), frozenset({(0, 0), (1, 1)}), frozenset()),
            al.Reference(("c",), ("z", "w"), frozenset({(0, 0)}), frozenset({(0, 1)}))]
    total = al.corpus_score([{(0, 0), (0, 1)}, {(0, 0), (0, 1)}], refs)
    assert (total.predicted, total.sure, total.hit_sure, total.hit_possible) == (4, 3, 2, 3)
    assert total.aer == pytest.approx(1 - 5 / 7)


def test_argmax_and_diagonal_alignments():
    m = torch.tensor([[0.1, 0.9, -2.0], [0.5, 0.2, 0.3]])  # 2 output tokens x 3 source tokens
    assert al.argmax_alignment(m) == {(1, 0), (0, 1)}  # the largest, not the largest in magnitude
    assert al.diagonal_alignment(3, 3) == {(0, 0), (1, 1), (2, 2)}
    assert al.diagonal_alignment(5, 3) == {(0, 0), (2, 1), (4, 2)}
    assert al.diagonal_alignment(2, 1) == {(0, 0)}
    with pytest.raises(ValueError, match="2-D"):
        al.argmax_alignment(torch.zeros(3))


def test_a_reference_link_outside_the_sentence_is_refused():
    with pytest.raises(ValueError, match=r"link \(2, 0\) is outside 2 x 1"):
        al.Reference(("a", "b"), ("x",), frozenset({(2, 0)}), frozenset())


@pytest.mark.parametrize("path, n, lengths", [(REFERENCES, 20, (2, 9)), (LONG, 10, (10, 20))])
def test_the_hand_alignments_are_well_formed(path, n, lengths):
    refs = al.load_references(path)
    assert len(refs) == n
    for ref in refs:
        assert list(ref.source) == tokenize(ref.source_text) and list(ref.target) == tokenize(ref.target_text)
        assert lengths[0] <= sum(t[0].isalnum() for t in ref.source) <= lengths[1], ref.source_text  # words
        assert not ref.sure & ref.possible
        covered = {j for _, j in ref.sure | ref.possible}
        assert covered == set(range(len(ref.target))), " ".join(ref.target)  # every German token is aligned


def test_the_hand_aligned_pairs_are_never_trained_on():
    """The 20 short pairs: their English sentences are held out of Tatoeba (translation.ALIGNED), and each
    German side that Tatoeba has is one of the held-out references; the 10 long ones are in no corpus."""
    from iglib.experiments.text import translation as tr

    split = tr.split(tr.TrainConfig())
    trained_en = {tuple(tokenize(en)) for en, _ in split.train}
    trained_de = {tuple(tokenize(de)) for _, de in split.train}
    held = {tuple(tokenize(s)): {tuple(tokenize(r)) for r in refs}
            for s, refs in zip(split.heldout_sources, split.heldout_references)}
    short = al.load_references(REFERENCES)
    assert {ref.source for ref in short} == {tuple(tokenize(s)) for s in tr.ALIGNED}
    for ref in short:  # disjoint by English sentence: the German may translate another English sentence
        assert ref.source not in trained_en, ref.source_text
        assert ref.target in held.get(ref.source, {ref.target}), ref.source_text
    assert sum(ref.source in held for ref in short) >= 10  # the others are not in the 2018 release at all
    for ref in al.load_references(LONG):
        assert ref.source not in trained_en and ref.target not in trained_de, ref.source_text


def test_word_matrix_sums_pieces_into_words():
    a = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])  # 3 output x 3 source pieces
    w = al.word_matrix(a, [0, 0, 1], [0, 1, 1])  # output pieces 0, 1 form word 0; source pieces 1, 2 form word 1
    assert w.tolist() == [[1 + 4, 2 + 3 + 5 + 6], [7, 8 + 9]]
    assert al.word_matrix(a, [0, 1, 2], [0, 1, 2]).equal(a)
    with pytest.raises(ValueError, match="2 output and 3 source"):
        al.word_matrix(a, [0, 1], [0, 1, 2])
