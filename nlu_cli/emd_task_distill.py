"""BERT-EMD task distillation with the command line of the BERT-EMD reference workflow.

    nlu-emd-task-distill --teacher_model out/teacher --student_model TINYBERT_DIR \\
        --data_dir data --task_name snips --output_dir out/emd_student \\
        --max_seq_length 50 --train_batch_size 32 --num_train_epochs 10 [--aug_train]

--task_name may also be a GLUE task (BERT-EMD's keys in any case: MRPC, SST-2, STS-B, ...):
--data_dir is then the GLUE root or the task's folder, read as BERT-EMD reads its TSV
files, and the dev figures are the task's metrics.

Runs BERT-EMD's one-step objective, beta*(theta*(L_att + L_hid) + L_emb) + L_pred, with the
many-to-many EMD layer mapping. --student_model is a general TinyBERT checkpoint (Hugging
Face layout) or an nlu_tf model directory; empty: a student cut from the teacher.
--aug_train reads <data_dir>/<task_name>/train_aug/ (a GLUE task: train_aug.tsv) and fails
clearly if it is missing.
Lower-casing always follows the checkpoint's vocabulary settings (--do_lower_case is
accepted for compatibility).
"""

import json

from absl import flags

from nlu_cli import app as cli
from nlu_cli.settings_flags import EMD_FLAGS, emd_settings_from_flags
from nlu_tf.data.glue import find_task
from nlu_tf.data.reader import read_dataset, resolve_data_dir
from nlu_tf.run_lock import run_lock
from nlu_tf.training.task_data import summary_keys, task_data

EMD_FLAGS.define()
flags.DEFINE_string("student_model", "", "General TinyBERT checkpoint or nlu_tf model directory.")
flags.DEFINE_bool("aug_train", False, "Train on the augmented set <task>/train_aug.")
flags.DEFINE_bool("do_lower_case", True, "Accepted for compatibility; the checkpoint decides.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    settings = cli.settings(emd_settings_from_flags, FLAGS.flag_values_dict())
    data = settings.data
    # Read and checked before the lock (and before TensorFlow builds anything): a bad file
    # leaves no trace in --output_dir.
    dataset = task_data(settings) if find_task(data.task) else read_dataset(
        resolve_data_dir(data.data_dir, data.task), 0, data.train_split)
    with run_lock(settings.output_dir):
        from nlu_tf.training.stage import run_stage

        metrics = run_stage(settings, dataset)
    # Dev only: test is scored by nlu-evaluate, never by a training command.
    print(json.dumps({"output_dir": FLAGS.output_dir,
                      "dev": {k: metrics["dev"][k] for k in summary_keys(data.task)},
                      "emd_layer_weights": metrics["emd_layer_weights"]}))


def entry():
    """The `nlu-emd-task-distill` command."""
    cli.run(main, __doc__)


if __name__ == "__main__":
    entry()
