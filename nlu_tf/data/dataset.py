"""tf.data pipelines over `Features`, padded per batch to few distinct lengths.

XLA compiles one graph per input shape, so a batch is padded to its longest utterance
rounded up to a multiple of `bucket_width` (never beyond the longest utterance of the
features); a run then sees at most `max_len / bucket_width` shapes per batch size.

Training batches group utterances of similar length: every epoch the examples are
shuffled, cut into chunks of `CHUNK_BATCHES` batches, sorted by length inside each chunk,
batched, and the batches shuffled. The plan of epoch `k` depends on `(seed, k)` only, so
the same seed gives the same batches in the same order, and each epoch another order.
Batches are assembled in numpy from that plan and fed through `from_generator`.

A training dataset may carry per-example arrays computed once before training (a
teacher-output cache): each batch then holds them, padded to its length, under
`inputs[TEACHER_KEY]`.

Inference batches (`inference_batches`) are plain numpy, sorted by length over the whole
set: their results are put back in place by index.
"""

import numpy as np
import tensorflow as tf

CHUNK_BATCHES = 50
TEACHER_KEY = "teacher"


def num_batches(num_examples, batch_size, drop_remainder=False):
    """Returns how many batches one epoch of `num_examples` gives."""
    if drop_remainder:
        return num_examples // batch_size
    return -(-num_examples // batch_size)


def padded_length(longest, bucket_width, cap):
    """Rounds `longest` up to a multiple of `bucket_width`, without going beyond `cap`."""
    return min(-(-longest // bucket_width) * bucket_width, cap)


def train_batch_plan(lengths, batch_size, seed, epoch, shuffle=True, drop_remainder=False):
    """Returns the example indices of every batch of one training epoch.

    Args:
        lengths: token length of every example.
        batch_size: examples per batch.
        seed: the run's seed.
        epoch: the 0-based epoch; with `seed` it fixes the plan.
        shuffle: shuffle the examples and the batches; else keep the input order, sorted
            by length only inside each chunk.
        drop_remainder: drop the one batch smaller than `batch_size`, if any.

    Returns:
        A list of int arrays, one per batch; together they hold every example once.
    """
    lengths = np.asarray(lengths)
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths)) if shuffle else np.arange(len(lengths))
    chunk = batch_size * CHUNK_BATCHES
    batches = []
    for start in range(0, len(order), chunk):
        indices = order[start:start + chunk]
        indices = indices[np.argsort(lengths[indices], kind="stable")]
        batches.extend(indices[i:i + batch_size] for i in range(0, len(indices), batch_size))
    if drop_remainder:
        batches = [batch for batch in batches if len(batch) == batch_size]
    if shuffle:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def pad_batch(features, indices, bucket_width, cap):
    """Stacks the examples `indices` into padded numpy arrays: (inputs, targets) or inputs.

    Segment ids come from the features (`token_type_ids`; None: all segment 0), targets
    from their `batch_targets` (joint: intent and slots; GLUE: one label).
    """
    rows = [features.input_ids[i] for i in indices]
    length = padded_length(max(len(row) for row in rows), bucket_width, cap)
    input_ids = np.full((len(rows), length), features.pad_id, dtype=np.int32)
    attention_mask = np.zeros((len(rows), length), dtype=np.int32)
    token_type_ids = np.zeros_like(input_ids)
    segments = features.token_type_ids
    for r, (i, row) in enumerate(zip(indices, rows)):
        input_ids[r, :len(row)] = row
        attention_mask[r, :len(row)] = 1
        if segments is not None:
            token_type_ids[r, :len(row)] = segments[i]
    inputs = {"input_ids": input_ids, "attention_mask": attention_mask,
              "token_type_ids": token_type_ids}
    if not features.labelled:
        return inputs
    return inputs, features.batch_targets(indices, length)


def with_teacher(batch, teacher, indices):
    """`pad_batch`'s result with `teacher.padded(indices, length)` added to its inputs
    under `TEACHER_KEY` (`teacher` None: unchanged)."""
    if teacher is None:
        return batch
    inputs = batch[0] if isinstance(batch, tuple) else batch
    inputs[TEACHER_KEY] = teacher.padded(indices, inputs["input_ids"].shape[1])
    return batch


def _signature(features, teacher=None):
    matrix = tf.TensorSpec((None, None), tf.int32)
    inputs = {"input_ids": matrix, "attention_mask": matrix, "token_type_ids": matrix}
    if teacher is not None:
        inputs[TEACHER_KEY] = teacher.signature()
    if not features.labelled:
        return inputs
    return inputs, {name: tf.TensorSpec((None,) * rank, dtype)
                    for name, (dtype, rank) in features.target_spec().items()}


def _from_plans(features, plan_fn, count, bucket_width, epochs=range(1), teacher=None):
    """A dataset of the padded batches of `plan_fn(epoch)` for each epoch in `epochs`.

    The epoch is an argument of the generator, not a counter it keeps, so the batches of
    an epoch never depend on how often the dataset was iterated before (distribution
    strategies and resumed runs iterate it in their own ways).
    """
    if bucket_width < 1:
        raise ValueError(f"bucket_width must be positive, got {bucket_width}")
    if not len(features):
        raise ValueError("no examples to batch")
    cap = int(features.lengths.max())
    signature = _signature(features, teacher)

    def generate(epoch):
        for indices in plan_fn(int(epoch)):
            yield with_teacher(pad_batch(features, indices, bucket_width, cap), teacher,
                               indices)

    def one_epoch(epoch):
        return tf.data.Dataset.from_generator(generate, args=(epoch,),
                                              output_signature=signature)

    dataset = tf.data.Dataset.from_tensor_slices(np.asarray(list(epochs), np.int64))
    dataset = dataset.flat_map(one_epoch)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(count * len(epochs)))
    # Under a multi-worker strategy every worker builds every batch and keeps its own
    # slice of it (sharding by data): files are not what splits the batches.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.prefetch(tf.data.AUTOTUNE).with_options(options)


def train_dataset(features, batch_size, seed, shuffle=True, bucket_width=8,
                  drop_remainder=False, epochs=1, first_epoch=0, teacher=None):
    """Training batches of similar lengths, in a new seeded order every epoch.

    Args:
        features: labelled `Features`.
        batch_size: examples per batch.
        seed: fixes the batches and their order, epoch after epoch.
        shuffle: see `train_batch_plan`.
        bucket_width: batch lengths are multiples of it (or the longest utterance).
        drop_remainder: drop the one smaller batch of each epoch.
        epochs: how many epochs the dataset holds, one after the other.
        first_epoch: the 0-based index of the first of them (a resumed run starts later).
        teacher: per-example arrays to carry (a `TeacherCache`: its `signature()` and
            `padded(indices, length)`), or None.

    Returns:
        A `tf.data.Dataset` of `(inputs, targets)`: `inputs` holds int32 (B, L)
        `input_ids`, `attention_mask` and `token_type_ids` (and with `teacher`, its
        padded arrays under `TEACHER_KEY`); `targets` holds int32 (B,) `intent` and int32
        (B, L) `slots`, `IGNORE` on padding (`Features`), or (B,) `label`, int32 or
        float32 (`PairFeatures`). Epoch `k` has the same batches whenever it
        is produced.
    """
    if not features.labelled:
        raise ValueError("training needs labelled features")
    lengths = features.lengths
    count = num_batches(len(features), batch_size, drop_remainder)
    return _from_plans(
        features,
        lambda epoch: train_batch_plan(lengths, batch_size, seed, epoch, shuffle, drop_remainder),
        count, bucket_width, range(first_epoch, first_epoch + epochs), teacher)


def inference_batches(features, batch_size, bucket_width=8):
    """Yields `(indices, inputs)` over every example once, the shortest utterances first.

    Inference needs no order, so the examples are batched by length: a batch pads to
    little more than its own utterances (Snips test at batch 32 and width 8: 11,008
    token positions against 17,408 in file order) and the batch lengths stay few.
    Callers put each result back at `indices`.

    Args:
        features: labelled or unlabelled `Features` (or `PairFeatures`).
        batch_size: examples per batch.
        bucket_width: batch lengths are multiples of it (or the longest utterance).

    Yields:
        The batch's example indices (int array) and its padded inputs (`train_dataset`'s
        `inputs`, without targets).
    """
    if batch_size < 1 or bucket_width < 1:
        raise ValueError(f"batch_size and bucket_width must be positive, got {batch_size} "
                         f"and {bucket_width}")
    if not len(features):
        return
    order = np.argsort(features.lengths, kind="stable")
    cap = int(features.lengths.max())
    for start in range(0, len(order), batch_size):
        indices = order[start:start + batch_size]
        batch = pad_batch(features, indices, bucket_width, cap)
        yield indices, batch[0] if features.labelled else batch
