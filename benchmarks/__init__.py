"""The benchmark suite: ``python -m benchmarks [--quick]`` (see benchmarks/__main__.py)."""
