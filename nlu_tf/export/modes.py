"""The TFLite export modes, each one declared entry: converter settings, calibration,
post-processing, and the runtime it needs.

`min_runtime` is the oldest TF Lite runtime (the version of org.tensorflow:tensorflow-lite,
or of `tflite-runtime`) on which the mode's files run *correctly*, as measured by
`make client-test` (clients/check_tflite.py) and written in each file's `model_info.json`
and in its own `min_runtime_version` metadata, which is never lower. A mode that needs a
newer runtime than the one apps ship raises an operator version in its file
(`op_floor`), so an older runtime refuses the file at load instead of answering wrong.

This module imports no TensorFlow.
"""

import dataclasses

# The runtime of apps pinned to org.tensorflow:tensorflow-lite 2.14, the one CI runs.
SHIPPED_RUNTIME = "2.14.0"
# FULLY_CONNECTED version 12 needs TF Lite 2.17 (the converter's own runtime table); TF Lite
# 2.14 knows up to 10. Measured (clients/check_tflite.py on each runtime's Python package).
PER_CHANNEL_RUNTIME = "2.17.0"
# FULLY_CONNECTED version 14 is known from TensorFlow 2.21's interpreter and LiteRT 2.1 on
# (TensorFlow 2.17 knows 12, LiteRT 1.0 - 2.0 know 13): int4 and int16x8 files ask for it,
# since LiteRT 1.2 answers int4 wrong and fails int16 GELU at run, while TensorFlow 2.21's
# interpreter and LiteRT 2.1.6 and 2.3.0 run both correctly (LiteRT 1.4 and 2.0.3 would
# too, and are refused: no operator version tells them from 1.2).
NEWEST_RUNTIME = "2.21.0"


@dataclasses.dataclass(frozen=True)
class Mode:
    """One TFLite export mode.

    Attributes:
        name: the `--quantization` value and the `tflite_<name>` folder.
        description: what is stored and computed in which type, for `model_info.json`.
        converter: the converter optimisation: "float32" (none), "float16", "dynamic"
            (int8 weights) or "int8" (int8 weights and activations, calibrated).
        per_channel_dense: dynamic range: a scale per output channel of the dense layers
            (FULLY_CONNECTED version 12, TF Lite 2.17+) instead of one per tensor (version
            9, which TF Lite 2.14 runs).
        calibrated: needs representative inputs from the training split.
        post: the rewrite after conversion: "" (none), "fp16_gather", "int16x8", "int4".
        min_runtime: the oldest TF Lite runtime that runs the files correctly.
        op_floor: builtin operator name -> the lowest version its opcode is written with,
            so that runtimes older than `min_runtime` refuse the file.
        runtime_note: why the mode needs what it needs, for `model_info.json` and README.
    """

    name: str
    description: str
    converter: str
    per_channel_dense: bool = False
    calibrated: bool = False
    post: str = ""
    min_runtime: str = SHIPPED_RUNTIME
    op_floor: tuple = ()
    runtime_note: str = ""


MODES = {mode.name: mode for mode in (
    Mode("float32", "float32 weights and activations", "float32",
         runtime_note="runs on TF Lite 2.14 as converted"),
    Mode("float16", "float16 weights, dequantized to float32 at load (embedding rows per "
                    "call); float32 compute", "float16", post="fp16_gather",
         runtime_note="embedding tables gathered as 16-bit patterns, then BITCAST and "
                      "DEQUANTIZE: TF Lite 2.14's XNNPACK answers NaN after a resize when "
                      "GATHER reads a dequantized table"),
    Mode("dynamic", "int8 weights with a scale per tensor; activations quantized on the fly "
                    "for the matmuls, float32 elsewhere", "dynamic",
         runtime_note="per-tensor dense weights: FULLY_CONNECTED version 9, which TF Lite 2.14 "
                      "runs"),
    Mode("dynamic_per_channel", "int8 weights with a scale per output channel; activations "
                                "quantized on the fly for the matmuls, float32 elsewhere",
         "dynamic", per_channel_dense=True, min_runtime=PER_CHANNEL_RUNTIME,
         runtime_note="per-channel dense weights: FULLY_CONNECTED version 12, refused by TF "
                      "Lite before 2.17"),
    Mode("int8", "int8 weights and activations (calibrated on training utterances); int32 "
                 "inputs, float32 logits (dequantized); ops without an int8 kernel stay "
                 "float32 (see ops.float_ops)", "int8", calibrated=True,
         runtime_note="runs on TF Lite 2.14 as converted"),
    Mode("int8_mixed", "int8 as in int8, except the ops whose int8 error exceeds a threshold "
                       "in a per-layer report, kept in float32 (see mixed_precision)", "int8",
         calibrated=True, runtime_note="runs on TF Lite 2.14 as converted"),
    Mode("int16x8", "int16 activations, int8 weights, int64 biases (calibrated on training "
                    "utterances); int32 inputs, float32 logits; ops without an int16 kernel "
                    "stay float32 (see ops.float_ops)", "float32", calibrated=True,
         post="int16x8", min_runtime=NEWEST_RUNTIME, op_floor=(("FULLY_CONNECTED", 14),),
         runtime_note="int16 RSQRT has no kernel in TF Lite 2.14, nor int16 GELU in "
                      "TensorFlow 2.17 and LiteRT 1.2; the file asks for FULLY_CONNECTED "
                      "version 14 so that runtimes before TensorFlow 2.21 / LiteRT 2.1 refuse "
                      "it"),
    Mode("int4", "int4 weights: the token table as 4-bit rows with a scale per row, unpacked "
                 "per token; the matmul weights int4 with a scale per 32 weights, activations "
                 "quantized on the fly for the matmuls; float32 elsewhere", "float32",
         post="int4", min_runtime=NEWEST_RUNTIME, op_floor=(("FULLY_CONNECTED", 14),),
         runtime_note="TF Lite 2.14 and LiteRT 1.2 load int4 weights under FULLY_CONNECTED "
                      "version 1 and answer wrong, TensorFlow 2.17 crashes; the file asks for "
                      "version 14 so that runtimes before TensorFlow 2.21 / LiteRT 2.1 refuse "
                      "it"),
)}

QUANTIZATIONS = tuple(MODES)
CALIBRATED_QUANTIZATIONS = tuple(name for name, mode in MODES.items() if mode.calibrated)


def version_tuple(version):
    """`"2.14.0"` -> `(2, 14, 0)`, for comparing runtime versions."""
    return tuple(int(part) for part in str(version).split(".") if part.isdigit())


def runtime_info(mode):
    """The `model_info.json` entries of a mode's runtime contract."""
    entry = MODES[mode]
    return {"min_runtime": entry.min_runtime, "runtime_note": entry.runtime_note}
