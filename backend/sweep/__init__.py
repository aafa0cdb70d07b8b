"""Sweeps as pure logic: search-space distributions, samplers and early-termination policies.

Nothing here touches processes, the database or MLflow; the agent's sweep controller feeds it.
"""
