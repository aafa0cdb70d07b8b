"""Hyperparameter sweeps: search-space distributions, early termination, sampling, the ``SweepJob``."""
