"""Prediction on raw text lines: batched inference, slot spans, text and JSON output lines.

Every input line gives exactly one output line, so outputs stay aligned with inputs. Input
files are read with `nlu_tf.data.reader.read_lines` (UTF-8, LF or CRLF, empty lines kept).

A line is split on whitespace into words (`WordPieceTokenizer.encode_text`); each word is
scored at its first sub-token, and the words take the best tag sequence that keeps the BIO
rule (`nlu_tf.decoding`, `nlu_tf.tag_rules`). Words that do not fit in `max_seq_len` tokens are
tagged "O" and counted in one warning. A line without any word (empty, or whitespace
only) is not sent to the model: it gives an empty text line, or a JSON object with
`intent` and `intent_prob` null and no slots or tags.

Text format (as the original JointBERT `predict.py`): the intent in angle brackets, then
the words separated by single spaces, each tagged word written `[TAG:word]`:

    <PlayMusic> -> play [B-artist:Björk] [B-music_item:song]

JSON format: one object per line,

    {"text": ..., "intent": ..., "intent_prob": ..., "truncated": false,
     "slots": [{"slot": "artist", "text": "Björk", "start": 5, "end": 10}],
     "tags": ["O", "B-artist", ...]}

`tags` holds one BIO tag per word. `slots` merges tags into spans the way conlleval (and
the slot F1) does: a span starts at `B-x`, or at an `I-x` not continuing an `x` span, and
extends over the following `I-x`. `start` / `end` are character offsets (Python string
indices, i.e. Unicode code points) into `text`, the input line without its line ending,
so `text[start:end]` is the span's text, inner whitespace included.
"""

import dataclasses
import json
import logging

from nlu_tf.data.features import features_from_encodings
from nlu_tf.data.word_spans import WordTexts
from nlu_tf.decoding import predict
from nlu_tf.tag_rules import bio_spans

logger = logging.getLogger(__name__)

FORMATS = ("text", "json")


@dataclasses.dataclass(frozen=True)
class LinePrediction:
    """The prediction for one input line.

    Attributes:
        text: the line as read (without line ending).
        words: the whitespace-separated words of `text`.
        word_spans: `(start, end)` character offsets of every word in `text`.
        intent: the predicted intent; None for a line without words.
        intent_prob: the softmax probability of `intent`; None for a line without words.
        tags: one BIO tag per word.
        truncated: True if words beyond `max_seq_len` tokens were tagged "O" unseen.
    """

    text: str
    words: tuple
    word_spans: tuple
    intent: str = None
    intent_prob: float = None
    tags: tuple = ()
    truncated: bool = False


def predict_lines(predictor, lines, batch_size=64):
    """Predicts intent and tags for raw text lines, in batches of similar length.

    Logs one warning counting the lines that were truncated to `predictor.max_seq_len`. For
    a long file, `nlu_tf.serving.prediction_stream.predict_stream` keeps memory bounded.

    Args:
        predictor: a `nlu_tf.predictor.Predictor`.
        lines: the input lines (str).
        batch_size: lines per forward pass.

    Returns:
        One `LinePrediction` per line, in input order.
    """
    results = predict_chunk(predictor, lines, batch_size)
    log_truncated(sum(result.truncated for result in results), len(results), predictor.max_seq_len)
    return results


def predict_chunk(predictor, lines, batch_size=64):
    """`predict_lines` without the truncation warning (callers count over many chunks)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    encodings = [predictor.tokenizer.encode_text(line, predictor.max_seq_len) for line in lines]
    results = [LinePrediction(line, WordTexts(line, enc.word_spans), enc.word_spans)
               for line, enc in zip(lines, encodings)]
    todo = [i for i, enc in enumerate(encodings) if enc.num_words]
    # Sorted by length so that each batch is padded little; results go back to input order.
    todo.sort(key=lambda i: len(encodings[i]))
    features = features_from_encodings([encodings[i] for i in todo], predictor.tokenizer.pad_id)
    predictions = predict(predictor.logits_fn, features, predictor.labels, batch_size) if todo else []
    for i, prediction in zip(todo, predictions):
        results[i] = dataclasses.replace(results[i], intent=prediction.intent,
                                         intent_prob=prediction.intent_prob,
                                         tags=prediction.tags, truncated=encodings[i].truncated)
    return results


def log_truncated(truncated, total, max_seq_len):
    """Logs the one warning counting truncated lines (nothing when there are none)."""
    if truncated:
        logger.warning("%d of %d line(s) longer than max_seq_len=%d tokens were truncated; "
                       "their words beyond the limit are tagged 'O'", truncated, total,
                       max_seq_len)


def slot_spans(result):
    """Merges the BIO tags of a `LinePrediction` into slot spans (conlleval chunking).

    Args:
        result: a `LinePrediction`.

    Returns:
        A list of dicts `{"slot", "text", "start", "end"}`; offsets index `result.text`.
    """
    spans = []
    for first, end, name in bio_spans(result.tags):
        start, stop = result.word_spans[first][0], result.word_spans[end - 1][1]
        spans.append({"slot": name, "text": result.text[start:stop], "start": start,
                      "end": stop})
    return spans


# Items joined per write: a line of millions of words is written without one object per word.
_BATCH = 4096
_TEXT_CHUNK = 1 << 20


def _write_joined(write, items, separator):
    """Writes `separator.join(items)` in batches of `_BATCH` items."""
    batch, first = [], True
    for item in items:
        batch.append(item)
        if len(batch) == _BATCH:
            write(("" if first else separator) + separator.join(batch))
            batch, first = [], False
    if batch:
        write(("" if first else separator) + separator.join(batch))


def write_text(result, write):
    """Writes the text output line of `result` (see `format_text`) through `write(str)`."""
    if result.intent is None:
        return
    write(f"<{result.intent}> -> ")
    _write_joined(write, (word if tag == "O" else f"[{tag}:{word}]"
                          for word, tag in zip(result.words, result.tags)), " ")


def write_json(result, write):
    """Writes the JSON output line of `result` (see `format_json`) through `write(str)`."""
    prob = None if result.intent_prob is None else round(float(result.intent_prob), 6)
    write('{"text": "')
    for start in range(0, len(result.text), _TEXT_CHUNK):  # JSON escapes character by character
        write(json.dumps(result.text[start:start + _TEXT_CHUNK], ensure_ascii=False)[1:-1])
    head = {"intent": result.intent, "intent_prob": prob, "truncated": bool(result.truncated),
            "slots": slot_spans(result)}
    write('", ' + json.dumps(head, ensure_ascii=False)[1:-1] + ', "tags": [')
    _write_joined(write, (json.dumps(tag, ensure_ascii=False) for tag in result.tags), ", ")
    write("]}")


def _formatted(write_one, result):
    parts = []
    write_one(result, parts.append)
    return "".join(parts)


def format_text(result):
    """The text output line: `<intent> -> word [TAG:word] ...`; empty for a line without words."""
    return _formatted(write_text, result)


def format_json(result):
    """The JSON output line (one object, non-ASCII characters kept as they are)."""
    return _formatted(write_json, result)


def formatter(output_format="text"):
    """The function formatting one `LinePrediction` as one output line (without newline)."""
    if output_format not in FORMATS:
        raise ValueError(f"output_format must be one of {FORMATS}, got {output_format!r}")
    return format_text if output_format == "text" else format_json


def writer(output_format="text"):
    """`write_one(result, write)`: writes one output line (without newline) piece by piece,
    so that a line of millions of words is never held whole in memory twice."""
    if output_format not in FORMATS:
        raise ValueError(f"output_format must be one of {FORMATS}, got {output_format!r}")
    return write_text if output_format == "text" else write_json


def format_lines(results, output_format="text"):
    """Formats `LinePrediction`s as output text: one line per result, each ending in a newline.

    Args:
        results: `LinePrediction`s.
        output_format: "text" or "json" (see the module docstring).

    Returns:
        The output text.
    """
    format_one = formatter(output_format)
    return "".join(format_one(result) + "\n" for result in results)
