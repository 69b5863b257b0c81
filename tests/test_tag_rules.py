"""Decoding keeps the BIO rule: the rule, the best sequence, its in-graph twin, `decode`."""

import itertools

import numpy as np
import pytest

from nlu_tf.data.reader import LabelMaps
from nlu_tf.decoding import decode
from nlu_tf.tag_rules import best_path, transition_rules

SLOTS = ("PAD", "UNK", "O", "B-city", "I-city", "B-date", "I-date", "I-orphan")


def _keeps_rule(tags, slots=SLOTS):
    begins = {tag[2:] for tag in slots if tag.startswith("B-")}
    previous = "O"
    for tag in tags:
        if tag.startswith("I-") and tag[2:] in begins and previous[2:] != tag[2:]:
            return False
        previous = tag
    return True


def _brute_force(scores, slots=SLOTS):
    """The best rule-keeping sequence by trying every sequence (first best on ties)."""
    best, best_ids = -np.inf, None
    for ids in itertools.product(range(len(slots)), repeat=len(scores)):
        total = sum(scores[word, tag] for word, tag in enumerate(ids))
        if _keeps_rule([slots[i] for i in ids], slots) and total > best:
            best, best_ids = total, list(ids)
    return best_ids


def test_rule_binds_i_tags_whose_b_tag_is_a_label():
    start, allowed = transition_rules(SLOTS)
    index = {tag: i for i, tag in enumerate(SLOTS)}
    assert not start[index["I-city"]] and start[index["B-city"]] and start[index["O"]]
    followers = {SLOTS[i] for i in np.flatnonzero(allowed[:, index["I-city"]])}
    assert followers == {"B-city", "I-city"}
    # An I- tag without its B- tag (the IO scheme) may start and follow anything.
    assert start[index["I-orphan"]] and allowed[:, index["I-orphan"]].all()
    # Every other tag may follow every tag.
    assert allowed[:, index["B-date"]].all() and allowed[index["I-date"], index["O"]]


def test_best_path_is_the_best_rule_keeping_sequence():
    rng = np.random.default_rng(0)
    start, allowed = transition_rules(SLOTS)
    broken = 0
    for words in range(0, 5):
        for _ in range(40 if words else 1):
            scores = rng.normal(size=(words, len(SLOTS)))
            path = best_path(scores, start, allowed)
            assert path == (_brute_force(scores) if words else [])
            argmax = [SLOTS[i] for i in scores.argmax(axis=-1)]
            broken += not _keeps_rule(argmax)
            if _keeps_rule(argmax):  # a rule-keeping argmax is the best sequence itself
                assert path == list(scores.argmax(axis=-1))
    assert broken > 20  # the cases where the rule changes the answer were exercised


def test_best_path_never_picks_a_blocked_tag():
    start, allowed = transition_rules(SLOTS)
    scores = np.full((3, len(SLOTS)), -1.0)
    scores[:, 0] = -np.inf
    scores[:, 1] = -np.inf
    scores[1, SLOTS.index("I-city")] = 5.0  # best alone, reachable only through B-city
    scores[0, SLOTS.index("B-city")] = -2.0
    path = [SLOTS[i] for i in best_path(scores, start, allowed)]
    assert path == ["B-city", "I-city", "O"]


def test_graph_twin_matches_on_a_padded_batch():
    tf = pytest.importorskip("tensorflow")
    from nlu_tf.export.graph_decoding import best_paths

    rng = np.random.default_rng(1)
    start, allowed = transition_rules(SLOTS)
    lengths = np.array([0, 1, 2, 5, 7, 3], np.int32)
    scores = rng.normal(size=(len(lengths), 7, len(SLOTS))).astype(np.float32)
    scores[..., :2] = -np.inf
    paths = best_paths(tf.constant(scores), tf.constant(lengths), tf.constant(start),
                       tf.constant(allowed)).numpy()
    assert paths.shape == scores.shape[:2]
    for row, length in enumerate(lengths):
        assert list(paths[row, :length]) == best_path(scores[row, :length], start, allowed)
    empty = best_paths(tf.zeros((2, 0, len(SLOTS))), tf.zeros(2, tf.int32),
                       tf.constant(start), tf.constant(allowed))
    assert empty.shape == (2, 0)


def test_decode_keeps_the_rule_and_skips_words_without_tokens():
    rng = np.random.default_rng(2)
    labels = LabelMaps(("UNK", "book", "play"), SLOTS)
    slot_logits = rng.normal(size=(3, 6, len(SLOTS)))
    intent_logits = rng.normal(size=(3, 3))
    # Row 0: [CLS] w0 w0 w1 w3 [SEP] (w2 has no token); row 1: one word; row 2: none.
    starts = [np.array([-1, 0, -1, 1, 3, -1]), np.array([-1, 0, -1]), np.array([-1, -1])]
    num_words = np.array([4, 1, 0])
    predictions = decode(intent_logits, slot_logits, starts, num_words, labels)
    assert [len(p.tags) for p in predictions] == [4, 1, 0]
    assert predictions[0].tags[2] == "O"
    start, allowed = transition_rules(SLOTS)
    scored = slot_logits[0, [1, 3, 4]].copy()
    scored[:, :2] = -np.inf
    expected = [SLOTS[i] for i in best_path(scored, start, allowed)]
    assert [predictions[0].tags[i] for i in (0, 1, 3)] == expected
    assert _keeps_rule(expected) and _keeps_rule(predictions[1].tags)
    assert all(tag not in ("PAD", "UNK") for p in predictions for tag in p.tags)
