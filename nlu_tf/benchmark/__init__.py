"""Benchmarks: training throughput, inference latency, artefact comparison."""
