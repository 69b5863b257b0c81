"""Trains one stage: fine-tune a teacher (2.0), distil a student (2.1, 2.2 / --pred_distill).

    nlu-train --stage 2.0 --teacher_model BERT_DIR --task snips --output_dir out/teacher
    nlu-train --stage 2.1 --teacher_model out/teacher --output_dir out/student_2.1
    nlu-train --pred_distill --stage 2.2 --teacher_model out/teacher \\
        --student_model out/student_2.1 --output_dir out/student

The dataset is validated before the run starts: a bad file gives one line and exit 2.
--task may name a GLUE task (MRPC, STS-B, ...; any case): --data_dir is then the GLUE root
or the task's folder, and the dev figures printed are the task's metrics.
One run per --output_dir: a second one started while the first lives exits 2 naming its PID.
"""

import json

from absl import flags

from nlu_cli import app as cli
from nlu_cli.settings_flags import define_train_flags, settings_from_flags
from nlu_tf.data.glue import find_task
from nlu_tf.data.reader import read_dataset, resolve_data_dir
from nlu_tf.defaults import default_teacher_dir
from nlu_tf.run_lock import run_lock
from nlu_tf.training.task_data import summary_keys, task_data

define_train_flags()
FLAGS = flags.FLAGS


def main(argv):
    del argv
    values = FLAGS.flag_values_dict()
    if not values["teacher_model"] and values["stage"] == "2.0" and not values["pred_distill"]:
        values["teacher_model"] = default_teacher_dir()
    settings = cli.settings(settings_from_flags, values)
    data = settings.data
    if find_task(data.task):
        dataset = task_data(settings)
    else:
        dataset = read_dataset(resolve_data_dir(data.data_dir, data.task),
                               data.max_train_examples, data.train_split)
    with run_lock(settings.output_dir):
        from nlu_tf.training.stage import run_stage

        metrics = run_stage(settings, dataset, restart=FLAGS.restart)
    # Dev only: test is scored by nlu-evaluate, never by a training command.
    dev = metrics["dev"]
    print(json.dumps({"output_dir": settings.output_dir,
                      **{f"dev_{key}": dev[key] for key in summary_keys(data.task)
                         if key != "examples"},
                      "train_seconds": metrics["train_seconds"],
                      "mixed_precision": metrics["mixed_precision"],
                      "jit_compile": metrics["jit_compile"]}))


def entry():
    """The `nlu-train` command."""
    cli.run(main, __doc__)


if __name__ == "__main__":
    entry()
