"""Teacher training and batch-inference throughput, side by side with the PyTorch reference.

    nlu-benchmark-train --padding batch --threads 2
    nlu-benchmark-train --padding fixed --threads 2
    nlu-benchmark-train --padding batch --threads 2 --distill_layers 2

With --distill_layers K it also times a TinyBERT stage-2.1 step (a K-layer student cut
from the model, which is the frozen teacher), like the reference's --distill_layers K;
with --teacher_cache that step reads the teacher's outputs from the cache a stage fills
once (the steady state of every later epoch; the fill is timed apart).

Uses the same batches as ../shared/bench/torch_reference.py (consecutive Snips training
utterances, batch 32, max_seq_len 50). Prints one JSON line, which names the machine (CPU
model and its avx2 / fma / avx512f / avx512_bf16 / amx_tile / amx_bf16 flags), the
--mixed_precision and the XLA choice resolved from --jit_compile (unset: XLA for float32,
off for mixed precision).
"""

import json

from absl import flags

from nlu_cli import app as cli
from nlu_cli.settings_flags import define_precision_flags
from nlu_tf.data.reader import read_dataset, resolve_data_dir
from nlu_tf.defaults import default_teacher_dir
from nlu_tf.precision import jit_compile_for

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
define_precision_flags("XLA-compile the train step and the forward pass. Unset: auto, on for "
                       "float32 and off for mixed_bfloat16 / mixed_float16; --jit_compile / "
                       "--nojit_compile decide.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    data_dir = resolve_data_dir(FLAGS.data_dir, FLAGS.task)
    labels, splits = read_dataset(data_dir)
    import tensorflow as tf

    if FLAGS.threads:
        tf.config.threading.set_intra_op_parallelism_threads(FLAGS.threads)
        tf.config.threading.set_inter_op_parallelism_threads(FLAGS.threads)
    from nlu_tf.benchmark.machine import machine_info
    from nlu_tf.benchmark.throughput import measure, measure_distill
    from nlu_tf.model_io.model_dir import load_any

    precision = FLAGS.mixed_precision
    jit = jit_compile_for(FLAGS.jit_compile, precision)
    bundle = load_any(FLAGS.model_dir or default_teacher_dir(), labels, FLAGS.max_seq_len,
                      dtype=precision)
    result = measure(bundle, splits["train"], splits["test"], FLAGS.batch_size,
                     FLAGS.train_steps, FLAGS.padding, FLAGS.bucket_width,
                     jit_compile=jit, mixed_precision=precision)
    if FLAGS.distill_layers:
        result.update(measure_distill(bundle, splits["train"], FLAGS.distill_layers,
                                      FLAGS.batch_size, FLAGS.train_steps, FLAGS.padding,
                                      FLAGS.bucket_width, jit_compile=jit,
                                      mixed_precision=precision,
                                      teacher_cache=FLAGS.teacher_cache))
    print(json.dumps({"framework": f"tensorflow {tf.__version__}", "threads": FLAGS.threads,
                      "bucket_width": FLAGS.bucket_width, **result,
                      "machine": machine_info()}))


def entry():
    """The `nlu-benchmark-train` command."""
    cli.run(main, __doc__)


if __name__ == "__main__":
    entry()
