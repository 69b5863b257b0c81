"""Hugging Face BERT checkpoint import: safetensors, tf_model.h5 and pytorch_model.bin.

Every format is first read into one canonical form, the PyTorch `BertModel` state dict
without the `bert.` prefix and with PyTorch layouts (a Dense weight is (out, in)). An
explicit key table then maps each canonical key onto a variable of `BertEncoder`, with a
shape check. Extra keys (pre-training heads, TinyBERT's `fit_denses`) are reported and
skipped by the encoder import; missing encoder keys are an error that lists them. The
masked-LM head, which data augmentation uses, is picked out by `mlm_head_state`.
"""

import logging
import os
import re

import numpy as np

from nlu_tf.errors import InputError

logger = logging.getLogger(__name__)

WEIGHT_FILES = ("model.safetensors", "tf_model.h5", "pytorch_model.bin")
_IGNORED = ("embeddings.position_ids",)
_MLM_HEAD_KEY = re.compile(r"(?:^|\.)predictions\.(.+)$")


def find_weight_file(model_dir):
    """Returns the path of the first weight file found in `model_dir`, by `WEIGHT_FILES` order."""
    for name in WEIGHT_FILES:
        path = os.path.join(model_dir, name)
        if os.path.isfile(path):
            return path
    raise InputError(model_dir, f"no weight file (looked for {', '.join(WEIGHT_FILES)})")


def _read_safetensors(path):
    from safetensors.numpy import load_file

    return load_file(path)


def _read_h5(path):
    import h5py

    tensors = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, item: tensors.__setitem__(name, item[()])
                     if isinstance(item, h5py.Dataset) else None)
    return tensors


def _read_torch_bin(path):
    from nlu_tf.models.torch_pickle import load_torch_state_dict

    return load_torch_state_dict(path)


def read_raw_tensors(path):
    """Reads every tensor of a weight file into a dict of numpy arrays, names as stored."""
    readers = {".safetensors": _read_safetensors, ".h5": _read_h5, ".bin": _read_torch_bin}
    reader = readers.get(os.path.splitext(path)[1])
    if reader is None:
        raise InputError(path, "unknown weight file format")
    try:
        return reader(path)
    except InputError:
        raise
    except Exception as error:  # a corrupt file surfaces as many exception types
        raise InputError(path, f"cannot read weights ({type(error).__name__}: {error})") from None


_TF_LEAF = {"kernel": "weight", "gamma": "weight", "beta": "bias", "embeddings": "weight",
            "weight": "weight", "bias": "bias"}


def _canonical_tf(name, array):
    """Maps an HF TF name (`.../bert/encoder/layer_._0/attention/self/query/kernel:0`)."""
    parts = name.split(":")[0].split("/")
    starts = [i for i, part in enumerate(parts[:-1])
              if part == "bert" and parts[i + 1] in ("embeddings", "encoder", "pooler")]
    parts = parts[starts[-1] + 1:] if starts else parts
    path = []
    for part in parts:
        match = re.fullmatch(r"layer_\._(\d+)", part)
        path.extend(["layer", match.group(1)] if match else [part])
    leaf = path[-1]
    path[-1] = _TF_LEAF.get(leaf, leaf)
    key = ".".join(path)
    if leaf == "kernel":
        if array.ndim == 3:  # EinsumDense layouts: (in, heads, size) or (heads, size, out)
            if key.endswith("attention.output.dense.weight"):
                array = array.reshape(-1, array.shape[-1])
            else:
                array = array.reshape(array.shape[0], -1)
        array = array.T
    elif leaf == "bias" and array.ndim > 1:
        array = array.reshape(-1)
    return key, array


def canonical_state(raw):
    """Converts stored names and layouts to canonical PyTorch-style keys without `bert.`."""
    state = {}
    for name, array in raw.items():
        array = np.asarray(array)
        if "/" in name or name.endswith(":0"):
            key, array = _canonical_tf(name, array)
        else:
            key = name[len("bert."):] if name.startswith("bert.") else name
            key = re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", key)
            key = re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", key)
        state[key] = array
    return state


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
    missing = sorted(key for key in table if key not in state)
    if missing:
        shown = ", ".join(missing[:8]) + (f" (+{len(missing) - 8} more)" if len(missing) > 8 else "")
        raise InputError(source, f"missing encoder weights: {shown}")
    for key, (variable, transpose) in table.items():
        value = state[key].T if transpose else state[key]
        if tuple(value.shape) != tuple(variable.shape):
            raise InputError(source, f"{key}: shape {tuple(state[key].shape)} does not fit "
                                     f"the config (expected {tuple(variable.shape)})")
        variable.assign(value.astype(np.float32))
    extra = sorted(key for key in state if key not in table and key not in _IGNORED)
    if extra:
        heads = sorted({key.split(".")[0] for key in extra})
        logger.info("%s: skipped %d weights outside the encoder (%s)", source, len(extra),
                    ", ".join(heads))
    return extra


def load_encoder_weights(encoder, model_dir):
    """Loads the weights of a Hugging Face BERT directory into a built `BertEncoder`."""
    path = find_weight_file(model_dir)
    return assign_state(encoder, canonical_state(read_raw_tensors(path)), path)


def mlm_head_state(state):
    """Returns the masked-LM head tensors of a canonical state dict, or {} if it has none.

    Keys are normalised to `transform.dense.weight`, `transform.dense.bias`,
    `transform.LayerNorm.weight`, `transform.LayerNorm.bias`, `bias` and, when stored,
    `decoder.weight` (tied to the word embeddings in BERT, so often absent). PyTorch names
    them `cls.predictions.*`, the HF TF h5 layout `.../mlm___cls/predictions/*`. Layouts
    are PyTorch's, as everywhere in the canonical state.
    """
    head = {}
    for key, array in state.items():
        match = _MLM_HEAD_KEY.search(key)
        if match:
            head[match.group(1)] = array
    if "bias" not in head and "decoder.bias" in head:
        head["bias"] = head["decoder.bias"]
    return head if "transform.dense.weight" in head else {}
