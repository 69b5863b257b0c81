"""`nlu_tf.tag_rules.best_path` in TensorFlow ops, inside an exported graph: batched with
`tf.scan` (the SavedModel), or unrolled over a static length (the Task Library export)."""

import numpy as np
import tensorflow as tf


def best_paths(scores, lengths, start, allowed):
    """The best tag sequence of every row that keeps the rule (Viterbi, batched).

    Args:
        scores: float32 (B, W, S), each row's word scores, padded past its length.
        lengths: int32 (B,), the words of each row.
        start, allowed: boolean (S,) and (S, S), from `nlu_tf.tag_rules.transition_rules`.

    Returns:
        int32 (B, W): each row's tag ids; entries past a row's length are meaningless.
        Ties go to the lower tag id, as in `best_path`.
    """
    # Two padding words, so that even a batch without words has a first word and a step
    # (`tf.scan` cannot stack an empty sequence).
    scores = tf.pad(scores, [[0, 0], [0, 2], [0, 0]])
    valid = tf.sequence_mask(lengths, tf.shape(scores)[1])
    barrier = tf.where(allowed, 0.0, float("-inf"))
    first = tf.where(start, scores[:, 0], float("-inf"))
    stay = tf.broadcast_to(tf.range(tf.shape(scores)[2]), tf.shape(first))

    def forward(carry, step):
        total, _ = carry
        word_scores, real = step
        candidates = total[:, :, None] + barrier
        back = tf.argmax(candidates, axis=1, output_type=tf.int32)
        moved = tf.reduce_max(candidates, axis=1) + word_scores
        # Past a row's last word the totals stay and each tag points back to itself.
        return (tf.where(real[:, None], moved, total), tf.where(real[:, None], back, stay))

    totals, backs = tf.scan(
        forward, (tf.transpose(scores[:, 1:], [1, 0, 2]), tf.transpose(valid[:, 1:])),
        initializer=(first, stay))
    final = tf.concat([first[None], totals], axis=0)[-1]
    last = tf.argmax(final, axis=-1, output_type=tf.int32)

    def backward(tag, back):
        return tf.gather(back, tag, batch_dims=1)

    earlier = tf.scan(backward, backs, initializer=last, reverse=True)
    # `earlier[t]` is the tag of word t; the last step's own tag is `last`.
    path = tf.concat([earlier, last[None]], axis=0)
    return tf.transpose(path)[:, :-2]


def bio_pairs(allowed):
    """The BIO rule of `nlu_tf.tag_rules.transition_rules` as two predecessors per tag.

    Under the rule a tag either may follow every tag (unbound), or is an `I-x` that may
    follow only `B-x` and itself. So one Viterbi step needs the best total over all tags
    (for the unbound ones) and, per bound tag, the better of two totals: O(S) work and a
    dozen small ops instead of an (S, S) table per step.

    Args:
        allowed: bool (S, S), from `transition_rules`.

    Returns:
        `(bound, low, high)` numpy arrays (S,): bound tags; for a bound tag its two
        predecessors, lower id first (ties go to the lower id); for the others the tag twice.

    Raises:
        ValueError: `allowed` is not of that shape (not a BIO rule).
    """
    size = allowed.shape[0]
    bound = ~allowed.all(axis=0)
    low, high = np.arange(size), np.arange(size)
    for tag in np.flatnonzero(bound):
        before = np.flatnonzero(allowed[:, tag])
        if len(before) != 2 or tag not in before:
            raise ValueError(f"tag {tag} follows {before.tolist()}: not a BIO rule")
        low[tag], high[tag] = before.min(), before.max()
    return bound, low.astype(np.int32), high.astype(np.int32)


def best_path_static(scores, real, start_from, allowed):
    """The best tag sequence over the `real` positions of one utterance, unrolled.

    For a graph without control flow (the Task Library's static (1, L) inputs, and the
    decoding outputs of every plain `.tflite`, whose scores are padded to `max_seq_len`):
    the loop over the L positions is written out. A position that is not real (a `[CLS]`,
    `[SEP]`, `##` piece or padding) leaves the running totals as they are. Before the first
    word the state is the tag `start_from` ("O"), whose successors under the rule are
    exactly the tags an utterance may start with. Each step follows `bio_pairs`.

    Args:
        scores: float32 (L, S) with a static L, every position's slot scores.
        real: bool (L,), the positions that are words.
        start_from: the index of "O" in the tag set.
        allowed: numpy bool (S, S), from `nlu_tf.tag_rules.transition_rules`.

    Returns:
        int32 (L,): at each real position its word's tag in the best sequence (elsewhere
        the tag of the next word's predecessor: meaningless). Ties go to the lower tag id,
        as in `nlu_tf.tag_rules.best_path`.
    """
    length, tags = scores.shape
    bound, low, high = bio_pairs(np.asarray(allowed))
    pairs = tf.constant(np.stack([low, high]))
    bound, low, high = tf.constant(bound), tf.constant(low), tf.constant(high)
    total = tf.where(tf.range(tags) == start_from, 0.0, float("-inf"))
    stay = tf.range(tags, dtype=tf.int32)
    steps, reals = tf.unstack(scores, num=length), tf.unstack(real, num=length)
    backs = []
    for step in range(length):
        pair = tf.gather(total, pairs)
        higher = tf.argmax(pair, axis=0, output_type=tf.int32)  # 0 on a tie: the lower id
        moved = tf.where(bound, tf.reduce_max(pair, axis=0), tf.reduce_max(total)) + steps[step]
        back = tf.where(bound, tf.where(higher > 0, high, low),
                        tf.argmax(total, output_type=tf.int32))
        total = tf.where(reals[step], moved, total)
        backs.append(tf.where(reals[step], back, stay))
    tag = tf.argmax(total, output_type=tf.int32)
    path = [None] * length
    for step in range(length - 1, -1, -1):
        path[step] = tag
        tag = tf.gather(backs[step], tag)
    return tf.stack(path)
