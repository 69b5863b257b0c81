"""Trims a model directory's vocabulary to the pieces its data uses (a smaller embedding).

    nlu-trim-vocab --model_dir out/student --output_dir out/student_trimmed
    nlu-trim-vocab --model_dir out/student --output_dir out/student_trimmed \\
        --corpus queries.txt --corpus more.txt --min_count 2
    nlu-trim-vocab --model_dir out/student --output_dir out/student_trimmed \\
        --report_corpus data/snips/test/seq.in --report_corpus held_out.txt

Keeps the special tokens, every single character and its ## form (no word gains an [UNK];
--fallback_characters latin keeps only Latin-script ones and those the data uses)
and the pieces of the training data (named by the model's settings.json, or --data_dir and
--task) and of every --corpus file (one sentence a line). The output is an ordinary model
directory, plus trim_vocab.json (see nlu_tf/export/trim_model_dir.py). The position
embedding keeps only the model's max_seq_len rows (--notrim_positions: all of them); such
a model cannot be trained further with a longer --max_seq_len. Each --report_corpus
(one sentence a line, not used for the choice) is tokenized with the original and the
trimmed vocabulary: its [UNK]s and tokens per sentence are printed and recorded.
With --vocab_size N the --corpus files no longer count with the data: the data's pieces
are kept, then the corpora's most used pieces until the vocabulary has N tokens (a size
budget spent on the pieces general text needs most).
With --share_rows the vocabulary stays whole: the table keeps the kept pieces' rows and
every dropped piece reads the row of the kept piece nearest to it, so words are split as
the untrimmed model splits them (an int32 row map per vocabulary entry, 122 KB for
BERT's 30,522).
"""

import json

from absl import flags

from nlu_cli import app as cli
from nlu_tf.data.reader import resolve_data_dir
from nlu_tf.errors import InputError
from nlu_tf.run_lock import run_lock
from nlu_tf.export.trim_model_dir import trim_model_dir
from nlu_tf.surgery.vocab_trim import FALLBACK_CHARACTERS

flags.DEFINE_string("model_dir", "", "The nlu_tf model directory to trim.")
flags.DEFINE_string("output_dir", "", "Where the trimmed model directory is written.")
flags.DEFINE_multi_string("corpus", [], "A UTF-8 text file, one sentence a line, whose "
                          "pieces are kept too (repeatable).")
flags.DEFINE_multi_string("report_corpus", [], "A UTF-8 text file, one sentence a line, "
                          "tokenized with both vocabularies to report new [UNK]s and "
                          "tokens per sentence; it does not decide the kept pieces "
                          "(repeatable).")
flags.DEFINE_integer("vocab_size", 0, "With --corpus: keep the data's pieces, then the "
                     "corpora's most used pieces up to this many tokens (0: the corpora "
                     "count with the data, --min_count).")
flags.DEFINE_integer("min_count", 1, "A used piece is kept if it occurs at least this often.")
flags.DEFINE_enum("fallback_characters", "all", list(FALLBACK_CHARACTERS),
                  "Single-character pieces kept: all (no word gains an [UNK]), or latin: "
                  "Latin letters, digits, punctuation and common symbols, plus every "
                  "character the data and corpora use (a word with another script's "
                  "character becomes [UNK]; about 1,600 rows fewer for BERT's vocabulary).")
flags.DEFINE_string("data_dir", "", "The training data (dataset root or folder); default: "
                    "the one in the model's settings.json.")
flags.DEFINE_string("task", "", "Dataset under --data_dir (e.g. snips).")
flags.DEFINE_string("split", "train", "With --data_dir: the split whose pieces are kept.")
flags.DEFINE_bool("trim_positions", True, "Keep only the model's max_seq_len rows of the "
                  "position embedding (it cannot then be trained with a longer "
                  "--max_seq_len); --notrim_positions keeps them all.")
flags.DEFINE_bool("share_rows", False, "Keep the whole vocabulary: a dropped piece reads "
                  "the row of its nearest kept piece (cosine of the table's rows) instead "
                  "of leaving the vocabulary, so words are split as before trimming.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    for name in ("model_dir", "output_dir"):
        if not FLAGS[name].value:
            raise InputError("command line", f"--{name} is required")
    data = None
    if FLAGS.data_dir:
        data = [(resolve_data_dir(FLAGS.data_dir, FLAGS.task or None), FLAGS.split)]
    with run_lock(FLAGS.output_dir):
        summary = trim_model_dir(FLAGS.model_dir, FLAGS.output_dir, data, FLAGS.corpus,
                                 FLAGS.min_count, FLAGS.report_corpus, FLAGS.trim_positions,
                                 FLAGS.fallback_characters, FLAGS.vocab_size, FLAGS.share_rows)
    print(json.dumps({key: summary[key] for key in
                      ("original_vocab_size", "vocab_size", "kept", "min_count",
                       "fallback_characters", "share_rows",
                       "original_max_position_embeddings", "max_position_embeddings",
                       "reports")
                      if key in summary}))


def entry():
    """The `nlu-trim-vocab` command."""
    cli.run(main, __doc__)


if __name__ == "__main__":
    entry()
