"""Benchmarks: `make bench`, `make bench-serve`, `make bench-images` (docs/benchmarks.md).

Run as modules from the repository root (``python -m bench.serve``), so that they share the
tests' helpers in ``tests.support`` without touching ``sys.path``.
"""
