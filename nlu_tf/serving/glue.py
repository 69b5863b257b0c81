"""A GLUE artefact (sequence head) scored on a task's split and used for prediction.

Every artefact kind gives a `Predictor` whose logits function returns the `logits` (B, C)
of a padded batch (`nlu_tf.serving.artefact`); the examples are encoded by
`encode_glue` with the predictor's tokenizer and sequence limit, and scored by
`task_metrics`, exactly as training scores dev, so a model directory and its exports are
compared on the same inputs and the same metric code.

GLUE's test labels are not public: the labelled split here is dev (or train).

Prediction input, one example a line: the sentence (CoLA, SST-2) or `text_a<TAB>text_b`
(pair tasks); or a `.tsv` file in the task's own train / dev layout (header, columns),
whose labels are read (and checked) but not used. Output, one line an example:
  text: the label (e.g. `1`, `entailment`), or for STS-B the score with four decimals;
  json: {"text_a", "text_b", "label", "prob", "truncated"}, or for STS-B
        {"text_a", "text_b", "score", "truncated"}.
"""

import itertools
import json

import numpy as np

from nlu_tf.data.glue import glue_task, read_glue_file, read_glue_split
from nlu_tf.data.pair_features import PairFeatures, encode_glue, encode_pair
from nlu_tf.data.text_lines import iter_lines
from nlu_tf.errors import InputError
from nlu_tf.glue_evaluation import predict_logits, score_features

GLUE_SPLITS = ("dev", "train")  # the splits with public labels


def predictor_task(predictor):
    """The `GlueTask` a GLUE predictor's head was made for."""
    return glue_task(predictor.labels.task)


def evaluate_glue_split(predictor, data_dir, split="dev", batch_size=64, examples=None):
    """`task_metrics` of `predictor` on a labelled split of its task.

    Args:
        predictor: a GLUE `nlu_tf.predictor.Predictor` (any artefact kind).
        data_dir: the GLUE root or the task's folder.
        split: "dev" (the default everywhere: GLUE's test labels are not public) or "train".
        batch_size: examples per forward pass.
        examples: the split's `GlueExample`s if the caller read them already.

    Returns:
        The dict of `task_metrics`: the task's metric keys and `examples`.
    """
    if split not in GLUE_SPLITS:
        raise InputError("--split", f"GLUE's {split} labels are not public: evaluate on "
                                    f"{' or '.join(GLUE_SPLITS)}")
    task = predictor_task(predictor)
    if examples is None:
        examples = read_glue_split(data_dir, task, split)
    features = encode_glue(examples, predictor.tokenizer, task, predictor.max_seq_len,
                           f"{task.folder}/{split}")
    metrics, _ = score_features(predictor.logits_fn, task, features, batch_size)
    return metrics


def format_glue_report(metrics, title=""):
    """The metrics as text lines: the title, then one `key  value` line each."""
    keys = [key for key in metrics if key != "examples"]
    width = max(len(key) for key in keys + ["examples"])
    lines = [title] if title else []
    lines += [f"{key:<{width}}  {metrics[key]:.4f}" for key in keys]
    return "\n".join(lines + [f"{'examples':<{width}}  {metrics['examples']}"])


def pair_of_line(line, task, path="", number=0):
    """`(text_a, text_b or None)` of one input line: the sentence, or `a<TAB>b` for a pair task."""
    fields = line.split("\t")
    wanted = 2 if task.is_pair else 1
    if len(fields) != wanted or not all(field.strip() for field in fields):
        shape = "text_a<TAB>text_b" if task.is_pair else "one sentence without tabs"
        raise InputError(path or "input", f"{task.key.upper()} reads {shape} per line", number)
    return fields[0], (fields[1] if task.is_pair else None)


def read_pairs(path, task):
    """The `(text_a, text_b)` of every example of an input file (see the module docstring)."""
    if path.endswith(".tsv"):
        return [(example.text_a, example.text_b) for example in read_glue_file(path, task)]
    return [pair_of_line(line, task, path, number)
            for number, line in enumerate(iter_lines(path), 1)]


def predict_pairs(predictor, pairs, batch_size=64):
    """Yields one prediction dict per `(text_a, text_b)`, in order (see `format_line`)."""
    task = predictor_task(predictor)
    pairs = iter(pairs)
    while True:
        chunk = list(itertools.islice(pairs, batch_size * 16))  # memory bounded by a window
        if not chunk:
            return
        encoded = [encode_pair(predictor.tokenizer, a, b, predictor.max_seq_len)
                   for a, b in chunk]
        features = PairFeatures([ids for ids, _, _ in encoded], [types for _, types, _ in encoded],
                                None, predictor.tokenizer.pad_id)
        logits = predict_logits(predictor.logits_fn, features, batch_size)
        for (a, b), (_, _, truncated), row in zip(chunk, encoded, logits):
            yield _decided(task, a, b, row, truncated)


def _decided(task, text_a, text_b, logits, truncated):
    result = {"text_a": text_a, "text_b": text_b}
    if task.is_regression:
        result["score"] = float(logits[0])
    else:
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        best = int(np.argmax(logits))
        result.update(label=task.labels[best], prob=round(float(probs[best]), 6))
    result["truncated"] = bool(truncated)
    return result


def format_line(result, output_format="text"):
    """One output line (without newline) of a prediction dict."""
    if output_format == "json":
        if "score" in result:
            result = dict(result, score=round(result["score"], 6))
        return json.dumps(result, ensure_ascii=False)
    return f"{result['score']:.4f}" if "score" in result else result["label"]
