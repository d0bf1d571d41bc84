"""Word pieces: learned deterministically, specials at the ids of iglib.experiments.text.Vocab, no <unk> on text
made of seen characters, pieces mapped back to words."""
import pytest

from iglib.experiments.text.subwords import WORD_START, Subwords, normalize, word_index
from iglib.experiments.text.tokens import SPECIALS, Vocab, tokenize

CORPUS = ["Good morning, ladies and gentlemen.", "Good evening!", "The ladies are here.",
          "Gentlemen, the vote will take place tomorrow.", "I love you.", "We love mornings."] * 20


@pytest.fixture(scope="module")
def pieces():
    return Subwords.learn(CORPUS, vocab_size=60, lowercase=True)


def test_learning_is_deterministic_and_keeps_the_special_ids(pieces):
    again = Subwords.learn(CORPUS, vocab_size=60, lowercase=True)
    assert again.model == pieces.model
    assert pieces.vocab.itos[: len(SPECIALS)] == list(SPECIALS)
    assert (Vocab.pad, Vocab.unk, Vocab.bos, Vocab.eos) == (0, 1, 2, 3)
    assert 4 < len(pieces) <= 60


def test_pieces_mark_word_starts_and_decode_back(pieces):
    text = "good morning ladies and gentlemen"
    p = pieces.pieces(text)
    assert p[0].startswith(WORD_START) and sum(q.startswith(WORD_START) for q in p) == 5
    assert pieces.decode(p) == text
    assert pieces.pieces("GOOD  Morning") == pieces.pieces("good morning")  # lowercased, spaces normalized
    ids = pieces.encode("gentlemen love the evening")
    assert Vocab.unk not in ids  # every character was seen
    assert pieces.vocab.decode(ids, strip=False) == pieces.pieces("gentlemen love the evening")
    assert Vocab.unk in pieces.encode("qxz")  # unseen characters


def test_word_index_maps_pieces_to_tokenizer_words():
    pieces = ["\u2581i", "'", "ll", "\u2581miss", "\u2581you", "."]
    assert word_index(pieces, tokenize("I'll miss you.")) == [0, 0, 0, 1, 2, 3]
    assert word_index(["\u2581Ich", "\u2581mag", "\u2581Kat", "zen", "."], ["ich", "mag", "katzen", "."]) == [0, 1, 2, 2, 3]
    assert word_index(["\u2581", "„", "ja", "“"], ["„", "ja", "“"]) == [0, 0, 1, 2]
    with pytest.raises(ValueError, match="do not spell"):
        word_index(["\u2581a", "\u2581c"], ["a", "b"])
    with pytest.raises(ValueError, match="only part"):
        word_index(["\u2581a"], ["a", "b"])


def test_normalize_and_bad_input():
    assert normalize("  Stra\u00dfe \n und\tMa\u0308dchen ") == "Straße und Mädchen"
    assert normalize("ÄB", lowercase=True) == "äb"
    with pytest.raises(TypeError, match="text must be a str"):
        normalize(3)
    with pytest.raises(ValueError, match="vocab_size must exceed"):
        Subwords.learn(["a"], vocab_size=4)
