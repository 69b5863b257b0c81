"""Runners: a logits function with the tokenizer, labels and sequence limit it was built for.

Evaluation and prediction take a `Runner`, never a Keras model, so every artefact that can
turn a padded batch into logits (the Keras model, a SavedModel, a TFLite interpreter) is
scored and decoded by the same code. `load_runner` is the one place that decides which
kind of runner a path on disk gives.
"""

import dataclasses
import os
from typing import Callable

from nlu_tf.data.reader import LabelMaps
from nlu_tf.data.tokenizer import WordPieceTokenizer
from nlu_tf.errors import InputError
from nlu_tf.export.metadata import export_kind


@dataclasses.dataclass(frozen=True)
class Runner:
    """Everything needed to go from raw text to decoded predictions.

    Attributes:
        logits_fn: takes a padded numpy batch (`input_ids`, `attention_mask`,
            `token_type_ids`, int32 (B, L)) and returns numpy `(intent_logits (B, I),
            slot_logits (B, L, S))`; see `nlu_tf.inference`.
        tokenizer: the `WordPieceTokenizer` the model was trained with.
        labels: the model's `LabelMaps` (logit index i is label i).
        max_seq_len: the longest token sequence the model takes, specials included.
        name: a short description for reports, e.g. `keras:out/teacher`.
    """

    logits_fn: Callable
    tokenizer: WordPieceTokenizer
    labels: LabelMaps
    max_seq_len: int
    name: str


def keras_runner(bundle, name="keras", jit_compile=True):
    """Wraps a loaded `ModelBundle` (Keras joint model) as a `Runner`.

    Args:
        bundle: a `nlu_tf.models.model_dir.ModelBundle`.
        name: the runner's `name`.
        jit_compile: compile the forward pass with XLA (one graph per batch shape).

    Returns:
        A `Runner`.
    """
    from nlu_tf.inference import keras_logits_fn

    return Runner(keras_logits_fn(bundle.model, jit_compile), bundle.tokenizer, bundle.labels,
                  bundle.max_seq_len, name)


def load_runner(path, jit_compile=True, num_threads=None):
    """Returns the runner for the artefact at `path`.

    Recognised: a SavedModel export folder, a TFLite export folder (or its `model.tflite`),
    and an nlu_tf model directory (written by `tools/train.py`).

    Args:
        path: the artefact.
        jit_compile: for Keras runners, compile the forward pass with XLA.
        num_threads: for TFLite runners, interpreter threads (None: 1). The Keras model and
            the SavedModel use TensorFlow's threads, which are set process-wide before
            TensorFlow starts.

    Returns:
        A `Runner`.

    Raises:
        InputError: `path` does not exist, or is not a model this function can run.
    """
    if not path:
        raise InputError("command line", "--model_dir is required")
    if not os.path.exists(path):
        raise InputError(path, "model not found")
    kind = export_kind(path)
    if kind is not None:
        # Imported here: TensorFlow (and LiteRT) take seconds to load.
        if kind == "saved_model":
            from nlu_tf.export.savedmodel import savedmodel_runner

            logits_fn, info = savedmodel_runner(path)
        else:
            from nlu_tf.export.tflite_runner import tflite_runner

            logits_fn, info = tflite_runner(path, num_threads=num_threads or 1)
        return Runner(logits_fn, info.tokenizer, info.labels, info.max_seq_len, info.name)
    if os.path.isdir(path):
        from nlu_tf.models.model_dir import load_model_dir

        return keras_runner(load_model_dir(path), f"keras:{os.path.normpath(path)}", jit_compile)
    raise InputError(path, "not a model directory (no runner for this kind of file)")
