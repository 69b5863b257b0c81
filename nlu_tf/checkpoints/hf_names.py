"""Hugging Face BERT's names: the `config.json` keys and the weight keys of a `BertEncoder` config.

`BertEncoder` (`nlu_tf.models`) takes its own argument names; this is the one place that
maps them to and from the names Hugging Face writes, in `config.json` (`HF_CONFIG_KEYS`)
and in the state dict (`encoder_shapes`, in the canonical form of `hf_reader`: PyTorch
`BertModel` keys without `bert.`, PyTorch layouts).
"""

import os

from nlu_tf.errors import InputError
from nlu_tf.io_utils import read_json_object

# Hugging Face config.json key -> our constructor argument.
HF_CONFIG_KEYS = {
    "vocab_size": "vocab_size",
    "hidden_size": "hidden_size",
    "num_hidden_layers": "num_layers",
    "num_attention_heads": "num_heads",
    "intermediate_size": "intermediate_size",
    "max_position_embeddings": "max_position_embeddings",
    "type_vocab_size": "type_vocab_size",
    "hidden_dropout_prob": "hidden_dropout",
    "attention_probs_dropout_prob": "attention_dropout",
    "layer_norm_eps": "layer_norm_eps",
    "hidden_act": "activation",
    "embedding_size": "embedding_size",
}
# A factorised token embedding (`embedding_size` below `hidden_size`): the (vocab,
# embedding_size) table is projected to the model width by this (hidden, embedding_size)
# matrix. BertModel has no such weight; ALBERT calls it embedding_hidden_mapping_in.
PROJECTION_KEY = "embeddings.word_embeddings_projection.weight"
# A shared token table (`embedding_rows` below `vocab_size`): the row each vocabulary id
# reads. nlu_tf model directories only; a Hugging Face export writes the table expanded.
ROW_MAP_KEY = "embeddings.word_embeddings_row_map"
HF_NAMES = {ours: theirs for theirs, ours in HF_CONFIG_KEYS.items()}


def config_from_hf(path):
    """Reads a Hugging Face `config.json` (file or model directory) into `BertEncoder`
    arguments (unchecked: `nlu_tf.model_io.hf_encoder.read_hf_config` checks them)."""
    if os.path.isdir(path):
        path = os.path.join(path, "config.json")
    if not os.path.isfile(path):
        raise InputError(path, "config.json not found")
    hf = read_json_object(path)
    if hf.get("position_embedding_type", "absolute") != "absolute":
        raise InputError(path, "only absolute position embeddings are supported")
    required = [key for key in ("vocab_size", "hidden_size", "num_hidden_layers",
                                "num_attention_heads", "intermediate_size") if key not in hf]
    if required:
        raise InputError(path, f"missing keys: {', '.join(required)}")
    return {ours: hf[theirs] for theirs, ours in HF_CONFIG_KEYS.items() if theirs in hf}


def encoder_shapes(config):
    """Canonical key (PyTorch `BertModel` naming, no `bert.`) -> shape, (out, in) for dense weights."""
    h, i = config["hidden_size"], config["intermediate_size"]
    e = config.get("embedding_size") or h
    rows = config.get("embedding_rows") or config["vocab_size"]
    shapes = {
        "embeddings.word_embeddings.weight": (rows, e),
        "embeddings.position_embeddings.weight": (config["max_position_embeddings"], h),
        "embeddings.token_type_embeddings.weight": (config["type_vocab_size"], h),
        "embeddings.LayerNorm.weight": (h,), "embeddings.LayerNorm.bias": (h,),
        "pooler.dense.weight": (h, h), "pooler.dense.bias": (h,),
    }
    if config.get("embedding_size"):
        shapes[PROJECTION_KEY] = (h, e)
    if config.get("embedding_rows"):
        shapes[ROW_MAP_KEY] = (config["vocab_size"],)
    for n in range(config["num_layers"]):
        p = f"encoder.layer.{n}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value",
                     "attention.output.dense"):
            shapes[p + name + ".weight"], shapes[p + name + ".bias"] = (h, h), (h,)
        shapes[p + "intermediate.dense.weight"], shapes[p + "intermediate.dense.bias"] = (i, h), (i,)
        shapes[p + "output.dense.weight"], shapes[p + "output.dense.bias"] = (h, i), (h,)
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            shapes[p + name + ".weight"], shapes[p + name + ".bias"] = (h,), (h,)
    return shapes
