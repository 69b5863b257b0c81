"""Joint NLU metrics: intent accuracy, slot F1 (conlleval span matching), sentence accuracy.

Slot precision, recall and F1 are micro-averaged over exact spans (type, first word, last
word) as `tag_rules.bio_spans` chunks them: the figures seqeval's default mode gives, to
the last bit, without its dependency on scikit-learn (whose import, pulled in by Keras
whenever it is installed, cost every command over a second of start-up).

Gold labels are the dataset's own strings, so an intent or a tag outside the model's
vocabulary can never be matched and counts as an error.
"""

import collections

from nlu_tf.tag_rules import bio_spans


def compute_metrics(gold_intents, pred_intents, gold_tags, pred_tags, breakdown=False):
    """Scores predictions against gold labels.

    Args:
        gold_intents: list[str], one intent per utterance.
        pred_intents: list[str], predicted intents, same length.
        gold_tags: list[list[str]], BIO tags per word.
        pred_tags: list[list[str]], predicted tags per word, same shapes as `gold_tags`.
        breakdown: bool, also return per-intent and per-slot scores.

    Returns:
        dict with `intent_acc`, `slot_f1`, `slot_precision`, `slot_recall`, `sentence_acc`
        (all in [0, 1]), `examples`, and with `breakdown` the `per_intent` / `per_slot` dicts.
    """
    if not (len(gold_intents) == len(pred_intents) == len(gold_tags) == len(pred_tags)):
        raise ValueError("gold and predicted lists differ in length")
    for gold, pred in zip(gold_tags, pred_tags):
        if len(gold) != len(pred):
            raise ValueError(f"{len(pred)} predicted tags for {len(gold)} gold tags")
    total = len(gold_intents)
    if total == 0:
        raise ValueError("no examples to score")
    intent_right = [g == p for g, p in zip(gold_intents, pred_intents)]
    tags_right = [list(g) == list(p) for g, p in zip(gold_tags, pred_tags)]
    gold_spans, pred_spans = _spans(gold_tags), _spans(pred_tags)
    slots = _scores(len(gold_spans & pred_spans), len(pred_spans), len(gold_spans))
    result = {
        "examples": total,
        "intent_acc": sum(intent_right) / total,
        "slot_f1": slots["f1"],
        "slot_precision": slots["precision"],
        "slot_recall": slots["recall"],
        "sentence_acc": sum(i and t for i, t in zip(intent_right, tags_right)) / total,
    }
    if breakdown:
        result["per_intent"] = _per_intent(gold_intents, pred_intents)
        result["per_slot"] = _per_slot(gold_spans, pred_spans)
    return result


def _spans(tag_rows):
    """Every span of every utterance as `(utterance, start, end, type)`."""
    return {(row, *span) for row, tags in enumerate(tag_rows) for span in bio_spans(tags)}


def _scores(right, predicted, gold):
    """Precision, recall and F1 from counts; 0 where a denominator is 0. F1 is computed
    as 2PR / (P + R) in that order, as seqeval computes it, so the floats agree exactly."""
    precision = right / predicted if predicted else 0.0
    recall = right / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": gold}


def _per_slot(gold_spans, pred_spans):
    """{slot type: precision, recall, f1, support} for every type gold or predicted."""
    by_type = collections.defaultdict(lambda: (set(), set()))
    for spans, side in ((gold_spans, 0), (pred_spans, 1)):
        for span in spans:
            by_type[span[3]][side].add(span)
    return {name: _scores(len(gold & pred), len(pred), len(gold))
            for name, (gold, pred) in sorted(by_type.items())}


def _per_intent(gold, pred):
    counts = collections.defaultdict(lambda: {"support": 0, "correct": 0, "predicted": 0})
    for g, p in zip(gold, pred):
        counts[g]["support"] += 1
        counts[p]["predicted"] += 1
        counts[g]["correct"] += g == p
    table = {}
    for name, c in sorted(counts.items()):
        precision = c["correct"] / c["predicted"] if c["predicted"] else 0.0
        recall = c["correct"] / c["support"] if c["support"] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        table[name] = {"precision": precision, "recall": recall, "f1": f1,
                       "support": c["support"]}
    return table


def is_better(candidate, best):
    """Model selection: higher sentence accuracy wins, ties broken by slot F1."""
    if best is None:
        return True
    return (candidate["sentence_acc"], candidate["slot_f1"]) > (best["sentence_acc"], best["slot_f1"])
