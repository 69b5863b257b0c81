"""Pretraining instances as TFRecord files of `tf.train.Example`s, and their tf.data reader.

Every feature is a fixed-length int64 list: `input_ids`, `input_mask`, `segment_ids`
(`max_seq_len`, zero-padded), `masked_lm_positions`, `masked_lm_ids`, `masked_lm_weights`
(`max_predictions_per_seq`, zero-padded; weight 1 at a real prediction) and
`next_sentence_labels` (1: B is a random document). These are BERT's pretraining names;
distillation reads the first three only.
"""

import os

import tensorflow as tf

from nlu_tf.distill.losses import IGNORE

SEQUENCE_FEATURES = ("input_ids", "input_mask", "segment_ids")


def _padded(values, length):
    return list(values) + [0] * (length - len(values))


def to_example(instance, max_seq_len, max_predictions):
    """The serialized `tf.train.Example` of an `instances.Instance`."""
    count = len(instance.masked_positions)
    features = {
        "input_ids": _padded(instance.input_ids, max_seq_len),
        "input_mask": _padded([1] * len(instance.input_ids), max_seq_len),
        "segment_ids": _padded(instance.segment_ids, max_seq_len),
        "masked_lm_positions": _padded(instance.masked_positions, max_predictions),
        "masked_lm_ids": _padded(instance.masked_ids, max_predictions),
        "masked_lm_weights": _padded([1] * count, max_predictions),
        "next_sentence_labels": [int(instance.is_random_next)],
    }
    return tf.train.Example(features=tf.train.Features(feature={
        name: tf.train.Feature(int64_list=tf.train.Int64List(value=values))
        for name, values in features.items()})).SerializeToString()


class ShardWriter:
    """Writes serialized examples into `<prefix>-NNNNN.tfrecord` files of at most
    `shard_size` examples each; a shard gets its name only once complete (temporary
    file + rename), so a killed run never leaves a shard that looks whole.
    """

    def __init__(self, prefix, shard_size):
        self.prefix = prefix
        self.shard_size = shard_size
        self.shards = []
        self.count = 0
        self._writer = None
        self._in_shard = 0

    def _path(self):
        return f"{self.prefix}-{len(self.shards):05d}.tfrecord"

    def write(self, record):
        if self._writer is None:
            self._writer = tf.io.TFRecordWriter(self._path() + ".tmp")
        self._writer.write(record)
        self._in_shard += 1
        self.count += 1
        if self._in_shard == self.shard_size:
            self._finish_shard()

    def _finish_shard(self):
        self._writer.close()
        path = self._path()
        os.replace(path + ".tmp", path)
        self.shards.append(os.path.basename(path))
        self._writer, self._in_shard = None, 0

    def close(self):
        """Completes the last shard; returns the shard file names."""
        if self._writer is not None:
            self._finish_shard()
        return list(self.shards)


def _parse(max_seq_len):
    spec = {name: tf.io.FixedLenFeature([max_seq_len], tf.int64) for name in SEQUENCE_FEATURES}

    def parse(records):
        features = tf.io.parse_example(records, spec)
        ids = tf.cast(features["input_ids"], tf.int32)
        inputs = {"input_ids": ids,
                  "attention_mask": tf.cast(features["input_mask"], tf.int32),
                  "token_type_ids": tf.cast(features["segment_ids"], tf.int32)}
        # Distillation has no labels; the Distiller's counts read these as "none labelled".
        targets = {"intent": tf.fill(tf.shape(ids)[:1], IGNORE),
                   "slots": tf.fill(tf.shape(ids), IGNORE)}
        return inputs, targets

    return parse


def pretraining_dataset(epochs, batch_size, seed, shuffle_buffer=10_000):
    """Batches `(inputs, targets)` of several pregenerated epochs, one after the other.

    Args:
        epochs: list of (shard paths, max_seq_len), one per training epoch.
        batch_size: global batch size (the last batch of an epoch may be smaller).
        seed: shuffling seed; epoch `e` shuffles with `seed + e`, the same on every run,
            so a resumed run can skip the batches it has done.
        shuffle_buffer: examples held for shuffling.

    Returns:
        A `tf.data.Dataset`; `targets` hold `intent` and `slots` all `IGNORE`.
    """
    datasets = []
    for epoch, (paths, max_seq_len) in enumerate(epochs):
        files = tf.data.Dataset.from_tensor_slices(list(paths)).shuffle(
            len(paths), seed=seed + epoch, reshuffle_each_iteration=False)
        records = files.interleave(tf.data.TFRecordDataset, cycle_length=1)
        datasets.append(records.shuffle(shuffle_buffer, seed=seed + epoch,
                                        reshuffle_each_iteration=False)
                        .batch(batch_size).map(_parse(max_seq_len)))
    dataset = datasets[0]
    for more in datasets[1:]:
        dataset = dataset.concatenate(more)
    return dataset.prefetch(2)
