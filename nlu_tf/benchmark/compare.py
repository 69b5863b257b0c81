"""Accuracy of several artefacts on one split, and how closely an artefact follows a reference.

`evaluate_artefacts` scores each artefact with the code of `tools/evaluate.py`, so its rows
match that tool's numbers. `agreement` compares two runners on the same padded batches:
how often the converted model (e.g. int8 TFLite) predicts what the reference (the Keras
model) predicts, and how far its logits drift.
"""

import os

import numpy as np

from nlu_tf.benchmark.artefacts import model_size_bytes, num_parameters, size_mb
from nlu_tf.data.dataset import pad_batch
from nlu_tf.data.features import encode_examples
from nlu_tf.data.reader import read_split, resolve_data_dir
from nlu_tf.evaluation import evaluate_examples, split_name
from nlu_tf.inference import decode
from nlu_tf.runners import load_runner


def evaluate_artefacts(paths, data_dir, task, split="test", batch_size=64, jit_compile=True,
                       num_threads=1):
    """Scores every artefact on one split.

    Args:
        paths: artefacts (model directory, SavedModel folder, TFLite folder).
        data_dir: a dataset folder, or a root holding `<task>/`.
        task: the dataset under `data_dir` (e.g. "snips").
        split: "train", "dev" or "test".
        batch_size: utterances per forward pass.
        jit_compile: Keras only: XLA-compile the forward pass.
        num_threads: TFLite only: interpreter threads.

    Returns:
        One dict per artefact, in order: `name`, `path`, `examples`, `intent_acc`,
        `slot_f1`, `sentence_acc` (fractions in [0, 1]), `size_mb`, `num_parameters`
        (None if unknown).
    """
    folder = resolve_data_dir(data_dir, task)
    examples = read_split(folder, split)
    rows = []
    for path in paths:
        runner = load_runner(path, jit_compile, num_threads)
        metrics = evaluate_examples(runner, examples, batch_size, split_name(folder, split))
        rows.append({"name": runner.name, "path": os.path.normpath(path),
                     "examples": metrics["examples"], "intent_acc": metrics["intent_acc"],
                     "slot_f1": metrics["slot_f1"], "sentence_acc": metrics["sentence_acc"],
                     "size_mb": size_mb(model_size_bytes(path)),
                     "num_parameters": num_parameters(path)})
    return rows


def split_features(runner, data_dir, task, split="test"):
    """The labelled `Features` of a split, encoded with the runner's tokenizer and limit."""
    folder = resolve_data_dir(data_dir, task)
    return encode_examples(read_split(folder, split), runner.tokenizer, runner.labels,
                           runner.max_seq_len, split_name(folder, split))


def agreement(reference_runner, runner, features, batch_size=64):
    """How closely `runner` follows `reference_runner` on the same inputs.

    Both run the same padded batches of `features`; predictions are decoded alike (a
    word's tag at its first sub-token). Logits are compared at real tokens only (a runner
    may leave padding positions at zero).

    Args:
        reference_runner: the reference, e.g. the Keras model's `Runner`.
        runner: the runner to compare, with the same vocabulary and labels.
        features: `Features` encoded with the reference's tokenizer (`split_features`).
        batch_size: utterances per forward pass.

    Returns:
        A dict: `examples`, `words`, `intent_agreement_pct` (share of utterances with the
        same intent, in %), `tag_agreement_pct` (share of words with the same tag, in %),
        `max_abs_intent_logit_diff`, `max_abs_slot_logit_diff` and `max_abs_logit_diff`
        (the larger of the two).

    Raises:
        ValueError: the two runners have different labels or vocabularies.
    """
    if reference_runner.labels != runner.labels:
        raise ValueError(f"{runner.name} and {reference_runner.name} have different labels")
    if reference_runner.tokenizer.vocab != runner.tokenizer.vocab:
        raise ValueError(f"{runner.name} and {reference_runner.name} have different "
                         f"vocabularies")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    same_intent = same_tags = words = 0
    intent_diff = slot_diff = 0.0
    cap = int(features.lengths.max()) if len(features) else 0
    for start in range(0, len(features), batch_size):
        indices = np.arange(start, min(start + batch_size, len(features)))
        batch = pad_batch(features, indices, 8, cap)
        inputs = batch[0] if features.labelled else batch
        starts = [features.word_starts[i] for i in indices]
        decoded = []
        logits = []
        for which in (reference_runner, runner):
            intent_logits, slot_logits = which.logits_fn(inputs)
            logits.append((np.asarray(intent_logits), np.asarray(slot_logits)))
            decoded.append(decode(*logits[-1], starts, features.num_words[indices],
                                  reference_runner.labels))
        real = inputs["attention_mask"] == 1
        intent_diff = max(intent_diff, float(np.abs(logits[0][0] - logits[1][0]).max()))
        slot_diff = max(slot_diff, float(np.abs(logits[0][1] - logits[1][1])[real].max()))
        for expected, got in zip(*decoded):
            same_intent += expected.intent == got.intent
            same_tags += sum(a == b for a, b in zip(expected.tags, got.tags))
            words += len(expected.tags)
    count = len(features)
    return {"examples": count, "words": words,
            "intent_agreement_pct": round(100.0 * same_intent / count, 2) if count else None,
            "tag_agreement_pct": round(100.0 * same_tags / words, 2) if words else None,
            "max_abs_intent_logit_diff": intent_diff, "max_abs_slot_logit_diff": slot_diff,
            "max_abs_logit_diff": max(intent_diff, slot_diff)}
