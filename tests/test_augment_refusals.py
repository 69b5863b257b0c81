"""data_augmentation refuses what would give a silently wrong split (#43 item 10): an empty
train split, NaN or infinite word embeddings in the helper model; one line, nothing written."""

import os
import shutil

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from nlu_tf.augment.run import augment_dataset
from nlu_tf.augment.augmenter import AugmentSettings
from nlu_tf.errors import InputError
from tests.test_augment import _write_split

ROWS = {"train": [("play abba", "O B-artist", "PlayMusic")],
        "dev": [("play queen", "O B-artist", "PlayMusic")],
        "test": [("when is the show", "O O O O", "SearchScreeningEvent")]}


def _dataset(root, **rows):
    data = str(root / "data")
    for split, split_rows in {**ROWS, **rows}.items():
        _write_split(data, split, split_rows)
    return data


def test_empty_train_split_is_refused(tiny_bert_dir, tmp_path):
    data = _dataset(tmp_path, train=[])
    with pytest.raises(InputError, match="no utterances to augment") as error:
        augment_dataset(data, tiny_bert_dir, AugmentSettings(copies=2), stream=None)
    assert str(error.value).startswith(os.path.join(data, "train") + ": ")
    assert not os.path.exists(os.path.join(data, "train_aug"))


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_word_embeddings_are_refused(tiny_bert_dir, tmp_path, value):
    helper = str(tmp_path / "bert")
    shutil.copytree(tiny_bert_dir, helper)
    weights = os.path.join(helper, "model.safetensors")
    state = load_file(weights)
    name = next(key for key in state if key.endswith("word_embeddings.weight"))
    state[name][7, 3] = value
    save_file(state, weights, metadata={"format": "pt"})
    data = _dataset(tmp_path)
    with pytest.raises(InputError, match="NaN or infinite") as error:
        augment_dataset(data, helper, AugmentSettings(copies=2), stream=None)
    assert str(error.value).startswith(weights + ": ")
    assert not os.path.exists(os.path.join(data, "train_aug"))
