"""The Jobs page's views: ``listing``, ``detail`` (with ``metrics`` and ``files`` for its tabs), ``create``
and ``compare``; ``pages/jobs.py`` picks one from the query parameters."""

from __future__ import annotations

from studio.ui import shell

ROUTES = ("job", "compare", "experiment", "create", "clone")


def go(**params: str) -> None:
    """Show another view of the Jobs page (``job=``, ``compare=``, ``experiment=``, ``create=``)."""
    shell.go(ROUTES, **params)
