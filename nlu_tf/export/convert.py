"""Turns a model directory into a SavedModel folder and one TFLite folder per quantization.

Layout of the convert directory:

    saved_model/      SavedModel (raw-string `serving_default`, id-based `logits`) + files
    tflite_<mode>/    model.tflite, vocab.txt, intent_label.txt, slot_label.txt,
                      model_info.json; one per quantization mode
    quantization_debug/  layer_errors.csv + layer_errors.png: the int8 error each op
                      adds (with `debug_quantization`)

Every input is checked before anything is written, and every TFLite model is converted
(in memory) before the first folder is written: a bad model directory, missing data or a
model that needs TF Select ops leaves the convert directory untouched. Each folder is
then written atomically. TensorFlow is imported only once the inputs are known good.
"""

import logging
import os
import tempfile

from nlu_tf.data.reader import read_split, resolve_data_dir
from nlu_tf.errors import InputError
from nlu_tf.export.metadata import CALIBRATED_QUANTIZATIONS as CALIBRATED
from nlu_tf.export.metadata import QUANTIZATIONS
from nlu_tf.export.folders import DEBUG_FOLDER, SAVED_MODEL_FOLDER, tflite_folder  # noqa: F401
from nlu_tf.export.modes import MODES
from nlu_tf.export.sequence_convert import CLU_REFUSAL
from nlu_tf.model_io.model_files import check_model_dir, model_head
from nlu_tf.output_dirs import check_output_dir, mark

logger = logging.getLogger(__name__)

QUANTIZATION_CHOICES = QUANTIZATIONS + ("all",)


def resolve_quantizations(value):
    """Maps a `--quantization` value to the modes to convert ("all": every mode)."""
    if value == "all":
        return QUANTIZATIONS
    if value not in QUANTIZATIONS:
        raise InputError("command line", f"unknown quantization {value!r} "
                                         f"(one of {', '.join(QUANTIZATION_CHOICES)})")
    return (value,)


CLU_QUANTIZATIONS = ("float32", "dynamic")


def clu_folder(quantization):
    """The folder name of a Task Library (BertCluAnnotator) export, e.g. `tflite_clu_dynamic`."""
    return f"tflite_clu_{quantization}"


def convert_model_dir(model_dir, convert_dir, quantizations=("dynamic",), data_dir="",
                      task="", representative_size=300, seed=0, saved_model=True,
                      debug_quantization=False, mixed_threshold=None, clu=False,
                      clu_domain=""):
    """Exports the model directory `model_dir` into `convert_dir`.

    A GLUE model directory is exported by `nlu_tf.export.sequence_convert` (the task's
    train.tsv under `data_dir` calibrates; `task` is the model's own; `clu` is refused).

    Args:
        model_dir: an nlu_tf model directory (`tools/train.py` output).
        convert_dir: where the export folders go (created if needed; existing export
            folders of the same names are replaced).
        quantizations: TFLite modes, a subset of `QUANTIZATIONS`.
        data_dir: dataset root or folder; the calibrated modes (int8, int8_mixed,
            int16x8) and `debug_quantization` read its training split.
        task: dataset name under `data_dir` (e.g. "snips").
        representative_size: calibration inputs drawn from the training split.
        seed: fixes the calibration sample.
        saved_model: also write the SavedModel folder.
        debug_quantization: also write the per-layer int8 error report (`DEBUG_FOLDER`).
        mixed_threshold: int8_mixed keeps in float the ops whose rmse / scale exceeds
            this (None: `quant_debug.DEFAULT_THRESHOLD`).
        clu: also write a `BertCluAnnotator` export (`clu_folder`) of each mode of
            `CLU_QUANTIZATIONS` among `quantizations` (`nlu_tf.export.clu`).
        clu_domain: the domain name the Task Library export reports (default: the
            dataset's folder name, else "nlu").

    Returns:
        A dict: export folder -> its model info; the report folder -> its files,
        threshold and denylisted nodes.

    Raises:
        InputError: a missing or incomplete model directory, missing calibration data, or
            a model the stock TFLite runtime cannot run (`ConversionError`).
    """
    quantizations = tuple(quantizations)
    unknown = [mode for mode in quantizations if mode not in QUANTIZATIONS]
    if unknown:
        raise InputError("command line", f"unknown quantization(s) {', '.join(unknown)}")
    if representative_size < 1:
        raise InputError("command line", "representative_size must be positive")
    if mixed_threshold is not None and not mixed_threshold > 0:
        raise InputError("command line", f"the int8_mixed threshold must be positive, got "
                                         f"{mixed_threshold}")
    if clu and os.path.isdir(model_dir) and model_head(model_dir) == "sequence":
        raise InputError("--clu", CLU_REFUSAL)
    clu_modes = [mode for mode in quantizations if clu and mode in CLU_QUANTIZATIONS]
    if clu and not clu_modes:
        raise InputError("command line", f"the Task Library export needs one of "
                                         f"{', '.join(CLU_QUANTIZATIONS)} among the modes")
    check_model_dir(model_dir)
    check_output_dir(convert_dir, "convert", (model_dir, data_dir))
    if model_head(model_dir) == "sequence":  # a GLUE model: its own layout and calibration
        from nlu_tf.export.quant_debug import DEFAULT_THRESHOLD
        from nlu_tf.export.sequence_convert import convert_sequence_model_dir

        return convert_sequence_model_dir(
            model_dir, convert_dir, quantizations, data_dir, representative_size, seed,
            saved_model, debug_quantization,
            DEFAULT_THRESHOLD if mixed_threshold is None else float(mixed_threshold), clu)
    calibrated = [mode for mode in quantizations if mode in CALIBRATED]
    needs_data = calibrated or debug_quantization
    train_examples, data_folder = None, None
    if needs_data:
        what = ", ".join(calibrated + ["--debug_quantization"] * bool(debug_quantization))
        if not data_dir:
            raise InputError("command line", f"{what} need(s) --data_dir (its training split "
                                             f"is the calibration set)")
        data_folder = resolve_data_dir(data_dir, task)
        train_examples = read_split(data_folder, "train")
        if not train_examples:
            raise InputError(os.path.join(data_folder, "train"),
                             f"no utterances to calibrate {what} with")

    from nlu_tf.data.features import encode_examples
    from nlu_tf.export.quant_debug import DEFAULT_THRESHOLD, select_denylist
    from nlu_tf.export.quant_report import write_layer_report
    from nlu_tf.export.savedmodel import export_saved_model
    from nlu_tf.export.tflite import (convert_int8_mixed, convert_saved_model, int8_debugger,
                                      mixed_precision_info, representative_inputs,
                                      tflite_source_model, write_tflite_folder,
                                      write_tflite_source)
    from nlu_tf.export.decoding_outputs import decoding_tflite
    from nlu_tf.export.int4 import int4_weights_info
    from nlu_tf.model_io.model_dir import load_model_dir

    threshold = DEFAULT_THRESHOLD if mixed_threshold is None else float(mixed_threshold)
    bundle = load_model_dir(model_dir)
    source = os.path.normpath(model_dir)
    representative, calibration = None, None
    if train_examples is not None:
        features = encode_examples(train_examples, bundle.tokenizer, bundle.labels,
                                   bundle.max_seq_len, source=f"{data_folder}/train")
        representative = representative_inputs(features, representative_size, seed)
        calibration = {"source": f"{os.path.basename(os.path.normpath(data_folder))}/train",
                       "size": len(representative), "data": os.path.normpath(data_folder),
                       "length": int(representative[0]["input_ids"].shape[1]), "seed": seed}

    converted, extras, errors, denylist = {}, {}, None, ()
    with tempfile.TemporaryDirectory(prefix="nlu_tf_convert_") as tmp:
        tflite_source = write_tflite_source(bundle.model, os.path.join(tmp, "saved_model"))
        decoding = decoding_tflite(bundle.labels, bundle.max_seq_len)
        if "int8_mixed" in quantizations or debug_quantization:
            logger.info("measuring the int8 error of every op of %s", source)
            debugger = int8_debugger(tflite_source, representative, source)
            errors = debugger.layer_errors()
            denylist = select_denylist(errors, threshold)
        for mode in quantizations:
            logger.info("converting %s to TFLite (%s)", source, mode)
            extras[mode] = {}
            if MODES[mode].post == "int4":
                int4_source = write_tflite_source(tflite_source_model(bundle.model, mode),
                                                  os.path.join(tmp, "saved_model_int4"))
                converted[mode] = convert_saved_model(int4_source, mode, None, source,
                                                      decoding=decoding)
                extras[mode]["weights"] = int4_weights_info(bundle.model, converted[mode][0])
            elif mode == "int8_mixed":
                converted[mode] = convert_int8_mixed(debugger, denylist, source, decoding)
                report_file = (os.path.join("..", DEBUG_FOLDER, "layer_errors.csv")
                               if debug_quantization else "")
                extras[mode]["mixed_precision"] = mixed_precision_info(denylist, threshold,
                                                                       report_file)
            else:
                converted[mode] = convert_saved_model(tflite_source, mode, representative,
                                                      source, extras[mode], decoding)
        clu_converted = {}
        if clu_modes:
            from nlu_tf.export.clu import write_clu_source

            domain = clu_domain or (os.path.basename(os.path.normpath(data_folder))
                                    if data_folder else task) or "nlu"
            clu_source = write_clu_source(bundle, os.path.join(tmp, "saved_model_clu"), domain)
            for mode in clu_modes:
                logger.info("converting %s to a BertCluAnnotator TFLite (%s)", source, mode)
                clu_converted[mode] = convert_saved_model(clu_source, mode, None, source)

    written = {}
    os.makedirs(convert_dir, exist_ok=True)
    mark(convert_dir, "convert")
    if saved_model:
        path = os.path.join(convert_dir, SAVED_MODEL_FOLDER)
        written[path] = export_saved_model(bundle, path, source)
    for mode, (content, report) in converted.items():
        path = os.path.join(convert_dir, tflite_folder(mode))
        written[path] = write_tflite_folder(bundle, path, mode, content, report, source,
                                            calibration if mode in CALIBRATED else None,
                                            extras[mode])
    if clu_converted:
        from nlu_tf.export.clu import write_clu_folder
    for mode, (content, report) in clu_converted.items():
        path = os.path.join(convert_dir, clu_folder(mode))
        written[path] = write_clu_folder(bundle, path, mode, content, report, source)
    if debug_quantization:
        path = os.path.join(convert_dir, DEBUG_FOLDER)
        files = write_layer_report(errors, denylist, threshold, path, f"int8 error added per "
                                   f"op: {source} (red: kept in float by int8_mixed)")
        written[path] = {"files": list(files), "threshold": threshold,
                         "denylisted_nodes": list(denylist)}
    return written
