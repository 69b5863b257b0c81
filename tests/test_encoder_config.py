"""Hugging Face config.json and vocab.txt checks: one-line errors before any model is built."""

import inspect
import json
import os
import time

import pytest

from nlu_tf.data.reader import LabelMaps
from nlu_tf.errors import InputError
from nlu_tf.model_io.hf_encoder import load_hf_encoder
from nlu_tf.model_io.model_dir import from_pretrained
from nlu_tf.models.bert_encoder import BertEncoder
from nlu_tf.models.encoder_config import DEFAULTS
from tests.tiny import SNIPS, write_tiny_bert


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory):
    return write_tiny_bert(str(tmp_path_factory.mktemp("hf")))


def _with_config(hf_dir, tmp_path, **changes):
    """A copy of the tiny BERT directory whose config.json has `changes` (None deletes)."""
    directory = tmp_path / "bert"
    directory.mkdir()
    for name in os.listdir(hf_dir):
        os.symlink(os.path.join(hf_dir, name), directory / name)
    config = json.load(open(os.path.join(hf_dir, "config.json")))
    config.update(changes)
    (directory / "config.json").unlink()
    (directory / "config.json").write_text(json.dumps(config))
    return str(directory)


def _one_line(error, path):
    text = str(error)
    assert "\n" not in text and text.startswith(f"{path}: "), text
    return text


@pytest.mark.parametrize("key, value, problem", [
    ("num_hidden_layers", 0, "num_hidden_layers must be a positive integer, got 0"),
    ("num_hidden_layers", -2, "must be a positive integer"),
    ("num_hidden_layers", 1.5, "must be a positive integer, got 1.5"),
    ("num_hidden_layers", "2", "must be a positive integer, got '2'"),
    ("hidden_size", True, "hidden_size must be a positive integer, got True"),
    ("vocab_size", 0, "vocab_size must be a positive integer"),
    ("intermediate_size", -64, "intermediate_size must be a positive integer"),
    ("max_position_embeddings", 0, "max_position_embeddings must be a positive integer"),
    ("type_vocab_size", [2], "type_vocab_size must be a positive integer, got [2]"),
    ("num_attention_heads", 3, "num_attention_heads (3) must divide hidden_size (32)"),
    ("hidden_act", "swish", "hidden_act 'swish' is not supported"),
    ("hidden_act", "gelu\n\x1b[2J", r"hidden_act 'gelu\n\x1b[2J' is not supported"),
    ("hidden_dropout_prob", 1.0, "hidden_dropout_prob must be a number in [0, 1), got 1.0"),
    ("attention_probs_dropout_prob", -0.1, "attention_probs_dropout_prob must be a number"),
    ("hidden_dropout_prob", "0.1", "must be a number in [0, 1), got '0.1'"),
    ("layer_norm_eps", "1e-12", "layer_norm_eps must be a positive number, got '1e-12'"),
    ("layer_norm_eps", None, "layer_norm_eps must be a positive number, got None"),
    ("layer_norm_eps", float("nan"), "layer_norm_eps must be a positive number, got nan"),
    ("num_hidden_layers", 3, "num_hidden_layers is 3 but the weights hold 2 layer(s)"),
    ("num_hidden_layers", 1000000, "num_hidden_layers is 1000000 but the weights hold 2"),
    ("embedding_size", 32, "embedding_size must be null or an integer in 1..31 (below "
                           "hidden_size), got 32"),
    ("embedding_size", 0, "embedding_size must be null or an integer in 1..31"),
])
def test_bad_config_value_is_one_line_error(hf_dir, tmp_path, key, value, problem):
    directory = _with_config(hf_dir, tmp_path, **{key: value})
    started = time.perf_counter()
    with pytest.raises(InputError) as info:
        load_hf_encoder(directory)
    assert time.perf_counter() - started < 10
    assert problem in _one_line(info.value, os.path.join(directory, "config.json"))


def test_factorised_config_needs_its_projection_weight(hf_dir, tmp_path):
    directory = _with_config(hf_dir, tmp_path, embedding_size=8)
    with pytest.raises(InputError) as info:
        load_hf_encoder(directory)
    assert _one_line(info.value, os.path.join(directory, "model.safetensors")).endswith(
        "missing encoder weights: embeddings.word_embeddings_projection.weight")


def test_fewer_layers_than_the_weights_hold_is_allowed(hf_dir, tmp_path):
    encoder = load_hf_encoder(_with_config(hf_dir, tmp_path, num_hidden_layers=1))
    assert encoder.num_layers == 1


@pytest.mark.parametrize("extra_lines", [1, -1])
def test_vocab_txt_must_match_vocab_size(hf_dir, tmp_path, extra_lines):
    directory = _with_config(hf_dir, tmp_path)
    vocab = open(os.path.join(hf_dir, "vocab.txt")).read().split("\n")[:-1]
    vocab = vocab + ["[extra]"] if extra_lines > 0 else vocab[:-1]
    os.unlink(os.path.join(directory, "vocab.txt"))
    open(os.path.join(directory, "vocab.txt"), "w").write("\n".join(vocab) + "\n")
    with pytest.raises(InputError) as info:
        from_pretrained(directory, LabelMaps.from_dir(SNIPS), 32)
    text = _one_line(info.value, os.path.join(directory, "vocab.txt"))
    assert f"{len(vocab)} tokens, but config.json says vocab_size {len(vocab) - extra_lines}" in text


def test_embedding_rows_must_match_vocab_size(tmp_path):
    directory = write_tiny_bert(str(tmp_path / "bert"))
    config = json.load(open(os.path.join(directory, "config.json")))
    vocab = open(os.path.join(directory, "vocab.txt")).read()
    write_tiny_bert(directory, vocab_size=config["vocab_size"] + 5)  # weights with 5 more rows
    open(os.path.join(directory, "vocab.txt"), "w").write(vocab)
    (tmp_path / "bert" / "config.json").write_text(json.dumps(config))
    with pytest.raises(InputError, match=r"word_embeddings.weight: shape \(\d+, 32\) does not fit"):
        from_pretrained(directory, LabelMaps.from_dir(SNIPS), 32)


def test_max_seq_len_must_fit_the_position_embeddings(hf_dir):
    with pytest.raises(InputError) as info:
        from_pretrained(hf_dir, LabelMaps.from_dir(SNIPS), 65)
    assert "max_seq_len 65 is longer than the model's max_position_embeddings (64)" in _one_line(
        info.value, os.path.join(hf_dir, "config.json"))
    assert from_pretrained(hf_dir, LabelMaps.from_dir(SNIPS), 64).max_seq_len == 64


def test_defaults_are_the_encoder_constructor_defaults():
    parameters = inspect.signature(BertEncoder.__init__).parameters
    assert {k: p.default for k, p in parameters.items() if k in DEFAULTS} == DEFAULTS
    assert set(DEFAULTS) | {"self", "vocab_size", "kwargs"} == set(parameters)
