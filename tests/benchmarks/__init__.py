"""Benchmarks: `python -m tests.benchmarks` (= `make bench`) runs every `bench_*.py` module
that exposes `run() -> list[dict]`."""
