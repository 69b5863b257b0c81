"""One-query latency of every artefact: p50 / p90 / p99 per thread count, size, parameters.

    nlu-benchmark-latency --data_dir data --task snips --threads 1,2 \\
        --queries 200 --output_file out/latency.json --artefacts \\
        out/teacher,out/convert/saved_model,out/convert/tflite_float32,out/convert/tflite_int8

Real test utterances, one at a time at their real length (no padding), after a warm-up;
tokenization (our Python WordPiece) is timed apart from the model. Keras and SavedModel
measurements run in a fresh subprocess each, so that TensorFlow's thread pools take
--threads; TFLite interpreters take it as num_threads. Prints a line per measurement on
stderr, then a Markdown table on stdout; --output_file gets the full JSON (percentiles,
mean, min, machine and load average; the machine is the CPU model and its speed flags
(avx2, fma, avx512f, avx512_bf16, amx_tile, amx_bf16), also printed on stderr).
--interleave N (TFLite artefacts only) has them take turns every N queries and adds each
one's median time relative to the first: the comparison to trust on a shared machine. See
nlu_tf/benchmark/latency.py.
"""

import sys

from absl import flags

from nlu_cli import app as cli
from nlu_tf.errors import InputError
from nlu_tf.io_utils import prepare_output_file, write_json

flags.DEFINE_list("artefacts", [], "Comma-separated artefacts: model directories, SavedModel "
                                   "folders, TFLite folders (or .tflite files).")
flags.DEFINE_string("data_dir", "data", "Dataset root (holds <task>/) or a dataset folder.")
flags.DEFINE_string("task", "snips", "Dataset under --data_dir (any name, e.g. snips or atis).")
flags.DEFINE_string("split", "test", "The split whose utterances are the queries.")
flags.DEFINE_list("threads", ["1", "2"], "Comma-separated thread counts.")
flags.DEFINE_integer("queries", 200, "Timed calls (the first N utterances of the split).")
flags.DEFINE_integer("warmup", 20, "Untimed calls first (plus one per input length not seen).")
flags.DEFINE_bool("jit_compile", True, "Keras only: XLA-compile the forward pass.")
flags.DEFINE_integer("interleave", 0, "TFLite artefacts only: measure them taking turns every "
                                     "N queries, so that a shared machine's slow spells fall "
                                     "on all alike; adds each one's median time over the "
                                     "first artefact's on the same queries. 0: one after "
                                     "the other.")
flags.DEFINE_string("output_file", None, "Also write the results as JSON here.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    try:
        threads = [int(value) for value in FLAGS.threads]
    except ValueError:
        raise InputError("command line",
                         f"--threads must be integers, got {','.join(FLAGS.threads)}") from None
    if FLAGS.output_file:
        prepare_output_file(FLAGS.output_file)
    from nlu_tf.benchmark.latency import markdown_table, run_benchmark
    from nlu_tf.benchmark.machine import describe_machine

    report = run_benchmark(FLAGS.artefacts, threads, FLAGS.data_dir, FLAGS.task, FLAGS.split,
                           FLAGS.queries, FLAGS.warmup, FLAGS.jit_compile,
                           progress=lambda line: print(line, file=sys.stderr, flush=True),
                           interleave=FLAGS.interleave)
    machine = report["setup"]["machine"]
    print(f"machine: {describe_machine(machine)}", file=sys.stderr)
    print(markdown_table(report["results"]))
    if FLAGS.output_file:
        write_json(FLAGS.output_file, report)


def entry():
    """The `nlu-benchmark-latency` command."""
    cli.run(main, __doc__)


if __name__ == "__main__":
    entry()
