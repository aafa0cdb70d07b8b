"""``studio compute create|list|show|start|stop|delete|list-sizes``."""

from __future__ import annotations

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

app = typer.Typer(help="Create, list, show, start, stop and delete compute targets.", no_args_is_help=True)

NameOpt = Annotated[str, typer.Option("--name", "-n", help="Compute name.")]
LIST_COLUMNS = ["name", "type", "size", "state", "nodes", "cores", "memory_gb", "description"]


def _row(c) -> dict:
    data = c.model_dump(mode="json")
    data["nodes"] = (
        f"{c.current_nodes} ({c.min_instances}-{c.max_instances})" if c.type == "amlcompute" else ""
    )
    if c.type == "serverless":
        data["nodes"] = f"{c.max_instances} slots"
    return data


def _show(ws: str, name: str, output: OutputFormat) -> None:
    from backend.services import compute, open_session

    with open_session() as s:
        data = _row(compute.get_compute(session=s, workspace=ws, name=name))
        data["capacity"] = compute.compute_capacity(session=s, workspace=ws, name=name).model_dump(
            include={"slots", "total_cores", "total_memory_gb", "machine_cores", "machine_memory_gb", "note"}
        )
    emit(data, output)


@app.command()
def create(
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Compute YAML (the cloud's format).")
    ] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a field: field=value.")] = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Compute name.")] = None,
    type_: Annotated[
        str | None, typer.Option("--type", "-t", help="amlcompute (cluster) or computeinstance.")
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
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
    tags: Annotated[list[str] | None, typer.Option("--tags", help="key=value; repeat for more.")] = None,
    output: OutputOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
) -> None:
    """Create a compute instance or cluster from a YAML file or from flags."""
    from backend.services import compute, open_session

    ws = workspace_name(workspace)
    flags = {
        "name": name,
        "type": type_,
        "size": size,
        "min_instances": min_instances,
        "max_instances": max_instances,
        "idle_time_before_scale_down": idle,
        "description": description,
    }
    with open_session() as s:
        if file:
            overrides = [*(set_ or []), *(f"{k}={v}" for k, v in flags.items() if v is not None)]
            created = compute.create_compute_from_file(
                session=s, workspace=ws, path=file, overrides=overrides
            )
            if tags:
                compute.update_compute(
                    session=s,
                    workspace=ws,
                    name=created.name,
                    tags={**created.tags, **(parse_tags(tags) or {})},
                )
        else:
            if not name or not type_:
                fail("give --file FILE, or --name NAME and --type amlcompute|computeinstance")
            form = {k: v for k, v in flags.items() if v is not None}
            created = compute.create_compute_from_form(
                session=s, workspace=ws, form=compute.ComputeForm(**form, tags=parse_tags(tags) or {})
            )
    _show(ws, created.name, output)


@app.command("list")
def list_(output: OutputOption = OutputFormat.table, workspace: WorkspaceOption = None) -> None:
    """List computes: serverless first, then instances and clusters."""
    from backend.services import compute, open_session

    with open_session() as s:
        rows = compute.list_computes(session=s, workspace=workspace_name(workspace))
    emit([_row(c) for c in rows], output, columns=LIST_COLUMNS)


@app.command()
def show(name: NameOpt, output: OutputOption = OutputFormat.table, workspace: WorkspaceOption = None) -> None:
    """Show a compute with its capacity next to this machine's."""
    _show(workspace_name(workspace), name, output)


@app.command()
def start(
    name: NameOpt, output: OutputOption = OutputFormat.table, workspace: WorkspaceOption = None
) -> None:
    """Start a compute instance."""
    from backend.services import compute, open_session

    ws = workspace_name(workspace)
    with open_session() as s:
        compute.start_compute(session=s, workspace=ws, name=name)
    _show(ws, name, output)


@app.command()
def stop(name: NameOpt, output: OutputOption = OutputFormat.table, workspace: WorkspaceOption = None) -> None:
    """Stop a compute instance (it still accepts jobs; they wait until it starts)."""
    from backend.services import compute, open_session

    ws = workspace_name(workspace)
    with open_session() as s:
        compute.stop_compute(session=s, workspace=ws, name=name)
    _show(ws, name, output)


@app.command()
def delete(
    name: NameOpt,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Delete a compute instance or cluster."""
    from backend.services import compute, open_session

    ws = workspace_name(workspace)
    with open_session() as s:
        compute.get_compute(session=s, workspace=ws, name=name)
    if not yes:
        typer.confirm(f"Delete compute {name!r}?", abort=True)
    with open_session() as s:
        compute.delete_compute(session=s, workspace=ws, name=name)
    typer.echo(f"deleted compute {name}")


@app.command("list-sizes")
def list_sizes(output: OutputOption = OutputFormat.table) -> None:
    """The VM sizes Studio knows (cores and memory of one node)."""
    from backend.services import compute

    emit(compute.list_sizes(), output, columns=["name", "cores", "memory_gb", "gpus"])
