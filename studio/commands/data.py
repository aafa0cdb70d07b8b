"""``studio data create|list|show|archive|restore|preview``."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from studio.commands import _common as common

app = typer.Typer(help="Register, list, show, archive and preview data assets.", no_args_is_help=True)

NameOpt = Annotated[str, common.name_option("Data asset name.")]


class PreviewFormat(StrEnum):
    csv = "csv"
    json = "json"
    table = "table"


def _from_flags(s, workspace: str, fields: dict) -> object:
    from backend.services import data_assets

    data = data_assets.DataAssetCreate(
        name=fields["name"],
        version=fields["version"],
        type=fields["type"] or "uri_folder",
        path=fields["path"],
        description=fields["description"] or "",
        tags=common.parse_tags(fields["tags"]) or {},
    )
    return data_assets.create_data_asset(session=s, workspace=workspace, data=data, base_dir=Path.cwd())


common.add_create(
    app,
    "data_assets.data_asset",
    kind="data",
    help="Register a data asset version from a YAML file or from flags.",
    type_help="uri_file, uri_folder or mltable.",
    path_help="Local path, azureml:// path or URL.",
    from_flags=_from_flags,
)
common.add_list(
    app,
    name_help="List this asset's versions.",
    help="List data assets (latest version of each), or every version of one asset.",
    list_=common.version_lister(
        "data_assets.list_data_assets",
        "data_assets.list_data_asset_versions",
        version_columns=["name", "version", "type", "archived", "created_at", "path"],
    ),
)
common.add_show(app, name_option=NameOpt, show=common.version_shower("data_assets.get_data_asset"))
common.add_archive_and_restore(
    app,
    NameOpt,
    common.service("data_assets.archive_data_asset"),
    common.service("data_assets.restore_data_asset"),
)


@common.command(app)
def preview(
    name: NameOpt,
    version: common.VersionOption = None,
    rows: Annotated[int | None, typer.Option("--rows", "-r", help="First K rows (default: all).")] = None,
    output: Annotated[PreviewFormat, typer.Option("--output", "-o")] = PreviewFormat.csv,
    *,
    workspace: str,
) -> None:
    """Print the table as Studio reads it (csv by default)."""
    from backend.services import data_assets

    if rows is not None and rows < 0:
        common.fail("--rows must be 0 or more")
    table = common.in_workspace(
        workspace, data_assets.preview_data, name=name, version=version, rows=rows
    ).frame
    if output == PreviewFormat.csv:
        sys.stdout.write(table.to_csv(index=False))
    elif output == PreviewFormat.json:
        typer.echo(json.dumps(json.loads(table.to_json(orient="records", date_format="iso")), indent=2))
    else:
        typer.echo(table.to_string(index=False))
