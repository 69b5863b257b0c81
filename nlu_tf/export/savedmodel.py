"""A SavedModel for servers: raw strings in (in-graph WordPiece), intent and tags out.

Signatures:
    serving_default: `text` (tf.string, (B,)) -> `intent` (string, (B,)), `intent_prob`
        (float32, (B,)), `slot_tags` (string, (B, W), padded with ""), `num_words` (int32, (B,)).
    logits: `input_ids`, `attention_mask`, `token_type_ids` (int32, (B, L)) ->
        `intent_logits` (float32, (B, I)), `slot_logits` (float32, (B, L, S)).

A GLUE model's SavedModel has `logits` alone (also as `serving_default`): `input_ids`,
`attention_mask`, `token_type_ids` (the segment ids of a pair) -> `logits` (float32, (B, C)).

Loading it needs TensorFlow and `import tensorflow_text` (which registers the tokenizer ops),
nothing from nlu_tf. The folder also holds `vocab.txt`, the label files and `model_info.json`.
"""

import os

import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the TF Text ops the serving graph uses)

from nlu_tf.errors import InputError
from nlu_tf.export.metadata import (ID_INPUTS, LOGITS_OUTPUTS, MODEL_INFO, base_info,
                                    load_artefact_info, logits_outputs, write_support_files)
from nlu_tf.export.signatures import LogitsModule, ServingModule
from nlu_tf.io_utils import atomic_dir, write_json

SERVING = "serving_default"
LOGITS = "logits"


def _signature_info(function):
    def describe(spec):
        return {"dtype": spec.dtype.name, "shape": spec.shape.as_list()}

    inputs = tf.nest.flatten(function.structured_input_signature)
    return {"inputs": {spec.name: describe(spec) for spec in inputs},
            "outputs": {name: describe(spec)
                        for name, spec in function.structured_outputs.items()}}


def _module(bundle):
    """The exported module and its signatures: a joint model's raw-text `serving_default`
    and `logits`; a GLUE model's `logits`, also its `serving_default` (a pair's
    tokenization stays outside the graph, as it does for the `.tflite`)."""
    if bundle.labels.head == "sequence":
        module = LogitsModule(bundle.model)
        logits = module.logits.get_concrete_function()
        return module, {SERVING: logits, LOGITS: logits}
    module = ServingModule(bundle)
    return module, {SERVING: module.serve.get_concrete_function(),
                    LOGITS: module.logits.get_concrete_function()}


def write_saved_model(bundle, folder, source=""):
    """Saves `bundle` as a SavedModel plus support files into an existing, empty `folder`."""
    module, signatures = _module(bundle)
    tf.saved_model.save(module, folder, signatures=signatures)
    size = sum(os.path.getsize(os.path.join(root, name))
               for root, _, names in os.walk(folder) for name in names)
    write_support_files(bundle, folder)
    info = base_info(bundle, "saved_model", source)
    info["size_bytes"] = size
    info["signatures"] = {key: _signature_info(function) for key, function in signatures.items()}
    write_json(os.path.join(folder, MODEL_INFO), info)
    return info


def export_saved_model(bundle, path, source=""):
    """Writes the SavedModel folder at `path` atomically; returns its model info."""
    with atomic_dir(path, "saved_model") as tmp:
        info = write_saved_model(bundle, tmp, source)
    return info


def savedmodel_logits_fn(path, outputs=LOGITS_OUTPUTS):
    """A logits function (see `nlu_tf.decoding`) over the `logits` signature at `path`:
    the tuple of `outputs`, or the one array of a single output (a GLUE model's `logits`)."""
    if not os.path.isfile(os.path.join(path, "saved_model.pb")):
        raise InputError(path, "no saved_model.pb (not a SavedModel folder)")
    loaded = tf.saved_model.load(path)
    if LOGITS not in loaded.signatures:
        raise InputError(path, f"SavedModel has no '{LOGITS}' signature")
    signature = loaded.signatures[LOGITS]

    def run(batch):
        results = signature(**{name: tf.constant(batch[name], tf.int32) for name in ID_INPUTS})
        arrays = tuple(np.asarray(results[name]) for name in outputs)
        return arrays[0] if len(arrays) == 1 else arrays

    run.saved_model = loaded  # keeps the loaded object (and its resources) alive
    return run


def open_saved_model(path):
    """Returns `(logits_fn, ArtefactInfo)` for a SavedModel folder written by this module."""
    info = load_artefact_info(path)
    return savedmodel_logits_fn(path, logits_outputs(info.info)), info
