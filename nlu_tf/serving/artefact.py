"""An artefact on disk, resolved once: its kind, model size, parameter count and predictor.

An artefact is an nlu_tf model directory ("keras"), a SavedModel export folder
("saved_model") or a TFLite export folder or `.tflite` file ("tflite"). `open_artefact`
works out which, once; everything else reads the `Artefact` it returns. Nothing here
imports TensorFlow until a predictor is asked for.
"""

import dataclasses
import functools
import os

import h5py

from nlu_tf.errors import InputError
from nlu_tf.io_utils import read_json_object
from nlu_tf.export.metadata import (LABEL_FILES, MODEL_INFO, SEQUENCE_LABEL_FILES, export_head,
                                    export_kind, read_model_info)
from nlu_tf.model_io.model_files import WEIGHTS, check_model_dir, model_head

KERAS = "keras"
SUPPORT_FILES = frozenset(("vocab.txt", MODEL_INFO) + LABEL_FILES + SEQUENCE_LABEL_FILES)


def _kind(path):
    """Returns "keras", "saved_model" or "tflite" for the artefact at `path`.

    Raises:
        InputError: `path` is missing, or is none of the three (e.g. an incomplete model
            directory).
    """
    if not path:
        raise InputError("command line", "--model_dir is required")
    if not os.path.exists(path):
        raise InputError(path, "model not found")
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


def _size_bytes(path, kind):
    """Bytes on disk of the model itself, without vocabulary, labels and model_info.json.

    Keras: `model.weights.h5`; SavedModel: `saved_model.pb`, `variables/` and `assets/`;
    TFLite: the `.tflite` file.
    """
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


def _num_parameters(path, kind):
    """The number of model weights (scalars), or None where the artefact does not say.

    Keras: counted in `model.weights.h5`; exports: `num_parameters` of `model_info.json`
    (written by exports since that field exists).
    """
    if kind == KERAS:
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


@dataclasses.dataclass(frozen=True)
class Artefact:
    """A model on disk, as scored, timed and reported.

    Attributes:
        path: where it is.
        kind: "keras", "saved_model" or "tflite".

    `size_bytes` and `num_parameters` are read from disk when first asked for, once:
    a caller that only needs the kind (or the predictor) never walks the weights file.
    """

    path: str
    kind: str

    @functools.cached_property
    def size_bytes(self):
        """Bytes of the model itself (`_size_bytes`)."""
        return _size_bytes(self.path, self.kind)

    @functools.cached_property
    def num_parameters(self):
        """Weights (scalars), or None where the artefact does not say."""
        return _num_parameters(self.path, self.kind)

    @functools.cached_property
    def head(self):
        """"joint" or "sequence" (a GLUE model), read without TensorFlow."""
        if self.kind == KERAS:
            return model_head(self.path)
        return export_head(read_model_info(export_folder(self.path)))

    @functools.cached_property
    def task(self):
        """The GLUE task key of a GLUE artefact (None for a joint model), read without
        TensorFlow."""
        if self.head != "sequence":
            return None
        if self.kind == KERAS:
            return read_json_object(os.path.join(self.path, "config.json"))["model"]["task"]
        return read_model_info(export_folder(self.path))["task"]

    @property
    def size_mb(self):
        return size_mb(self.size_bytes)

    def predictor(self, jit_compile=True, num_threads=None):
        """Loads the artefact as a `nlu_tf.predictor.Predictor`.

        Args:
            jit_compile: for the Keras model, compile the forward pass with XLA.
            num_threads: for TFLite, interpreter threads (None: 1). The Keras model and the
                SavedModel use TensorFlow's threads, set process-wide before it starts.
        """
        from nlu_tf.predictor import Predictor

        # Imported here: TensorFlow (and LiteRT) take seconds to load.
        if self.kind == "saved_model":
            from nlu_tf.export.savedmodel import open_saved_model

            logits_fn, info = open_saved_model(self.path)
        elif self.kind == "tflite":
            from nlu_tf.export.tflite_interpreter import open_tflite

            logits_fn, info = open_tflite(self.path, num_threads=num_threads or 1)
        else:
            from nlu_tf.model_io.model_dir import load_model_dir
            from nlu_tf.predictor import keras_predictor

            # A GLUE model's predictor returns its `logits` (B, C) (`glue_logits_fn`).
            return keras_predictor(load_model_dir(self.path),
                                   f"keras:{os.path.normpath(self.path)}", jit_compile)
        return Predictor(logits_fn, info.tokenizer, info.labels, info.max_seq_len, info.name)


def open_artefact(path):
    """Resolves the artefact at `path`: its kind (size and parameter count on demand).

    Raises:
        InputError: `path` is missing, or is not a model directory, SavedModel or TFLite
            export (e.g. an incomplete model directory).
    """
    return Artefact(path, _kind(path))


def load_predictor(path, jit_compile=True, num_threads=None):
    """`open_artefact(path).predictor(...)`: the predictor of the artefact at `path`."""
    return open_artefact(path).predictor(jit_compile, num_threads)


def glue_artefact(path):
    """The `Artefact` at `path` if it is a GLUE model (any kind), else None: a joint model,
    or a path that is no artefact (whose error the caller reports in its own order)."""
    try:
        artefact = open_artefact(path)
        return artefact if artefact.head == "sequence" else None
    except InputError:
        return None
