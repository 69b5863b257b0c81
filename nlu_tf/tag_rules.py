"""Which slot tag may follow which, and the best tag sequence that keeps to it.

In the BIO scheme `I-x` continues a span of type x: it may follow only `B-x` or `I-x`, and
no utterance starts with it. Decoding each word's tag on its own (argmax) can break that
rule, and a broken span costs the whole utterance in slot F1 and sentence accuracy. So
decoding picks, among the tag sequences that keep the rule, the one with the largest sum
of the words' slot logits (Viterbi). The sum of logits and the sum of log-probabilities
choose the same sequence: every sequence takes one tag per word, and the softmax of a word
subtracts the same constant from all its tags.

`bio_spans` reads the spans out of a tag sequence the way conlleval (and seqeval's default
mode) chunks it; slot F1 counts those spans.

The rule binds a type x only where `B-x` is a label too: in a label set of the IO scheme
(`I-x` without `B-x`) every tag may follow every other. This module imports no TensorFlow;
`nlu_tf.export.graph_decoding` is its in-graph twin.
"""

import numpy as np


def bio_spans(tags):
    """The `(start, end, type)` slot spans of one utterance's BIO tags, `end` exclusive.

    Chunked as conlleval chunks BIO: `B-x` starts a span; `I-x` continues the span just
    before it when that span is of type x, and starts one otherwise (datasets hold a few
    `I-` tags without their `B-`); `O` ends a span.

    Raises:
        ValueError: a tag that is not `O`, `B-x` or `I-x`.
    """
    spans = []
    for index, tag in enumerate(tags):
        if tag == "O":
            continue
        prefix, dash, slot_type = tag.partition("-")
        if prefix not in ("B", "I") or not dash or not slot_type:
            raise ValueError(f"tag {tag!r} is not O, B-x or I-x")
        if prefix == "I" and spans and spans[-1][1] == index and spans[-1][2] == slot_type:
            spans[-1] = (spans[-1][0], index + 1, slot_type)
        else:
            spans.append((index, index + 1, slot_type))
    return spans


def transition_rules(slot_labels):
    """The BIO rule over `slot_labels` as boolean arrays.

    Args:
        slot_labels: the slot tags, logit index i is tag i.

    Returns:
        `(start, allowed)`: `start` (S,), True for the tags an utterance may start with;
        `allowed` (S, S), `allowed[i, j]` True if tag j may follow tag i.
    """
    prefix = [label[:2] for label in slot_labels]
    begin, inside = (np.array([p == wanted for p in prefix], bool) for wanted in ("B-", "I-"))
    kind = np.unique([label[2:] for label in slot_labels], return_inverse=True)[1]
    # I-x whose B-x is a label: it starts nothing and follows only B-x or I-x.
    bound = inside & np.isin(kind, kind[begin])
    in_span = (kind[:, None] == kind[None, :]) & (begin | inside)[:, None]
    start = ~bound
    allowed = ~bound[None, :] | in_span
    return start, allowed


def best_path(scores, start, allowed):
    """The tag ids of the highest-scoring sequence that keeps the rule.

    Args:
        scores: (W, S) float, one row of slot scores per word (logits; -inf never chosen).
        start, allowed: from `transition_rules`.

    Returns:
        A list of W tag ids (empty for W = 0). Ties go to the lower tag id.
    """
    words = len(scores)
    if words == 0:
        return []
    barrier = np.where(allowed, 0.0, -np.inf)
    total = np.where(start, scores[0], -np.inf)
    back = np.zeros((words, scores.shape[1]), np.int64)
    for step in range(1, words):
        candidates = total[:, None] + barrier
        back[step] = candidates.argmax(axis=0)
        total = candidates.max(axis=0) + scores[step]
    path = [int(total.argmax())]
    for step in range(words - 1, 0, -1):
        path.append(int(back[step, path[-1]]))
    return path[::-1]


NEVER_CHOSEN = ("PAD", "UNK")


def best_tags(intent_logits, word_scores, slot_labels):
    """The intent id and the word tag ids of one utterance, as every artefact decodes them.

    Args:
        intent_logits: (I,) logits; the intent is their argmax (ties: the lower id).
        word_scores: (W, S) slot logits, one row per word (at its first sub-token); the
            tags in `NEVER_CHOSEN` are never chosen.
        slot_labels: the slot tags, logit index i is tag i.

    Returns:
        `(intent id, [tag id per word])`.
    """
    scores = np.array(word_scores, np.float64).reshape(-1, len(slot_labels))
    scores[:, [i for i, label in enumerate(slot_labels) if label in NEVER_CHOSEN]] = -np.inf
    start, allowed = transition_rules(slot_labels)
    return int(np.argmax(intent_logits)), best_path(scores, start, allowed)
