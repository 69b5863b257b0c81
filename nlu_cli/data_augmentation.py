"""Label-preserving augmentation of a joint intent + slot training set (TinyBERT's flags).

    nlu-data-augmentation --data_dir data --task_name snips --N 20
    nlu-data-augmentation --pretrained_bert_model bert-base-uncased/ \\
        --data_dir data --task_name snips --output_dir /tmp/snips_aug/train_aug

Writes <data_dir>/<task_name>/train_aug/ (or --output_dir) in the seq.in / seq.out / label
layout: the training utterances first, then up to N augmented copies of each. In a copy,
each O word (alphabetic, not a stop word, one vocabulary piece) is replaced with
probability p by one of its M candidates: the masked LM's top-M predictions when the
checkpoint has an MLM head (cls.predictions.*), else its M nearest neighbours in the
input-embedding space. Each slot value is replaced with probability p by another value
of the same slot type seen in training, and re-tagged. Copies equal to a dev or test
utterance are dropped, repeats skipped, and the counts printed. Train with
`--aug_train` (tools/emd_task_distill.py) or `train_split: train_aug`.
"""

import json
import os
import time

from absl import flags

from nlu_cli import app as cli
from nlu_cli.settings_flags import AUGMENT_FLAGS
from nlu_tf.data.reader import resolve_data_dir
from nlu_tf.defaults import default_teacher_dir

AUGMENT_FLAGS.define()
flags.DEFINE_string("pretrained_bert_model", "", "Hugging Face BERT directory whose masked-LM "
                    "head (or, without one, input embeddings) proposes replacement words. "
                    "Default: the embedded all-MiniLM-L6-v2 (no MLM head: embeddings).")
flags.DEFINE_string("data_dir", None, "Dataset root (holds <task_name>/) or a dataset folder.")
flags.DEFINE_string("task_name", "", "Dataset under --data_dir, e.g. snips or atis.")
flags.DEFINE_string("output_dir", "", "The split folder to write (default: "
                    "<data_dir>/<task_name>/train_aug), replaced atomically.")
flags.mark_flag_as_required("data_dir")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    settings = cli.settings(AUGMENT_FLAGS.settings, FLAGS.flag_values_dict())
    dataset_dir = resolve_data_dir(FLAGS.data_dir, FLAGS.task_name)
    model_dir = FLAGS.pretrained_bert_model or default_teacher_dir()

    from nlu_tf.augment.run import AUG_SPLIT, augment_dataset
    from nlu_tf.run_lock import run_lock

    start = time.monotonic()
    with run_lock(FLAGS.output_dir or os.path.join(dataset_dir, AUG_SPLIT)):
        output_dir, counts, kind = augment_dataset(dataset_dir, model_dir, settings,
                                                   FLAGS.output_dir or None)
    print(json.dumps({"output_dir": output_dir, "candidates": kind,
                      "originals": counts.originals, "augmented": counts.augmented,
                      "dropped_equal_to_dev_test": counts.dropped_dev_test,
                      "duplicates_skipped": counts.duplicates,
                      "seconds": round(time.monotonic() - start, 1)}))


def entry():
    """The `nlu-data-augmentation` command."""
    cli.run(main, __doc__)


if __name__ == "__main__":
    entry()
