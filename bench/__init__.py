"""Benchmarks: `make bench` runs `python -m bench.run` (see BENCHMARKS.md)."""
