"""One decoding path from logits to (intent, per-word tags), shared by every artefact.

A *logits function* takes a padded numpy batch (`input_ids`, `attention_mask`,
`token_type_ids`, int32 (B, L)) and returns numpy `(intent_logits (B, I), slot_logits
(B, L, S))`. The Keras model, the SavedModel and the TFLite interpreter each provide one,
so every artefact is scored by the same code on the same batches.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from nlu_tf.data.dataset import inference_batches
from nlu_tf.data.word_spans import SparseTags
from nlu_tf.metrics import compute_metrics
from nlu_tf.tag_rules import best_tags


# Utterances of more words get their tags as a `SparseTags` ("O" but for the few scored
# words, millions of words in one hostile line) instead of a tuple; both are sequences.
DENSE_TAGS = 4096


@dataclasses.dataclass(frozen=True)
class Prediction:
    """The decoded output for one utterance."""

    intent: str
    intent_prob: float
    tags: tuple


def keras_logits_fn(model, jit_compile=True):
    """A logits function running a Keras joint model (one compiled graph per batch shape)."""

    @tf.function(jit_compile=jit_compile, reduce_retracing=True)
    def forward(inputs):
        outputs = model(inputs, training=False)
        return outputs["intent_logits"], outputs["slot_logits"]

    def run(batch):
        intent, slots = forward({key: tf.constant(value) for key, value in batch.items()})
        return intent.numpy(), slots.numpy()

    return run


def _softmax(logits):
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def decode(intent_logits, slot_logits, word_starts, num_words, labels):
    """Turns the logits of one batch into `Prediction`s.

    Each word is scored by the slot logits at its first sub-token, and the words of an
    utterance take the best tag sequence that keeps the BIO rule (`nlu_tf.tag_rules`: `I-x`
    only after `B-x` or `I-x`). A word without a token (truncated away, or nothing left
    after tokenization) is tagged "O" and left out of the sequence. PAD and UNK are never
    predicted as tags.
    """
    probs = _softmax(intent_logits.astype(np.float64))
    predictions = []
    for row, (starts, words) in enumerate(zip(word_starts, num_words)):
        positions = [position for position, word in enumerate(starts) if word >= 0]
        best, path = best_tags(intent_logits[row], slot_logits[row, positions], labels.slots)
        tagged = {starts[position]: labels.slots[slot] for position, slot in zip(positions, path)}
        tags = SparseTags(int(words), tagged)
        if len(tags) <= DENSE_TAGS:
            tags = tuple(tags)
        predictions.append(Prediction(labels.intents[best], float(probs[row, best]), tags))
    return predictions


def predict(logits_fn, features, labels, batch_size=64, bucket_width=8):
    """Runs `logits_fn` over `features` in batches of similar length
    (`inference_batches`) and decodes every utterance; the predictions keep the
    features' order."""
    predictions = [None] * len(features)
    for indices, inputs in inference_batches(features, batch_size, bucket_width):
        if getattr(logits_fn, "takes_word_starts", False):
            inputs = dict(inputs, word_starts=_padded_word_starts(
                features, indices, inputs["input_ids"].shape[1]))
        intent_logits, slot_logits = logits_fn(inputs)
        decoded = decode(intent_logits, slot_logits,
                         [features.word_starts[i] for i in indices],
                         features.num_words[indices], labels)
        for index, prediction in zip(indices, decoded):
            predictions[index] = prediction
    return predictions


def _padded_word_starts(features, indices, length):
    """The word starts of `indices` (word index or -1 per token), padded with -1."""
    starts = np.full((len(indices), length), -1, np.int32)
    for row, index in enumerate(indices):
        starts[row, :len(features.word_starts[index])] = features.word_starts[index]
    return starts


def score(examples, predictions, breakdown=False):
    """Metrics of `predictions` against the gold strings of `examples`."""
    return compute_metrics([e.intent for e in examples], [p.intent for p in predictions],
                           [list(e.tags) for e in examples], [list(p.tags) for p in predictions],
                           breakdown=breakdown)
