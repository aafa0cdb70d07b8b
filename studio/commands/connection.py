"""``studio connection create|list|show|delete``: the language models benchmarks call.

The API key goes in through the YAML file (or ``--set api_key=...``) and never comes out: ``show`` and
``list`` say ``api_key_set``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from studio.commands import _common as common

app = typer.Typer(help="Connections: the language models benchmarks call.", no_args_is_help=True)

NameOpt = Annotated[str, common.name_option("Connection name.")]
LIST_COLUMNS = ["name", "type", "target", "model", "api_key_set", "updated_at"]


@common.command(app)
def create(
    file: Annotated[Path, common.file_option("Connection YAML (name, type, target, model, api_key, ...).")],
    set_: common.SetOption = None,
    *,
    output: common.OutputFormat,
    workspace: str,
) -> None:
    """Create a connection, or update the one of that name; what its target names is checked first."""
    from backend.services import connections

    created = common.in_workspace(
        workspace, connections.create_connection_from_file, path=file, overrides=set_
    )
    common.emit(created, output)


@common.command(app, "list")
def list_(*, output: common.OutputFormat, workspace: str) -> None:
    """List the workspace's connections (whether each has a key, never the key)."""
    from backend.services import connections

    common.emit(common.in_workspace(workspace, connections.list_connections), output, columns=LIST_COLUMNS)


@common.command(app)
def show(name: NameOpt, *, output: common.OutputFormat, workspace: str) -> None:
    """Show a connection: its target, model, prices and whether a key is set (never the key)."""
    from backend.services import connections

    common.emit(common.in_workspace(workspace, connections.get_connection, name=name), output)


common.add_delete(app, NameOpt, "connections.connection", what="connection", help="Delete a connection.")
