"""``studio online-deployment create|list|show|update|delete|get-logs``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from studio.commands import _common as common

app = typer.Typer(
    help="Deployments of online endpoints: create, list, show, update, delete, logs.", no_args_is_help=True
)

NameOpt = Annotated[str, common.name_option("Deployment name.")]
EndpointOpt = Annotated[str, typer.Option("--endpoint-name", "-e", help="Endpoint name.")]
NameOverrideOpt = Annotated[str | None, common.name_option("Deployment name (overrides the file's).")]
EndpointOverrideOpt = Annotated[
    str | None, typer.Option("--endpoint-name", "-e", help="Endpoint (overrides the file's).")
]
FileOpt = Annotated[Path, common.file_option("Deployment YAML (the cloud's format).")]
LIST_COLUMNS = ["name", "endpoint_name", "provisioning_state", "model", "instance_count", "instance_type"]


def _save(
    file: Path,
    name: str | None,
    endpoint_name: str | None,
    set_: list[str] | None,
    all_traffic: bool,
    output: common.OutputFormat,
    workspace: str,
    *,
    must_exist: bool,
) -> None:
    from backend.services import endpoints, open_session

    overrides = common.flag_overrides(set_, name=name, endpoint_name=endpoint_name)
    with open_session() as s:
        if must_exist:
            spec = endpoints.load_deployment_file(file, overrides)
            endpoints.get_deployment(
                session=s, workspace=workspace, endpoint_name=spec.endpoint_name, name=spec.name
            )
        saved = endpoints.create_deployment_from_file(
            session=s, workspace=workspace, path=file, overrides=overrides, all_traffic=all_traffic
        )
    common.emit(saved, output)


@common.command(app)
def create(
    file: FileOpt,
    name: NameOverrideOpt = None,
    endpoint_name: EndpointOverrideOpt = None,
    all_traffic: Annotated[
        bool, typer.Option("--all-traffic", help="Send it 100% of the endpoint's traffic.")
    ] = False,
    set_: common.SetOption = None,
    *,
    output: common.OutputFormat,
    workspace: str,
) -> None:
    """Create a deployment of an existing endpoint from the cloud's YAML."""
    _save(file, name, endpoint_name, set_, all_traffic, output, workspace, must_exist=False)


@common.command(app)
def update(
    file: FileOpt,
    name: NameOverrideOpt = None,
    endpoint_name: EndpointOverrideOpt = None,
    set_: common.SetOption = None,
    *,
    output: common.OutputFormat,
    workspace: str,
) -> None:
    """Update an existing deployment from its YAML (new processes start before the old ones stop)."""
    _save(file, name, endpoint_name, set_, False, output, workspace, must_exist=True)


@common.command(app, "list")
def list_(endpoint_name: EndpointOpt, *, output: common.OutputFormat, workspace: str) -> None:
    """List an endpoint's deployments."""
    from backend.services import endpoints

    rows = common.in_workspace(workspace, endpoints.list_deployments, endpoint_name=endpoint_name)
    common.emit(rows, output, columns=LIST_COLUMNS)


@common.command(app)
def show(name: NameOpt, endpoint_name: EndpointOpt, *, output: common.OutputFormat, workspace: str) -> None:
    """Show a deployment."""
    from backend.services import endpoints

    common.emit(
        common.in_workspace(workspace, endpoints.get_deployment, endpoint_name=endpoint_name, name=name),
        output,
    )


@common.command(app)
def delete(
    name: NameOpt, endpoint_name: EndpointOpt, yes: common.YesOption = False, *, workspace: str
) -> None:
    """Delete a deployment that gets no traffic."""
    from backend.services import endpoints

    common.delete_confirmed(
        workspace,
        get=endpoints.get_deployment,
        delete=endpoints.delete_deployment,
        yes=yes,
        question=f"Delete deployment {name!r} of online endpoint {endpoint_name!r}?",
        deleted=f"deleted deployment {name} of online endpoint {endpoint_name}",
        endpoint_name=endpoint_name,
        name=name,
    )


@common.command(app, "get-logs")
def get_logs(
    name: NameOpt,
    endpoint_name: EndpointOpt,
    lines: Annotated[
        int, typer.Option("--lines", "-l", help="How many of the last lines of each instance's log.")
    ] = 100,
    *,
    workspace: str,
) -> None:
    """Print the end of the deployment's logs, instance by instance."""
    from backend.services import endpoint_runtime

    text = common.in_workspace(
        workspace, endpoint_runtime.read_deployment_logs, endpoint_name=endpoint_name, name=name, lines=lines
    )
    typer.echo(text, nl=False)
