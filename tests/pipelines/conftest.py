"""Pipeline fixtures: the Azurite blob emulator (started once, only for the tests that ask for it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.azurite import INSTALL_HINT, Azurite, start_azurite
from tests.conftest import skip_or_fail


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    emulator = start_azurite(tmp_path_factory.mktemp("azurite"))
    if emulator is None:
        skip_or_fail("azurite", f"the Azurite emulator is not installed ({INSTALL_HINT})")
    try:
        yield emulator
    finally:
        emulator.stop()
