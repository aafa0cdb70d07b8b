"""``studio workspace create|list|show|update|delete``."""

from __future__ import annotations

from typing import Annotated

import typer

from studio.commands._common import OutputFormat, OutputOption, WorkspaceOption, emit, fail, parse_tags

app = typer.Typer(help="Create, list, show, update and delete workspaces.", no_args_is_help=True)

NameArg = Annotated[str | None, typer.Argument(help="Workspace name.", show_default=False)]
NameOpt = Annotated[str | None, typer.Option("--name", "-n", help="Workspace name.")]
TagsOpt = Annotated[list[str] | None, typer.Option("--tags", help="key=value; repeat for more.")]


def _name(arg: str | None, opt: str | None) -> str:
    name = opt or arg
    if not name:
        fail("name the workspace: --name NAME")
    return name


def _show(name: str) -> dict:
    from backend.services import datastores, open_session, workspaces

    with open_session() as s:
        ws = workspaces.get_workspace(session=s, name=name).model_dump(mode="json")
        ws["datastores"] = [
            d.model_dump(mode="json", include={"name", "type", "is_default", "built_in"})
            for d in datastores.list_datastores(session=s, workspace=name)
        ]
    return ws


@app.command()
def create(
    name_arg: NameArg = None,
    name: NameOpt = None,
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    tags: TagsOpt = None,
    output: OutputOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
) -> None:
    """Create a workspace with its four built-in datastores."""
    from backend.services import open_session, workspaces

    ws_name = _name(name_arg, name)
    with open_session() as s:
        workspaces.create_workspace(
            session=s,
            data=workspaces.WorkspaceCreate(
                name=ws_name, description=description, tags=parse_tags(tags) or {}
            ),
        )
    emit(_show(ws_name), output)


@app.command("list")
def list_(output: OutputOption = OutputFormat.table, workspace: WorkspaceOption = None) -> None:
    """List workspaces."""
    from backend.services import open_session, workspaces

    with open_session() as s:
        rows = workspaces.list_workspaces(session=s)
    emit(rows, output, columns=["name", "description", "tags", "created_at"])


@app.command()
def show(
    name_arg: NameArg = None,
    name: NameOpt = None,
    output: OutputOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
) -> None:
    """Show a workspace and its datastores (defaults to the current workspace)."""
    from studio.commands._common import workspace_name

    emit(_show(name or name_arg or workspace_name(workspace)), output)


@app.command()
def update(
    name_arg: NameArg = None,
    name: NameOpt = None,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
    tags: TagsOpt = None,
    output: OutputOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
) -> None:
    """Change a workspace's description or tags."""
    from backend.services import open_session, workspaces

    ws_name = _name(name_arg, name)
    with open_session() as s:
        workspaces.update_workspace(
            session=s,
            name=ws_name,
            data=workspaces.WorkspaceUpdate(description=description, tags=parse_tags(tags)),
        )
    emit(_show(ws_name), output)


@app.command()
def delete(
    name_arg: NameArg = None,
    name: NameOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Delete a workspace and everything stored in it (refused while work runs in it)."""
    from backend.services import open_session, workspaces

    ws_name = _name(name_arg, name)
    with open_session() as s:
        workspaces.get_workspace(session=s, name=ws_name)
    if not yes:
        typer.confirm(f"Delete workspace {ws_name!r} and all its data?", abort=True)
    with open_session() as s:
        workspaces.delete_workspace(session=s, name=ws_name, confirm=ws_name)
    typer.echo(f"deleted workspace {ws_name}")
