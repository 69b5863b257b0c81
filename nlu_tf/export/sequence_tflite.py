"""The `.tflite` folder of a GLUE (sequence-head) model: calibration inputs with real segment
ids, TFLite Model Metadata that declares the task, and `model_info.json`.

The model takes int32 `input_ids`, `attention_mask` and `token_type_ids` (1, L) and
returns float32 `logits` (1, C): one example per call at its real length, as the joint
model's (`nlu_tf.export.tflite`). `token_type_ids` carries the segments of a pair (0 for
`[CLS] a [SEP]`, 1 for `b [SEP]`), so the calibrated modes are calibrated on both: a
calibration set of zeros would leave segment 1's embedding row out of the quantized range.
There is no in-graph decoding: an app takes the argmax (or, for STS-B, the score).
"""

import os

import numpy as np

from nlu_tf.data.glue import glue_task
from nlu_tf.export.delegation import runs_on, xnnpack_coverage
from nlu_tf.export.joint_metadata import (METADATA_AUTHOR, METADATA_LICENSE, usage_text,
                                          vocabulary_file)
from nlu_tf.export.metadata import (ID_INPUTS, MODEL_INFO, SEQUENCE_LABEL_FILES,
                                    SEQUENCE_OUTPUTS, base_info, write_support_files)
from nlu_tf.export.modes import MODES, runtime_info
from nlu_tf.export.tflite_signature import describe_tensors, signature_details
from nlu_tf.export.tflite import MODEL_FILE
from nlu_tf.io_utils import atomic_dir, write_json

INPUT_NOTE = ("Resize every input to (1, L), L <= max_seq_len, and send one example "
              "unpadded: attention_mask all ones, token_type_ids the segment ids (0 up to the "
              "first [SEP], 1 after it for a pair; 0 everywhere for one sentence).")


def pair_representative_inputs(features, size, seed=0):
    """Up to `size` calibration inputs from encoded GLUE examples (`PairFeatures`).

    As for the joint model (`tflite.representative_inputs`), every input has one length
    (the calibrator prepares the interpreter once) and only real tokens (no padding
    penalty in the attention range). Here the examples at least the median length are
    cut to it, their last token set to `[SEP]`: each input keeps its own segment ids, so a
    pair's second segment is part of the calibration.

    Returns:
        A list of dicts of int32 (1, L) arrays: `input_ids`, `attention_mask`,
        `token_type_ids`.
    """
    lengths = features.lengths
    length = int(np.median(lengths)) if len(lengths) else 0
    long_enough = np.flatnonzero(lengths >= length)
    rng = np.random.default_rng(seed)
    order = rng.permutation(long_enough)[:int(size)]
    inputs = []
    for index in order:
        ids = np.array(features.input_ids[index][:length], np.int32)
        types = np.array(features.token_type_ids[index][:length], np.int32)
        ids[-1] = features.input_ids[index][-1]  # [SEP]
        inputs.append({"input_ids": ids[None], "attention_mask": np.ones((1, length), np.int32),
                       "token_type_ids": types[None]})
    return inputs


def _tensor_texts(task):
    segments = ("segment ids, int32 (1, L): 0 for [CLS] text_a [SEP], 1 for text_b [SEP] (both "
                "segments of the pair)" if task.is_pair
                else "segment ids, int32 (1, L): 0 for every token (one sentence)")
    if task.is_regression:
        logits = "similarity score (1, 1), trained on gold scores in [0, 5] (not clipped)"
    else:
        logits = f"class scores (1, {task.num_labels}); argmax indexes label.txt"
    pieces = "[CLS] text_a [SEP] text_b [SEP]" if task.is_pair else "[CLS] text [SEP]"
    return {"input_ids": f"WordPiece ids of {pieces}, int32 (1, L), L <= max_seq_len",
            "attention_mask": "1 for every token (one unpadded example), int32 (1, L)",
            "token_type_ids": segments, "logits": logits}


def sequence_metadata(bundle, content, quantization):
    """The TFLite Model Metadata (`tflite_metadata.ModelInfo`) of a GLUE `.tflite`: the
    task, its labels on `logits` (none for STS-B's score) and the BERT tokenizer."""
    from nlu_tf import __version__
    from nlu_tf.export.tflite_metadata import (TENSOR_AXIS_LABELS, ModelInfo, TensorInfo,
                                               lines_file, subgraph_tensor_names)

    task = glue_task(bundle.labels.task)
    labels = (None if task.is_regression else
              lines_file(SEQUENCE_LABEL_FILES[0], f"{task.folder} labels, one per logit index",
                         TENSOR_AXIS_LABELS, bundle.labels.labels))
    if task.is_regression:
        what = "scores the similarity of a sentence pair: a score in [0, 5]"
    else:
        what = (f"classifies {'a sentence pair' if task.is_pair else 'one sentence'} into "
                f"{', '.join(task.labels)}")
    segments = (" token_type_ids hold both segments: 0 up to the first [SEP], 1 after it."
                if task.is_pair else "")
    texts = _tensor_texts(task)
    inputs, outputs = subgraph_tensor_names(content)
    return ModelInfo(
        name=f"nlu_tf GLUE {task.folder} model ({quantization})",
        description=(f"GLUE task {task.folder} ({task.key}): {what}.{segments} "
                     + usage_text(bundle, quantization)),
        version=f"nlu_tf {__version__}", author=METADATA_AUTHOR, license=METADATA_LICENSE,
        inputs=tuple(TensorInfo(name, texts.get(name, name)) for name in inputs),
        outputs=tuple(TensorInfo(name, texts.get(name, name), labels) for name in outputs),
        vocabulary=vocabulary_file(bundle))


def describe_sequence_io(content):
    """Names, tensor names, dtypes and shapes (-1: resizable) of the model's signature."""
    inputs, outputs = signature_details(content)
    return {"inputs": describe_tensors(inputs, ID_INPUTS),
            "outputs": describe_tensors(outputs, SEQUENCE_OUTPUTS)}


def write_sequence_tflite_folder(bundle, folder, quantization, content, report, source="",
                                 calibration=None, extra=None):
    """Writes a GLUE model's `.tflite` folder atomically (`write_tflite_folder`'s layout:
    model.tflite with its metadata and files packed, vocab.txt, label.txt, model_info.json);
    returns the model info written."""
    from nlu_tf.export.tflite_metadata import attach_metadata

    metadata = sequence_metadata(bundle, content, quantization)
    content = attach_metadata(content, metadata)
    info = base_info(bundle, "tflite", source)
    info.update(quantization=quantization,
                quantization_description=MODES[quantization].description,
                model_file=MODEL_FILE, size_bytes=len(content), input_note=INPUT_NOTE,
                ops=report.to_json(), **runtime_info(quantization), **describe_sequence_io(content))
    info["tflite_metadata"] = {"author": METADATA_AUTHOR, "license": METADATA_LICENSE,
                               "name": metadata.name,
                               "packed_files": ["vocab.txt"] + (
                                   list(SEQUENCE_LABEL_FILES) if bundle.labels.labels else [])}
    if calibration is not None:
        info["calibration"] = calibration
    info["runs_on"] = runs_on(quantization, report, xnnpack_coverage(content))
    info.update(extra or {})
    with atomic_dir(folder, "tflite") as tmp:
        with open(os.path.join(tmp, MODEL_FILE), "wb") as f:
            f.write(content)
        write_support_files(bundle, tmp)
        write_json(os.path.join(tmp, MODEL_INFO), info)
    return info
