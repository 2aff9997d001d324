"""Performance benchmarks at national scale: a seeded workload generator and one runner.

`python -m benchmarks.run` builds (or reuses) the workload under benchmarks/out/ and prints
the results table; `--quick` does the same at toy sizes and is what the test suite runs so
that this code cannot rot. See docs/performance.md for the latest full results.
"""
