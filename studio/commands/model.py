"""``studio model create|list|show|download|archive|restore``: MLflow's model registry seen through Studio."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from studio.commands import _common as common

app = typer.Typer(help="Register, list, show, download, archive and restore models.", no_args_is_help=True)

NameOpt = Annotated[str, common.name_option("Model name.")]


def _from_flags(s, workspace: str, fields: dict) -> object:
    from backend.services import models
    from backend.specs import parse_spec
    from backend.specs.model import ModelSpec

    given = common.given(**{k: v for k, v in fields.items() if k != "tags"})
    spec = parse_spec(ModelSpec, {**given, "tags": common.parse_tags(fields["tags"]) or {}}, source="model")
    return models.create_model_from_spec(
        session=s, workspace=workspace, spec=spec, base_dir=Path.cwd(), source="model"
    )


common.add_create(
    app,
    "models.model",
    kind="model",
    help="Register a model version from a YAML file or from flags.",
    version_help="Must be the next number (MLflow's rule).",
    type_help="mlflow_model, custom_model or triton_model.",
    path_help="Local file or folder, azureml://jobs/<job>/outputs/<output> or runs:/<run-id>/<path>.",
    from_flags=_from_flags,
)


common.add_list(
    app,
    name_help="List this model's versions.",
    help="List models (latest version of each), or the versions of one model.",
    list_=common.version_lister(
        "models.list_models",
        "models.list_model_versions",
        version_columns=["name", "version", "type", "archived", "created_at", "source"],
        hide_archived_versions=True,
    ),
)
common.add_show(app, name_option=NameOpt, show=common.version_shower("models.get_model"))
common.add_archive_and_restore(
    app, NameOpt, common.service("models.archive_model"), common.service("models.restore_model")
)


@common.command(app)
def download(
    name: NameOpt,
    version: common.VersionOption = None,
    download_path: Annotated[
        Path, typer.Option("--download-path", "-p", help="Folder to download into (default: here).")
    ] = Path("."),
    *,
    output: common.OutputFormat,
    workspace: str,
) -> None:
    """Download a version's files to DOWNLOAD_PATH/NAME/."""
    from backend.services import models

    target = common.in_workspace(
        workspace, models.download_model, name=name, version=version, download_path=download_path
    )
    if output == common.OutputFormat.json:
        common.emit({"name": name, "version": version or "latest", "path": str(target)}, output)
    else:
        typer.echo(f"downloaded {name} to {target}")
