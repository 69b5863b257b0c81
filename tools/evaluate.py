#!/usr/bin/env python3
"""Scores a model on a labelled split: intent accuracy, slot F1 / P / R, sentence accuracy.

    python tools/evaluate.py --model_dir out/student --data_dir data --task snips --split test
    python tools/evaluate.py --model_dir out/student --task atis --output_file out/eval_atis.json

Prints the summary and the per-intent and per-slot tables (rates as fractions). Slot
scores are seqeval's defaults (conlleval span matching); sentence accuracy needs the right
intent and every tag right. With --output_file, the same numbers are also written as JSON
`{"model", "data_dir", "split", "metrics"}` (atomically); without it nothing is written.
Encoding and decoding are those of training, so evaluating a model directory on its test
split reproduces the `test` block of its metrics.json (with the same --jit_compile).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import flags  # noqa: E402

from nlu_tf import cli  # noqa: E402
from nlu_tf.data.reader import SPLITS, read_split, resolve_data_dir  # noqa: E402
from nlu_tf.errors import InputError  # noqa: E402
from nlu_tf.io_utils import prepare_output_file, write_json  # noqa: E402

flags.DEFINE_string("model_dir", None, "The model directory to evaluate (a tools/train.py output).")
flags.DEFINE_string("data_dir", "data", "Dataset root (holds <task>/) or a dataset folder.")
flags.DEFINE_enum("task", "snips", ["snips", "atis"], "Dataset under --data_dir.")
flags.DEFINE_enum("split", "test", list(SPLITS), "The split to score.")
flags.DEFINE_string("output_file", None,
                    "Also write the metrics as JSON here (default: print only).")
flags.DEFINE_integer("batch_size", 64, "Utterances per forward pass.")
flags.DEFINE_bool("jit_compile", True,
                  "Compile the forward pass with XLA (as training does by default).")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    if FLAGS.batch_size < 1:
        raise InputError("command line", f"--batch_size must be positive, got {FLAGS.batch_size}")
    folder = resolve_data_dir(FLAGS.data_dir, FLAGS.task)
    examples = read_split(folder, FLAGS.split)
    if FLAGS.output_file:
        prepare_output_file(FLAGS.output_file)
    # Imported here: TensorFlow takes seconds to load, and bad input is reported before it.
    from nlu_tf.evaluation import evaluate_examples, format_report, split_name
    from nlu_tf.runners import load_runner

    runner = load_runner(FLAGS.model_dir, FLAGS.jit_compile)
    name = split_name(folder, FLAGS.split)
    metrics = evaluate_examples(runner, examples, FLAGS.batch_size, name)
    print(format_report(metrics, f"{runner.name} on {name} ({os.path.normpath(folder)})"))
    if FLAGS.output_file:
        write_json(FLAGS.output_file, {"model": runner.name, "data_dir": os.path.normpath(folder),
                                       "split": FLAGS.split, "metrics": metrics})


if __name__ == "__main__":
    cli.run(main)
