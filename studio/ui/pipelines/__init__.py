"""The Pipelines page's views: ``listing``, ``view`` (a pipeline as a live DAG, with ``step`` for the step
shown below it) and the ``composer`` (with ``bindings`` for its steps' inputs); ``pages/pipelines.py``
picks one from the query parameters."""

from __future__ import annotations

from studio.ui import shell

ROUTES = ("pipeline", "step", "compose", "component")


def go(**params: str) -> None:
    """Show another view of the Pipelines page (``pipeline=``, ``compose=``)."""
    shell.go(ROUTES, **params)
