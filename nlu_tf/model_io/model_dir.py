"""A model directory: everything needed to run a joint model, and nothing that depends on code state.

Layout: `config.json` (model constructor arguments, max_seq_len, lower-casing, and `head`
for a model other than the joint one), `vocab.txt`, the head's label files
(`intent_label.txt` and `slot_label.txt`; a GLUE model's `label.txt`), `model.weights.h5`,
and optionally `settings.json` (the resolved run settings) and `metrics.json` (dev / test
metrics). What differs by head type is in `nlu_tf.model_io.heads`.
"""

import dataclasses
import os
import shutil

from nlu_tf.checkpoints.hf_names import HF_NAMES
from nlu_tf.checkpoints.hf_reader import find_weight_file, read_encoder_state
from nlu_tf.data.tokenizer import WordPieceTokenizer
from nlu_tf.errors import InputError
from nlu_tf.io_utils import atomic_dir, read_json_object, write_json
from nlu_tf.model_io.heads import DEFAULT, head_of, head_of_config
from nlu_tf.model_io.hf_encoder import assign_state, read_hf_config
from nlu_tf.model_io.model_dir_checks import check_model_config, check_row_map, check_weights_file
from nlu_tf.model_io.model_files import FORMAT, WEIGHTS, check_model_dir, is_model_dir
from nlu_tf.models.encoder_config import check_max_seq_len, check_vocab_size

@dataclasses.dataclass
class ModelBundle:
    """A model with its tokenizer, labels and sequence limit.

    `model` is a `JointNLUModel` with `LabelMaps`, or a `SequenceModel` with `TaskLabels`.
    """

    model: object
    tokenizer: WordPieceTokenizer
    labels: object
    max_seq_len: int


def _read_config(path):
    config_path = os.path.join(path, "config.json")
    return read_json_object(config_path), config_path


def _one_line(error):
    """The line of a Keras loading error that names the layer, else its first line."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()] or ["?"]
    named = [line for line in lines if line.startswith("Layer ")]
    return (named or lines)[0][:300]


def load_model_dir(path, dtype="float32"):
    """Loads a model directory written by `save_model_dir` into a `ModelBundle`.

    The config, the label files, the vocabulary and the weights file are checked against
    each other before the model is built. `dtype` is the Keras dtype policy the model
    computes in (the stored weights are float32 under every policy).
    """
    check_model_dir(path)
    config, config_path = _read_config(path)
    head = head_of_config(config, config_path)
    model_config, max_seq_len = check_model_config(config_path, config, head.sizes,
                                                   head.other_keys)
    head.check(model_config, config_path)
    labels = head.read_labels(path, model_config)
    tokenizer = WordPieceTokenizer.from_model_dir(path)
    check_vocab_size(tokenizer.vocab_size, model_config["encoder_config"],
                     os.path.join(path, "vocab.txt"), "config.json")
    weights = os.path.join(path, WEIGHTS)
    check_weights_file(weights, config_path, model_config, head.sizes)
    model = head.model_class(**model_config, dtype=dtype)
    model.build()
    try:
        model.load_weights(weights)
    except (ValueError, OSError) as error:
        raise InputError(weights, f"cannot load weights: they do not fit config.json "
                                  f"({_one_line(error)})") from None
    check_row_map(model.encoder, weights)
    return ModelBundle(model, tokenizer, labels, max_seq_len)


def from_pretrained(hf_dir, labels, max_seq_len, head_dropout=0.1, dtype="float32",
                    **encoder_overrides):
    """A fresh model on a Hugging Face BERT checkpoint (heads randomly initialised): a joint
    model for `LabelMaps`, a GLUE `SequenceModel` for `TaskLabels`.

    The config, `vocab.txt`, `max_seq_len` and the stored weight shapes are checked before
    the model is built. `dtype` is the Keras dtype policy the model computes in.
    """
    config, config_path = read_hf_config(hf_dir, **encoder_overrides)
    tokenizer = WordPieceTokenizer.from_model_dir(hf_dir)
    check_vocab_size(tokenizer.vocab_size, config, os.path.join(hf_dir, "vocab.txt"),
                     "config.json")
    check_max_seq_len(max_seq_len, config, config_path)
    weights = find_weight_file(hf_dir)
    state = read_encoder_state(weights, config, config_path, HF_NAMES)
    model = head_of(labels).new_model(config, labels, head_dropout, dtype)
    model.build()
    assign_state(model.encoder, state, weights)
    return ModelBundle(model, tokenizer, labels, max_seq_len)


def check_positions(bundle, max_seq_len, path):
    """Raises unless the model at `path` has position embeddings for `max_seq_len` tokens.

    A trimmed model directory (`nlu_tf.export.trim_model_dir`) keeps only its own `max_seq_len`
    positions: a longer sequence would index past the table (an error on CPU, zeros on a
    GPU, clamped rows under XLA), so it is refused here with one line.
    """
    positions = bundle.model.encoder.max_position_embeddings
    if max_seq_len is not None and max_seq_len > positions:
        raise InputError(path, f"max_seq_len {max_seq_len} is longer than the model's "
                               f"{positions} position embeddings (config.json "
                               f"max_position_embeddings); use max_seq_len {positions} or "
                               f"less, or a model that was not trimmed to {positions} positions")


def load_any(path, labels=None, max_seq_len=None, head_dropout=0.1, dtype="float32"):
    """Loads an nlu_tf model directory, or starts a model for `labels` from a Hugging Face
    checkpoint; `dtype` is the Keras dtype policy it computes in.

    A model directory keeps its own `max_seq_len`; `max_seq_len` (the sequences the caller
    will feed it) must fit its position embeddings (`check_positions`).
    """
    if is_model_dir(path):
        bundle = load_model_dir(path, dtype)
        check_positions(bundle, max_seq_len, path)
        return bundle
    if labels is None:
        raise InputError(path, "not an nlu_tf model directory")
    return from_pretrained(path, labels, max_seq_len, head_dropout, dtype)


def write_model_files(bundle, directory):
    """Writes the files of a model directory into an existing (temporary) folder.

    The directory holds no dtype policy: its weights are float32, and whoever loads it
    chooses the policy (`load_model_dir`), so a model trained in mixed precision exports
    as float32.
    """
    head = head_of(bundle.model)
    config = {"format": FORMAT, "version": 1, "model": bundle.model.get_config(),
              "max_seq_len": bundle.max_seq_len, "lower_case": bundle.tokenizer.lower_case}
    if head.name != DEFAULT:  # joint-model directories stay as they were before
        config["head"] = head.name
    for key in ("trainable", "dtype"):
        config["model"].pop(key, None)
    write_json(os.path.join(directory, "config.json"), config)
    with open(os.path.join(directory, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(bundle.tokenizer.vocab) + "\n")
    head.write_labels(bundle.labels, directory)
    bundle.model.save_weights(os.path.join(directory, WEIGHTS))


def save_model_dir(bundle, path, settings=None, metrics=None, extra_files=(), extra_dirs=()):
    """Writes a complete model directory at `path` atomically (temporary sibling + rename),
    with copies of `extra_files` and of the folders `extra_dirs` (missing ones skipped)."""
    with atomic_dir(path, "model") as tmp:
        write_model_files(bundle, tmp)
        if settings is not None:
            write_json(os.path.join(tmp, "settings.json"), settings)
        if metrics is not None:
            write_json(os.path.join(tmp, "metrics.json"), metrics)
        for source in extra_files:
            shutil.copy2(source, tmp)
        for source in extra_dirs:
            if os.path.isdir(source):
                shutil.copytree(source, os.path.join(tmp, os.path.basename(source)))
    return path
