"""Runs in a comparison: jobs (by name, or every job of an experiment) next to their MLflow runs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Session

from backend.errors import NotFoundError, ValidationError
from backend.services import job_listing, jobs
from backend.services.runs import RunInfo, get_runs


class JobRun(BaseModel):
    """A job next to its MLflow run (``run`` is None before the job has started)."""

    job: str
    display_name: str
    status: str
    experiment: str
    created_at: datetime
    duration_s: float | None
    run_id: str | None
    run: RunInfo | None


def runs_for_jobs(
    *, session: Session, workspace: str, names: Iterable[str] | None = None, experiment: str | None = None
) -> list[JobRun]:
    """Jobs (by name, or every job of an experiment, children included) with their runs, in one batch."""
    if names is not None:  # names that do not exist (any more) are left out; the caller can tell
        found = []
        for name in dict.fromkeys(names):
            try:
                found.append(jobs.get_job(session=session, workspace=workspace, name=name))
            except NotFoundError:
                continue
    elif experiment:
        found = job_listing.all_jobs(  # every job of the experiment: no cap
            session=session, workspace=workspace, experiment=experiment, include_children=True
        )
        if not found:
            known = ", ".join(jobs.list_experiments(session=session, workspace=workspace)) or "none"
            raise NotFoundError(
                f"experiment {experiment!r} has no jobs in workspace {workspace!r} (experiments: {known})"
            )
    else:
        raise ValidationError("name the jobs to compare, or an experiment")
    with_runs = [j for j in found if j.mlflow_run_id]
    runs = (
        get_runs(
            run_ids=[j.mlflow_run_id for j in with_runs],
            experiment_ids=[j.mlflow_experiment_id for j in with_runs if j.mlflow_experiment_id],
        )
        if with_runs
        else {}
    )
    return [
        JobRun(
            job=j.name,
            display_name=j.display_name,
            status=j.status,
            experiment=j.experiment_name,
            created_at=j.created_at,
            duration_s=j.duration_s,
            run_id=j.mlflow_run_id,
            run=runs.get(j.mlflow_run_id or ""),
        )
        for j in found
    ]
