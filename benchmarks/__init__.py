"""Benchmarks: one module per measured path (bench_*.py), each with `run() -> list[Row]`."""
