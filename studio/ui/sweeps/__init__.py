"""The Sweeps page's views: ``listing``, ``detail`` (with ``analysis`` and ``what_if`` for its tabs) and
the ``create`` wizard; ``pages/sweeps.py`` picks one from the query parameters. Below: what several views
say about a sweep."""

from __future__ import annotations

import math

from backend.services import sweeps
from backend.statuses import TERMINAL
from studio.ui import shell

ROUTES = ("sweep", "create", "tab")


def go(**params: str) -> None:
    """Show another view of the Sweeps page (``sweep=``, ``create=``)."""
    shell.go(ROUTES, **params)


def policy_text(policy: dict | None) -> str:
    if not policy:
        return "none"
    args = ", ".join(f"{k} {v}" for k, v in policy.items() if k != "type")
    return f"{policy.get('type')} ({args})" if args else str(policy.get("type"))


def total(view: sweeps.SweepView) -> int | None:
    """How many trials the sweep will run at most (a grid stops at its size)."""
    most = view.limits.get("max_total_trials")
    if view.algorithm == "grid" and view.search_space:
        size = math.prod(len(e.get("values") or [None]) for e in view.search_space.values())
        most = min(most, size) if most else size
    return most


def trials_done(view: sweeps.SweepView) -> int:
    return sum(t.status in TERMINAL for t in view.trials)


def best(view: sweeps.SweepView):
    return next((t for t in view.trials if t.name == view.best_trial), None)
