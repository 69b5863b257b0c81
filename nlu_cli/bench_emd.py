"""Times the exact transport solver inside a jit-compiled tf.function.

Prints one JSON line: per problem shape, the median (and 10th / 90th percentile)
wall time of one solve in milliseconds, after warm-up, over fresh random inputs.

    nlu-bench-emd --shapes=4x12,6x12 --calls=200
"""

import json
import time

from nlu_cli import app as cli  # first: TensorFlow's start-up kept quiet

import numpy as np
import tensorflow as tf
from absl import flags

from nlu_tf.distill.transport import solve_transport

FLAGS = flags.FLAGS
flags.DEFINE_list("shapes", ["4x12", "6x12"], "Problem sizes, M x N (student x teacher layers).")
flags.DEFINE_integer("calls", 200, "Timed calls per shape (at least 100).", lower_bound=100)
flags.DEFINE_integer("warmup", 10, "Untimed calls per shape after compilation.")
flags.DEFINE_integer("seed", 0, "Seed for the random problems.")
flags.DEFINE_string("device", "/CPU:0", "Device to run the solver on.")


def _bench_shape(m, n, rng):
    solve = tf.function(solve_transport, jit_compile=True)
    # Fresh inputs every call, prepared up front so only the solve is timed.
    problems = []
    for _ in range(FLAGS.warmup + FLAGS.calls + 1):
        a, b, cost = rng.random(m), rng.random(n), rng.random((m, n))
        problems.append(tuple(tf.constant(x, tf.float32) for x in (a / a.sum(), b / b.sum(), cost)))
    start = time.perf_counter()
    solve(*problems[0]).numpy()
    compile_s = time.perf_counter() - start
    for args in problems[1 : FLAGS.warmup + 1]:
        solve(*args).numpy()
    times = []
    for args in problems[FLAGS.warmup + 1 :]:
        start = time.perf_counter()
        solve(*args).numpy()
        times.append((time.perf_counter() - start) * 1e3)
    return {
        "shape": f"{m}x{n}",
        "median_ms": round(float(np.median(times)), 4),
        "p10_ms": round(float(np.percentile(times, 10)), 4),
        "p90_ms": round(float(np.percentile(times, 90)), 4),
        "calls": len(times),
        "first_call_s": round(compile_s, 3),
    }


def main(argv):
    del argv
    rng = np.random.default_rng(FLAGS.seed)
    results = []
    with tf.device(FLAGS.device):
        for shape in FLAGS.shapes:
            m, n = (int(x) for x in shape.lower().split("x"))
            results.append(_bench_shape(m, n, rng))
    print(json.dumps({"bench": "solve_transport_xla", "device": FLAGS.device, "tf": tf.__version__, "results": results}))


def entry():
    """The `nlu-bench-emd` command."""
    cli.run(main, __doc__)


if __name__ == "__main__":
    entry()
