"""``studio compute create|list|show|start|stop|delete|list-sizes``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from studio.commands import _common as common

app = typer.Typer(help="Create, list, show, start, stop and delete compute targets.", no_args_is_help=True)

NameOpt = Annotated[str, common.name_option("Compute name.")]
LIST_COLUMNS = ["name", "type", "size", "state", "nodes", "cores", "memory_gb", "description"]


def _row(c) -> dict:
    data = c.model_dump(mode="json")
    data["nodes"] = (
        f"{c.current_nodes} ({c.min_instances}-{c.max_instances})" if c.type == "amlcompute" else ""
    )
    if c.type == "serverless":
        data["nodes"] = f"{c.max_instances} slots"
    return data


def _show(workspace: str, name: str, output: common.OutputFormat, *, show_token: bool = False) -> None:
    from backend.services import compute, notebook_servers, open_session

    with open_session() as s:
        found = compute.get_compute(session=s, workspace=workspace, name=name)
        data = _row(found)
        data["capacity"] = compute.compute_capacity(session=s, workspace=workspace, name=name).model_dump(
            include={"slots", "total_cores", "total_memory_gb", "machine_cores", "machine_memory_gb", "note"}
        )
        if found.type == "computeinstance":  # its JupyterLab server: the URL, the token only when asked
            data |= notebook_servers.describe(
                session=s, workspace=workspace, compute=name, show_token=show_token
            )
    common.emit(data, output)


@common.command(app, groups={"base": common.create_base("Compute")})
def create(
    *,
    base: dict[str, Any],
    type_: Annotated[
        str | None, common.type_option("amlcompute (cluster), computeinstance or ray (a Ray cluster).")
    ] = None,
    address: Annotated[
        str | None,
        typer.Option("--address", help="Ray: the Jobs dashboard URL (http://head:8265) or ray://head:10001."),
    ] = None,
    size: Annotated[str | None, typer.Option("--size", help="VM size, e.g. Standard_DS3_v2.")] = None,
    min_instances: Annotated[
        int | None, typer.Option("--min-instances", help="Cluster: fewest nodes.")
    ] = None,
    max_instances: Annotated[int | None, typer.Option("--max-instances", help="Cluster: most nodes.")] = None,
    idle: Annotated[
        int | None,
        typer.Option("--idle-time-before-scale-down", help="Cluster: idle seconds before a node goes."),
    ] = None,
    idle_shutdown: Annotated[
        int | None,
        typer.Option(
            "--idle-time-before-shutdown-minutes", help="Instance: idle minutes before it stops itself (15+)."
        ),
    ] = None,
    description: common.DescriptionOption = None,
    tags: common.TagsOption = None,
    output: common.OutputFormat,
    workspace: str,
) -> None:
    """Create a compute instance or cluster from a YAML file or from flags."""
    from backend.services import compute

    file, set_, name = base["file"], base["set_"], base["name"]

    flags = {
        "name": name,
        "type": type_,
        "size": size,
        "min_instances": min_instances,
        "max_instances": max_instances,
        "idle_time_before_scale_down": idle,
        "idle_time_before_shutdown_minutes": idle_shutdown,
        "description": description,
        "address": address,
    }
    if not file and (not name or not type_):
        common.fail("give --file FILE, or --name NAME and --type amlcompute|computeinstance|ray")
    created = common.create_from_file_or_flags(
        file,
        from_file=lambda s: compute.create_compute_from_file(
            session=s, workspace=workspace, path=file, overrides=common.flag_overrides(set_, **flags)
        ),
        tags=tags,
        add_tags=lambda s, created, new_tags: compute.update_compute(
            session=s, workspace=workspace, name=created.name, tags={**created.tags, **new_tags}
        ),
        from_flags=lambda s: compute.create_compute_from_form(
            session=s,
            workspace=workspace,
            form=compute.ComputeForm(**common.given(**flags), tags=common.parse_tags(tags) or {}),
        ),
    )
    _show(workspace, created.name, output)


@common.command(app, "list")
def list_(*, output: common.OutputFormat, workspace: str) -> None:
    """List computes: serverless first, then instances and clusters."""
    from backend.services import compute

    rows = common.in_workspace(workspace, compute.list_computes)
    common.emit([_row(c) for c in rows], output, columns=LIST_COLUMNS)


@common.command(app)
def show(
    name: NameOpt,
    show_token: Annotated[
        bool, typer.Option("--show-token", help="Instance: the JupyterLab URL with its token (a secret).")
    ] = False,
    *,
    output: common.OutputFormat,
    workspace: str,
) -> None:
    """Show a compute with its capacity next to this machine's; an instance with its JupyterLab URL."""
    _show(workspace, name, output, show_token=show_token)


@common.command(app)
def start(name: NameOpt, *, output: common.OutputFormat, workspace: str) -> None:
    """Start a compute instance."""
    _change_state("start_compute", name, output, workspace)


@common.command(app)
def stop(name: NameOpt, *, output: common.OutputFormat, workspace: str) -> None:
    """Stop a compute instance (it still accepts jobs; they wait until it starts)."""
    _change_state("stop_compute", name, output, workspace)


def _change_state(function: str, name: str, output: common.OutputFormat, workspace: str | None) -> None:
    common.in_workspace(workspace, common.service(f"compute.{function}"), name=name)
    _show(workspace, name, output)


common.add_delete(
    app, NameOpt, "compute.compute", what="compute", help="Delete a compute instance or cluster."
)


@common.command(app, "list-sizes")
def list_sizes(*, output: common.OutputFormat) -> None:
    """The VM sizes Studio knows (cores and memory of one node)."""
    from backend.services import compute

    common.emit(compute.list_sizes(), output, columns=["name", "cores", "memory_gb", "gpus"])
