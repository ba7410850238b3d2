"""Accord's benchmarks: `python -m bench` (see bench/run.py and bench/RESULTS.md).

Not tests: nothing here asserts on time. Each figure is a ratio against a yardstick (a
minimal Temporal workflow) measured in the same run, on the same dev server and worker.
"""
