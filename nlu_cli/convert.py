"""Exports a model directory: a SavedModel for servers and `.tflite` folders for Android.

    nlu-convert --model_dir out/student --convert_dir out/convert
    nlu-convert --model_dir out/student --convert_dir out/convert \\
        --quantization all --data_dir data --task snips
    nlu-convert --model_dir out/student --convert_dir out/convert \
        --quantization int8_mixed --debug_quantization --data_dir data --task snips
    nlu-convert --model_dir out/student --convert_dir out/convert --clu   # + BertCluAnnotator

Writes `saved_model/` and `tflite_<mode>/` under --convert_dir (with --clu also
`tflite_clu_<mode>/` for float32 and dynamic) (see nlu_tf/export/convert.py);
with --debug_quantization also `quantization_debug/layer_errors.csv` and `.png`: the int8
error each op adds (tf.lite.experimental.QuantizationDebugger), from which int8_mixed
picks the ops it keeps in float.

A GLUE model directory (`nlu-train --task MRPC`, ...) exports the same folders: a SavedModel
with `logits(input_ids, attention_mask, token_type_ids)`, and `.tflite` files whose
`token_type_ids` input takes the segment ids of a pair; the calibrated modes read the
task's train.tsv under --data_dir (the GLUE root or the task's folder; --task is the
model's own). --clu is refused: the Task Library's BertCluAnnotator needs intents and slots.

    nlu-convert --model_dir out/mrpc_student --convert_dir out/mrpc_convert \
        --quantization all --data_dir glue_data
"""

import json

from absl import flags

from nlu_cli import app as cli
from nlu_tf.errors import InputError
from nlu_tf.run_lock import run_lock
from nlu_tf.export.convert import (QUANTIZATION_CHOICES, convert_model_dir,
                                   resolve_quantizations)

flags.DEFINE_string("model_dir", "", "The nlu_tf model directory to export.")
flags.DEFINE_string("convert_dir", "", "Where the export folders are written.")
flags.DEFINE_enum("quantization", "dynamic", list(QUANTIZATION_CHOICES),
                  "TFLite mode: float32, float16, dynamic (int8 weights), int8 (weights and "
                  "activations, calibrated on the training split), int8_mixed (int8 except "
                  "the ops whose per-layer int8 error exceeds --mixed_threshold, kept in "
                  "float), int16x8 (int16 activations, int8 weights), int4 (4-bit token "
                  "table and matmul weights: the smallest file), or all of them.")
flags.DEFINE_integer("representative_size", 300,
                     "int8, int8_mixed, int16x8: calibration inputs drawn from the training "
                     "split.")
flags.DEFINE_string("data_dir", "data", "Calibration: dataset root (holds <task>/) or a "
                    "dataset folder; for a GLUE model the GLUE root or the task's folder.")
flags.DEFINE_string("task", "snips", "Calibration: dataset under --data_dir.")
flags.DEFINE_bool("debug_quantization", False,
                  "Also write quantization_debug/layer_errors.csv and .png: the int8 error "
                  "each op adds (rmse / scale and more), and which ops int8_mixed keeps in "
                  "float.")
flags.DEFINE_float("mixed_threshold", 0.7,
                   "int8_mixed: keep in float every op whose int8 error, sqrt(mean squared "
                   "error) / scale, exceeds this (rounding alone gives 0.29).")
flags.DEFINE_bool("saved_model", True, "Also write the SavedModel folder.")
flags.DEFINE_bool("clu", False, "Also write tflite_clu_<mode>/ for float32 and dynamic among "
                  "the modes: a model Android's Task Library BertCluAnnotator runs as it is "
                  "(tokenization and decoding inside; README, On Android).")
flags.DEFINE_string("clu_domain", "", "The domain the Task Library export reports (default: "
                    "the dataset's folder name).")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    for name in ("model_dir", "convert_dir"):
        if not FLAGS[name].value:
            raise InputError("command line", f"--{name} is required")
    with run_lock(FLAGS.convert_dir):
        written = convert_model_dir(FLAGS.model_dir, FLAGS.convert_dir,
                                    resolve_quantizations(FLAGS.quantization), FLAGS.data_dir,
                                    FLAGS.task, FLAGS.representative_size,
                                    saved_model=FLAGS.saved_model,
                                    debug_quantization=FLAGS.debug_quantization,
                                    mixed_threshold=FLAGS.mixed_threshold, clu=FLAGS.clu,
                                    clu_domain=FLAGS.clu_domain)
    print(json.dumps({path: {"size_bytes": info["size_bytes"]} if "size_bytes" in info else
                      {"files": info["files"]} for path, info in written.items()}))


def entry():
    """The `nlu-convert` command."""
    cli.run(main, __doc__)


if __name__ == "__main__":
    entry()
