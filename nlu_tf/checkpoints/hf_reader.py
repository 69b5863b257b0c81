"""Hugging Face BERT checkpoints read into numpy: safetensors, tf_model.h5 and pytorch_model.bin.

Every format is first read into one canonical form, the PyTorch `BertModel` state dict
without the `bert.` prefix and with PyTorch layouts (a Dense weight is (out, in)).
`read_encoder_state` returns exactly the encoder keys a config implies (`encoder_shapes`),
each shape checked; extra keys (pre-training heads, TinyBERT's `fit_denses`) are reported
and skipped; missing encoder keys are an error that lists them. The masked-LM head, which
data augmentation uses, is picked out by `mlm_head_state`. Putting the arrays into a Keras
model is `nlu_tf.model_io.hf_encoder`'s work: nothing here imports Keras.

The config is checked, and the stored shapes against it, before any model is built or
any tensor is read, so a hostile directory costs no more memory than its files' sizes.
"""

import logging
import math
import os
import re

import numpy as np

from nlu_tf.checkpoints.hf_names import encoder_shapes
from nlu_tf.errors import InputError, quote

logger = logging.getLogger(__name__)

WEIGHT_FILES = ("model.safetensors", "tf_model.h5", "pytorch_model.bin")
IGNORED_KEYS = ("embeddings.position_ids",)
_MLM_HEAD_KEY = re.compile(r"(?:^|\.)predictions\.(.+)$")


def find_weight_file(model_dir):
    """Returns the path of the first weight file found in `model_dir`, by `WEIGHT_FILES` order."""
    for name in WEIGHT_FILES:
        path = os.path.join(model_dir, name)
        if os.path.isfile(path):
            return path
    raise InputError(model_dir, f"no weight file (looked for {', '.join(WEIGHT_FILES)})")


def _safetensors_index(path):
    from safetensors import safe_open

    with safe_open(path, "numpy") as f:
        shapes = {name: tuple(f.get_slice(name).get_shape()) for name in f.keys()}

    def read(names):
        with safe_open(path, "numpy") as f:
            return {name: f.get_tensor(name) for name in names}

    return shapes, read


def _h5_index(path):
    from nlu_tf.checkpoints.h5_files import read_h5, scan_h5

    return scan_h5(path), lambda names: read_h5(path, names)


def _torch_bin_index(path):
    from nlu_tf.checkpoints.torch_pickle import load_torch_state_dict

    tensors = load_torch_state_dict(path)  # bounded by the file's size, see torch_pickle
    return ({name: tuple(array.shape) for name, array in tensors.items()},
            lambda names: {name: tensors[name] for name in names})


_INDEXES = {".safetensors": _safetensors_index, ".h5": _h5_index, ".bin": _torch_bin_index}


def _guarded(path, call, *args):
    """Runs a reader step, turning the many exceptions of a corrupt file into `InputError`."""
    try:
        return call(*args)
    except InputError:
        raise
    except Exception as error:  # a corrupt file surfaces as many exception types
        raise InputError(path, f"cannot read weights ({type(error).__name__}: "
                               f"{quote(str(error), 120)})") from None


def weight_index(path):
    """Returns `({stored name: shape}, read)` of a weight file; `read(names)` loads those arrays.

    Shapes come from metadata (safetensors header, HDF5 datasets checked by `scan_h5`),
    so a caller can check them before anything large is read; a `.bin` is loaded whole,
    within `torch_pickle`'s bounds.
    """
    index = _INDEXES.get(os.path.splitext(path)[1])
    if index is None:
        raise InputError(path, "unknown weight file format")
    shapes, read = _guarded(path, index, path)
    return shapes, lambda names: _guarded(path, read, names)


def read_raw_tensors(path):
    """Reads every tensor of a weight file into a dict of numpy arrays, names as stored."""
    shapes, read = weight_index(path)
    return read(list(shapes))


_TF_LEAF = {"kernel": "weight", "gamma": "weight", "beta": "bias", "embeddings": "weight",
            "weight": "weight", "bias": "bias"}
_LAYER = re.compile(r"encoder\.layer\.(\d+)\.")


def _tf_key(name):
    """Maps an HF TF name (`.../bert/encoder/layer_._0/attention/self/query/kernel:0`) to
    (canonical key, stored leaf name)."""
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
    return ".".join(path), leaf


def _canonical_tf(name, array):
    """The canonical key and PyTorch-layout array of an HF TF tensor."""
    key, leaf = _tf_key(name)
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


def _is_tf_name(name):
    return "/" in name or name.endswith(":0")


def canonical_key(name):
    """The canonical key of a stored tensor name (PyTorch or HF TF naming)."""
    if _is_tf_name(name):
        return _tf_key(name)[0]
    key = name[len("bert."):] if name.startswith("bert.") else name
    key = re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", key)
    return re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", key)


def canonical_state(raw):
    """Converts stored names and layouts to canonical PyTorch-style keys without `bert.`."""
    state = {}
    for name, array in raw.items():
        array = np.asarray(array)
        if _is_tf_name(name):
            key, array = _canonical_tf(name, array)
        else:
            key = canonical_key(name)
        state[key] = array
    return state


def layers_held(keys):
    """The number of transformer layers 0..n-1 that canonical `keys` hold."""
    indices = {int(match.group(1)) for key in keys if (match := _LAYER.match(key))}
    count = 0
    while count in indices:
        count += 1
    return count


def check_layer_count(config, held, source, names=None, exact=False):
    """Raises unless `config` asks for 1..`held` layers (exactly `held` with `exact`)."""
    wanted = config["num_layers"]
    if wanted > held or (exact and wanted != held):
        name = (names or {}).get("num_layers", "num_layers")
        raise InputError(source, f"{name} is {wanted} but the weights hold {held} layer(s)")


def shape_error(source, key, shape, expected):
    """The error of a stored tensor `key` whose `shape` is not the `expected` one."""
    return InputError(source, f"{key}: shape {tuple(shape)} does not fit the config "
                              f"(expected {tuple(expected)})")


def missing_weights_error(source, missing):
    """The error of encoder weights that `source` lacks: the first 8 keys, then a count."""
    missing = sorted(missing)
    more = f" (+{len(missing) - 8} more)" if len(missing) > 8 else ""
    return InputError(source, f"missing encoder weights: {', '.join(missing[:8])}{more}")


def read_encoder_state(path, config, config_source=None, names=None):
    """Reads the encoder weights of `path` that a checked `config` needs, in canonical form.

    Before anything is read: the layer count is checked against the layers the file holds,
    and every stored tensor's size against the shape the config implies. Tensors outside
    the encoder are not read, only reported.

    Args:
        path: a weight file (`WEIGHT_FILES`).
        config: `BertEncoder` arguments, checked by `check_encoder_config`.
        config_source: the config file, named in layer-count errors (default `path`).
        names: our config names -> the names `config_source` uses.
    Returns:
        {canonical key: array} with exactly the keys of `encoder_shapes(config)`.
    """
    shapes, read = weight_index(path)
    stored = {}
    for name in shapes:
        stored.setdefault(canonical_key(name), name)
    check_layer_count(config, layers_held(stored), config_source or path, names)
    expected = encoder_shapes(config)
    missing = [key for key in expected if key not in stored]
    if missing:
        raise missing_weights_error(path, missing)
    for key, shape in expected.items():
        if math.prod(shapes[stored[key]]) != math.prod(shape):
            raise shape_error(path, key, shapes[stored[key]], shape)
    extra = sorted(key for key in stored if key not in expected and key not in IGNORED_KEYS)
    if extra:
        heads = sorted({quote(key.split(".")[0], 30)[1:-1] for key in extra})
        logger.info("%s: skipped %d weights outside the encoder (%s)", path, len(extra),
                    ", ".join(heads))
    state = canonical_state(read([stored[key] for key in expected]))
    for key, shape in expected.items():
        if tuple(state[key].shape) != shape:
            raise shape_error(path, key, state[key].shape, shape)
    return state


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
