"""``studio component create|list|show|archive|restore``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from studio.commands import _common as common

app = typer.Typer(help="Register and inspect reusable command components.", no_args_is_help=True)
NameOpt = Annotated[str, common.name_option("Component name.")]


@common.command(app)
def create(
    file: Annotated[Path, common.file_option("The cloud's command-component YAML.")],
    set_: common.SetOption = None,
    *,
    output: common.OutputFormat,
    workspace: str,
) -> None:
    """Register a component version (its code is snapshotted)."""
    from backend.services import components

    comp = common.in_workspace(workspace, components.create_component_from_file, file=file, overrides=set_)
    common.emit(_summary(comp), output)


def _summary(comp) -> dict:
    return common.plain(comp, exclude={"spec", "source_yaml"}, interface=comp.interface)


@common.command(app, "list")
def list_(archived: common.ArchivedOption = False, *, output: common.OutputFormat, workspace: str) -> None:
    """List components (latest version of each)."""
    from backend.services import components

    rows = common.in_workspace(workspace, components.list_components, include_archived=archived)
    common.emit(rows, output, columns=["name", "latest_version", "versions", "display_name", "updated_at"])


def _show(chosen: common.AssetVersion, output: common.OutputFormat) -> None:
    from backend.services import components, open_session

    with open_session() as s:
        comp = components.get_component(session=s, **chosen.keywords())
        listed = components.list_component_versions(session=s, workspace=chosen.workspace, name=chosen.name)
    versions = [v.version for v in listed]
    if output == common.OutputFormat.json:
        common.emit({**_summary(comp), "versions": versions, "spec": comp.spec}, output)
        return
    typer.echo(f"{comp.name}:{comp.version}  ({comp.display_name})  versions: {', '.join(versions)}")
    if comp.description:
        typer.echo(comp.description)
    common.emit(
        comp.interface, output, columns=["name", "direction", "type", "default", "optional", "constraints"]
    )


common.add_show(
    app,
    name_option=NameOpt,
    help="Show a component version: its interface as a table, and its versions.",
    show=_show,
)
common.add_archive_and_restore(
    app,
    NameOpt,
    common.service("components.archive_component"),
    common.service("components.restore_component"),
)
