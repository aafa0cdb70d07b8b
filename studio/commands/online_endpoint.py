"""``studio online-endpoint create|list|show|update|delete|invoke|get-credentials|regenerate-keys|export-k8s``.

Keys are printed by ``get-credentials`` only; ``export-k8s`` writes them into a Secret file (mode 0600)
and never to the terminal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from studio.commands import _common as common

app = typer.Typer(
    help="Online endpoints: create, show, split traffic, keys, Kubernetes export.", no_args_is_help=True
)

NameOpt = Annotated[str, common.name_option("Endpoint name.")]
LIST_COLUMNS = ["name", "kind", "auth_mode", "provisioning_state", "traffic", "scoring_uri"]


def _show(workspace: str, name: str, output: common.OutputFormat) -> None:
    from backend.services import endpoints

    common.emit(common.in_workspace(workspace, endpoints.get_endpoint, name=name), output)


@common.command(app)
def create(
    file: Annotated[Path, common.file_option("Endpoint YAML (the cloud's format).")],
    name: Annotated[str | None, common.name_option("Endpoint name (overrides the file's).")] = None,
    set_: common.SetOption = None,
    *,
    output: common.OutputFormat,
    workspace: str,
) -> None:
    """Create an online endpoint (or update it) from the cloud's YAML; it gets two new keys."""
    from backend.services import endpoints

    created = common.in_workspace(
        workspace,
        endpoints.create_endpoint_from_file,
        path=file,
        overrides=common.flag_overrides(set_, name=name),
    )
    _show(workspace, created.name, output)


@common.command(app, "list")
def list_(*, output: common.OutputFormat, workspace: str) -> None:
    """List the workspace's online endpoints."""
    from backend.services import endpoints

    common.emit(common.in_workspace(workspace, endpoints.list_endpoints), output, columns=LIST_COLUMNS)


@common.command(app)
def show(name: NameOpt, *, output: common.OutputFormat, workspace: str) -> None:
    """Show an endpoint: scoring_uri, traffic, provisioning_state (never its keys)."""
    _show(workspace, name, output)


@common.command(app)
def update(
    name: NameOpt,
    traffic: Annotated[
        str | None,
        typer.Option("--traffic", "-r", help="'blue=90 green=10': percents summing to 100 (or 0)."),
    ] = None,
    mirror_traffic: Annotated[
        str | None,
        typer.Option("--mirror-traffic", help="'green=10': copy a share (at most 50) to one deployment."),
    ] = None,
    *,
    output: common.OutputFormat,
    workspace: str,
) -> None:
    """Change an endpoint's traffic split and/or mirrored traffic."""
    from backend.services import endpoints

    if traffic is None and mirror_traffic is None:
        common.fail("give --traffic and/or --mirror-traffic")
    common.in_workspace(
        workspace,
        endpoints.update_traffic,
        name=name,
        traffic=None if traffic is None else endpoints.parse_traffic(traffic),
        mirror_traffic=None
        if mirror_traffic is None
        else endpoints.parse_traffic(mirror_traffic, option="--mirror-traffic"),
    )
    _show(workspace, name, output)


common.add_delete(
    app,
    NameOpt,
    "endpoints.endpoint",
    what="online endpoint",
    question_tail=" and all its deployments",
    help="Delete an endpoint and all its deployments.",
)


@common.command(app)
def invoke(
    name: NameOpt,
    request_file: Annotated[
        Path, typer.Option("--request-file", "-r", help="The request body (JSON), sent as it is.")
    ],
    deployment_name: Annotated[
        str | None,
        typer.Option("--deployment-name", "-d", help="Send it to this deployment only (any traffic share)."),
    ] = None,
    *,
    workspace: str,
) -> None:
    """Send a request to the endpoint's scoring URI with its key and print the answer's body."""
    from backend.services import endpoint_runtime

    try:
        body = request_file.read_text()
    except OSError as exc:
        common.fail(f"cannot read --request-file {request_file}: {exc.strerror or exc}")
    result = common.in_workspace(
        workspace, endpoint_runtime.invoke_endpoint, name=name, body=body, deployment=deployment_name
    )
    if not result.ok:
        detail = " ".join(result.body.split())[:500]
        common.fail(f"online endpoint {name!r} answered {result.status}: {detail}")
    typer.echo(result.body)


@common.command(app, "get-credentials")
def get_credentials(name: NameOpt, *, output: common.OutputFormat, workspace: str) -> None:
    """Print the endpoint's keys (primaryKey, secondaryKey), or a token for an aml_token endpoint."""
    from backend.services import endpoint_access, endpoints

    endpoint = common.in_workspace(workspace, endpoints.get_endpoint, name=name)
    fn = endpoint_access.get_token if endpoint.auth_mode == "aml_token" else endpoint_access.get_keys
    common.emit(common.in_workspace(workspace, fn, name=name), output)


@common.command(app, "regenerate-keys")
def regenerate_keys(
    name: NameOpt,
    key_type: Annotated[str, typer.Option("--key-type", help="primary or secondary.")] = "primary",
    *,
    workspace: str,
) -> None:
    """Replace one key; the other keeps working."""
    from backend.services import endpoint_access

    common.in_workspace(workspace, endpoint_access.regenerate_keys, name=name, key_type=key_type)
    typer.echo(f"regenerated the {key_type.lower()} key of online endpoint {name}")


@common.command(app, "export-k8s")
def export_k8s(
    name: NameOpt,
    output_dir: Annotated[
        Path | None,
        typer.Option("--output-dir", "-d", help="Folder for the manifests (default ./<name>-k8s)."),
    ] = None,
    router: Annotated[
        str, typer.Option("--router", help="ingress (ingress-nginx) or gateway (a Gateway API HTTPRoute).")
    ] = "ingress",
    gateway: Annotated[
        str, typer.Option("--gateway", help="The Gateway an HTTPRoute attaches to.")
    ] = "studio-gateway",
    host: Annotated[str | None, typer.Option("--host", help="Host name the route answers.")] = None,
    *,
    workspace: str,
) -> None:
    """Write the endpoint as Kubernetes manifests, one file each (the Secret file holds the keys)."""
    import os

    from backend.services import k8s_export

    manifests = common.in_workspace(
        workspace, k8s_export.render_endpoint, name=name, router=router, gateway=gateway, host=host
    )
    folder = output_dir or Path(f"{name}-k8s")
    folder.mkdir(parents=True, exist_ok=True)
    for file_name, text in k8s_export.manifest_files(manifests).items():
        path = folder / file_name
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        typer.echo(str(path))
