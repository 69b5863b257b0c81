"""The decoding outputs of every plain `.tflite` (nlu_tf/export/decoding_outputs.py)."""

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from nlu_tf.data.features import encode_examples
from nlu_tf.data.reader import LabelMaps, read_split
from nlu_tf.decoding import predict
from nlu_tf.export.decoding_outputs import (NOT_A_WORD, attach_decoding, decoding_tflite,
                                            word_start_flags)
from nlu_tf.export.tflite import convert_model
from nlu_tf.export.tflite_interpreter import TFLiteLogits
from nlu_tf.model_io.model_dir import load_model_dir
from nlu_tf.tag_rules import best_tags

MAX_SEQ_LEN = 12
# B/I pairs, an I- tag without its B- (free: the IO scheme), PAD and UNK (never chosen).
LABELS = LabelMaps(("UNK", "a", "b"), ("PAD", "UNK", "O", "B-x", "I-x", "B-y", "I-y", "I-z"))


@pytest.fixture(scope="module")
def decoder():
    return Interpreter(model_content=decoding_tflite(LABELS, MAX_SEQ_LEN)).get_signature_runner()


def test_graph_decoding_equals_nlu_tf_decoding(decoder):
    rng = np.random.default_rng(0)
    slots = len(LABELS.slots)
    for case in range(300):
        length = int(rng.integers(1, MAX_SEQ_LEN + 1))
        # Coarse logits: ties happen, and must go the same way.
        intent = rng.integers(-2, 3, (1, len(LABELS.intents))).astype(np.float32)
        slot = (rng.integers(-4, 5, (1, length, slots)) / 2).astype(np.float32)
        starts = (rng.random((1, length)) < 0.6).astype(np.int32)
        out = decoder(intent_logits=intent, slot_logits=slot, word_starts=starts)
        words = np.flatnonzero(starts[0])
        expected = best_tags(intent[0], slot[0][words], LABELS.slots)
        assert (int(out["intent_id"][0]), out["slot_ids"][0][words].tolist()) == expected, case
        assert (out["slot_ids"][0][starts[0] == 0] == NOT_A_WORD).all()
        probs = np.exp(intent[0] - intent[0].max())
        np.testing.assert_allclose(out["intent_prob"][0], probs.max() / probs.sum(), rtol=1e-6)


def test_an_input_longer_than_max_seq_len_is_refused(decoder):
    length = MAX_SEQ_LEN + 1
    with pytest.raises((RuntimeError, ValueError)):
        decoder(intent_logits=np.zeros((1, 3), np.float32),
                slot_logits=np.zeros((1, length, len(LABELS.slots)), np.float32),
                word_starts=np.ones((1, length), np.int32))


def test_word_start_flags():
    np.testing.assert_array_equal(word_start_flags([-1, 0, -1, 1, 2, -1], 5), [[0, 1, 0, 1, 1]])


def _spliced(export_model_dir, labels_of_graph):
    bundle = load_model_dir(export_model_dir)
    content = convert_model(bundle.model, "float32")[0]
    spliced = attach_decoding(content, decoding_tflite(labels_of_graph, bundle.max_seq_len))
    with pytest.raises(ValueError, match="already has"):
        attach_decoding(spliced, decoding_tflite(labels_of_graph, bundle.max_seq_len))
    return bundle, content, spliced


def _predict_checked(tmp_path, bundle, spliced, tiny_data_dir):
    path = tmp_path / "model.tflite"
    path.write_bytes(spliced)
    logits_fn = TFLiteLogits(str(path), labels=bundle.labels)
    features = encode_examples(read_split(tiny_data_dir, "test"), bundle.tokenizer,
                               bundle.labels, bundle.max_seq_len)
    predict(logits_fn, features, bundle.labels, batch_size=8)
    return logits_fn.decoding_check, len(features)


def test_spliced_model_keeps_its_logits_and_passes_the_check(export_model_dir, tiny_data_dir,
                                                            tmp_path):
    bundle, content, spliced = _spliced(export_model_dir,
                                        LabelMaps.from_dir(export_model_dir))
    ids = np.array([[2, 7, 9, 11, 3]], np.int32)
    feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids),
             "token_type_ids": np.zeros_like(ids)}
    plain = Interpreter(model_content=content).get_signature_runner()(**feeds)
    decoded = Interpreter(model_content=spliced).get_signature_runner()(
        **feeds, word_starts=np.array([[0, 1, 1, 0, 0]], np.int32))
    for name in ("intent_logits", "slot_logits"):
        np.testing.assert_array_equal(decoded[name], plain[name])
    check, count = _predict_checked(tmp_path, bundle, spliced, tiny_data_dir)
    assert check == {"utterances": count, "disagree": 0, "first_disagreement": None}


def test_the_check_catches_a_graph_that_decodes_otherwise(export_model_dir, tiny_data_dir,
                                                          tmp_path):
    # The graph's labels without the BIO rule and with PAD / UNK choosable: per-word argmax.
    def renamed(label):
        if label.startswith(("B-", "I-")):
            return "X-" + label[2:]
        return "not " + label if label in ("PAD", "UNK") else label

    true_labels = LabelMaps.from_dir(export_model_dir)
    other = LabelMaps(true_labels.intents, tuple(renamed(label) for label in true_labels.slots))
    bundle, _, spliced = _spliced(export_model_dir, other)
    check, count = _predict_checked(tmp_path, bundle, spliced, tiny_data_dir)
    assert check["utterances"] == count and check["disagree"] > 0
    assert check["first_disagreement"]["graph"] != check["first_disagreement"]["python"]
