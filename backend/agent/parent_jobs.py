"""What the sweep and pipeline controllers share about their parent job's life: its MLflow run is created
(over HTTP, holding no transaction) before the job is marked Running, and ended before it is settled."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from backend.db import session_scope
from backend.db.models import utcnow
from backend.services import jobs
from backend.statuses import JobStatus

log = logging.getLogger("studio.agent")


@dataclass
class ParentSnapshot:
    """What a controller's pass reads of its sweep or pipeline: plain data, read in one transaction."""

    id: int
    name: str
    workspace: str
    status: str
    state: dict[str, Any]


def start(job_id: int, *, experiment: str, run_name: str, tags: dict[str, str]) -> bool:
    """Create the job's MLflow run, then move it Queued -> Running; False when it was canceled meanwhile
    (its run then ends as canceled)."""
    from backend.agent import tracking

    run_id, exp_id = tracking.create_run(experiment=experiment, run_name=run_name, tags=tags)
    with session_scope() as s:
        started = jobs.transition(
            session=s,
            job_id=job_id,
            from_statuses=(JobStatus.QUEUED,),
            to_status=JobStatus.RUNNING,
            start_time=utcnow(),
            mlflow_run_id=run_id,
            mlflow_experiment_id=exp_id,
        )
    if not started:
        end_run(run_id, JobStatus.CANCELED)
    return started


def end_run(run_id: str | None, status: str) -> None:
    """End the parent's MLflow run as ``status`` says; a tracking server that does not answer is logged."""
    from backend.agent import tracking

    if not run_id:
        return
    try:
        tracking.end_run(run_id, status)
    except Exception as exc:
        log.warning("cannot end the MLflow run %s: %s", run_id, exc)


def settle(job_id: int, status: str, **fields: Any) -> bool:
    """End a running (or cancel-requested) sweep or pipeline with ``status`` and ``fields``; False when
    it was no longer running (another agent, or a cancel, settled it first)."""
    with session_scope() as s:
        return jobs.transition(
            session=s,
            job_id=job_id,
            from_statuses=(JobStatus.RUNNING, JobStatus.CANCEL_REQUESTED),
            to_status=status,
            end_time=utcnow(),
            **fields,
        )
