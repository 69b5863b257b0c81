#!/usr/bin/env python3
"""One-query latency of every artefact: p50 / p90 / p99 per thread count, size, parameters.

The same as the `nlu-benchmark-latency` command (nlu_cli/benchmark_latency.py); `--help` lists the flags.
"""

from nlu_cli.benchmark_latency import entry

if __name__ == "__main__":
    entry()
