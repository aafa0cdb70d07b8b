"""A sweep's next trial, made ready while the others run, so a free slot goes on at once.

The sweep controller queues one trial more than ``max_concurrent_trials`` with ``standby`` set. The agent
claims it without compute (a standby holds none), prepares it as any job (code, environment, inputs, its
MLflow run) and starts its wrapper, which waits (``standing_by`` in the job folder). When a trial's process
exits, the agent's same pass releases the standby into the freed slot (``release``: Preparing → Running,
then SIGUSR1 to the wrapper), so what a trial costs between two others is a signal and a process start,
not a preparation.

A cancel reaches a standing-by wrapper as any job's (SIGTERM to its group: it ends without running
anything). A standing-by wrapper whose agent has gone exits by itself; the next agent prepares the trial
again (``requeue``), so no trial runs twice and none waits forever.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from sqlalchemy import update
from sqlmodel import Session, col

from backend.db.models import Job
from backend.errors import StudioError
from backend.statuses import JobStatus

STANDING_BY = "standing_by"  # written by the wrapper once it waits for its release
START_S = 10.0  # a wrapper that has not begun to wait by then has failed to start


def _standing(folder: Path, proc: subprocess.Popen) -> bool:
    """Wait until the wrapper waits for its go signal; False when it ended or took over ``START_S``."""
    deadline = time.monotonic() + START_S
    while not (folder / STANDING_BY).exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


def wait_until_standing(job_id: int, folder: Path, proc: subprocess.Popen) -> bool:
    """Once the wrapper waits, record it on the (still Preparing) row; False when canceled meanwhile."""
    from backend.db import session_scope

    if not _standing(folder, proc):
        _kill(proc)
        raise StudioError("the job's wrapper did not start")
    with session_scope() as s:
        recorded = s.exec(
            update(Job)
            .where(col(Job.id) == job_id, col(Job.status) == JobStatus.PREPARING)
            .values(wrapper_pid=proc.pid)
        ).rowcount
    if not recorded:
        _kill(proc)
        return False
    return True


def go(folder: Path, proc: subprocess.Popen) -> None:
    """The go signal for a job held until its start was recorded (a shared database): once its wrapper
    waits (it blocks the signal from then on), or never when the wrapper ended first."""
    if _standing(folder, proc):  # (if not, the next pass finds it gone, or waiting and signals again)
        signal_release(folder, proc.pid)


def is_standing_by(folder: Path) -> bool:
    return (folder / STANDING_BY).exists() and not (folder / "started_at").exists()


def release(session: Session, job: Job, folder: Path) -> bool:
    """Preparing → Running for a standing-by job, then its go signal (after the caller commits: call
    ``signal_release``). False when it is not standing by (canceled, not ready yet, gone)."""
    from backend.services.jobs import transition

    if not (job.standby and job.status == JobStatus.PREPARING and job.wrapper_pid):
        return False
    if not is_standing_by(folder):
        return False
    return transition(
        session=session,
        job_id=job.id,
        from_statuses=(JobStatus.PREPARING,),
        to_status=JobStatus.RUNNING,
        standby=False,
    )


def requeue_unstarted(session: Session, job_id: int, **fields) -> bool:
    """A Running job whose wrapper never started its command (its agent went before the go signal):
    queued again, a sweep's trial as its next standby (the sweep releases it), any other job as it was."""
    job = session.get(Job, job_id)
    parent = session.get(Job, job.parent_id) if job and job.parent_id else None
    trial = parent is not None and parent.type == "sweep"
    return requeue(session, job_id, from_status=JobStatus.RUNNING, standby=trial, **fields)


def signal_release(folder: Path, pid: int) -> None:
    """The go signal: SIGUSR1 to the wrapper (a repeat, once the command runs, is ignored)."""
    if (folder / STANDING_BY).exists():
        try:
            os.kill(pid, signal.SIGUSR1)
        except ProcessLookupError:
            pass  # gone: the agent's next pass finds the job's process missing


def requeue(
    session: Session,
    job_id: int,
    from_status: JobStatus = JobStatus.PREPARING,
    standby: bool = True,
    **fields,
) -> bool:
    """A job whose wrapper has gone before its command started (a standby, or a job released whose agent
    then went): queue it to be prepared again (``standby``: as a sweep's next trial, or as any job)."""
    from backend.services.jobs import transition

    return transition(
        session=session,
        job_id=job_id,
        from_statuses=(from_status,),
        to_status=JobStatus.QUEUED,
        agent_id=None,
        wrapper_pid=None,
        standby=standby,
        **fields,
    )


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
