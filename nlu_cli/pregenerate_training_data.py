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
from nlu_tf.data.tokenizer import WordPieceTokenizer
from nlu_tf.pretraining.pregenerate import PregenerateSettings, pregenerate
from nlu_tf.run_lock import run_lock

d = PregenerateSettings()
flags.DEFINE_string("train_corpus", None, "Corpus: one sentence a line, blank line between "
                                          "documents.", required=True)
flags.DEFINE_string("bert_model", None, "BERT directory whose vocab.txt tokenizes the corpus "
                                        "(the teacher's).", required=True)
flags.DEFINE_string("output_dir", None, "Where the epochs are written.", required=True)
flags.DEFINE_bool("reduce_memory", d.reduce_memory, "Stream the tokenized corpus through "
                                                    "temporary files instead of memory.")
flags.DEFINE_bool("do_lower_case", True, "Accepted for compatibility; BERT_DIR decides.")
flags.DEFINE_bool("do_whole_word_mask", d.whole_word_mask, "Mask whole words, not pieces.")
flags.DEFINE_integer("epochs_to_generate", d.epochs_to_generate, "Epochs of data, each "
                                                                 "masked afresh.")
flags.DEFINE_integer("max_seq_len", d.max_seq_len, "Tokens per example, specials included.")
flags.DEFINE_float("short_seq_prob", d.short_seq_prob, "Chance of a shorter target length.")
flags.DEFINE_float("masked_lm_prob", d.masked_lm_prob, "Share of tokens masked.")
flags.DEFINE_integer("max_predictions_per_seq", d.max_predictions_per_seq,
                     "Most masked tokens per example.")
flags.DEFINE_integer("shard_size", d.shard_size, "Examples per TFRecord shard.")
flags.DEFINE_integer("seed", d.seed, "Random seed: same seed, same files.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    settings = cli.settings(lambda kw: PregenerateSettings(**kw), dict(
        epochs_to_generate=FLAGS.epochs_to_generate, max_seq_len=FLAGS.max_seq_len,
        short_seq_prob=FLAGS.short_seq_prob, masked_lm_prob=FLAGS.masked_lm_prob,
        max_predictions_per_seq=FLAGS.max_predictions_per_seq,
        whole_word_mask=FLAGS.do_whole_word_mask, reduce_memory=FLAGS.reduce_memory,
        shard_size=FLAGS.shard_size, seed=FLAGS.seed))
    tokenizer = WordPieceTokenizer.from_model_dir(FLAGS.bert_model)
    with run_lock(FLAGS.output_dir):
        summary = pregenerate(FLAGS.train_corpus, tokenizer, FLAGS.output_dir, settings)
    print(json.dumps(summary))



def entry():
    """The `nlu-pregenerate-training-data` command."""
    cli.run(main, __doc__)


if __name__ == "__main__":
    entry()
