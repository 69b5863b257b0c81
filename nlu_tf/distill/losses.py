"""Loss terms of every stage, as local sums divided by counts over the global batch.

Under a `tf.distribute` strategy each replica sees part of the global batch. `global_counts`
sums, in one collective per step, how many examples, labelled slots, real tokens and real
attention pairs the whole batch holds; every loss divides its local sum by the matching
global count, so the gradients summed over replicas equal those of one device on the
whole batch.
"""

import tensorflow as tf

from nlu_tf.data.features import IGNORE
COUNT_NAMES = ("examples", "intent_labels", "slot_labels", "tokens", "pairs")


def local_counts(inputs, targets):
    """Counts of this replica's batch, float32, in `COUNT_NAMES` order."""
    mask = tf.cast(inputs["attention_mask"], tf.float32)
    tokens = tf.reduce_sum(mask, axis=1)
    examples = tf.cast(tf.shape(mask)[0], tf.float32)
    if "label" in targets:
        # A GLUE batch (one label an example, no token labels): its labels count as the
        # intents do, so every objective reads the same counts.
        labelled, slots = examples, tf.constant(0.0)
    else:
        labelled = tf.reduce_sum(tf.cast(targets["intent"] != IGNORE, tf.float32))
        slots = tf.reduce_sum(tf.cast(targets["slots"] != IGNORE, tf.float32))
    values = [examples, labelled, slots, tf.reduce_sum(tokens), tf.reduce_sum(tokens * tokens)]
    return dict(zip(COUNT_NAMES, values))


def sum_over_replicas(value):
    """Sums a tensor over the replicas in sync; identity on one replica.

    The sum runs in a merge call: every replica thread waits there and the reduction is
    created once for all devices, so several such sums per step cannot be paired up in
    different orders on different replicas.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    return context.merge_call(
        lambda strategy, v: strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None),
        args=(value,))


def global_counts(inputs, targets):
    """`local_counts` summed over all replicas in sync."""
    local = local_counts(inputs, targets)
    total = tf.stack([local[name] for name in COUNT_NAMES])
    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
        total = context.all_reduce(tf.distribute.ReduceOp.SUM, total)
    return {name: total[i] for i, name in enumerate(COUNT_NAMES)}


def intent_cross_entropy(logits, labels):
    """Sum of the intent cross-entropy over labelled rows (divide by `intent_labels`).

    Rows labelled `IGNORE` (augmented utterances, which learn from the teacher only)
    add nothing.
    """
    mask = labels != IGNORE
    safe = tf.where(mask, labels, tf.zeros_like(labels))
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=safe, logits=logits)
    return tf.reduce_sum(losses * tf.cast(mask, losses.dtype))


def slot_cross_entropy(logits, labels):
    """Sum of the slot cross-entropy over labelled first sub-tokens (divide by `slot_labels`)."""
    mask = labels != IGNORE
    safe = tf.where(mask, labels, tf.zeros_like(labels))
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=safe, logits=logits)
    return tf.reduce_sum(losses * tf.cast(mask, losses.dtype))


def soft_cross_entropy(student_logits, teacher_logits, temperature, mask=None):
    """Sum over rows of -Σ softmax(t/T)·log_softmax(s/T); rows where `mask` is 0 excluded."""
    targets = tf.nn.softmax(teacher_logits / temperature, axis=-1)
    losses = -tf.reduce_sum(targets * tf.nn.log_softmax(student_logits / temperature, axis=-1),
                            axis=-1)
    if mask is not None:
        losses *= tf.cast(mask, losses.dtype)
    return tf.reduce_sum(losses)


def squared_error(predictions, targets):
    """Sum of squared differences of a regression head's (B, 1) outputs and (B,) targets."""
    return tf.reduce_sum(tf.square(tf.reshape(predictions, [-1]) - tf.reshape(targets, [-1])))


def hidden_mse(student, teacher, attention_mask):
    """Sum of squared errors over the real tokens of (B, L, H) states (divide by tokens·H)."""
    weights = tf.cast(attention_mask, student.dtype)[:, :, None]
    return tf.reduce_sum(tf.square(student - teacher) * weights)


def attention_mse(student, teacher, attention_mask):
    """Sum of squared errors of pre-softmax scores (B, heads, L, L) (divide by pairs·heads).

    Positions whose query or key is padding are zeroed in both, as TinyBERT does with
    its masked (very negative) scores, so they add nothing.
    """
    mask = tf.cast(attention_mask, student.dtype)
    pair = mask[:, None, :, None] * mask[:, None, None, :]
    return tf.reduce_sum(tf.square(student - teacher) * pair)
