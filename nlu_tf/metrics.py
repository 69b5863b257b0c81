"""Joint NLU metrics: intent accuracy, slot F1 (seqeval, conlleval span matching), sentence accuracy.

Gold labels are the dataset's own strings, so an intent or a tag outside the model's
vocabulary can never be matched and counts as an error.
"""

import collections

from seqeval.metrics import classification_report, f1_score, precision_score, recall_score


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
    gold_tags = [list(tags) for tags in gold_tags]
    pred_tags = [list(tags) for tags in pred_tags]
    result = {
        "examples": total,
        "intent_acc": sum(intent_right) / total,
        "slot_f1": f1_score(gold_tags, pred_tags, zero_division=0),
        "slot_precision": precision_score(gold_tags, pred_tags, zero_division=0),
        "slot_recall": recall_score(gold_tags, pred_tags, zero_division=0),
        "sentence_acc": sum(i and t for i, t in zip(intent_right, tags_right)) / total,
    }
    if breakdown:
        result["per_intent"] = _per_intent(gold_intents, pred_intents)
        report = classification_report(gold_tags, pred_tags, output_dict=True, zero_division=0)
        result["per_slot"] = {
            name: {"precision": float(row["precision"]), "recall": float(row["recall"]),
                   "f1": float(row["f1-score"]), "support": int(row["support"])}
            for name, row in report.items() if not name.endswith(" avg")
        }
    return result


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
