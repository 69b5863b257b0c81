"""Scores a `Predictor` on a labelled split and formats the result as JSON-ready dict and tables.

The examples are encoded and decoded exactly as during training
(`nlu_tf.predictor.evaluate_examples`), so a model directory evaluated here on its own
test split reproduces the `test` block of its `metrics.json`.
"""

import os

from nlu_tf.data.reader import read_split, resolve_data_dir, split_name
from nlu_tf.predictor import evaluate_examples

SUMMARY_KEYS = ("intent_acc", "slot_f1", "slot_precision", "slot_recall", "sentence_acc")


def evaluate_split(predictor, data_dir, split, task=None, batch_size=64):
    """Reads one split of a dataset and scores `predictor` on it.

    Args:
        predictor: a `nlu_tf.predictor.Predictor`.
        data_dir: a dataset folder, or a root holding `<task>/`.
        split: "train", "dev" or "test".
        task: the dataset under `data_dir` ("snips", "atis"), if `data_dir` is a root.
        batch_size: utterances per forward pass.

    Returns:
        The metrics dict of `evaluate_examples`.

    Raises:
        InputError: the data directory, the split or one of its files is missing or invalid.
    """
    folder = resolve_data_dir(data_dir, task)
    examples = read_split(folder, split)
    return evaluate_examples(predictor, examples, batch_size, split_name(folder, split))


def format_report(metrics, title=""):
    """Formats metrics as readable text: the summary, then per-intent and per-slot tables.

    Args:
        metrics: a dict from `evaluate_examples` (the tables need `per_intent` / `per_slot`).
        title: an optional first line (e.g. the model and the split).

    Returns:
        Multi-line text; rates as fractions with four decimals.
    """
    lines = [title] if title else []
    width = max(len(key) for key in SUMMARY_KEYS)
    lines += [f"{key:<{width}}  {metrics[key]:.4f}" for key in SUMMARY_KEYS]
    lines.append(f"{'examples':<{width}}  {metrics['examples']}")
    for heading, key in (("intent", "per_intent"), ("slot", "per_slot")):
        if key in metrics:
            lines += ["", *_table(heading, metrics[key])]
    check = metrics.get("graph_decoding")
    if check:
        count = check["utterances"]
        lines += ["", f"in-graph decoding: the same as nlu_tf's on {count - check['disagree']} "
                      f"of {count} utterances"]
    return "\n".join(lines)


def _table(heading, rows):
    """One breakdown table: name, precision, recall, f1, support; one row per label."""
    width = max([len(heading)] + [len(name) for name in rows])
    lines = [f"{heading:<{width}}  precision  recall      f1  support"]
    for name in sorted(rows):
        row = rows[name]
        lines.append(f"{name:<{width}}  {row['precision']:9.4f}  {row['recall']:6.4f}  "
                     f"{row['f1']:6.4f}  {row['support']:7d}")
    return lines


def record_tflite_metrics(path, key, metrics, data_folder="", keys=SUMMARY_KEYS):
    """Writes the summary of `metrics` into the `model_info.json` of a TFLite export.

    The Android folder then carries the accuracy measured for it. Other artefacts are
    left alone.

    Args:
        path: the evaluated artefact: a TFLite folder or its `.tflite` file (anything else
            is ignored).
        key: the entry under `metrics`, e.g. "snips_test".
        metrics: a dict from `evaluate_examples`; the summary keys and `examples` are kept.
        data_folder: the dataset folder, recorded with the numbers.
        keys: the summary keys (a GLUE task's metric keys for a GLUE export).

    Returns:
        The folder written to, or None if `path` is not a TFLite export.
    """
    from nlu_tf.export.metadata import export_kind, record_metrics

    if export_kind(path) != "tflite":
        return None
    folder = (os.path.dirname(path) or ".") if os.path.isfile(path) else path
    summary = {name: metrics[name] for name in tuple(keys) + ("examples",)}
    if data_folder:
        summary["data_dir"] = os.path.normpath(data_folder)
    record_metrics(folder, {key: summary})
    return folder
