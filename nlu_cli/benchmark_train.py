"""Teacher training and batch-inference throughput, side by side with the PyTorch reference.

    nlu-benchmark-train --padding batch --threads 2
    nlu-benchmark-train --padding fixed --threads 2
    nlu-benchmark-train --padding batch --threads 2 --distill_layers 2

With --distill_layers K it also times a TinyBERT stage-2.1 step (a K-layer student cut
from the model, which is the frozen teacher), like the reference's --distill_layers K;
with --teacher_cache that step reads the teacher's outputs from the cache a stage fills
once (the steady state of every later epoch; the fill is timed apart).

Uses the same batches as ../shared/bench/torch_reference.py (consecutive Snips training
utterances, batch 32, max_seq_len 50). Prints one JSON line.
"""

import json

from absl import flags

from nlu_cli import app as cli
from nlu_tf.data.reader import read_dataset, resolve_data_dir
from nlu_tf.defaults import default_teacher_dir

flags.DEFINE_string("model_dir", "", "HF BERT dir or nlu_tf model dir (default: embedded MiniLM).")
flags.DEFINE_string("data_dir", "data", "Dataset root.")
flags.DEFINE_string("task", "snips", "Dataset under --data_dir.")
flags.DEFINE_enum("padding", "batch", ["fixed", "batch"], "Pad to max_seq_len or to the batch.")
flags.DEFINE_integer("batch_size", 32, "Batch size.")
flags.DEFINE_integer("train_steps", 30, "Timed training steps.")
flags.DEFINE_integer("max_seq_len", 50, "Longest sequence.")
flags.DEFINE_integer("threads", 0, "TensorFlow intra-op threads (0: all cores).")
flags.DEFINE_integer("distill_layers", 0, "Also time a stage-2.1 step of a student with "
                     "this many layers cut from the model (0: no).", lower_bound=0)
flags.DEFINE_bool("teacher_cache", False, "With --distill_layers: time the step fed cached "
                  "teacher outputs (filled before the timing) instead of running the teacher.")
flags.DEFINE_integer("bucket_width", 8, "With --padding batch, lengths are rounded up to a "
                     "multiple of this (training's data.bucket_width; 1: exact).", lower_bound=1)
flags.DEFINE_bool("jit_compile", True, "XLA-compile the train step and the forward pass.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    data_dir = resolve_data_dir(FLAGS.data_dir, FLAGS.task)
    labels, splits = read_dataset(data_dir)
    import tensorflow as tf

    if FLAGS.threads:
        tf.config.threading.set_intra_op_parallelism_threads(FLAGS.threads)
        tf.config.threading.set_inter_op_parallelism_threads(FLAGS.threads)
    from nlu_tf.benchmark.throughput import measure, measure_distill
    from nlu_tf.models.model_dir import load_any

    bundle = load_any(FLAGS.model_dir or default_teacher_dir(), labels, FLAGS.max_seq_len)
    result = measure(bundle, splits["train"], splits["test"], FLAGS.batch_size,
                     FLAGS.train_steps, FLAGS.padding, FLAGS.bucket_width,
                     jit_compile=FLAGS.jit_compile)
    if FLAGS.distill_layers:
        result.update(measure_distill(bundle, splits["train"], FLAGS.distill_layers,
                                      FLAGS.batch_size, FLAGS.train_steps, FLAGS.padding,
                                      FLAGS.bucket_width, jit_compile=FLAGS.jit_compile,
                                      teacher_cache=FLAGS.teacher_cache))
    print(json.dumps({"framework": f"tensorflow {tf.__version__}", "threads": FLAGS.threads,
                      "bucket_width": FLAGS.bucket_width,
                      **result}))


def entry():
    """The `nlu-benchmark-train` command."""
    cli.run(main, __doc__)


if __name__ == "__main__":
    entry()
