"""Loss terms of every stage, each returned as (sum, count) so replicas can share one mean.

Under a `tf.distribute` strategy each replica sees part of the global batch. Dividing a
local sum by the count summed over all replicas (`replica_mean`) makes the summed
gradients equal to those of one device on the whole batch.
"""

import tensorflow as tf

IGNORE = -100


def replica_mean(total, count):
    """`total / count`, where `count` is summed over all replicas in sync."""
    count = tf.cast(count, total.dtype)
    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
        count = context.all_reduce(tf.distribute.ReduceOp.SUM, count)
    return total / tf.maximum(count, 1.0)


def intent_cross_entropy(logits, labels):
    """Sum and count of the intent cross-entropy over the batch."""
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    return tf.reduce_sum(losses), tf.size(labels)


def slot_cross_entropy(logits, labels):
    """Sum and count of the slot cross-entropy over labelled (first sub-token) positions."""
    mask = labels != IGNORE
    safe = tf.where(mask, labels, tf.zeros_like(labels))
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=safe, logits=logits)
    weights = tf.cast(mask, losses.dtype)
    return tf.reduce_sum(losses * weights), tf.reduce_sum(tf.cast(mask, tf.int32))


def soft_cross_entropy(student_logits, teacher_logits, temperature, mask=None):
    """Sum and count of -Σ softmax(t/T)·log_softmax(s/T) over rows (masked rows excluded)."""
    targets = tf.nn.softmax(teacher_logits / temperature, axis=-1)
    losses = -tf.reduce_sum(targets * tf.nn.log_softmax(student_logits / temperature, axis=-1),
                            axis=-1)
    if mask is None:
        return tf.reduce_sum(losses), tf.size(losses)
    weights = tf.cast(mask, losses.dtype)
    return tf.reduce_sum(losses * weights), tf.reduce_sum(tf.cast(mask, tf.int32))


def hidden_mse(student, teacher, attention_mask):
    """Sum and count of squared errors over the real tokens of (B, L, H) hidden states."""
    weights = tf.cast(attention_mask, student.dtype)[:, :, None]
    squared = tf.square(student - teacher) * weights
    count = tf.reduce_sum(tf.cast(attention_mask, tf.int32)) * tf.shape(student)[-1]
    return tf.reduce_sum(squared), count


def attention_mse(student, teacher, attention_mask):
    """Sum and count of squared errors of pre-softmax scores (B, heads, L, L).

    Positions whose query or key is padding are zeroed in both, as TinyBERT does with
    its masked (very negative) scores, so they add nothing.
    """
    mask = tf.cast(attention_mask, student.dtype)
    pair = mask[:, None, :, None] * mask[:, None, None, :]
    squared = tf.square(student - teacher) * pair
    count = tf.cast(tf.reduce_sum(pair), tf.int32) * tf.shape(student)[1]
    return tf.reduce_sum(squared), count
