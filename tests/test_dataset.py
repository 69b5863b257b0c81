"""Tests of nlu_tf.data.dataset: bucketed padding, masks, seeded order, completeness."""

import numpy as np
import pytest

from nlu_tf.data.dataset import (inference_batches, num_batches, padded_length, train_batch_plan,
                                 train_dataset)
from nlu_tf.data.features import IGNORE, Features


def synthetic_features(lengths, pad_id=0):
    """Features whose example i holds token i + 1000 everywhere, and intent i."""
    input_ids = [np.full(length, i + 1000, dtype=np.int32) for i, length in enumerate(lengths)]
    word_starts = [np.where(np.arange(length) % 2 == 1, np.arange(length) // 2, -1).astype(
        np.int32) for length in lengths]
    slot_labels = [np.where(starts >= 0, 7, IGNORE).astype(np.int32) for starts in word_starts]
    return Features(input_ids=input_ids, word_starts=word_starts,
                    num_words=np.array([(n + 1) // 2 for n in lengths], dtype=np.int32),
                    pad_id=pad_id, slot_labels=slot_labels,
                    intent=np.arange(len(lengths), dtype=np.int32),
                    truncated=np.zeros(len(lengths), dtype=bool))


@pytest.fixture(scope="module")
def features():
    rng = np.random.default_rng(3)
    return synthetic_features(rng.integers(3, 45, size=333).tolist(), pad_id=5)


def as_numpy(dataset):
    return [(({k: v.numpy() for k, v in x.items()}, {k: v.numpy() for k, v in y.items()}))
            for x, y in dataset]


def check_batch(features, inputs, targets, bucket_width):
    cap = features.lengths.max()
    ids, mask, types = inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"]
    width = ids.shape[1]
    assert ids.shape == mask.shape == types.shape == targets["slots"].shape
    assert ids.dtype == mask.dtype == targets["intent"].dtype == targets["slots"].dtype == np.int32
    assert width % bucket_width == 0 or width == cap
    longest = mask.sum(axis=1).max()
    assert width == padded_length(longest, bucket_width, cap)
    assert not types.any()
    for row, index in enumerate(targets["intent"]):
        length = len(features.input_ids[index])
        np.testing.assert_array_equal(mask[row], np.arange(width) < length)
        np.testing.assert_array_equal(ids[row, :length], features.input_ids[index])
        assert (ids[row, length:] == features.pad_id).all()
        np.testing.assert_array_equal(targets["slots"][row, :length], features.slot_labels[index])
        assert (targets["slots"][row, length:] == IGNORE).all()


def test_padded_length():
    assert padded_length(9, 8, 50) == 16
    assert padded_length(16, 8, 50) == 16
    assert padded_length(49, 8, 50) == 50
    assert padded_length(3, 1, 50) == 3


def test_train_batches_shapes_masks_and_completeness(features):
    batches = as_numpy(train_dataset(features, batch_size=16, seed=1, bucket_width=8))
    assert len(batches) == num_batches(len(features), 16) == 21
    seen = np.concatenate([targets["intent"] for _, targets in batches])
    np.testing.assert_array_equal(np.sort(seen), np.arange(len(features)))
    for inputs, targets in batches:
        check_batch(features, inputs, targets, 8)
    # Sorting inside chunks keeps the number of shapes small.
    assert len({inputs["input_ids"].shape[1] for inputs, _ in batches}) <= 6


def test_same_seed_same_batches_new_order_each_epoch(features):
    def epochs(dataset, count=21):
        batches = [t["intent"].tolist() for _, t in as_numpy(dataset)]
        return [batches[i:i + count] for i in range(0, len(batches), count)]

    first = epochs(train_dataset(features, batch_size=16, seed=7, epochs=2))
    assert first == epochs(train_dataset(features, batch_size=16, seed=7, epochs=2))
    assert len(first) == 2 and first[0] != first[1]
    assert sorted(sum(first[1], [])) == list(range(len(features)))
    # An epoch is the same whether produced first or after others (resumed runs).
    assert epochs(train_dataset(features, 16, seed=7, first_epoch=1)) == [first[1]]
    # Iterating again gives the same epochs: nothing is counted between iterations.
    dataset = train_dataset(features, 16, seed=7)
    assert epochs(dataset) == epochs(dataset) == [first[0]]
    other = epochs(train_dataset(features, 16, seed=8))
    assert other != [first[0]]


def test_drop_remainder(features):
    batches = as_numpy(train_dataset(features, 16, seed=0, drop_remainder=True))
    assert len(batches) == num_batches(len(features), 16, drop_remainder=True) == 20
    assert all(len(t["intent"]) == 16 for _, t in batches)


def test_no_shuffle_is_deterministic_and_complete(features):
    plan = train_batch_plan(features.lengths, 16, seed=0, epoch=0, shuffle=False)
    assert [b.tolist() for b in plan] == [
        b.tolist() for b in train_batch_plan(features.lengths, 16, seed=5, epoch=3, shuffle=False)]
    np.testing.assert_array_equal(np.sort(np.concatenate(plan)), np.arange(len(features)))


def test_inference_batches_cover_every_example_once_by_length(features):
    batches = list(inference_batches(features, batch_size=32, bucket_width=4))
    assert len(batches) == 11
    order = np.concatenate([indices for indices, _ in batches])
    np.testing.assert_array_equal(np.sort(order), np.arange(len(features)))
    assert (np.diff(features.lengths[order]) >= 0).all()
    for indices, inputs in batches:
        targets = features.batch_targets(indices, inputs["input_ids"].shape[1])
        np.testing.assert_array_equal(targets["intent"], indices)
        check_batch(features, inputs, targets, 4)
    file_order = sum(padded_length(features.lengths[start:start + 32].max(), 4, 44) * 32
                     for start in range(0, len(features), 32))
    assert sum(inputs["input_ids"].size for _, inputs in batches) < 0.8 * file_order


def test_inference_batches_of_unlabelled_features():
    labelled = synthetic_features([9, 3, 5])
    features = Features(labelled.input_ids, labelled.word_starts, labelled.num_words)
    batches = list(inference_batches(features, batch_size=2))
    assert [indices.tolist() for indices, _ in batches] == [[1, 2], [0]]
    assert batches[0][1]["input_ids"].shape == (2, 8)
    assert batches[1][1]["input_ids"].shape == (1, 9)  # capped at the longest utterance
    assert list(inference_batches(Features([], [], np.zeros(0, np.int32)), 2)) == []
    with pytest.raises(ValueError, match="must be positive"):
        next(inference_batches(features, batch_size=0))
