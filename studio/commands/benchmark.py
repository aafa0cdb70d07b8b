"""``studio benchmark create|list|show``: model benchmarks, run as jobs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from studio.commands import _common as common
from studio.commands.job import follow

app = typer.Typer(
    help="Benchmark models (connections, or registered tabular models) on a dataset.", no_args_is_help=True
)
NameOpt = Annotated[str, common.name_option("Benchmark name (the job that runs it).")]


@common.command(app)
def create(
    file: Annotated[Path, common.file_option("The benchmark YAML.")],
    set_: common.SetOption = None,
    stream: Annotated[
        bool, typer.Option("--stream", "-s", help="Print the job's log until it ends.")
    ] = False,
    *,
    output: common.OutputFormat,
    workspace: str,
) -> None:
    """Queue a benchmark from YAML; with --stream, follow it and exit non-zero if it fails."""
    from backend.services import benchmarks

    found = common.in_workspace(workspace, benchmarks.create_benchmark_from_file, path=file, overrides=set_)
    if stream:
        typer.echo(f"submitted job {found.job} (benchmark {found.name})", err=True)
        raise typer.Exit(follow(workspace, found.job))
    common.emit(found, output)


@common.command(app, "list")
def list_(*, output: common.OutputFormat, workspace: str) -> None:
    """Benchmarks, newest first."""
    from backend.services import benchmarks

    rows = common.in_workspace(workspace, benchmarks.list_benchmarks)
    common.emit(rows, output, columns=["name", "kind", "status", "dataset", "models", "judge", "created"])


@common.command(app)
def show(name: NameOpt, *, output: common.OutputFormat, workspace: str) -> None:
    """``models``: each model's metrics as {value, source}; ``items``: every answer with its scores."""
    from backend.services import benchmarks

    shown = common.in_workspace(workspace, benchmarks.show_benchmark, name=name)
    if output == common.OutputFormat.json:
        typer.echo(json.dumps(shown, indent=2, default=str))
        return
    rows = [
        {"model": model, **{m: _cell(v) for m, v in metrics.items() if isinstance(v, dict)}}
        for model, metrics in shown["models"].items()
    ]
    common.emit(rows, output, columns=list(rows[0]) if rows else ["model"])


def _cell(metric: dict) -> str:
    if metric.get("value") is None:
        return metric.get("note") or "-"
    value = f"{metric['value']:.4g}"
    return value if metric.get("source") in (None, "computed") else f"{value} ({metric['source']})"
