"""Statuses of jobs and environment builds, shared by every module (SPEC section 7).

They are ``StrEnum``s: a member equals its text (``JobStatus.QUEUED == "Queued"``), so rows, JSON and
query parameters keep plain strings while code names them once.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    """A job's status, in the order a job passes them; it ends in one of ``TERMINAL``."""

    NOT_STARTED = "NotStarted"
    QUEUED = "Queued"
    PREPARING = "Preparing"
    RUNNING = "Running"
    FINALIZING = "Finalizing"
    CANCEL_REQUESTED = "CancelRequested"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELED = "Canceled"


class BuildStatus(StrEnum):
    """An environment build's state, in the order a build goes through them."""

    NOT_STARTED = "NotStarted"
    QUEUED = "Queued"
    BUILDING = "Building"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


ACTIVE: tuple[JobStatus, ...] = (
    JobStatus.NOT_STARTED,
    JobStatus.QUEUED,
    JobStatus.PREPARING,
    JobStatus.RUNNING,
    JobStatus.FINALIZING,
    JobStatus.CANCEL_REQUESTED,
)
TERMINAL: tuple[JobStatus, ...] = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED)
# A job holds its compute's nodes from its claim until its process ends (finalizing needs none).
USES_COMPUTE: tuple[JobStatus, ...] = (JobStatus.PREPARING, JobStatus.RUNNING, JobStatus.CANCEL_REQUESTED)
