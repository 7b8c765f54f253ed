"""ButlerDesk benchmarks (`make bench`): data generators, timings and bench/results.md.

Not part of `make test`: pytest collects only tests/ (pytest.ini `testpaths`).
"""
