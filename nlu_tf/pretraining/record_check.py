"""Pregenerated records checked against their epoch's metrics before training reads them.

One streaming pass per pregenerated epoch, in batches of serialized records parsed by
`tf.io.parse_example` (memory bounded by the batch): every record must be a
`tf.train.Example` whose `input_ids`, `input_mask` and `segment_ids` hold exactly
`max_seq_len` integers, ids inside the vocabulary, mask and segment values 0 or 1; the
shards together must hold `num_training_examples` records. A failure is one `InputError`
naming the shard and the record (counted from 1 in that shard) or the metrics file.
"""

import numpy as np
import tensorflow as tf

from nlu_tf.errors import InputError
from nlu_tf.pretraining.records import SEQUENCE_FEATURES

BATCH = 1024
_SPEC = {name: tf.io.RaggedFeature(tf.int64) for name in SEQUENCE_FEATURES}


def _bounds(name, vocab_size):
    if name == "input_ids":
        return 0, vocab_size - 1, f"a token id outside the vocabulary (0..{vocab_size - 1})"
    return 0, 1, "a value other than 0 or 1"


def _first_unparsable(shard, batch, first):
    """The first record of `batch` that is not a `tf.train.Example` of int64 features."""
    for offset, record in enumerate(batch.numpy()):
        try:
            example = tf.train.Example.FromString(record)
        except Exception:  # protobuf's DecodeError: the bytes are not an Example
            raise InputError(shard, f"record {first + offset}: not a tf.train.Example") from None
        for name in SEQUENCE_FEATURES:
            feature = example.features.feature.get(name)
            if feature is not None and feature.WhichOneof("kind") not in (None, "int64_list"):
                raise InputError(shard, f"record {first + offset}: {name} is not a list of "
                                        "integers")
    raise InputError(shard, f"records {first}..{first + len(batch) - 1}: not parsable as "
                            "pretraining examples")


def _check_batch(shard, parsed, first, max_seq_len, vocab_size):
    for name in SEQUENCE_FEATURES:
        values = parsed[name]
        lengths = values.row_lengths().numpy()
        wrong = np.flatnonzero(lengths != max_seq_len)
        if wrong.size:
            index = int(wrong[0])
            raise InputError(shard, f"record {first + index}: {name} holds {lengths[index]} "
                                    f"values, not max_seq_len {max_seq_len}")
        low, high, problem = _bounds(name, vocab_size)
        flat = values.flat_values.numpy()
        bad = np.flatnonzero((flat < low) | (flat > high))
        if bad.size:
            at = int(bad[0])
            raise InputError(shard, f"record {first + at // max_seq_len}: {name} holds "
                                    f"{int(flat[at])}, {problem}")


def _records_in(shard, max_seq_len, vocab_size):
    """Checks every record of one shard; returns how many it holds."""
    records = iter(tf.data.TFRecordDataset(shard).batch(BATCH))
    first = 1
    while True:
        try:
            batch = next(records)
        except StopIteration:
            return first - 1
        except tf.errors.OpError as error:
            raise InputError(shard, f"record {first} or later: not a readable TFRecord "
                                    f"({error.message.splitlines()[0]})") from None
        try:
            parsed = tf.io.parse_example(batch, _SPEC)
        except tf.errors.OpError:
            _first_unparsable(shard, batch, first)
        _check_batch(shard, parsed, first, max_seq_len, vocab_size)
        first += int(batch.shape[0])


def check_epoch_records(metrics_file, shards, max_seq_len, count, vocab_size):
    """Raises `InputError` unless the `shards` of one pregenerated epoch hold `count`
    well-formed records of `max_seq_len` tokens over a vocabulary of `vocab_size`."""
    found = sum(_records_in(shard, max_seq_len, vocab_size) for shard in shards)
    if found != count:
        raise InputError(metrics_file, f"num_training_examples is {count}, but its shards "
                                       f"hold {found} records")
