"""Checks of an nlu_tf model directory's config, label files and weights file before it is built.

Everything but `check_row_map` (run on the loaded model) reads metadata and small text
files only: a directory whose label files, vocabulary, layer count or sequence limit
disagree with its weights is refused with one line before Keras allocates the model, so it
can never silently relabel predictions.
"""

import math
import os
import re

import numpy as np

from nlu_tf.checkpoints.h5_files import scan_h5
from nlu_tf.checkpoints.hf_names import encoder_shapes
from nlu_tf.checkpoints.hf_reader import check_layer_count
from nlu_tf.errors import InputError, quote
from nlu_tf.models.encoder_config import check_encoder_config, check_max_seq_len, is_number

_ENCODER_NAMES = {key: f"model.encoder_config.{key}" for key in
                  ("vocab_size", "hidden_size", "num_layers", "num_heads", "intermediate_size",
                   "max_position_embeddings", "type_vocab_size", "hidden_dropout",
                   "attention_dropout", "layer_norm_eps", "activation", "embedding_size",
                   "embedding_rows")}
_TRANSFORMER_GROUP = re.compile(r"encoder/layers/(transformer_layer(?:_\d+)?)/")
_MODEL_KEYS = {"encoder_config", "head_dropout", "name", "trainable"}
JOINT_SIZES = ("num_intents", "num_slots")


def check_model_config(config_path, config, sizes=JOINT_SIZES, other_keys=()):
    """Returns (model arguments, max_seq_len) from a parsed model `config.json`.

    Args:
        config_path: the file, for errors.
        config: its parsed content.
        sizes: the model's head-size arguments (each a positive integer).
        other_keys: the model's other head arguments, checked by its head kind.
    """
    model = config.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("encoder_config"), dict):
        raise InputError(config_path, "model.encoder_config is missing or not an object")
    unknown = sorted(set(model) - _MODEL_KEYS - set(sizes) - set(other_keys))
    if unknown:
        raise InputError(config_path, f"unknown model setting {quote(unknown[0])}")
    encoder = check_encoder_config(model["encoder_config"], config_path, _ENCODER_NAMES)
    for key in sizes:
        if type(model.get(key)) is not int or model[key] < 1:
            raise InputError(config_path, f"model.{key} must be a positive integer, "
                                          f"got {quote(model.get(key))}")
    dropout = model.get("head_dropout", 0.1)
    if not (is_number(dropout) and 0 <= dropout < 1):
        raise InputError(config_path, f"model.head_dropout must be a number in [0, 1), "
                                      f"got {quote(dropout)}")
    max_seq_len = config.get("max_seq_len")
    if max_seq_len is None:
        raise InputError(config_path, "max_seq_len is missing")
    check_max_seq_len(max_seq_len, encoder, config_path)
    return {**model, "encoder_config": encoder}, max_seq_len


def check_head_sizes(model_dir, model, labels):
    """Raises unless the label files have exactly as many lines as the heads have outputs."""
    for name, count, key in (("intent_label.txt", len(labels.intents), "num_intents"),
                             ("slot_label.txt", len(labels.slots), "num_slots")):
        if count != model[key]:
            raise InputError(os.path.join(model_dir, name),
                             f"{count} labels, but the model's head has {model[key]} outputs "
                             f"(config.json model.{key})")


def check_weights_file(weights_path, config_path, model, sizes=JOINT_SIZES):
    """Scans `model.weights.h5` (storage, layer count, parameter count) before Keras reads it;
    `sizes` names the model's head-size arguments (each head a dense layer on the hidden
    size)."""
    shapes = scan_h5(weights_path)
    layers = {match.group(1) for name in shapes if (match := _TRANSFORMER_GROUP.match(name))}
    encoder = model["encoder_config"]
    check_layer_count(encoder, len(layers), config_path, _ENCODER_NAMES, exact=True)
    hidden = encoder["hidden_size"]
    expected = sum(math.prod(shape) for shape in encoder_shapes(encoder).values())
    expected += (hidden + 1) * sum(model[key] for key in sizes)
    stored = sum(math.prod(shape) for shape in shapes.values())
    if stored != expected:
        raise InputError(weights_path, f"holds {stored} parameters, but config.json describes "
                                       f"a model of {expected}")


def check_row_map(encoder, source):
    """Raises `InputError` naming `source` unless every entry of a shared table's row map
    names one of its rows (a hostile weights file could point outside the table)."""
    if encoder.token_row_map is None:
        return
    rows = encoder.token_row_map.numpy()
    bad = np.flatnonzero((rows < 0) | (rows >= encoder.embedding_rows))
    if bad.size:
        raise InputError(source, f"token_row_map entry {int(bad[0])} is {int(rows[bad[0]])}, "
                                 f"outside the table's {encoder.embedding_rows} rows")
