"""``studio job create|list|show|stream|cancel|download|archive``."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from backend.statuses import TERMINAL, JobStatus
from studio.commands._common import OutputFormat, OutputOption, WorkspaceOption, emit, fail, workspace_name

app = typer.Typer(help="Submit, follow, cancel and inspect jobs.", no_args_is_help=True)
NameOpt = Annotated[str, typer.Option("--name", "-n", help="Job name.")]
STREAM_POLL_S = 0.3


@app.command()
def create(
    file: Annotated[Path, typer.Option("--file", "-f", help="The cloud's job YAML.")],
    name: Annotated[str | None, typer.Option("--name", "-n", help="Job name (overrides the YAML).")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="field=value overrides a YAML field.")
    ] = None,
    stream: Annotated[bool, typer.Option("--stream", "-s", help="Print logs until the job ends.")] = False,
    output: OutputOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
) -> None:
    """Submit a job from YAML; with --stream, follow its log and exit non-zero if it fails."""
    from backend.services import jobs, open_session

    overrides = list(set_ or []) + ([f"name={name}"] if name else [])
    ws = workspace_name(workspace)
    with open_session() as s:
        job = jobs.create_job_from_file(session=s, workspace=ws, file=file, overrides=overrides)
    if stream:
        typer.echo(f"submitted job {job.name}", err=True)
        raise typer.Exit(_stream(ws, job.name))
    emit(_summary(job), output)


def _summary(job) -> dict:
    data = job.model_dump(mode="json", exclude={"history", "state"})
    data["duration_s"] = job.duration_s
    return data


@app.command("list")
def list_(
    status: Annotated[str | None, typer.Option("--status", help="Only jobs with this status.")] = None,
    experiment: Annotated[str | None, typer.Option("--experiment", "-e")] = None,
    parent: Annotated[str | None, typer.Option("--parent-job-name", help="Children of this job.")] = None,
    archived: Annotated[bool, typer.Option("--include-archived")] = False,
    max_results: Annotated[int, typer.Option("--max-results", "-r")] = 50,
    output: OutputOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
) -> None:
    """List jobs, newest first."""
    from backend.services import jobs, open_session

    with open_session() as s:
        rows = jobs.list_jobs(
            session=s,
            workspace=workspace_name(workspace),
            status=status,
            experiment=experiment,
            parent=parent,
            include_archived=archived,
            limit=max_results,
        )
    emit(
        [_summary(j) for j in rows],
        output,
        columns=["name", "type", "status", "experiment_name", "compute", "created_at", "duration_s"],
    )


@app.command()
def show(name: NameOpt, output: OutputOption = OutputFormat.table, workspace: WorkspaceOption = None) -> None:
    """Status, times, compute, inputs, outputs, MLflow run id and failure reason of a job."""
    from backend.services import jobs, open_session

    with open_session() as s:
        job = jobs.get_job(session=s, workspace=workspace_name(workspace), name=name)
    emit(_summary(job), output)


def _stream(workspace: str, name: str) -> int:
    from backend.services import jobs, open_session

    offset, last_status = 0, None
    while True:
        text, offset = jobs.read_log(workspace=workspace, name=name, offset=offset)
        if text:
            sys.stdout.write(text)
            sys.stdout.flush()
        with open_session() as s:
            job = jobs.get_job(session=s, workspace=workspace, name=name)
        if job.status != last_status:
            typer.echo(f"[{job.name}] {job.status}", err=True)
            last_status = job.status
        if job.status in TERMINAL:
            text, offset = jobs.read_log(workspace=workspace, name=name, offset=offset)
            sys.stdout.write(text)
            if job.failure_reason and job.status != JobStatus.COMPLETED:
                typer.echo(f"[{job.name}] {job.failure_reason.splitlines()[0]}", err=True)
            return 0 if job.status == JobStatus.COMPLETED else 1
        time.sleep(STREAM_POLL_S)


@app.command()
def stream(name: NameOpt, workspace: WorkspaceOption = None) -> None:
    """Print a job's log as it comes; exit non-zero when the job does not complete."""
    from backend.services import jobs, open_session

    ws = workspace_name(workspace)
    with open_session() as s:
        jobs.get_job(session=s, workspace=ws, name=name)
    raise typer.Exit(_stream(ws, name))


@app.command()
def cancel(name: NameOpt, workspace: WorkspaceOption = None) -> None:
    """Cancel a job (and its children); the whole process group is stopped."""
    from backend.services import jobs, open_session

    with open_session() as s:
        job = jobs.cancel_job(session=s, workspace=workspace_name(workspace), name=name)
    typer.echo(f"job {job.name}: {job.status}")


@app.command()
def download(
    name: NameOpt,
    download_path: Annotated[Path, typer.Option("--download-path", "-p", help="Folder to copy into.")] = Path(
        "."
    ),
    output_name: Annotated[str | None, typer.Option("--output-name", help="Only this named output.")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Copy a job's outputs and logs to a local folder."""
    from backend.services import jobs, open_session

    dest = download_path / name
    with open_session() as s:
        copied = jobs.download_job(
            session=s, workspace=workspace_name(workspace), name=name, dest=dest, output_name=output_name
        )
    if not copied:
        fail(f"job {name!r} has nothing to download yet")
    for item in copied:
        typer.echo(str(dest / item))


@app.command()
def archive(
    name: NameOpt,
    restore: Annotated[bool, typer.Option("--restore", help="Bring an archived job back.")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Archive a finished job (hidden from lists unless --include-archived)."""
    from backend.services import jobs, open_session

    with open_session() as s:
        jobs.archive_job(session=s, workspace=workspace_name(workspace), name=name, archived=not restore)
    typer.echo(f"{'restored' if restore else 'archived'} job {name}")
