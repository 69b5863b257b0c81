"""Runners: a logits function with the tokenizer, labels and sequence limit it was built for.

Evaluation and prediction take a `Runner`, never a Keras model, so any artefact that can
turn a padded batch into logits (the Keras model today; a SavedModel or a TFLite
interpreter later) is scored and decoded by the same code. `load_runner` is the one place
that decides which kind of runner a path on disk gives.
"""

import dataclasses
import os
from typing import Callable

from nlu_tf.data.reader import LabelMaps
from nlu_tf.data.tokenizer import WordPieceTokenizer
from nlu_tf.errors import InputError


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


def load_runner(path, jit_compile=True):
    """Returns the runner for the model at `path`.

    Today only nlu_tf model directories (written by `tools/train.py`) are recognised; other
    artefacts (SavedModel, `.tflite`) get their branch here.

    Args:
        path: a model directory.
        jit_compile: for Keras runners, compile the forward pass with XLA.

    Returns:
        A `Runner`.

    Raises:
        InputError: `path` does not exist, or is not a model this function can run.
    """
    if not path:
        raise InputError("command line", "--model_dir is required")
    if not os.path.exists(path):
        raise InputError(path, "model not found")
    if os.path.isdir(path):
        # Imported here: TensorFlow takes seconds to load, and the checks above need none.
        from nlu_tf.models.model_dir import load_model_dir

        return keras_runner(load_model_dir(path), f"keras:{os.path.normpath(path)}", jit_compile)
    raise InputError(path, "not a model directory (no runner for this kind of file)")
