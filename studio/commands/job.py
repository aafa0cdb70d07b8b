"""``studio job create|list|show|stream|cancel|download|archive``."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from backend.statuses import TERMINAL, JobStatus
from studio.commands import _common as common

app = typer.Typer(help="Submit, follow, cancel and inspect jobs.", no_args_is_help=True)
NameOpt = Annotated[str, common.name_option("Job name.")]
STREAM_POLL_S = 0.3


@common.command(app)
def create(
    file: Annotated[Path, common.file_option("The cloud's job YAML.")],
    name: Annotated[str | None, common.name_option("Job name (overrides the YAML).")] = None,
    set_: common.SetOption = None,
    stream: Annotated[bool, typer.Option("--stream", "-s", help="Print logs until the job ends.")] = False,
    *,
    output: common.OutputFormat,
    workspace: str,
) -> None:
    """Submit a job from YAML; with --stream, follow its log and exit non-zero if it fails."""
    from backend.services import job_files

    overrides = list(set_ or []) + ([f"name={name}"] if name else [])
    job = common.in_workspace(workspace, job_files.create_job_from_file, file=file, overrides=overrides)
    if stream:
        typer.echo(f"submitted job {job.name}", err=True)
        raise typer.Exit(follow(workspace, job.name))
    common.emit(_summary(job), output)


def _summary(job) -> dict:
    return common.plain(job, exclude={"history", "state"}, duration_s=job.duration_s)


@common.command(app, "list")
def list_(
    status: Annotated[str | None, typer.Option("--status", help="Only jobs with this status.")] = None,
    experiment: Annotated[str | None, typer.Option("--experiment", "-e")] = None,
    parent: Annotated[str | None, typer.Option("--parent-job-name", help="Children of this job.")] = None,
    archived: common.ArchivedOption = False,
    max_results: Annotated[int, typer.Option("--max-results", "-r")] = 50,
    *,
    output: common.OutputFormat,
    workspace: str,
) -> None:
    """List jobs, newest first."""
    from backend.services import jobs

    rows = common.in_workspace(
        workspace,
        jobs.list_jobs,
        status=status,
        experiment=experiment,
        parent=parent,
        include_archived=archived,
        limit=max_results,
    )
    common.emit(
        [_summary(j) for j in rows],
        output,
        columns=["name", "type", "status", "experiment_name", "compute", "created_at", "duration_s"],
    )


@common.command(app)
def show(name: NameOpt, *, output: common.OutputFormat, workspace: str) -> None:
    """Status, times, compute, inputs, outputs, MLflow run id and failure reason of a job."""
    from backend.services import jobs

    common.emit(_summary(common.in_workspace(workspace, jobs.get_job, name=name)), output)


def follow(workspace: str, name: str) -> int:
    """Print the job's log until it ends; 0 when it completed."""
    from backend.services import jobs

    offset, last_status = 0, None
    while True:
        text, offset = jobs.read_log(workspace=workspace, name=name, offset=offset)
        if text:
            sys.stdout.write(text)
            sys.stdout.flush()
        job = common.in_workspace(workspace, jobs.get_job, name=name)
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


@common.command(app)
def stream(name: NameOpt, *, workspace: str) -> None:
    """Print a job's log as it comes; exit non-zero when the job does not complete."""
    from backend.services import jobs

    common.in_workspace(workspace, jobs.get_job, name=name)
    raise typer.Exit(follow(workspace, name))


@common.command(app)
def cancel(name: NameOpt, *, workspace: str) -> None:
    """Cancel a job (and its children); the whole process group is stopped."""
    from backend.services import jobs

    job = common.in_workspace(workspace, jobs.cancel_job, name=name)
    typer.echo(f"job {job.name}: {job.status}")


@common.command(app)
def download(
    name: NameOpt,
    download_path: Annotated[Path, typer.Option("--download-path", "-p", help="Folder to copy into.")] = Path(
        "."
    ),
    output_name: Annotated[str | None, typer.Option("--output-name", help="Only this named output.")] = None,
    *,
    workspace: str,
) -> None:
    """Copy a job's outputs and logs to a local folder."""
    from backend.services import jobs

    dest = download_path / name
    copied = common.in_workspace(workspace, jobs.download_job, name=name, dest=dest, output_name=output_name)
    if not copied:
        common.fail(f"job {name!r} has nothing to download yet")
    for item in copied:
        typer.echo(str(dest / item))


@common.command(app)
def archive(
    name: NameOpt,
    restore: Annotated[bool, typer.Option("--restore", help="Bring an archived job back.")] = False,
    *,
    workspace: str,
) -> None:
    """Archive a finished job (hidden from lists unless --include-archived)."""
    from backend.services import jobs

    common.in_workspace(workspace, jobs.restore_job if restore else jobs.archive_job, name=name)
    typer.echo(f"{'restored' if restore else 'archived'} job {name}")
