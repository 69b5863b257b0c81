#!/usr/bin/env python3
"""Times the exact transport solver inside a jit-compiled tf.function.

The same as the `nlu-bench-emd` command (nlu_cli/bench_emd.py); `--help` lists the flags.
"""

from nlu_cli.bench_emd import entry

if __name__ == "__main__":
    entry()
