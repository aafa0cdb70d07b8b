"""A job's secret variables (``secrets:`` of its spec: ``connection:<name>`` or ``endpoint:<name>``): decrypted
when it starts, handed to its wrapper in an owner-only file that the wrapper reads and deletes, and never on
the job's row or in ``launch.json``."""

from __future__ import annotations

import json
import os
from pathlib import Path

from backend.db import session_scope
from backend.errors import StudioError


def resolve(workspace: str, wanted: dict[str, str]) -> dict[str, str]:
    """The job's secret variables, decrypted now (its row keeps only which secret each one is)."""
    from backend.services import connections, endpoint_access

    found = {}
    for variable, source in wanted.items():
        kind, _, name = source.partition(":")
        with session_scope() as s:
            if kind == "connection":
                value = connections.connection_secret(session=s, workspace=workspace, name=name)
            elif kind == "endpoint":
                value = endpoint_access.get_keys(session=s, workspace=workspace, name=name).primaryKey
            else:
                raise StudioError(
                    f"secret {variable}: {source!r} is not connection:<name> or endpoint:<name>"
                )
        if value is not None:
            found[variable] = value
    return found


def write(folder: Path, secrets: dict[str, str]) -> None:
    """Secret variables go to ``secret_env.json`` (owner-only), which the wrapper reads and deletes before
    it starts the command: ``launch.json`` and the job's row never hold them."""
    path = folder / "secret_env.json"
    path.unlink(missing_ok=True)
    if secrets:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(secrets, fh)
