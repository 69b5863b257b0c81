#!/usr/bin/env python3
"""Teacher training and batch-inference throughput, side by side with the PyTorch reference.

The same as the `nlu-benchmark-train` command (nlu_cli/benchmark_train.py); `--help` lists the flags.
"""

from nlu_cli.benchmark_train import entry

if __name__ == "__main__":
    entry()
