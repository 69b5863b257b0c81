"""Keras encoders to and from Hugging Face BERT directories: the key table between them.

`nlu_tf.checkpoints` reads and writes the files as numpy (canonical keys, PyTorch
layouts) and `nlu_tf.models` holds the Keras layers, which know no Hugging Face names;
this module sits above both and maps each canonical key onto a variable
(`encoder_key_table`), with a shape check on every assignment.
"""

import os

import numpy as np

from nlu_tf.checkpoints.hf_names import HF_NAMES, PROJECTION_KEY, config_from_hf
from nlu_tf.checkpoints.hf_reader import (IGNORED_KEYS, find_weight_file, missing_weights_error,
                                          read_encoder_state, shape_error)
from nlu_tf.checkpoints.hf_writer import write_hf_dir
from nlu_tf.errors import InputError
from nlu_tf.models.bert_encoder import BertEncoder, full_token_table
from nlu_tf.models.encoder_config import check_encoder_config


def read_hf_config(model_dir, **overrides):
    """Reads and checks a Hugging Face `config.json` (with `overrides`) as `BertEncoder` args.

    Returns:
        (arguments with defaults filled in, the config.json path).
    """
    path = os.path.join(model_dir, "config.json") if os.path.isdir(model_dir) else model_dir
    config = {**config_from_hf(path), **overrides}
    return check_encoder_config(config, path, HF_NAMES), path


def load_hf_encoder(model_dir, dtype=None, **overrides):
    """Builds a `BertEncoder` from a Hugging Face BERT directory and loads its weights.

    Reads `config.json` and the first of `model.safetensors`, `tf_model.h5`,
    `pytorch_model.bin` found in `model_dir`. Keyword arguments override config values
    (for example dropout rates). The config and the stored shapes are checked before
    the encoder is built. `dtype` is the Keras dtype policy it computes in.

    Example:
    >>> encoder = load_hf_encoder("path/to/hf_bert_dir")
    >>> out = encoder({"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
    """
    config, config_path = read_hf_config(model_dir, **overrides)
    weights = find_weight_file(model_dir)
    state = read_encoder_state(weights, config, config_path, HF_NAMES)
    encoder = BertEncoder(**config, dtype=dtype)
    encoder.build()
    assign_state(encoder, state, weights)
    return encoder


def encoder_key_table(encoder):
    """Returns {canonical key: (variable, transpose)} for every variable of a `BertEncoder`."""
    table = {
        "embeddings.word_embeddings.weight": (encoder.token_embedding.embeddings, False),
        "embeddings.position_embeddings.weight": (encoder.position_embedding.embeddings, False),
        "embeddings.token_type_embeddings.weight": (encoder.segment_embedding.embeddings, False),
        "embeddings.LayerNorm.weight": (encoder.embeddings_layer_norm.gamma, False),
        "embeddings.LayerNorm.bias": (encoder.embeddings_layer_norm.beta, False),
        "pooler.dense.weight": (encoder.pooler_dense.kernel, True),
        "pooler.dense.bias": (encoder.pooler_dense.bias, False),
    }
    if encoder.token_projection is not None:
        table[PROJECTION_KEY] = (encoder.token_projection.kernel, True)
    for i, layer in enumerate(encoder.transformer_layers):
        prefix = f"encoder.layer.{i}."
        denses = {"attention.self.query": layer.query, "attention.self.key": layer.key,
                  "attention.self.value": layer.value,
                  "attention.output.dense": layer.attention_output,
                  "intermediate.dense": layer.intermediate, "output.dense": layer.output_dense}
        for name, dense in denses.items():
            table[prefix + name + ".weight"] = (dense.kernel, True)
            table[prefix + name + ".bias"] = (dense.bias, False)
        for name, norm in (("attention.output.LayerNorm", layer.attention_norm),
                           ("output.LayerNorm", layer.output_norm)):
            table[prefix + name + ".weight"] = (norm.gamma, False)
            table[prefix + name + ".bias"] = (norm.beta, False)
    return table


def assign_state(encoder, state, source):
    """Assigns a canonical state dict to `encoder`; returns the list of skipped extra keys."""
    table = encoder_key_table(encoder)
    missing = [key for key in table if key not in state]
    if missing:
        raise missing_weights_error(source, missing)
    for key, (variable, transpose) in table.items():
        value = state[key].T if transpose else state[key]
        if tuple(value.shape) != tuple(variable.shape):
            raise shape_error(source, key, state[key].shape, variable.shape)
        variable.assign(value.astype(np.float32))
    return sorted(key for key in state if key not in table and key not in IGNORED_KEYS)


def load_encoder_weights(encoder, model_dir):
    """Loads the weights of a Hugging Face BERT directory into a built `BertEncoder`."""
    path = find_weight_file(model_dir)
    config = {key: value for key, value in encoder.get_config().items()
              if key not in ("name", "trainable", "dtype")}
    return assign_state(encoder, read_encoder_state(path, config), path)


def load_mlm_head(layer, head, word_embeddings, source):
    """Assigns the tensors of `hf_reader.mlm_head_state` (PyTorch layouts) to a
    `MaskedLMHead`, with shape checks.

    Args:
        layer: the `MaskedLMHead` (built here if it is not).
        head: the dict returned by `mlm_head_state`.
        word_embeddings: (vocab_size, hidden) array, the decoder when none is stored.
        source: the weight file, named in errors.
    """
    if not layer.built:
        layer.build()
    table = {"transform.dense.weight": (layer.transform_dense.kernel, True),
             "transform.dense.bias": (layer.transform_dense.bias, False),
             "transform.LayerNorm.weight": (layer.transform_norm.gamma, False),
             "transform.LayerNorm.bias": (layer.transform_norm.beta, False),
             "decoder.weight": (layer.decoder, False),
             "bias": (layer.output_bias, False)}
    values = {**{"decoder.weight": word_embeddings}, **head}
    missing = sorted(key for key in table if key not in values)
    if missing:
        raise InputError(source, f"incomplete masked-LM head: missing cls.predictions."
                                 f"{', cls.predictions.'.join(missing)}")
    for key, (variable, transpose) in table.items():
        value = values[key].T if transpose else values[key]
        if tuple(value.shape) != tuple(variable.shape):
            raise shape_error(source, f"cls.predictions.{key}", values[key].shape,
                              variable.shape)
        variable.assign(value.astype("float32"))


def hf_state(encoder):
    """{BertModel key: float32 numpy array in PyTorch layout} of a built `BertEncoder`; a
    shared token table (`embedding_rows`) is written expanded, one row per vocabulary id."""
    state = {key: np.ascontiguousarray(variable.numpy().T if transpose else variable.numpy(),
                                       dtype=np.float32)
             for key, (variable, transpose) in encoder_key_table(encoder).items()}
    if encoder.token_row_map is not None:
        state["embeddings.word_embeddings.weight"] = np.ascontiguousarray(
            full_token_table(encoder), dtype=np.float32)
    return state


def save_hf_encoder(encoder, tokenizer, path, extra_json=None, extra_dirs=()):
    """Writes `encoder` and its `tokenizer` as a Hugging Face BERT directory, atomically
    (`nlu_tf.checkpoints.hf_writer.write_hf_dir`).

    Args:
        encoder: a built `BertEncoder`.
        tokenizer: its `WordPieceTokenizer` (vocabulary and lower-casing).
        path: the directory; an existing one is replaced.
        extra_json: {file name: JSON-ready object} written beside (run metrics, settings).
        extra_dirs: folders copied in (missing ones skipped), e.g. TensorBoard events.
    """
    return write_hf_dir(hf_state(encoder), encoder.get_config(), tokenizer, path, extra_json,
                        extra_dirs)
