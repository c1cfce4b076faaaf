"""Benchmarks that print numbers: `python -m bench` runs them all (see docs/benchmarks.md)."""
