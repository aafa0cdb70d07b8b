"""``studio workspace create|list|show|update|delete``."""

from __future__ import annotations

from typing import Annotated

import typer

from studio.commands import _common as common

app = typer.Typer(help="Create, list, show, update and delete workspaces.", no_args_is_help=True)

NameArg = Annotated[str | None, typer.Argument(help="Workspace name.", show_default=False)]
NameOpt = Annotated[str | None, common.name_option("Workspace name.")]


def _name(arg: str | None, opt: str | None) -> str:
    name = opt or arg
    if not name:
        common.fail("name the workspace: --name NAME")
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


@common.command(app)
def create(
    name_arg: NameArg = None,
    name: NameOpt = None,
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    tags: common.TagsOption = None,
    *,
    output: common.OutputFormat,
    workspace: str,
) -> None:
    """Create a workspace with its four built-in datastores."""
    from backend.services import workspaces

    ws_name = _name(name_arg, name)
    data = workspaces.WorkspaceCreate(
        name=ws_name, description=description, tags=common.parse_tags(tags) or {}
    )
    common.in_session(workspaces.create_workspace, data=data)
    common.emit(_show(ws_name), output)


@common.command(app, "list")
def list_(*, output: common.OutputFormat, workspace: str) -> None:
    """List workspaces."""
    from backend.services import workspaces

    rows = common.in_session(workspaces.list_workspaces)
    common.emit(rows, output, columns=["name", "description", "tags", "created_at"])


@common.command(app)
def show(
    name_arg: NameArg = None, name: NameOpt = None, *, output: common.OutputFormat, workspace: str
) -> None:
    """Show a workspace and its datastores (defaults to the current workspace)."""
    common.emit(_show(name or name_arg or workspace), output)


@common.command(app)
def update(
    name_arg: NameArg = None,
    name: NameOpt = None,
    description: common.DescriptionOption = None,
    tags: common.TagsOption = None,
    *,
    output: common.OutputFormat,
    workspace: str,
) -> None:
    """Change a workspace's description or tags."""
    from backend.services import workspaces

    ws_name = _name(name_arg, name)
    data = workspaces.WorkspaceUpdate(description=description, tags=common.parse_tags(tags))
    common.in_session(workspaces.update_workspace, name=ws_name, data=data)
    common.emit(_show(ws_name), output)


@common.command(app)
def delete(
    name_arg: NameArg = None, name: NameOpt = None, yes: common.YesOption = False, *, workspace: str
) -> None:
    """Delete a workspace and everything stored in it (refused while work runs in it)."""
    from backend.services import workspaces

    ws_name = _name(name_arg, name)
    common.in_session(workspaces.get_workspace, name=ws_name)
    common.confirm(yes, f"Delete workspace {ws_name!r} and all its data?")
    common.in_session(workspaces.delete_workspace, name=ws_name, confirm=ws_name)
    typer.echo(f"deleted workspace {ws_name}")
