"""Predictors: a logits function with the tokenizer, labels and sequence limit it was built for.

Evaluation and prediction take a `Predictor`, never a Keras model, so every artefact that
can turn a padded batch into logits (the Keras model, a SavedModel, a TFLite interpreter)
is scored and decoded by the same code. This module knows only the Keras model, so that
training scores its dev and test sets without touching `export/`; `nlu_tf.serving.artefact`
opens every other kind of artefact.
"""

import dataclasses
import logging
from typing import Callable

from nlu_tf.data.reader import LabelMaps
from nlu_tf.data.tokenizer import WordPieceTokenizer
from nlu_tf.data.features import encode_examples

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Predictor:
    """Everything needed to go from raw text to decoded predictions.

    Attributes:
        logits_fn: takes a padded numpy batch (`input_ids`, `attention_mask`,
            `token_type_ids`, int32 (B, L)) and returns numpy `(intent_logits (B, I),
            slot_logits (B, L, S))`; see `nlu_tf.decoding`. A GLUE model's returns its
            `logits` (B, C) (one column, the score, for STS-B).
        tokenizer: the `WordPieceTokenizer` the model was trained with.
        labels: the model's `LabelMaps` (logit index i is label i), a GLUE model's
            `TaskLabels`.
        max_seq_len: the longest token sequence the model takes, specials included.
        name: a short description for reports, e.g. `keras:out/teacher`.
    """

    logits_fn: Callable
    tokenizer: WordPieceTokenizer
    labels: LabelMaps
    max_seq_len: int
    name: str


def keras_predictor(bundle, name="keras", jit_compile=True):
    """Wraps a loaded `ModelBundle` (a Keras joint or GLUE model) as a `Predictor`.

    Args:
        bundle: a `nlu_tf.model_io.model_dir.ModelBundle`.
        name: the predictor's `name`.
        jit_compile: compile the forward pass with XLA (one graph per batch shape).

    Returns:
        A `Predictor`.
    """
    if bundle.labels.head == "sequence":  # a GLUE model: its numpy `logits` (B, C)
        from nlu_tf.glue_evaluation import glue_logits_fn as logits_fn
    else:
        from nlu_tf.decoding import keras_logits_fn as logits_fn

    return Predictor(logits_fn(bundle.model, jit_compile), bundle.tokenizer, bundle.labels,
                     bundle.max_seq_len, name)


def evaluate_examples(predictor, examples, batch_size=64, source=""):
    """Predicts `examples` with `predictor` and scores the predictions against their gold labels.

    The examples are encoded and decoded exactly as during training (`encode_examples` with
    the predictor's `max_seq_len`, `decoding.predict`, `decoding.score`).

    Args:
        predictor: a `Predictor`.
        examples: labelled `Example`s (`nlu_tf.data.reader.read_split`).
        batch_size: utterances per forward pass.
        source: a name for the examples used in warnings (e.g. "snips/test").

    Returns:
        The dict of `nlu_tf.metrics.compute_metrics` with `breakdown=True`: `examples`,
        `intent_acc`, `slot_f1`, `slot_precision`, `slot_recall`, `sentence_acc` (in [0, 1]),
        `per_intent` and `per_slot`.
    """
    from nlu_tf.decoding import predict, score

    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    features = encode_examples(examples, predictor.tokenizer, predictor.labels,
                               predictor.max_seq_len, source)
    predictions = predict(predictor.logits_fn, features, predictor.labels, batch_size)
    metrics = score(examples, predictions, breakdown=True)
    check = getattr(predictor.logits_fn, "decoding_check", None)
    if check and check["utterances"]:
        metrics["graph_decoding"] = dict(check)
        if check["disagree"]:
            logger.warning("%s: the in-graph decoding differs from nlu_tf's on %d of %d "
                           "utterances (first: %s)", predictor.name, check["disagree"],
                           check["utterances"], check["first_disagreement"])
    return metrics
