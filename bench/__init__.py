"""Benchmarks, each run from the repository root as ``python -m bench.NAME``: every speed or memory target is
printed as a ratio against a baseline measured in the same run (see docs/performance.md)."""
