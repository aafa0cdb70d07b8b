"""``studio component create|list|show|archive|restore``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from studio.commands._common import OutputFormat, OutputOption, WorkspaceOption, emit, workspace_name

app = typer.Typer(help="Register and inspect reusable command components.", no_args_is_help=True)
NameOpt = Annotated[str, typer.Option("--name", "-n", help="Component name.")]
VersionOpt = Annotated[str | None, typer.Option("--version", "-v", help="Version (default: latest).")]


@app.command()
def create(
    file: Annotated[Path, typer.Option("--file", "-f", help="The cloud's command-component YAML.")],
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="field=value overrides a YAML field.")
    ] = None,
    output: OutputOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
) -> None:
    """Register a component version (its code is snapshotted)."""
    from backend.services import components, open_session

    with open_session() as s:
        comp = components.create_component_from_file(
            session=s, workspace=workspace_name(workspace), file=file, overrides=set_
        )
    emit(_summary(comp), output)


def _summary(comp) -> dict:
    data = comp.model_dump(mode="json", exclude={"spec", "source_yaml"})
    data["interface"] = comp.interface
    return data


@app.command("list")
def list_(
    archived: Annotated[bool, typer.Option("--include-archived")] = False,
    output: OutputOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
) -> None:
    """List components (latest version of each)."""
    from backend.services import components, open_session

    with open_session() as s:
        rows = components.list_components(
            session=s, workspace=workspace_name(workspace), include_archived=archived
        )
    emit(rows, output, columns=["name", "latest_version", "versions", "display_name", "updated_at"])


@app.command()
def show(
    name: NameOpt,
    version: VersionOpt = None,
    label: Annotated[str | None, typer.Option("--label", "-l", help="'latest'.")] = None,
    output: OutputOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
) -> None:
    """Show a component version: its interface as a table, and its versions."""
    from backend.services import components, open_session

    ws = workspace_name(workspace)
    with open_session() as s:
        comp = components.get_component(session=s, workspace=ws, name=name, version=version, label=label)
        versions = [v.version for v in components.list_component_versions(session=s, workspace=ws, name=name)]
    if output == OutputFormat.json:
        emit({**_summary(comp), "versions": versions, "spec": comp.spec}, output)
        return
    typer.echo(f"{comp.name}:{comp.version}  ({comp.display_name})  versions: {', '.join(versions)}")
    if comp.description:
        typer.echo(comp.description)
    emit(comp.interface, output, columns=["name", "direction", "type", "default", "optional", "constraints"])


@app.command()
def archive(name: NameOpt, version: VersionOpt = None, workspace: WorkspaceOption = None) -> None:
    """Archive a version (or every version)."""
    from backend.services import components, open_session

    with open_session() as s:
        done = components.archive_component(
            session=s, workspace=workspace_name(workspace), name=name, version=version
        )
    typer.echo(f"archived {name} version(s) {', '.join(done)}")


@app.command()
def restore(name: NameOpt, version: VersionOpt = None, workspace: WorkspaceOption = None) -> None:
    """Restore an archived version (or every version)."""
    from backend.services import components, open_session

    with open_session() as s:
        done = components.archive_component(
            session=s, workspace=workspace_name(workspace), name=name, version=version, archived=False
        )
    typer.echo(f"restored {name} version(s) {', '.join(done)}")
