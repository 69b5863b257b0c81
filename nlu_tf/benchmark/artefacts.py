"""What an artefact on disk is, its model size and its parameter count, without TensorFlow.

An artefact is an nlu_tf model directory ("keras"), a SavedModel export folder
("saved_model") or a TFLite export folder or `.tflite` file ("tflite").
"""

import os

import h5py

from nlu_tf.errors import InputError
from nlu_tf.export.metadata import LABEL_FILES, MODEL_INFO, export_kind, read_model_info
from nlu_tf.models.model_files import WEIGHTS, check_model_dir

KERAS = "keras"
SUPPORT_FILES = frozenset(("vocab.txt", MODEL_INFO) + LABEL_FILES)


def artefact_kind(path):
    """Returns "keras", "saved_model" or "tflite" for the artefact at `path`.

    Raises:
        InputError: `path` is missing, or is none of the three (e.g. an incomplete model
            directory).
    """
    if not path or not os.path.exists(path):
        raise InputError(path or "command line", "artefact not found")
    kind = export_kind(path)
    if kind is not None:
        return kind
    if os.path.isfile(path):
        raise InputError(path, "not a model directory, SavedModel or TFLite export")
    check_model_dir(path)
    return KERAS


def export_folder(path):
    """The folder of an artefact (a `.tflite` file's folder, else `path` itself)."""
    return (os.path.dirname(path) or ".") if os.path.isfile(path) else path


def model_size_bytes(path):
    """Bytes on disk of the model itself, without vocabulary, labels and model_info.json.

    Keras: `model.weights.h5`; SavedModel: `saved_model.pb`, `variables/` and `assets/`;
    TFLite: the `.tflite` file.
    """
    kind = artefact_kind(path)
    if kind == KERAS:
        return os.path.getsize(os.path.join(path, WEIGHTS))
    if kind == "tflite":
        if os.path.isfile(path):
            return os.path.getsize(path)
        info = read_model_info(path)
        return os.path.getsize(os.path.join(path, info.get("model_file", "model.tflite")))
    total = 0
    for root, _, names in os.walk(path):
        for name in names:
            if root == path and name in SUPPORT_FILES:
                continue
            total += os.path.getsize(os.path.join(root, name))
    return total


def num_parameters(path):
    """The number of model weights (scalars), or None where the artefact does not say.

    Keras: counted in `model.weights.h5`; exports: `num_parameters` of `model_info.json`
    (written by exports since that field exists).
    """
    if artefact_kind(path) == KERAS:
        sizes = []
        with h5py.File(os.path.join(path, WEIGHTS), "r") as f:
            f.visititems(lambda _, item: sizes.append(item.size)
                         if isinstance(item, h5py.Dataset) else None)
        return int(sum(sizes))
    value = read_model_info(export_folder(path)).get("num_parameters")
    return None if value is None else int(value)


def size_mb(size_bytes):
    """Bytes to megabytes (10^6), two decimals."""
    return round(size_bytes / 1e6, 2)
