"""A deterministic fictional district for demos, tests and benchmarks."""
