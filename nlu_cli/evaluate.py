"""Scores a model on a labelled split: intent accuracy, slot F1 / P / R, sentence accuracy.

    nlu-evaluate --model_dir out/student --data_dir data --task snips --split test
    nlu-evaluate --model_dir out/student --task atis --output_file out/eval_atis.json
    nlu-evaluate --model_dir out/convert/saved_model --task snips
    nlu-evaluate --model_dir out/convert/tflite_int8 --task snips --num_threads 2

--model_dir takes any artefact: a model directory, a SavedModel folder or a TFLite folder
(or its model.tflite); all are encoded, run and decoded by the same code. Evaluating a
TFLite folder also records the summary in its model_info.json under
`metrics.<task>_<split>` (e.g. `snips_test`), so the Android folder carries its accuracy.
--num_threads sets the TFLite interpreter's threads (the Keras model and the SavedModel
use TensorFlow's default threads). --reference M also compares the artefact with M on the
same inputs (intent and tag agreement in %, largest absolute logit difference at real
tokens), e.g. a TFLite folder with the Keras model it was converted from.

Prints the summary and the per-intent and per-slot tables (rates as fractions). Slot
scores are seqeval's defaults (conlleval span matching); sentence accuracy needs the right
intent and every tag right. With --output_file, the same numbers are also written as JSON
`{"model", "data_dir", "split", "metrics"}` (atomically); without it nothing is written.
Encoding and decoding are those of training, so evaluating a model directory on its test
split reproduces the `test` block of its metrics.json (with the same --jit_compile).

A GLUE model (a model directory of `nlu-train --task MRPC`, or its exports) is scored on
its own task with the task's metrics (mcc, acc, f1, pearson / spearmanr ...): --data_dir is
the GLUE root or the task's folder, --task is not needed. GLUE's test labels are not
public, so a GLUE model is evaluated on dev unless --split says train:

    nlu-evaluate --model_dir out/mrpc_student --data_dir glue
    nlu-evaluate --model_dir out/convert/tflite_int8 --data_dir glue/MRPC
"""

import json
import os

from absl import flags

from nlu_cli import app as cli
from nlu_tf.data.reader import SPLITS, read_split, resolve_data_dir
from nlu_tf.errors import InputError
from nlu_tf.serving.artefact import glue_artefact
from nlu_tf.io_utils import prepare_output_file, write_json

flags.DEFINE_string("model_dir", None, "The artefact to evaluate: a model directory (a "
                    "tools/train.py output), a SavedModel folder or a TFLite folder; joint "
                    "intent + slot or GLUE.")
flags.DEFINE_string("data_dir", "data", "Dataset root (holds <task>/) or a dataset folder; for "
                    "a GLUE model the GLUE root or the task's folder.")
flags.DEFINE_string("task", "snips", "Dataset under --data_dir (any name, e.g. snips or atis); "
                    "a GLUE model's task is its own.")
flags.DEFINE_enum("split", "test", list(SPLITS), "The split to score. A GLUE model: dev unless "
                  "given (GLUE's test labels are not public; test is refused).")
flags.DEFINE_string("output_file", None,
                    "Also write the metrics as JSON here (default: print only).")
flags.DEFINE_integer("batch_size", 64, "Utterances per forward pass.")
flags.DEFINE_bool("jit_compile", True,
                  "Compile the forward pass with XLA (as training does by default).")
flags.DEFINE_integer("num_threads", 1, "TFLite only: interpreter threads.")
flags.DEFINE_string("predictions", None, "Score this file instead of a model: JSON lines in "
                    "nlu-predict --format json's shape, one per line of the split's seq.in "
                    "(e.g. from the Task Library or an app's client).")
flags.DEFINE_string("compare_predictions", None, "With --predictions: also compare them line by "
                    "line with this file of the same shape (e.g. nlu-predict's on the same "
                    "model) and list the lines that differ.")
flags.DEFINE_string("reference", None, "Also compare with this artefact (e.g. the Keras model "
                    "directory a TFLite folder came from): share of utterances with the same "
                    "intent and of words with the same tag, and the largest logit difference.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    if FLAGS.batch_size < 1:
        raise InputError("command line", f"--batch_size must be positive, got {FLAGS.batch_size}")
    if FLAGS.num_threads < 1:
        raise InputError("command line",
                         f"--num_threads must be positive, got {FLAGS.num_threads}")
    glue = glue_artefact(FLAGS.model_dir) if FLAGS.model_dir and not FLAGS.predictions else None
    if glue is not None:
        _evaluate_glue(glue)
        return
    folder = resolve_data_dir(FLAGS.data_dir, FLAGS.task)
    examples = read_split(folder, FLAGS.split)
    if FLAGS.output_file:
        prepare_output_file(FLAGS.output_file)
    if FLAGS.predictions:
        _score_file(folder, examples)
        return
    if not FLAGS.model_dir:
        raise InputError("command line", "give --model_dir (or --predictions)")
    # Imported here: TensorFlow takes seconds to load, and bad input is reported before it.
    from nlu_tf.data.reader import split_name
    from nlu_tf.predictor import evaluate_examples
    from nlu_tf.serving.artefact import load_predictor
    from nlu_tf.serving.evaluation import format_report, record_tflite_metrics

    predictor = load_predictor(FLAGS.model_dir, FLAGS.jit_compile, FLAGS.num_threads)
    name = split_name(folder, FLAGS.split)
    metrics = evaluate_examples(predictor, examples, FLAGS.batch_size, name)
    print(format_report(metrics, f"{predictor.name} on {name} ({os.path.normpath(folder)})"))
    record_tflite_metrics(FLAGS.model_dir, f"{FLAGS.task}_{FLAGS.split}", metrics, folder)
    result = {"model": predictor.name, "data_dir": os.path.normpath(folder), "split": FLAGS.split,
              "metrics": metrics}
    if FLAGS.reference:
        from nlu_tf.benchmark.compare import agreement, split_features

        reference = load_predictor(FLAGS.reference, FLAGS.jit_compile, FLAGS.num_threads)
        result["agreement"] = agreement(reference, predictor,
                                        split_features(reference, FLAGS.data_dir, FLAGS.task,
                                                       FLAGS.split), FLAGS.batch_size)
        result["agreement"]["reference"] = reference.name
        print("agreement with " + reference.name + ": " + ", ".join(
            f"{key} {value:.3g}" if isinstance(value, float) else f"{key} {value}"
            for key, value in result["agreement"].items() if key != "reference"))
    if FLAGS.output_file:
        write_json(FLAGS.output_file, result)


def _evaluate_glue(artefact):
    """Scores a GLUE artefact on dev (or --split train) of its own task."""
    from nlu_tf.data.glue import find_task, read_glue_split, resolve_task_dir

    if FLAGS.reference:
        raise InputError("--reference", "comparing artefacts is for joint intent + slot "
                                        "models; evaluate each GLUE artefact on its own")
    split = FLAGS.split if FLAGS["split"].present else "dev"
    if split == "test":
        raise InputError("--split", "GLUE's test labels are not public: evaluate on dev")
    task_key = artefact.task
    given = find_task(FLAGS.task) if FLAGS["task"].present else None
    if given is not None and given.key != task_key:
        raise InputError("--task", f"the model was made for {task_key.upper()}, not "
                                   f"{given.key.upper()}")
    folder = resolve_task_dir(FLAGS.data_dir, task_key)
    examples = read_glue_split(folder, task_key, split)
    if FLAGS.output_file:
        prepare_output_file(FLAGS.output_file)
    from nlu_tf.serving.evaluation import record_tflite_metrics
    from nlu_tf.serving.glue import evaluate_glue_split, format_glue_report

    predictor = artefact.predictor(FLAGS.jit_compile, FLAGS.num_threads)
    metrics = evaluate_glue_split(predictor, folder, split, FLAGS.batch_size, examples)
    where = f"{os.path.basename(os.path.normpath(folder))}/{split}"
    print(format_glue_report(metrics, f"{predictor.name} on {where} ({os.path.normpath(folder)})"))
    keys = [key for key in metrics if key != "examples"]
    record_tflite_metrics(FLAGS.model_dir, f"{task_key}_{split}", metrics, folder, keys)
    if FLAGS.output_file:
        write_json(FLAGS.output_file, {"model": predictor.name, "task": task_key,
                                       "data_dir": os.path.normpath(folder), "split": split,
                                       "metrics": metrics})


def _score_file(folder, examples):
    from nlu_tf.data.reader import split_name
    from nlu_tf.serving.evaluation import format_report
    from nlu_tf.serving.prediction_files import (compare_predictions, read_predictions,
                                                 score_predictions)

    records = read_predictions(FLAGS.predictions)
    metrics = score_predictions(examples, records, FLAGS.predictions)
    name = split_name(folder, FLAGS.split)
    print(format_report(metrics, f"{FLAGS.predictions} on {name}"))
    result = {"predictions": FLAGS.predictions, "data_dir": os.path.normpath(folder),
              "split": FLAGS.split, "metrics": metrics}
    if FLAGS.compare_predictions:
        summary, differences = compare_predictions(
            records, read_predictions(FLAGS.compare_predictions))
        result["agreement"] = {**summary, "reference": FLAGS.compare_predictions,
                               "differences": [{"line": n, "predictions": a, "reference": b}
                                               for n, a, b in differences]}
        print(f"agreement with {FLAGS.compare_predictions}: " + ", ".join(
            f"{key} {value:.4f}" if isinstance(value, float) else f"{key} {value}"
            for key, value in summary.items()))
        for number, record, reference in differences[:50]:
            print(f"  line {number}: {json.dumps(record, ensure_ascii=False)}\n"
                  f"     against {json.dumps(reference, ensure_ascii=False)}")
    if FLAGS.output_file:
        write_json(FLAGS.output_file, result)


def entry():
    """The `nlu-evaluate` command."""
    cli.run(main, __doc__)


if __name__ == "__main__":
    entry()
