"""``studio data create|list|show|archive|restore|preview``."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from studio.commands._common import (
    OutputFormat,
    OutputOption,
    WorkspaceOption,
    emit,
    fail,
    parse_tags,
    workspace_name,
)

app = typer.Typer(help="Register, list, show, archive and preview data assets.", no_args_is_help=True)

NameOpt = Annotated[str, typer.Option("--name", "-n", help="Data asset name.")]
VersionOpt = Annotated[str | None, typer.Option("--version", "-v", help="Version (default: latest).")]


class PreviewFormat(StrEnum):
    csv = "csv"
    json = "json"
    table = "table"


@app.command()
def create(
    file: Annotated[Path | None, typer.Option("--file", "-f", help="The cloud's data YAML.")] = None,
    name: Annotated[str | None, typer.Option("--name", "-n")] = None,
    version: Annotated[str | None, typer.Option("--version", "-v")] = None,
    type_: Annotated[
        str | None, typer.Option("--type", "-t", help="uri_file, uri_folder or mltable.")
    ] = None,
    path: Annotated[
        str | None, typer.Option("--path", "-p", help="Local path, azureml:// path or URL.")
    ] = None,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
    tags: Annotated[list[str] | None, typer.Option("--tags", help="key=value; repeat for more.")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="field=value overrides a YAML field.")
    ] = None,
    output: OutputOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
) -> None:
    """Register a data asset version from a YAML file or from flags."""
    from backend.services import data_assets, open_session

    overrides = list(set_ or [])
    for field, value in (
        ("name", name),
        ("version", version),
        ("type", type_),
        ("path", path),
        ("description", description),
    ):
        if value is not None:
            overrides.append(f"{field}={value}")
    with open_session() as s:
        if file:
            asset = data_assets.create_data_asset_from_file(
                session=s, workspace=workspace_name(workspace), file=file, overrides=overrides
            )
            if tags:
                asset = data_assets.update_data_asset(
                    session=s,
                    workspace=workspace_name(workspace),
                    name=asset.name,
                    version=asset.version,
                    tags=parse_tags(tags),
                )
        else:
            if not name or not path:
                fail("give --file data.yml, or --name and --path")
            asset = data_assets.create_data_asset(
                session=s,
                workspace=workspace_name(workspace),
                data=data_assets.DataAssetCreate(
                    name=name,
                    version=version,
                    type=type_ or "uri_folder",
                    path=path,
                    description=description or "",
                    tags=parse_tags(tags) or {},
                ),
                base_dir=Path.cwd(),
            )
    emit(asset, output)


@app.command("list")
def list_(
    name: Annotated[str | None, typer.Option("--name", "-n", help="List this asset's versions.")] = None,
    archived: Annotated[bool, typer.Option("--include-archived")] = False,
    output: OutputOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
) -> None:
    """List data assets (latest version of each), or every version of one asset."""
    from backend.services import data_assets, open_session

    with open_session() as s:
        if name:
            rows = data_assets.list_versions(session=s, workspace=workspace_name(workspace), name=name)
            columns = ["name", "version", "type", "archived", "created_at", "path"]
        else:
            rows = data_assets.list_data_assets(
                session=s, workspace=workspace_name(workspace), include_archived=archived
            )
            columns = ["name", "latest_version", "type", "versions", "updated_at", "description"]
    emit(rows, output, columns=columns)


@app.command()
def show(
    name: NameOpt,
    version: VersionOpt = None,
    label: Annotated[str | None, typer.Option("--label", "-l", help="'latest'.")] = None,
    output: OutputOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
) -> None:
    """Show one version (``--version V`` or ``--label latest``)."""
    from backend.services import data_assets, open_session

    if version and label:
        fail("give --version or --label, not both")
    with open_session() as s:
        asset = data_assets.get_data_asset(
            session=s, workspace=workspace_name(workspace), name=name, version=version, label=label
        )
    emit(asset, output)


@app.command()
def archive(name: NameOpt, version: VersionOpt = None, workspace: WorkspaceOption = None) -> None:
    """Archive a version (or every version): ``@latest`` then skips it."""
    from backend.services import data_assets, open_session

    with open_session() as s:
        done = data_assets.archive_data_asset(
            session=s, workspace=workspace_name(workspace), name=name, version=version
        )
    typer.echo(f"archived {name} version(s) {', '.join(done)}")


@app.command()
def restore(name: NameOpt, version: VersionOpt = None, workspace: WorkspaceOption = None) -> None:
    """Restore an archived version (or every version)."""
    from backend.services import data_assets, open_session

    with open_session() as s:
        done = data_assets.restore_data_asset(
            session=s, workspace=workspace_name(workspace), name=name, version=version
        )
    typer.echo(f"restored {name} version(s) {', '.join(done)}")


@app.command()
def preview(
    name: NameOpt,
    version: VersionOpt = None,
    rows: Annotated[int | None, typer.Option("--rows", "-r", help="First K rows (default: all).")] = None,
    output: Annotated[PreviewFormat, typer.Option("--output", "-o")] = PreviewFormat.csv,
    workspace: WorkspaceOption = None,
) -> None:
    """Print the table as Studio reads it (csv by default)."""
    from backend.services import data_assets, open_session

    if rows is not None and rows < 0:
        fail("--rows must be 0 or more")
    with open_session() as s:
        table = data_assets.preview_data(
            session=s, workspace=workspace_name(workspace), name=name, version=version, rows=rows
        ).frame
    if output == PreviewFormat.csv:
        sys.stdout.write(table.to_csv(index=False))
    elif output == PreviewFormat.json:
        typer.echo(json.dumps(json.loads(table.to_json(orient="records", date_format="iso")), indent=2))
    else:
        typer.echo(table.to_string(index=False))
