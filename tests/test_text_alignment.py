"""Alignment error rate on toy cases by hand, the argmax and diagonal alignments, and the hand-written
reference alignments in tests/alignments_de_en.json (well-formed, on held-out pairs)."""
from pathlib import Path

import pytest
import torch

from iglib.text import alignment as al
from iglib.text import tokenize

REFERENCES = Path(__file__).with_name("alignments_de_en.json")


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
    assert al.links_matrix({(1, 0)}, 3, 2).tolist() == [[0, 1, 0], [0, 0, 0]]
    with pytest.raises(ValueError, match="2-D"):
        al.argmax_alignment(torch.zeros(3))


def test_a_reference_link_outside_the_sentence_is_refused():
    with pytest.raises(ValueError, match=r"link \(2, 0\) is outside 2 x 1"):
        al.Reference(("a", "b"), ("x",), frozenset({(2, 0)}), frozenset())


def test_the_hand_alignments_are_well_formed():
    refs = al.load_references(REFERENCES)
    assert len(refs) == 20
    for ref in refs:
        assert list(ref.source) == tokenize(" ".join(ref.source))
        assert list(ref.target) == tokenize(" ".join(ref.target))
        assert not ref.sure & ref.possible
        covered = {j for _, j in ref.sure | ref.possible}
        assert covered == set(range(len(ref.target))), " ".join(ref.target)  # every German token is aligned


def test_the_hand_aligned_pairs_are_held_out():
    from iglib.text import translation as tr

    split = tr.split(tr.TrainConfig())
    held = {tuple(s): [tuple(r) for r in refs] for s, refs in zip(split.heldout_sources, split.heldout_references)}
    trained_sources = {tuple(s) for s, _ in split.train}
    for ref in al.load_references(REFERENCES):
        assert ref.source in held and ref.target in held[ref.source]
        assert ref.source not in trained_sources
