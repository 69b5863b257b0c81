"""nlu_tf model directories are checked against their labels, vocabulary and weights on load."""

import json
import shutil

import h5py
import pytest

from nlu_tf.errors import InputError
from nlu_tf.model_io.model_dir import load_model_dir
from tests.model_dir_builder import write_model_dir


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return write_model_dir(str(tmp_path_factory.mktemp("built")))


@pytest.fixture
def model_dir(built, tmp_path):
    return shutil.copytree(built, tmp_path / "model")


def _edit_config(model_dir, edit):
    config = json.loads((model_dir / "config.json").read_text())
    edit(config)
    (model_dir / "config.json").write_text(json.dumps(config))


def _error(model_dir, path):
    with pytest.raises(InputError) as info:
        load_model_dir(str(model_dir))
    text = str(info.value)
    assert "\n" not in text and text.startswith(f"{path}: "), text
    return text


def test_intact_directory_loads(model_dir):
    bundle = load_model_dir(str(model_dir))
    assert bundle.max_seq_len == 32 and len(bundle.labels.intents) == bundle.model.num_intents


@pytest.mark.parametrize("name, change", [
    ("intent_label.txt", -1), ("intent_label.txt", 1), ("slot_label.txt", -1)])
def test_label_file_must_match_the_head(model_dir, name, change):
    lines = (model_dir / name).read_text().splitlines()
    lines = lines[:-1] if change < 0 else lines + ["NewLabel"]
    (model_dir / name).write_text("\n".join(lines) + "\n")
    head = len(lines) - change
    assert f"{len(lines)} labels, but the model's head has {head} outputs" in _error(
        model_dir, model_dir / name)


@pytest.mark.parametrize("layers", [1, 3])
def test_layer_count_must_match_the_weights(model_dir, layers):
    _edit_config(model_dir, lambda c: c["model"]["encoder_config"].update(num_layers=layers))
    assert (f"model.encoder_config.num_layers is {layers} but the weights hold 2 layer(s)"
            in _error(model_dir, model_dir / "config.json"))


def test_max_seq_len_must_fit_the_positions(model_dir):
    _edit_config(model_dir, lambda c: c.update(max_seq_len=65))
    assert "max_seq_len 65 is longer than the model's max_position_embeddings (64)" in _error(
        model_dir, model_dir / "config.json")


def test_vocab_must_match_vocab_size(model_dir):
    with open(model_dir / "vocab.txt", "a") as f:
        f.write("[extra]\n")
    assert "tokens, but config.json says vocab_size" in _error(model_dir, model_dir / "vocab.txt")


@pytest.mark.parametrize("key, value, problem", [
    ("num_heads", 5, "model.encoder_config.num_heads (5) must divide"),
    ("hidden_dropout", 1.5, "model.encoder_config.hidden_dropout must be a number in [0, 1)"),
    ("activation", "tanh", "model.encoder_config.activation 'tanh' is not supported"),
    ("intermediate_size", 65, "parameters, but config.json describes a model of"),
])
def test_bad_encoder_config(model_dir, key, value, problem):
    _edit_config(model_dir, lambda c: c["model"]["encoder_config"].update({key: value}))
    path = model_dir / ("model.weights.h5" if "parameters" in problem else "config.json")
    assert problem in _error(model_dir, path)


def test_external_dataset_in_weights_is_refused(model_dir, tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(bytes(2 * 32 * 4))
    name = "encoder/layers/embedding_2/vars/0"  # the segment (token type) embeddings
    with h5py.File(model_dir / "model.weights.h5", "a") as f:
        del f[name]
        f.create_dataset(name, shape=(2, 32), dtype="<f4", external=[(str(secret), 0, 256)])
    assert "keeps its data in external files" in _error(model_dir, model_dir / "model.weights.h5")


def test_other_shapes_of_the_same_parameter_count_are_one_line(model_dir):
    def reshape(config):
        encoder = config["model"]["encoder_config"]
        # One position row fewer, one segment row more: the same number of weights.
        encoder["max_position_embeddings"] -= 1
        encoder["type_vocab_size"] += 1

    _edit_config(model_dir, reshape)
    text = _error(model_dir, model_dir / "model.weights.h5")
    assert "do not fit config.json" in text and "position_embedding" in text
