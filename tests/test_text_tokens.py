"""The word tokenizer (English and German) and the vocabulary: determinism and round trips."""
import pytest
import torch

from iglib.experiments.text.tokens import BOS, EOS, PAD, SPECIALS, UNK, Vocab, detokenize, tokenize


def test_english_question():
    assert tokenize("How many passengers flew to Los Angeles in 2013?") == [
        "how", "many", "passengers", "flew", "to", "los", "angeles", "in", "2013", "?"]


def test_words_keep_inner_apostrophes_and_hyphens_numbers_keep_separators():
    assert tokenize("In what city did Piotr's last 1st-place finish occur?") == [
        "in", "what", "city", "did", "piotr's", "last", "1st-place", "finish", "occur", "?"]
    assert tokenize("12,467 more than 3.5, in 1940/41.") == ["12,467", "more", "than", "3.5", ",", "in", "1940", "/", "41", "."]


def test_german_keeps_umlauts_and_sharp_s():
    assert tokenize("Die Straße ist GRÖSSER als Äpfel, oder?") == [
        "die", "straße", "ist", "grösser", "als", "äpfel", ",", "oder", "?"]
    assert tokenize("Guten Morgen, meine Damen und Herren!") == ["guten", "morgen", ",", "meine", "damen", "und", "herren", "!"]


def test_decomposed_umlauts_are_composed_first():
    decomposed = "Ma\u0308dchen"  # a + combining diaeresis
    assert tokenize(decomposed) == ["mädchen"]
    assert tokenize(decomposed) == tokenize("Mädchen")


def test_lowercase_can_be_turned_off():
    assert tokenize("Tom's Haus", lowercase=False) == ["Tom's", "Haus"]


@pytest.mark.parametrize("sentence", [
    "what was the last year where this team was a part of the usl a-league?",
    "guten morgen, meine damen und herren.",
    "tom sagte: „ich weiß es nicht.“",
    "how many more passengers flew to los angeles than to saskatoon (in 2013)?",
])
def test_detokenize_inverts_tokenize_on_ordinary_sentences(sentence):
    assert detokenize(tokenize(sentence)) == sentence


def test_tokenize_refuses_non_strings():
    with pytest.raises(TypeError, match="text must be a str"):
        tokenize(["a", "list"])


CORPUS = [tokenize(s) for s in ["the cat sat", "the dog sat", "a cat ran", "the end"]]


def test_vocab_specials_first_then_by_count_then_alphabetically():
    vocab = Vocab.build(CORPUS)
    assert vocab.itos[:4] == list(SPECIALS)
    assert (vocab.pad, vocab.unk, vocab.bos, vocab.eos) == (0, 1, 2, 3)
    assert [vocab.stoi[t] for t in (PAD, UNK, BOS, EOS)] == [0, 1, 2, 3]
    assert vocab.itos[4:] == ["the", "cat", "sat", "a", "dog", "end", "ran"]
    assert Vocab.build(reversed(CORPUS)).itos == vocab.itos  # deterministic: order of the corpus does not matter


def test_vocab_min_count_and_max_size():
    assert Vocab.build(CORPUS, min_count=2).itos[4:] == ["the", "cat", "sat"]
    assert Vocab.build(CORPUS, max_size=6).itos == list(SPECIALS) + ["the", "cat"]
    with pytest.raises(ValueError, match="min_count must be >= 1"):
        Vocab.build(CORPUS, min_count=0)
    with pytest.raises(ValueError, match="max_size must leave room"):
        Vocab.build(CORPUS, max_size=3)


def test_encode_decode_round_trip_and_unknown_words():
    vocab = Vocab.build(CORPUS)
    tokens = ["the", "cat", "ran"]
    ids = vocab.encode(tokens, bos=True, eos=True)
    assert ids[0] == vocab.bos and ids[-1] == vocab.eos
    assert vocab.decode(ids) == tokens
    assert vocab.decode(ids, strip=False) == [BOS] + tokens + [EOS]
    assert vocab.encode(["the", "zebra"]) == [vocab.stoi["the"], vocab.unk]
    assert vocab.decode(vocab.encode(["the", "zebra"])) == ["the", UNK]
    assert vocab.decode(torch.tensor([4, 5, 3, 6])) == ["the", "cat"]  # stops at <eos>


def test_batch_pads_with_pad_and_cuts_to_length():
    vocab = Vocab.build(CORPUS)
    batch = vocab.batch([["the", "cat", "sat"], ["a"]])
    assert batch.dtype == torch.long and batch.shape == (2, 3)
    assert batch[1].tolist() == [vocab.stoi["a"], 0, 0]
    assert [vocab.decode(row) for row in batch] == [["the", "cat", "sat"], ["a"]]
    assert vocab.batch([["the", "cat", "sat"]], length=2).tolist() == [[4, 5]]


def test_round_trip_through_itos():
    vocab = Vocab.build(CORPUS)
    assert Vocab(vocab.itos).stoi == vocab.stoi
    with pytest.raises(ValueError, match="must start with the special tokens"):
        Vocab(["cat", PAD, UNK, BOS, EOS])
    with pytest.raises(ValueError, match="twice"):
        Vocab(list(SPECIALS) + ["cat", "cat"])
