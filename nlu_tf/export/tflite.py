"""TFLite conversion with builtin ops only: float32, float16, dynamic range, full int8,
int8 with its worst ops kept in float (`int8_mixed`), 16x8 (`int16x8`), and 4-bit weights
(`int4`, `nlu_tf.export.int4`).

The converted model takes int32 `input_ids`, `attention_mask`, `token_type_ids` of shape
(1, L): one utterance per call, as an app runs it, at its own length (L up to `max_seq_len`;
the interpreter resizes the inputs to each call's length), and returns float32
`intent_logits` (1, I) and `slot_logits` (1, L, S). With a fourth input `word_starts` it
also decodes them in the graph: `intent_id`, `intent_prob` and per word `slot_ids`
(`nlu_tf.export.decoding_outputs`). Tokenization stays outside (an app tokenizes with
`vocab.txt`).

The batch is static because then every reshape in the model has a constant target shape
(the length is always -1, see `TransformerLayer.call`): the converted graph holds no shape
arithmetic, the projections are plain FULLY_CONNECTED ops, and XNNPACK takes the graph in
a couple of partitions instead of twenty, which halves the latency of a small student.

The int8 model is calibrated on real tokens only (unpadded utterances), so the quantized
range of the attention scores does not stretch to the -10000 padding penalty (which would
leave no resolution for the scores themselves); so are `int8_mixed` and `int16x8`.
`nlu_tf.export.tflite_interpreter` feeds every model one unpadded utterance at a time.
"""

import contextlib
import os
import re
import tempfile
import warnings

import numpy as np
import tensorflow as tf

from nlu_tf.errors import InputError
from nlu_tf.export.metadata import CALIBRATED_QUANTIZATIONS as CALIBRATED
from nlu_tf.export.metadata import (ID_INPUTS, LOGITS_OUTPUTS, MODEL_INFO, QUANTIZATIONS,
                                    base_info, write_support_files)
from nlu_tf.export.decoding_outputs import DECODING_OUTPUTS, WORD_STARTS, attach_decoding
from nlu_tf.export.delegation import runs_on, xnnpack_coverage
from nlu_tf.export.joint_metadata import METADATA_AUTHOR, METADATA_LICENSE, model_metadata
from nlu_tf.export.modes import MODES, runtime_info
from nlu_tf.export.runtime_contract import apply_contract
from nlu_tf.export.signatures import LogitsModule
from nlu_tf.export.tflite_ops import inspect_ops
from nlu_tf.export.tflite_signature import describe_tensors, signature_details
from nlu_tf.io_utils import atomic_dir, write_json

BATCH_SIZE = 1
MODEL_FILE = "model.tflite"
INPUT_NOTE = ("Resize every input to (1, L), L <= max_seq_len, and send one utterance "
              "unpadded: attention_mask all ones, token_type_ids zeros (the int8 model is "
              "calibrated on unpadded utterances only), word_starts 1 at the first "
              "sub-token of each word, 0 elsewhere.")
_SELECT_OPS = re.compile(r"TF Select ops: ([^\n]+)")
_VARIABLE_OPS = ("VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE")


class ConversionError(InputError):
    """The model cannot become a builtin-ops-only `.tflite` (e.g. it needs TF Select ops)."""


def write_tflite_source(model, folder):
    """Saves the id-only `logits` function of `model` (batch `BATCH_SIZE`, any length) as a
    SavedModel."""
    module = LogitsModule(model, batch_size=BATCH_SIZE)
    tf.saved_model.save(module, folder, signatures={"serving_default": module.logits})
    return folder


def _configure(converter, mode, representative):
    """Sets the converter up for a `modes.Mode`'s `converter` setting."""
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if mode.converter == "float32":
        return
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode.converter == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif mode.converter == "dynamic":
        converter._experimental_disable_per_channel_quantization_for_dense_layers = (
            not mode.per_channel_dense)
    elif mode.converter == "int8":
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
                                               tf.lite.OpsSet.TFLITE_BUILTINS]
        converter.representative_dataset = lambda: iter(representative)


def _select_ops(error):
    """The TF Select op names a `ConverterError` complains about (empty if another failure)."""
    names = set()
    for data in getattr(error, "errors", ()):
        if data.error_code == data.ERROR_NEEDS_FLEX_OPS and data.operator.name:
            names.add(data.operator.name.removeprefix("tf."))
    for match in _SELECT_OPS.finditer(str(error)):
        names.update(name.strip() for name in match.group(1).split(","))
    return sorted(name for name in names if name)


def _first_error_line(error):
    text = str(error)
    return next((line for line in text.splitlines() if "error" in line.lower()),
                text.splitlines()[0] if text else "unknown error").strip()


@contextlib.contextmanager
def _conversion_errors(quantization, where):
    """Turns the converter's and quantizers' failures into one-line `ConversionError`s."""
    from tensorflow.lite.python.convert_phase import ConverterError

    try:
        with warnings.catch_warnings():
            # The calibrators run the deprecated tf.lite.Interpreter internally.
            warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
            yield
    except ConverterError as error:
        ops = _select_ops(error)
        if ops:
            raise ConversionError(where, f"{quantization} TFLite conversion needs TF Select "
                                         f"(Flex) ops, which the stock runtime lacks: "
                                         f"{', '.join(ops)}") from None
        raise ConversionError(where, f"{quantization} TFLite conversion failed: "
                                     f"{_first_error_line(error)}") from None
    except (RuntimeError, ValueError) as error:
        raise ConversionError(where, f"{quantization} TFLite quantization failed: "
                                     f"{_first_error_line(error)}") from None


def check_builtin_only(content, quantization, where):
    """The `OpReport` of `content`; raises `ConversionError` on custom / Flex ops or
    resource variables."""
    report = inspect_ops(content)
    if report.custom:
        raise ConversionError(where, f"{quantization} TFLite model contains custom / Flex ops: "
                                     f"{', '.join(report.custom)}")
    variables = sorted(set(_VARIABLE_OPS) & set(report.counts))
    if variables:
        raise ConversionError(where, f"{quantization} TFLite model kept resource variables "
                                     f"({', '.join(variables)}): weights were not frozen")
    return report


def _needs_calibration(quantization, representative):
    if quantization in CALIBRATED and not representative:
        raise ValueError(f"{quantization} quantization needs a representative dataset")


def int8_debugger(source_dir, representative, model_name=""):
    """An `Int8Debugger` (per-layer int8 error) over the SavedModel at `source_dir`,
    calibrated on `representative` as `int8` is."""
    from nlu_tf.export.quant_debug import Int8Debugger

    _needs_calibration("int8_mixed", representative)
    converter = tf.lite.TFLiteConverter.from_saved_model(source_dir)
    _configure(converter, MODES["int8_mixed"], representative)
    with _conversion_errors("int8_mixed", model_name or source_dir):
        return Int8Debugger(converter, representative)


def convert_int8_mixed(debugger, denylisted_nodes, model_name="", decoding=None):
    """The int8 model of `debugger` with the ops writing `denylisted_nodes` in float;
    returns `(tflite bytes, OpReport)`. `decoding`: see `convert_saved_model`."""
    where = model_name or "int8_mixed model"
    with _conversion_errors("int8_mixed", where):
        content = _with_decoding(debugger.quantize(denylisted_nodes), decoding)
        content = apply_contract(content, "int8_mixed")
    return content, check_builtin_only(content, "int8_mixed", where)


def convert_saved_model(source_dir, quantization, representative=None, model_name="",
                        info=None, decoding=None):
    """Converts the SavedModel at `source_dir`; returns `(tflite bytes, OpReport)`.

    Args:
        source_dir: a SavedModel from `write_tflite_source` (for int4, of the model's
            `int4_table_model`: `tflite_source_model`).
        quantization: one of `QUANTIZATIONS`.
        representative: for int8, int8_mixed and int16x8, a list of input dicts (int32
            (1, L) arrays).
        model_name: names the model in error messages.
        info: a dict that receives what the conversion did besides the defaults, for
            `model_info.json`: `graph_rewrites` (int16x8), `mixed_precision` (int8_mixed,
            whose ops kept in float follow `quant_debug.MIXED_RULE` at the default
            threshold; `convert_model_dir` sets its own).
        decoding: `decoding_outputs.decoding_tflite` bytes of the model's labels, spliced
            after the logits once the mode's conversion is done; None: logits only.

    Raises:
        ConversionError: the model needs TF Select (Flex) or custom ops, or keeps
            variables: it would not run on the stock LiteRT runtime as intended.
    """
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"unknown quantization {quantization!r} (one of {QUANTIZATIONS})")
    _needs_calibration(quantization, representative)
    info = {} if info is None else info
    where = model_name or source_dir
    if quantization == "int8_mixed":
        from nlu_tf.export.quant_debug import DEFAULT_THRESHOLD, select_denylist

        debugger = int8_debugger(source_dir, representative, model_name)
        denylist = select_denylist(debugger.layer_errors(), DEFAULT_THRESHOLD)
        info["mixed_precision"] = mixed_precision_info(denylist, DEFAULT_THRESHOLD)
        return convert_int8_mixed(debugger, denylist, model_name, decoding)
    mode = MODES[quantization]
    converter = tf.lite.TFLiteConverter.from_saved_model(source_dir)
    _configure(converter, mode, representative)
    with _conversion_errors(quantization, where):
        content = _post_process(converter.convert(), mode, representative, info)
        content = apply_contract(_with_decoding(content, decoding), quantization)
    return content, check_builtin_only(content, quantization, where)


def _with_decoding(content, decoding):
    return content if decoding is None else attach_decoding(content, decoding)


def _post_process(content, mode, representative, info):
    """The rewrite a mode declares after conversion (`Mode.post`); notes go to `info`."""
    if mode.post == "int4":
        from nlu_tf.export.int4 import quantize_matmul_weights

        return quantize_matmul_weights(content)
    if mode.post == "int16x8":
        from nlu_tf.export.int16x8 import (fit_int16_add_sub_scales, prepare_for_int16x8,
                                           quantize_int16x8)

        content, info["graph_rewrites"] = prepare_for_int16x8(content)
        content, raised = fit_int16_add_sub_scales(quantize_int16x8(content, representative))
        if raised:
            info["graph_rewrites"].append(f"raised {raised} int16 ADD/SUB output scale(s) to "
                                          f"what TF Lite 2.14 can prepare")
        return content
    if mode.post == "fp16_gather":
        from nlu_tf.export.fp16_gather import gather_float16_bits

        content, rewritten = gather_float16_bits(content)
        if rewritten:
            info["graph_rewrites"] = [f"{rewritten} embedding lookup(s) gather float16 bit "
                                      f"patterns, then BITCAST and DEQUANTIZE"]
        return content
    return content


def mixed_precision_info(denylist, threshold, report_file=""):
    """The `mixed_precision` entry of an int8_mixed `model_info.json`."""
    from nlu_tf.export.quant_debug import MIXED_RULE

    info = {"rule": MIXED_RULE, "metric": "rmse/scale", "threshold": threshold,
            "denylisted_nodes": list(denylist)}
    if report_file:
        info["report"] = report_file
    return info


def tflite_source_model(model, quantization):
    """The Keras model a mode converts: `model`, or for int4 its copy with a 4-bit token
    table (`nlu_tf.export.int4.int4_table_model`)."""
    if MODES[quantization].post != "int4":
        return model
    from nlu_tf.export.int4 import int4_table_model

    return int4_table_model(model)


def convert_model(model, quantization, representative=None, model_name=""):
    """Converts a Keras joint model; returns `(tflite bytes, OpReport)`."""
    with tempfile.TemporaryDirectory(prefix="nlu_tf_tflite_") as tmp:
        source = write_tflite_source(tflite_source_model(model, quantization),
                                     os.path.join(tmp, "saved_model"))
        return convert_saved_model(source, quantization, representative, model_name)


def representative_inputs(features, size, seed=0):
    """Up to `size` calibration inputs for int8, built from the utterances of `features`.

    The calibrator prepares the interpreter once, for the shape of the first input, so
    every input must have the same shape; and it must hold real tokens only (mask all
    ones), or the -10000 padding penalty would set the range of the attention scores.
    So a seeded sample of utterances is packed into inputs of one length, the median
    utterance length: each input starts with an utterance (`[CLS] ... [SEP]`), longer ones
    are cut, shorter ones are followed by the word pieces of the next sampled utterances;
    the last token is always `[SEP]`.

    Args:
        features: `Features` of the training split, encoded with the model's tokenizer.
        size: the number of calibration inputs (at most the number of utterances).
        seed: fixes the sample.

    Returns:
        A list of dicts of int32 (1, L) arrays: `input_ids`, `attention_mask`,
        `token_type_ids`.
    """
    count = min(int(size), len(features))
    order = np.random.default_rng(seed).permutation(len(features))[:count]
    rows = [np.asarray(features.input_ids[i], dtype=np.int32) for i in order]
    length = int(np.median([len(row) for row in rows])) if rows else 0
    inputs = []
    for start, row in enumerate(rows):
        tokens = list(row)
        follower = start + 1
        while len(tokens) < length:
            tokens.extend(rows[follower % count][1:])
            follower += 1
        ids = np.array(tokens[:length], dtype=np.int32)
        ids[-1] = row[-1]
        ids = ids[None]
        inputs.append({"input_ids": ids, "attention_mask": np.ones_like(ids),
                       "token_type_ids": np.zeros_like(ids)})
    return inputs


def describe_io(content):
    """Names, tensor names, dtypes and shapes (-1: resizable) of the model's signature."""
    inputs, outputs = signature_details(content)
    return {"inputs": describe_tensors(inputs, [n for n in ID_INPUTS + (WORD_STARTS,)
                                                if n in inputs]),
            "outputs": describe_tensors(outputs, [n for n in LOGITS_OUTPUTS + DECODING_OUTPUTS
                                                  if n in outputs])}


def write_tflite_folder(bundle, folder, quantization, content, report, source="",
                        calibration=None, extra=None):
    """Writes an Android-ready folder atomically: model.tflite, vocab, labels, model_info.json.

    Args:
        bundle: the `ModelBundle` converted (tokenizer, labels, model).
        folder: the folder to write (replaced if it exists).
        quantization: the mode, one of `QUANTIZATIONS`.
        content: the `.tflite` bytes.
        report: their `OpReport`.
        source: the model directory converted.
        calibration: for calibrated modes, `{"source": "<dataset>/<split>", "size": N, ...}`.
        extra: more `model_info.json` entries (e.g. `mixed_precision`, `graph_rewrites`).

    The `.tflite` gets its TFLite Model Metadata here (`model_metadata`), vocabulary and
    label files packed.

    Returns:
        The model info written.
    """
    from nlu_tf.export.tflite_metadata import attach_metadata

    content = attach_metadata(content, model_metadata(bundle, content, quantization))
    info = base_info(bundle, "tflite", source)
    info.update(quantization=quantization, quantization_description=MODES[quantization].description,
                model_file=MODEL_FILE, size_bytes=len(content), input_note=INPUT_NOTE,
                ops=report.to_json(), **runtime_info(quantization), **describe_io(content))
    info["tflite_metadata"] = {"author": METADATA_AUTHOR, "license": METADATA_LICENSE,
                               "packed_files": ["vocab.txt", "intent_label.txt",
                                                "slot_label.txt"]}
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
