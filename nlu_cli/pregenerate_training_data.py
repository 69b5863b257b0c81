"""Pregenerates pretraining data for general distillation, with BERT-EMD's command line.

    nlu-pregenerate-training-data --train_corpus CORPUS --bert_model BERT_DIR \\
        --reduce_memory --do_lower_case --epochs_to_generate 3 --output_dir CORPUS_JSON_DIR

CORPUS has one sentence a line, documents separated by blank lines. Each epoch is cut
and masked afresh: `epoch_<e>-NNNNN.tfrecord` shards plus `epoch_<e>_metrics.json`
(example count, sequence length, shard names). `--reduce_memory` streams the corpus into
temporary files in the output folder instead of memory. Lower-casing follows BERT_DIR's
vocabulary settings (`--do_lower_case` is accepted for compatibility). A bad corpus
(missing, empty, not UTF-8, no document longer than one sentence) gives one line and
exit status 2.
"""

import json

from absl import flags

from nlu_cli import app as cli
from nlu_cli.settings_flags import PREGENERATE_FLAGS
from nlu_tf.data.tokenizer import WordPieceTokenizer
from nlu_tf.pretraining.pregenerate import pregenerate
from nlu_tf.run_lock import run_lock

PREGENERATE_FLAGS.define()
flags.DEFINE_string("train_corpus", None, "Corpus: one sentence a line, blank line between "
                                          "documents.", required=True)
flags.DEFINE_string("bert_model", None, "BERT directory whose vocab.txt tokenizes the corpus "
                                        "(the teacher's).", required=True)
flags.DEFINE_string("output_dir", None, "Where the epochs are written.", required=True)
flags.DEFINE_bool("do_lower_case", True, "Accepted for compatibility; BERT_DIR decides.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    settings = cli.settings(PREGENERATE_FLAGS.settings, FLAGS.flag_values_dict())
    tokenizer = WordPieceTokenizer.from_model_dir(FLAGS.bert_model)
    with run_lock(FLAGS.output_dir):
        summary = pregenerate(FLAGS.train_corpus, tokenizer, FLAGS.output_dir, settings)
    print(json.dumps(summary))



def entry():
    """The `nlu-pregenerate-training-data` command."""
    cli.run(main, __doc__)


if __name__ == "__main__":
    entry()
