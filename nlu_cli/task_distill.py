"""Evaluates a distilled student with the command line of the TinyBERT / BERT-EMD workflows.

    nlu-task-distill --do_eval --student_model out/student --data_dir data \\
        --task_name snips --output_dir out/eval --do_lower_case --eval_batch_size 64 \\
        --max_seq_length 50

Scores the dev split (as those workflows do) and writes eval_results.txt and
eval_results.json into --output_dir. With a GLUE --task_name (MRPC, STS-B, ...; any case),
--student_model is a model directory trained on that task, --data_dir the GLUE root or
the task's folder, and the figures are the task's metrics, as training printed them. For training use tools/train.py or
tools/emd_task_distill.py.
"""

import json
import os

from absl import flags

from nlu_cli import app as cli
from nlu_tf.data.glue import find_task
from nlu_tf.errors import InputError

flags.DEFINE_bool("do_eval", False, "Evaluate --student_model on the dev split (required).")
flags.DEFINE_string("student_model", None, "Model directory, SavedModel or TFLite folder.",
                    required=True)
flags.DEFINE_string("data_dir", "data", "Dataset root (holds <task_name>/).")
flags.DEFINE_string("task_name", "snips", "Dataset under --data_dir (any name, e.g. snips or atis), or a GLUE task (e.g. MRPC).")
flags.DEFINE_string("output_dir", None, "Where eval_results.txt is written.", required=True)
flags.DEFINE_bool("do_lower_case", True, "Accepted for compatibility; the model decides.")
flags.DEFINE_integer("eval_batch_size", 64, "Evaluation batch size.")
flags.DEFINE_integer("max_seq_length", 50, "Accepted for compatibility; the model decides.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    if not FLAGS.do_eval:
        raise InputError("command line", "only --do_eval is supported here; train with "
                                         "tools/train.py or tools/emd_task_distill.py")
    from nlu_tf.io_utils import write_json, write_text_atomic
    from nlu_tf.training.task_data import summary_keys

    task = find_task(FLAGS.task_name)
    metrics = _glue_metrics(task) if task else _nlu_metrics()
    os.makedirs(FLAGS.output_dir, exist_ok=True)
    summary = {k: metrics[k] for k in summary_keys(FLAGS.task_name)}
    write_text_atomic(os.path.join(FLAGS.output_dir, "eval_results.txt"),
                      "".join(f"{k} = {v}\n" for k, v in summary.items()))
    write_json(os.path.join(FLAGS.output_dir, "eval_results.json"), metrics)
    print(json.dumps(summary))


def _nlu_metrics():
    """Dev metrics of a joint-NLU artefact (model directory, SavedModel or TFLite)."""
    from nlu_tf.serving.artefact import load_predictor
    from nlu_tf.serving.evaluation import evaluate_split

    return evaluate_split(load_predictor(FLAGS.student_model), FLAGS.data_dir, "dev",
                          FLAGS.task_name, FLAGS.eval_batch_size)


def _glue_metrics(task):
    """Dev metrics of a GLUE model directory, scored as the training stage scores it."""
    from nlu_tf.glue_evaluation import evaluate_glue
    from nlu_tf.model_io.model_dir import load_model_dir
    from nlu_tf.training.glue_data import check_task_model

    bundle = load_model_dir(FLAGS.student_model)
    check_task_model(bundle, task, FLAGS.student_model)
    return evaluate_glue(bundle, FLAGS.data_dir, task, FLAGS.eval_batch_size)


def entry():
    """The `nlu-task-distill` command."""
    cli.run(main, __doc__)


if __name__ == "__main__":
    entry()
