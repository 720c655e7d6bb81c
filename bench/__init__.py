"""Benchmark scripts; run from the repository root as ``python -m bench.<script> ...``
(results go in BENCHMARKS.md)."""
