"""The convert directory of a GLUE (sequence-head) model: `convert_model_dir`'s layout and
guarantees (every input checked and every mode converted before the first folder is
written; each folder written atomically), with the task's train split as calibration set.

    saved_model/      SavedModel, `logits(input_ids, attention_mask, token_type_ids)` (also
                      `serving_default`) + vocab.txt, label.txt, model_info.json
    tflite_<mode>/    model.tflite (metadata: task, labels, segments), vocab.txt, label.txt,
                      model_info.json
    quantization_debug/  the int8 error of every op (with `debug_quantization`)

The BertCluAnnotator export (`clu`) is for joint intent + slot models: it is refused.
"""

import logging
import os
import tempfile

from nlu_tf.data.glue import glue_task, read_glue_split, resolve_task_dir
from nlu_tf.errors import InputError
from nlu_tf.export.folders import DEBUG_FOLDER, SAVED_MODEL_FOLDER, tflite_folder
from nlu_tf.export.metadata import CALIBRATED_QUANTIZATIONS as CALIBRATED
from nlu_tf.export.modes import MODES
from nlu_tf.io_utils import read_json_object
from nlu_tf.output_dirs import mark

logger = logging.getLogger(__name__)

CLU_REFUSAL = ("the BertCluAnnotator export (--clu) is for joint intent + slot models; a GLUE "
               "model has no intents or slots: export it without --clu")


def model_task(model_dir):
    """The `GlueTask` a GLUE model directory was made for, read without TensorFlow."""
    path = os.path.join(model_dir, "config.json")
    return glue_task(read_json_object(path).get("model", {}).get("task"))


def _calibration_examples(model_dir, quantizations, data_dir, debug_quantization):
    """The task's training examples and folder when a mode needs calibration, else None."""
    calibrated = [mode for mode in quantizations if mode in CALIBRATED]
    if not (calibrated or debug_quantization):
        return None, None
    task = model_task(model_dir)
    what = ", ".join(calibrated + ["--debug_quantization"] * bool(debug_quantization))
    if not data_dir:
        raise InputError("command line", f"{what} need(s) --data_dir (the GLUE root or the "
                                         f"{task.folder} folder: its train.tsv calibrates)")
    folder = resolve_task_dir(data_dir, task)
    examples = read_glue_split(folder, task, "train")
    if not examples:
        raise InputError(os.path.join(folder, "train.tsv"), f"no examples to calibrate {what}")
    return examples, folder


def _representative(bundle, examples, folder, size, seed):
    from nlu_tf.data.pair_features import encode_glue
    from nlu_tf.export.sequence_tflite import pair_representative_inputs

    task = glue_task(bundle.labels.task)
    features = encode_glue(examples, bundle.tokenizer, task, bundle.max_seq_len,
                           f"{task.folder}/train")
    inputs = pair_representative_inputs(features, size, seed)
    calibration = {"source": f"{task.folder}/train", "size": len(inputs),
                   "data": os.path.normpath(folder),
                   "length": int(inputs[0]["input_ids"].shape[1]), "seed": seed,
                   "segments": "the examples' own token_type_ids"}
    return inputs, calibration


def _convert_modes(bundle, quantizations, representative, threshold, debug_quantization,
                   source, tmp):
    """{mode: (tflite bytes, OpReport, extra model info)} and the int8 layer errors (or None)."""
    from nlu_tf.export.int4 import int4_weights_info
    from nlu_tf.export.quant_debug import select_denylist
    from nlu_tf.export.tflite import (convert_int8_mixed, convert_saved_model, int8_debugger,
                                      mixed_precision_info, tflite_source_model,
                                      write_tflite_source)

    tflite_source = write_tflite_source(bundle.model, os.path.join(tmp, "saved_model"))
    errors, denylist, debugger = None, (), None
    if "int8_mixed" in quantizations or debug_quantization:
        debugger = int8_debugger(tflite_source, representative, source)
        errors = debugger.layer_errors()
        denylist = select_denylist(errors, threshold)
    converted = {}
    for mode in quantizations:
        logger.info("converting %s to TFLite (%s)", source, mode)
        extra = {}
        if MODES[mode].post == "int4":
            int4_source = write_tflite_source(tflite_source_model(bundle.model, mode),
                                              os.path.join(tmp, "saved_model_int4"))
            content, report = convert_saved_model(int4_source, mode, None, source)
            extra["weights"] = int4_weights_info(bundle.model, content)
        elif mode == "int8_mixed":
            content, report = convert_int8_mixed(debugger, denylist, source)
            extra["mixed_precision"] = mixed_precision_info(denylist, threshold)
        else:
            content, report = convert_saved_model(tflite_source, mode, representative, source,
                                                  extra)
        converted[mode] = (content, report, extra)
    return converted, (errors, denylist)


def convert_sequence_model_dir(model_dir, convert_dir, quantizations, data_dir="",
                               representative_size=300, seed=0, saved_model=True,
                               debug_quantization=False, threshold=None, clu=False):
    """`convert_model_dir` for a GLUE model directory (its arguments, checked already but
    for the ones read here); returns {folder: model info or report}."""
    if clu:
        raise InputError("--clu", CLU_REFUSAL)
    examples, folder = _calibration_examples(model_dir, quantizations, data_dir,
                                             debug_quantization)
    from nlu_tf.export.quant_report import write_layer_report
    from nlu_tf.export.savedmodel import export_saved_model
    from nlu_tf.export.sequence_tflite import write_sequence_tflite_folder
    from nlu_tf.model_io.model_dir import load_model_dir

    bundle = load_model_dir(model_dir)
    source = os.path.normpath(model_dir)
    representative, calibration = None, None
    if examples is not None:
        representative, calibration = _representative(bundle, examples, folder,
                                                      representative_size, seed)
    with tempfile.TemporaryDirectory(prefix="nlu_tf_convert_") as tmp:
        converted, (errors, denylist) = _convert_modes(bundle, quantizations, representative,
                                                       threshold, debug_quantization, source,
                                                       tmp)
    written = {}
    os.makedirs(convert_dir, exist_ok=True)
    mark(convert_dir, "convert")
    if saved_model:
        path = os.path.join(convert_dir, SAVED_MODEL_FOLDER)
        written[path] = export_saved_model(bundle, path, source)
    for mode, (content, report, extra) in converted.items():
        path = os.path.join(convert_dir, tflite_folder(mode))
        written[path] = write_sequence_tflite_folder(
            bundle, path, mode, content, report, source,
            calibration if mode in CALIBRATED else None, extra)
    if debug_quantization:
        path = os.path.join(convert_dir, DEBUG_FOLDER)
        files = write_layer_report(errors, denylist, threshold, path,
                                   f"int8 error added per op: {source}")
        written[path] = {"files": list(files), "threshold": threshold,
                         "denylisted_nodes": list(denylist)}
    return written
