"""Checks of a `BertEncoder` config before any model is built.

A config comes from a file (a Hugging Face `config.json`, or the `encoder_config` of an
nlu_tf model directory), so every value is checked with a one-line `InputError` that names
the key as that file spells it (the caller passes the spelling: `names`): a zero-layer
encoder, a million layers, or heads that do not divide the width must be refused before
Keras starts allocating.
"""

import math

from nlu_tf.errors import InputError, quote
from nlu_tf.models.activations import ACTIVATION_NAMES

# `BertEncoder`'s constructor defaults (tests/test_encoder_config.py keeps them in step).
DEFAULTS = {"hidden_size": 768, "num_layers": 12, "num_heads": 12, "intermediate_size": 3072,
            "max_position_embeddings": 512, "type_vocab_size": 2, "hidden_dropout": 0.1,
            "attention_dropout": 0.1, "layer_norm_eps": 1e-12, "activation": "gelu",
            "embedding_size": None, "embedding_rows": None, "embedding_bits": None,
            "weight_bits": None}
SIZES = ("vocab_size", "hidden_size", "num_layers", "num_heads", "intermediate_size",
         "max_position_embeddings", "type_vocab_size")
RATES = ("hidden_dropout", "attention_dropout")


def is_number(value):
    """True for a JSON number (bools excluded)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_encoder_config(config, source, names=None):
    """Returns `config` with defaults filled in, or raises a one-line `InputError`.

    Args:
        config: `BertEncoder` constructor arguments (our names).
        source: the file the values came from (named in errors).
        names: our name -> the key as `source` spells it (default: our names).
    """
    names = names or {}

    def fail(key, problem):
        raise InputError(source, f"{names.get(key, key)} {problem}")

    unknown = sorted(set(config) - set(DEFAULTS) - {"vocab_size"})
    if unknown:
        raise InputError(source, f"unknown encoder setting {quote(unknown[0])}")
    if "vocab_size" not in config:
        fail("vocab_size", "is missing")
    full = {**DEFAULTS, **config}
    for key in SIZES:
        if type(full[key]) is not int or full[key] < 1:
            fail(key, f"must be a positive integer, got {quote(full[key])}")
    if full["hidden_size"] % full["num_heads"]:
        fail("num_heads", f"({full['num_heads']}) must divide "
                          f"{names.get('hidden_size', 'hidden_size')} ({full['hidden_size']})")
    if full["activation"] not in ACTIVATION_NAMES:
        fail("activation", f"{quote(full['activation'])} is not supported "
                           f"(supported: {', '.join(ACTIVATION_NAMES)})")
    for key in RATES:
        if not (is_number(full[key]) and 0 <= full[key] < 1):
            fail(key, f"must be a number in [0, 1), got {quote(full[key])}")
    embedding = full["embedding_size"]
    if embedding is not None and (type(embedding) is not int
                                  or not 0 < embedding < full["hidden_size"]):
        fail("embedding_size", f"must be null or an integer in 1..{full['hidden_size'] - 1} "
                               f"(below hidden_size), got {quote(embedding)}")
    rows = full["embedding_rows"]
    if rows is not None and (type(rows) is not int or not 0 < rows <= full["vocab_size"]):
        fail("embedding_rows", f"must be null or an integer in 1..{full['vocab_size']} "
                               f"(at most vocab_size), got {quote(rows)}")
    # 4-bit tables (an int4 export's model, never written) and quantization-aware training.
    for key, allowed in (("embedding_bits", (None, 4)), ("weight_bits", (None, 0, 4))):
        if full[key] not in allowed or isinstance(full[key], bool):
            fail(key, f"must be one of {', '.join(map(quote, allowed))}, got {quote(full[key])}")
    eps = full["layer_norm_eps"]
    if not (is_number(eps) and math.isfinite(eps) and eps > 0):
        fail("layer_norm_eps", f"must be a positive number, got {quote(eps)}")
    return full


def check_vocab_size(vocab_len, config, vocab_path, config_name):
    """Raises unless `vocab.txt` has exactly `vocab_size` tokens (ids would shift or overflow)."""
    if vocab_len != config["vocab_size"]:
        raise InputError(vocab_path, f"{vocab_len} tokens, but {config_name} says "
                                     f"vocab_size {config['vocab_size']}")


def check_max_seq_len(max_seq_len, config, source):
    """Raises unless sequences of `max_seq_len` tokens have position embeddings."""
    if max_seq_len is None:
        return
    if type(max_seq_len) is not int or max_seq_len < 3:
        raise InputError(source, f"max_seq_len must be an integer >= 3, got {quote(max_seq_len)}")
    if max_seq_len > config["max_position_embeddings"]:
        raise InputError(source, f"max_seq_len {max_seq_len} is longer than the model's "
                                 f"max_position_embeddings ({config['max_position_embeddings']})")
