"""Scoring predictions made elsewhere: a file of JSON lines in `nlu-predict --format json`'s
shape (another runtime, the Task Library's BertCluAnnotator, an app's own client), read back
and scored with the project's metrics, or compared line by line with another such file.

Only `text`, `intent` and `slots` (`slot`, `start`, `end`, code-point offsets into `text`)
are read; per-word tags are rebuilt from the spans over the whitespace words of `text`, so
a client whose words differ (the Task Library splits at punctuation) is scored by the
words of the dataset: a word takes a span's tag when the span covers any of it.
"""

import json
import re

from nlu_tf.data.text_lines import iter_lines
from nlu_tf.errors import InputError, quote
from nlu_tf.metrics import compute_metrics

_SPAN_KEYS = ("slot", "start", "end")
_WORD = re.compile(r"\S+")  # the words of `WordPieceTokenizer.encode_text`


def _record(path, number, line):
    try:
        record = json.loads(line)
    except ValueError:
        raise InputError(path, "not a JSON object", number) from None
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise InputError(path, "expected an object with a text", number)
    slots = record.get("slots", [])
    if (not isinstance(slots, list) or not all(isinstance(span, dict) and all(
            key in span for key in _SPAN_KEYS) for span in slots)):
        raise InputError(path, "slots must be a list of {slot, start, end}", number)
    for span in slots:
        if not (isinstance(span["start"], int) and isinstance(span["end"], int)
                and 0 <= span["start"] < span["end"] <= len(record["text"])):
            raise InputError(path, f"span {quote(span)} outside the text", number)
    return record


def read_predictions(path):
    """The prediction records of a JSON-lines file (one object per line), validated."""
    return [_record(path, number, line) for number, line in enumerate(iter_lines(path), 1)]


def tags_from_spans(text, slots):
    """Per whitespace word of `text`, the BIO tag the spans give it."""
    words = [match.span() for match in _WORD.finditer(text)]
    tags = ["O"] * len(words)
    for span in sorted(slots, key=lambda span: span["start"]):
        covered = [index for index, (start, end) in enumerate(words)
                   if start < span["end"] and span["start"] < end]
        for order, index in enumerate(covered):
            tags[index] = ("B-" if order == 0 else "I-") + str(span["slot"])
    return tags


def score_predictions(examples, records, path=""):
    """`compute_metrics` of prediction records against labelled `examples`, line by line."""
    if len(records) != len(examples):
        raise InputError(path or "predictions", f"{len(records)} predictions for "
                                                f"{len(examples)} utterances")
    tags = []
    for number, (example, record) in enumerate(zip(examples, records), 1):
        predicted = tags_from_spans(record["text"], record.get("slots", []))
        if len(predicted) != len(example.words):
            raise InputError(path or "predictions", f"{len(predicted)} words in the text, "
                                                    f"{len(example.words)} in the dataset", number)
        tags.append(predicted)
    return compute_metrics([e.intent for e in examples], [r.get("intent") for r in records],
                           [list(e.tags) for e in examples], tags, breakdown=True)


def _spans(record):
    return sorted((str(s["slot"]), s["start"], s["end"]) for s in record.get("slots", []))


def compare_predictions(records, references):
    """Line by line: the share with the same intent, the same spans, and both; the lines
    that differ as `(line number, record, reference)`."""
    if len(records) != len(references):
        raise InputError("predictions", f"{len(records)} lines against {len(references)}")
    differences = []
    same_intent = same_spans = 0
    for number, (record, reference) in enumerate(zip(records, references), 1):
        intent = record.get("intent") == reference.get("intent")
        spans = _spans(record) == _spans(reference)
        same_intent += intent
        same_spans += spans
        if not (intent and spans):
            differences.append((number, record, reference))
    count = max(len(records), 1)
    return {"utterances": len(records), "same_intent": same_intent / count,
            "same_spans": same_spans / count,
            "same_both": (len(records) - len(differences)) / count}, differences
