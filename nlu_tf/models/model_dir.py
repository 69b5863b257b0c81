"""A model directory: everything needed to run a joint model, and nothing that depends on code state.

Layout: `config.json` (model constructor arguments, max_seq_len, lower-casing), `vocab.txt`,
`intent_label.txt`, `slot_label.txt`, `model.weights.h5`, and optionally `settings.json`
(the resolved run settings) and `metrics.json` (dev / test metrics).
"""

import dataclasses
import json
import os
import shutil

from nlu_tf.data.reader import LabelMaps
from nlu_tf.data.tokenizer import WordPieceTokenizer
from nlu_tf.errors import InputError
from nlu_tf.io_utils import atomic_dir, write_json
from nlu_tf.models.bert_encoder import BertEncoder
from nlu_tf.models.checkpoint import load_encoder_weights
from nlu_tf.models.joint_model import JointNLUModel
from nlu_tf.models.model_files import (FORMAT, WEIGHTS, check_model_dir,
                                       is_model_dir)

@dataclasses.dataclass
class ModelBundle:
    """A joint model with its tokenizer, labels and sequence limit."""

    model: JointNLUModel
    tokenizer: WordPieceTokenizer
    labels: LabelMaps
    max_seq_len: int


def load_model_dir(path):
    """Loads a model directory written by `save_model_dir` into a `ModelBundle`."""
    check_model_dir(path)
    with open(os.path.join(path, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    labels = LabelMaps.from_dir(path)
    model = JointNLUModel(**config["model"])
    model.build()
    try:
        model.load_weights(os.path.join(path, WEIGHTS))
    except (ValueError, OSError) as error:
        raise InputError(os.path.join(path, WEIGHTS), f"cannot load weights ({error})") from None
    tokenizer = WordPieceTokenizer.from_model_dir(path)
    return ModelBundle(model, tokenizer, labels, int(config["max_seq_len"]))


def from_pretrained(hf_dir, labels, max_seq_len, head_dropout=0.1, **encoder_overrides):
    """A fresh joint model on a Hugging Face BERT checkpoint (heads randomly initialised)."""
    encoder_config = {**BertEncoder.config_from_hf(hf_dir), **encoder_overrides}
    model = JointNLUModel(encoder_config, len(labels.intents), len(labels.slots), head_dropout)
    model.build()
    load_encoder_weights(model.encoder, hf_dir)
    tokenizer = WordPieceTokenizer.from_model_dir(hf_dir)
    return ModelBundle(model, tokenizer, labels, max_seq_len)


def load_any(path, labels=None, max_seq_len=None, head_dropout=0.1):
    """Loads an nlu_tf model directory, or starts a joint model from a Hugging Face checkpoint."""
    if is_model_dir(path):
        return load_model_dir(path)
    if labels is None:
        raise InputError(path, "not an nlu_tf model directory")
    return from_pretrained(path, labels, max_seq_len, head_dropout)


def write_model_files(bundle, directory):
    """Writes the files of a model directory into an existing (temporary) folder."""
    config = {"format": FORMAT, "version": 1, "model": bundle.model.get_config(),
              "max_seq_len": bundle.max_seq_len, "lower_case": bundle.tokenizer.lower_case}
    config["model"].pop("trainable", None)
    write_json(os.path.join(directory, "config.json"), config)
    with open(os.path.join(directory, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(bundle.tokenizer.vocab) + "\n")
    for name, labels in (("intent_label.txt", bundle.labels.intents),
                         ("slot_label.txt", bundle.labels.slots)):
        with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
            f.write("\n".join(labels) + "\n")
    bundle.model.save_weights(os.path.join(directory, WEIGHTS))


def save_model_dir(bundle, path, settings=None, metrics=None, extra_files=()):
    """Writes a complete model directory at `path` atomically (temporary sibling + rename)."""
    with atomic_dir(path) as tmp:
        write_model_files(bundle, tmp)
        if settings is not None:
            write_json(os.path.join(tmp, "settings.json"), settings)
        if metrics is not None:
            write_json(os.path.join(tmp, "metrics.json"), metrics)
        for source in extra_files:
            shutil.copy2(source, tmp)
    return path
