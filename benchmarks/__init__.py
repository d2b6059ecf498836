"""Benchmarks of the planner and of the operator on the local cluster; run `python -m benchmarks`."""
