"""Predicts intent and slots for raw text: every line of a file, or one query.

    nlu-predict --model_dir out/student --input_file queries.txt --output_file out.txt
    nlu-predict --model_dir out/student --input_query "play jazz" --format json
    nlu-predict --model_dir out/convert/tflite_int8 --input_file queries.txt

--model_dir takes a model directory, a SavedModel folder or a TFLite folder (or its
model.tflite); the output is the same for each. --num_threads sets the TFLite
interpreter's threads.

One output line per input line, in input order. Lines are split on whitespace into words.
  text: `<intent> -> word [TAG:word] ...`, e.g.
        `<BookRestaurant> -> book a [B-restaurant_type:restaurant] for [B-party_size_number:two]`
  json: {"text", "intent", "intent_prob", "truncated", "slots": [{"slot", "text", "start",
        "end"}], "tags"}; slots are B-/I- spans, start/end are character offsets into "text".
An empty (or whitespace-only) line gives an empty line (text) or an object with "intent"
and "intent_prob" null and no slots or tags (json). Words beyond the model's max_seq_len
are tagged O, with one warning counting the truncated lines. Without --output_file the
lines go to stdout; the output file is written atomically, only once every line is predicted,
and must not be the input file. The input is streamed: memory does not grow with its length.

A GLUE model (or its export) predicts its task: one line per example, the sentence (CoLA,
SST-2) or `text_a<TAB>text_b` (pair tasks), or a `.tsv` file in the task's train / dev
layout. Output, one line per example: the label (for STS-B the score, four decimals), or
with --format json {"text_a", "text_b", "label", "prob", "truncated"} (STS-B: "score"):

    nlu-predict --model_dir out/mrpc_student --input_file pairs.txt
    nlu-predict --model_dir out/convert/tflite_dynamic --input_file glue/MRPC/dev.tsv
"""

import collections
import contextlib
import os
import sys

from absl import flags

from nlu_cli import app as cli
from nlu_tf.data.text_lines import iter_lines
from nlu_tf.errors import InputError
from nlu_tf.serving.artefact import glue_artefact
from nlu_tf.io_utils import atomic_file, prepare_output_file

flags.DEFINE_string("model_dir", None, "The artefact: a model directory (a tools/train.py "
                    "output), a SavedModel folder or a TFLite folder; joint or GLUE.")
flags.DEFINE_string("input_file", None, "UTF-8 text file, one query per line (GLUE: one "
                    "sentence or text_a<TAB>text_b per line, or a .tsv in the task's layout).")
flags.DEFINE_string("input_query", None, "One query (instead of --input_file; GLUE pair "
                    "tasks: text_a<TAB>text_b).")
flags.DEFINE_string("output_file", None, "Where the output lines are written (default: stdout).")
flags.DEFINE_enum("format", "text", ["text", "json"],
                  "text: `<intent> -> word [TAG:word] ...`; json: one object per line with "
                  "text, intent, intent_prob, truncated, slots (slot, text, start, end) and tags.")
flags.DEFINE_integer("batch_size", 64, "Queries per forward pass.")
flags.DEFINE_bool("jit_compile", True, "Compile the forward pass with XLA (one graph per batch "
                                       "shape; --nojit_compile starts faster for a few queries).")
flags.DEFINE_integer("num_threads", 1, "TFLite only: interpreter threads.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    if bool(FLAGS.input_file) == (FLAGS.input_query is not None):
        raise InputError("command line", "give exactly one of --input_file and --input_query")
    if FLAGS.batch_size < 1:
        raise InputError("command line", f"--batch_size must be positive, got {FLAGS.batch_size}")
    if FLAGS.num_threads < 1:
        raise InputError("command line",
                         f"--num_threads must be positive, got {FLAGS.num_threads}")
    path = FLAGS.input_file
    glue = glue_artefact(FLAGS.model_dir)
    if glue is not None:
        _predict_glue(glue, path)
        return
    if path and (os.path.isfile(path) or not os.path.exists(path)):
        # A first streaming pass reports bad input before TensorFlow takes seconds to load
        # (a pipe is read once: its lines are checked as they stream).
        collections.deque(iter_lines(path), maxlen=0)
    if FLAGS.output_file:
        prepare_output_file(FLAGS.output_file, path)
    from nlu_tf.serving.prediction import writer
    from nlu_tf.serving.prediction_stream import predict_stream
    from nlu_tf.serving.artefact import load_predictor

    predictor = load_predictor(FLAGS.model_dir, FLAGS.jit_compile, FLAGS.num_threads)
    lines = iter_lines(path) if path else [FLAGS.input_query]
    write_one = writer(FLAGS.format)
    with (atomic_file(FLAGS.output_file) if FLAGS.output_file
          else contextlib.nullcontext(sys.stdout)) as out:
        count = 0
        for result in predict_stream(predictor, lines, FLAGS.batch_size):
            write_one(result, out.write)
            out.write("\n")
            count += 1
    if FLAGS.output_file:
        print(f"{count} prediction(s) written to {FLAGS.output_file}")


def _predict_glue(artefact, path):
    """One label (or score) per example of --input_file / --input_query, for a GLUE model."""
    from nlu_tf.data.glue import glue_task
    from nlu_tf.serving.glue import pair_of_line, read_pairs

    task = glue_task(artefact.task)
    # Read (and checked) before TensorFlow takes seconds to load.
    pairs = (read_pairs(path, task) if path
             else [pair_of_line(FLAGS.input_query, task, "--input_query")])
    if FLAGS.output_file:
        prepare_output_file(FLAGS.output_file, path)
    from nlu_tf.serving.glue import format_line, predict_pairs

    predictor = artefact.predictor(FLAGS.jit_compile, FLAGS.num_threads)
    with (atomic_file(FLAGS.output_file) if FLAGS.output_file
          else contextlib.nullcontext(sys.stdout)) as out:
        for result in predict_pairs(predictor, pairs, FLAGS.batch_size):
            out.write(format_line(result, FLAGS.format) + "\n")
    if FLAGS.output_file:
        print(f"{len(pairs)} prediction(s) written to {FLAGS.output_file}")


def entry():
    """The `nlu-predict` command."""
    cli.run(main, __doc__)


if __name__ == "__main__":
    entry()
