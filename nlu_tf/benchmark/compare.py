"""Accuracy of several artefacts on one split, and how closely an artefact follows a reference.

`evaluate_artefacts` scores each artefact with the code of `tools/evaluate.py`, so its rows
match that tool's numbers. `agreement` compares two predictors on the same padded batches:
how often the converted model (e.g. int8 TFLite) predicts what the reference (the Keras
model) predicts, and how far its logits drift.
"""

import os

import numpy as np

from nlu_tf.data.dataset import pad_batch
from nlu_tf.data.features import encode_examples
from nlu_tf.data.reader import read_split, resolve_data_dir, split_name
from nlu_tf.decoding import decode
from nlu_tf.predictor import evaluate_examples
from nlu_tf.serving.artefact import open_artefact


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
        artefact = open_artefact(path)
        predictor = artefact.predictor(jit_compile, num_threads)
        metrics = evaluate_examples(predictor, examples, batch_size, split_name(folder, split))
        rows.append({"name": predictor.name, "path": os.path.normpath(path),
                     "examples": metrics["examples"], "intent_acc": metrics["intent_acc"],
                     "slot_f1": metrics["slot_f1"], "sentence_acc": metrics["sentence_acc"],
                     "size_mb": artefact.size_mb, "num_parameters": artefact.num_parameters})
        if "graph_decoding" in metrics:  # a .tflite's own decoding, checked against nlu_tf's
            rows[-1]["graph_decoding"] = {key: metrics["graph_decoding"][key]
                                          for key in ("utterances", "disagree")}
    return rows


def split_features(predictor, data_dir, task, split="test"):
    """The labelled `Features` of a split, encoded with the predictor's tokenizer and limit."""
    folder = resolve_data_dir(data_dir, task)
    return encode_examples(read_split(folder, split), predictor.tokenizer, predictor.labels,
                           predictor.max_seq_len, split_name(folder, split))


def agreement(reference_predictor, predictor, features, batch_size=64):
    """How closely `predictor` follows `reference_predictor` on the same inputs.

    Both run the same padded batches of `features`; predictions are decoded alike (a
    word's tag at its first sub-token). Logits are compared at real tokens only (a predictor
    may leave padding positions at zero).

    Args:
        reference_predictor: the reference, e.g. the Keras model's `Predictor`.
        predictor: the predictor to compare, with the same vocabulary and labels.
        features: `Features` encoded with the reference's tokenizer (`split_features`).
        batch_size: utterances per forward pass.

    Returns:
        A dict: `examples`, `words`, `intent_agreement_pct` (share of utterances with the
        same intent, in %), `tag_agreement_pct` (share of words with the same tag, in %),
        `max_abs_intent_logit_diff`, `max_abs_slot_logit_diff` and `max_abs_logit_diff`
        (the larger of the two).

    Raises:
        ValueError: the two predictors have different labels or vocabularies.
    """
    if reference_predictor.labels != predictor.labels:
        raise ValueError(f"{predictor.name} and {reference_predictor.name} have different labels")
    if reference_predictor.tokenizer.vocab != predictor.tokenizer.vocab:
        raise ValueError(f"{predictor.name} and {reference_predictor.name} have different "
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
        for which in (reference_predictor, predictor):
            intent_logits, slot_logits = which.logits_fn(inputs)
            logits.append((np.asarray(intent_logits), np.asarray(slot_logits)))
            decoded.append(decode(*logits[-1], starts, features.num_words[indices],
                                  reference_predictor.labels))
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
