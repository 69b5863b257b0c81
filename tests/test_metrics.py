"""Tests of nlu_tf.metrics on examples scored by hand."""

import pytest

from nlu_tf.metrics import compute_metrics, is_better

# Three utterances. Spans as conlleval reads them (type, first word, last word):
#   1. gold x(0-1) y(3)        pred x(0-1) y(3)            both right; intent right
#   2. gold x(1-2)             pred x(1-1) z(3)            boundary error on x; the I-z after
#                                                          O starts a span of its own; intent wrong
#   3. gold y(0) x(2)          pred y(0) x(2)              the I-y without B- starts a span
#                                                          that matches B-y; intent right
# Gold spans 5, predicted 6, right 4: precision 4/6, recall 4/5, F1 2PR/(P+R) = 8/11.
# Intent accuracy 2/3. Sentence accuracy compares tags, not spans: utterance 3 has I-y
# where gold has B-y, so only utterance 1 is right: 1/3.
GOLD_INTENTS = ["A", "B", "A"]
PRED_INTENTS = ["A", "A", "A"]
GOLD_TAGS = [["B-x", "I-x", "O", "B-y"], ["O", "B-x", "I-x", "O"], ["B-y", "O", "B-x"]]
PRED_TAGS = [["B-x", "I-x", "O", "B-y"], ["O", "B-x", "O", "I-z"], ["I-y", "O", "B-x"]]


def test_hand_computed_example():
    m = compute_metrics(GOLD_INTENTS, PRED_INTENTS, GOLD_TAGS, PRED_TAGS, breakdown=True)
    assert m["examples"] == 3
    assert m["intent_acc"] == pytest.approx(2 / 3)
    assert m["slot_precision"] == pytest.approx(4 / 6)
    assert m["slot_recall"] == pytest.approx(4 / 5)
    assert m["slot_f1"] == pytest.approx(8 / 11)
    assert m["sentence_acc"] == pytest.approx(1 / 3)
    # x: gold 3, predicted 3, right 2; y: 2 / 2 / 2; z: predicted once, never gold.
    assert m["per_slot"]["x"] == pytest.approx(
        {"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3})
    assert m["per_slot"]["y"] == pytest.approx(
        {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2})
    assert m["per_slot"]["z"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    # A: gold 2, predicted 3, right 2 (P 2/3, R 1, F1 0.8); B: gold 1, never predicted.
    assert m["per_intent"]["A"] == pytest.approx(
        {"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2})
    assert m["per_intent"]["B"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}


def test_a_tag_outside_the_bio_scheme_is_refused():
    for tag in ("E-x", "UNK", "B-", "X-city"):
        with pytest.raises(ValueError, match=f"tag '{tag}' is not O, B-x or I-x"):
            compute_metrics(["A"], ["A"], [["O", tag]], [["O", "O"]])


def test_perfect_predictions_score_one():
    m = compute_metrics(GOLD_INTENTS, GOLD_INTENTS, GOLD_TAGS, GOLD_TAGS)
    assert (m["intent_acc"], m["slot_f1"], m["sentence_acc"]) == (1.0, 1.0, 1.0)
    assert "per_slot" not in m


def test_out_of_vocabulary_gold_labels_count_as_errors():
    # The model maps an unknown gold intent to UNK and can at best predict UNK; the gold
    # string is what is scored, so that is still an error. Likewise an unknown gold tag
    # (its span is missed: the model never predicts a tag it does not have).
    m = compute_metrics(["Known", "BrandNew"], ["Known", "UNK"],
                        [["B-city"], ["B-new_slot"]], [["B-city"], ["O"]])
    assert m["intent_acc"] == 0.5
    assert m["slot_precision"] == 1.0
    assert m["slot_recall"] == 0.5
    assert m["sentence_acc"] == 0.5


def test_mismatched_inputs_are_rejected():
    with pytest.raises(ValueError, match="length"):
        compute_metrics(["A"], [], [["O"]], [["O"]])
    with pytest.raises(ValueError, match="tags"):
        compute_metrics(["A"], ["A"], [["O", "O"]], [["O"]])
    with pytest.raises(ValueError, match="no examples"):
        compute_metrics([], [], [], [])


def test_is_better_prefers_sentence_accuracy_then_slot_f1():
    best = {"sentence_acc": 0.80, "slot_f1": 0.90}
    assert is_better(best, None)
    assert is_better({"sentence_acc": 0.81, "slot_f1": 0.50}, best)
    assert not is_better({"sentence_acc": 0.79, "slot_f1": 0.99}, best)
    assert is_better({"sentence_acc": 0.80, "slot_f1": 0.91}, best)
    assert not is_better({"sentence_acc": 0.80, "slot_f1": 0.89}, best)
    # An exact tie keeps the earlier checkpoint.
    assert not is_better(dict(best), best)
