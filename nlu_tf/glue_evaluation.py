"""Scores a GLUE `SequenceModel` on encoded examples: one path for the dev evaluator during
training, the stage's final dev figures and `nlu-task-distill --do_eval`, so all three
print the same numbers for the same weights."""

import numpy as np
import tensorflow as tf

from nlu_tf.data.dataset import inference_batches
from nlu_tf.data.glue import read_glue_split
from nlu_tf.data.pair_features import encode_glue
from nlu_tf.glue_metrics import task_metrics


def glue_logits_fn(model, jit_compile=True):
    """A function from a padded numpy batch to the model's numpy `logits` (B, C)."""

    @tf.function(jit_compile=jit_compile, reduce_retracing=True)
    def forward(inputs):
        return model(inputs, training=False)["logits"]

    return lambda batch: forward({key: tf.constant(value) for key, value in batch.items()}
                                 ).numpy()


def predict_logits(logits_fn, features, batch_size=64, bucket_width=8):
    """The logits of every example of `features` (`PairFeatures`), in their order (run in
    batches of similar length, `inference_batches`)."""
    logits = None
    for indices, inputs in inference_batches(features, batch_size, bucket_width):
        batch_logits = logits_fn(inputs)
        if logits is None:
            logits = np.empty((len(features),) + batch_logits.shape[1:], batch_logits.dtype)
        logits[indices] = batch_logits
    if logits is None:
        raise ValueError("no examples to score")
    return logits


def score_features(logits_fn, task, features, batch_size=64):
    """`task_metrics` of the model behind `logits_fn` on labelled `features`: (metrics,
    selection value)."""
    return task_metrics(task, predict_logits(logits_fn, features, batch_size), features.labels)


def evaluate_glue(bundle, data_dir, task, batch_size=64, jit_compile=False):
    """Scores a loaded GLUE `ModelBundle` on the dev split of `task` under `data_dir` (the
    GLUE root or the task's folder), encoded with the bundle's tokenizer and sequence
    limit; returns the metrics dict (`task_metrics`' keys and `examples`)."""
    examples = read_glue_split(data_dir, task, "dev")
    features = encode_glue(examples, bundle.tokenizer, task, bundle.max_seq_len,
                           f"{task.folder}/dev")
    metrics, _ = score_features(glue_logits_fn(bundle.model, jit_compile), task, features,
                                batch_size)
    return metrics
