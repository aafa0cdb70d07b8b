"""The reliability suite prints its figures when the run ends, under "reliability figures".

A test calls ``report("line")``. The line rides on the test's report as a user property, which
pytest-xdist carries from its workers to the controller; tests/conftest.py prints them in the terminal
summary, so they show in the CI log with or without ``-s`` and ``-n``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """``report("20 of 20 jobs settled")`` adds a line to the summary printed when the run ends."""

    def add(line: str) -> None:
        request.node.user_properties.append(("figure", line))

    return add
