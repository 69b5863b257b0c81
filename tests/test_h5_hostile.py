"""Hostile tf_model.h5 files: storage outside the file and inflating datasets are refused unread."""

import json

import h5py
import numpy as np
import pytest

from nlu_tf.errors import InputError
from nlu_tf.model_io.hf_encoder import load_hf_encoder
from tests import checkpoint_writers as writers
from tests.peak_memory import peak_of_call
from tests.tiny import TINY_CONFIG, random_bert_state

CONFIG = {**TINY_CONFIG, "vocab_size": 120}
TOKEN_TYPES = writers.TF_ROOT + "embeddings/token_type_embeddings/embeddings:0"
WORDS = writers.TF_ROOT + "embeddings/word_embeddings/weight:0"
MB = 1 << 20


def _h5_dir(tmp_path, name="bert"):
    directory = tmp_path / name
    directory.mkdir()
    (directory / "config.json").write_text(json.dumps(CONFIG))
    writers.write_tf_h5(random_bert_state(CONFIG, seed=3), str(directory))
    return directory


def _replace(directory, name, **dataset_args):
    with h5py.File(directory / "tf_model.h5", "a") as f:
        del f["bert/" + name]
        f["bert"].create_dataset(name, **dataset_args)


def test_external_storage_is_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(bytes(range(256)))  # stands in for any local file
    directory = _h5_dir(tmp_path)
    _replace(directory, TOKEN_TYPES, shape=(2, 32), dtype="<f4", external=[(str(secret), 0, 256)])
    with h5py.File(directory / "tf_model.h5") as f:  # control: h5py alone reads the file's bytes
        assert f["bert/" + TOKEN_TYPES][()].tobytes() == secret.read_bytes()
    with pytest.raises(InputError, match="token_type_embeddings.*keeps its data in external files"):
        load_hf_encoder(str(directory))


def test_virtual_dataset_is_refused(tmp_path):
    source = tmp_path / "source.h5"
    with h5py.File(source, "w") as f:
        f["x"] = np.ones((2, 32), np.float32)
    directory = _h5_dir(tmp_path)
    layout = h5py.VirtualLayout(shape=(2, 32), dtype="<f4")
    layout[:] = h5py.VirtualSource(str(source), "x", shape=(2, 32))
    with h5py.File(directory / "tf_model.h5", "a") as f:
        del f["bert/" + TOKEN_TYPES]
        f["bert"].create_virtual_dataset(TOKEN_TYPES, layout)
    with pytest.raises(InputError, match="is a virtual dataset"):
        load_hf_encoder(str(directory))


def test_external_link_is_refused(tmp_path):
    source = tmp_path / "source.h5"
    with h5py.File(source, "w") as f:
        f["x"] = np.ones((2, 32), np.float32)
    directory = _h5_dir(tmp_path)
    with h5py.File(directory / "tf_model.h5", "a") as f:
        del f["bert/" + TOKEN_TYPES]
        f["bert/" + TOKEN_TYPES] = h5py.ExternalLink(str(source), "x")
    with pytest.raises(InputError, match="is a link to another file"):
        load_hf_encoder(str(directory))


def _inflating(directory, rows):
    """Word embeddings declared (rows, 32) float32, chunked and gzip'd, never written."""
    _replace(directory, WORDS, shape=(rows, 32), dtype="<f4", chunks=(1024, 32),
             compression="gzip")


def test_inflating_dataset_is_refused_with_bounded_memory(tmp_path):
    directory = _h5_dir(tmp_path)
    _inflating(directory, 4 * MB)  # 512 MiB of fill value
    assert (directory / "tf_model.h5").stat().st_size < 1 * MB
    with pytest.raises(InputError, match="would expand from 0 stored bytes to 536870912"):
        load_hf_encoder(str(directory))
    peak, error = peak_of_call("nlu_tf.checkpoints.hf_reader:read_raw_tensors",
                               directory / "tf_model.h5")
    assert error is not None and "compression bomb" in error
    assert peak < 200 * MB, f"reading took {peak / MB:.0f} MB"


def test_shape_is_checked_against_the_config_before_reading(tmp_path, monkeypatch):
    directory = _h5_dir(tmp_path)
    _replace(directory, WORDS, data=np.zeros((1000, 32), np.float32))
    read = []
    monkeypatch.setattr(h5py.Dataset, "__getitem__",
                        lambda self, key: read.append(self.name) or np.zeros(self.shape))
    with pytest.raises(InputError, match=r"word_embeddings.weight: shape \(1000, 32\) does not fit "
                                         r"the config \(expected \(120, 32\)\)"):
        load_hf_encoder(str(directory))
    assert read == []
