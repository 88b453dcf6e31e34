"""Benchmarks that print figures (and JSON); run with ``showroom bench …``."""
