"""Benchmarks: training throughput, inference latency, artefact comparison.

    throughput.py  training and batch-inference examples per second (tools/benchmark_train.py)
    latency.py     one-query latency per artefact and thread count (tools/benchmark_latency.py)
    compare.py     accuracy of several artefacts on one split; agreement with a reference
"""
