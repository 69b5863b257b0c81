"""Tests of nlu_tf.data.features: first-sub-token slot alignment and truncation."""

import logging

import numpy as np
import pytest

from nlu_tf.data.features import IGNORE, encode_examples, features_from_encodings
from nlu_tf.data.reader import Example, LabelMaps
from nlu_tf.data.tokenizer import WordPieceTokenizer

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "play", "##list", "jazz", "on", "spot", "##ify",
         "now"]
LABELS = LabelMaps(intents=("UNK", "PlayMusic", "AddToPlaylist"),
                   slots=("PAD", "UNK", "O", "B-genre", "B-service", "I-service"))


@pytest.fixture
def tokenizer():
    return WordPieceTokenizer(VOCAB)


def example(text, tags, intent="PlayMusic"):
    return Example(tuple(text.split()), tuple(tags.split()), intent)


def test_labels_on_first_sub_tokens_only(tokenizer):
    examples = [example("play jazz on spotify", "O B-genre O B-service"),
                example("Playlist now", "O O", "AddToPlaylist")]
    features = encode_examples(examples, tokenizer, LABELS, max_seq_len=16, source="toy")
    assert len(features) == 2 and features.labelled
    o, genre, service = 2, 3, 4
    # [CLS] play jazz on spot ##ify [SEP]
    np.testing.assert_array_equal(features.input_ids[0], [2, 4, 6, 7, 8, 9, 3])
    np.testing.assert_array_equal(features.slot_labels[0],
                                  [IGNORE, o, genre, o, service, IGNORE, IGNORE])
    np.testing.assert_array_equal(features.word_starts[0], [-1, 0, 1, 2, 3, -1, -1])
    # [CLS] play ##list now [SEP]
    np.testing.assert_array_equal(features.slot_labels[1], [IGNORE, o, IGNORE, o, IGNORE])
    np.testing.assert_array_equal(features.intent, [1, 2])
    np.testing.assert_array_equal(features.num_words, [4, 2])
    np.testing.assert_array_equal(features.lengths, [7, 5])
    assert all(ids.dtype == np.int32 for ids in features.input_ids + features.slot_labels)
    assert features.intent.dtype == np.int32 and features.pad_id == 0


def test_word_without_pieces_has_no_label(tokenizer):
    features = encode_examples([example("play \x07 jazz", "O O B-genre")], tokenizer, LABELS, 16)
    np.testing.assert_array_equal(features.slot_labels[0], [IGNORE, 2, 3, IGNORE])
    np.testing.assert_array_equal(features.word_starts[0], [-1, 0, 2, -1])
    assert features.num_words[0] == 3


def test_truncation_warning_is_counted(tokenizer, caplog):
    examples = [example("play jazz on spotify", "O B-genre O B-service"),
                example("play jazz", "O B-genre"),
                example("play jazz on now", "O B-genre O O")]
    with caplog.at_level(logging.WARNING, logger="nlu_tf.data.features"):
        features = encode_examples(examples, tokenizer, LABELS, max_seq_len=5, source="toy/train")
    warnings = [r for r in caplog.records if r.name == "nlu_tf.data.features"]
    assert len(warnings) == 1
    assert "toy/train: 2 of 3 utterance(s)" in warnings[0].getMessage()
    np.testing.assert_array_equal(features.truncated, [True, False, True])
    # The dropped words still count: 4 words, 3 of them with a position.
    np.testing.assert_array_equal(features.num_words, [4, 2, 4])
    np.testing.assert_array_equal(features.slot_labels[0], [IGNORE, 2, 3, 2, IGNORE])
    assert max(features.lengths) <= 5


def test_no_warning_without_truncation(tokenizer, caplog):
    with caplog.at_level(logging.WARNING):
        encode_examples([example("play jazz", "O B-genre")], tokenizer, LABELS, 8)
    assert not [r for r in caplog.records if r.name == "nlu_tf.data.features"]


def test_unlabelled_features_from_encodings(tokenizer):
    encodings = [tokenizer.encode_text("play  jazz", 8), tokenizer.encode_text("now", 8)]
    features = features_from_encodings(encodings, tokenizer.pad_id)
    assert not features.labelled and len(features) == 2
    np.testing.assert_array_equal(features.input_ids[1], [2, 10, 3])
    np.testing.assert_array_equal(features.num_words, [2, 1])
