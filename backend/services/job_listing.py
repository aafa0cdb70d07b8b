"""The Jobs list at any size: one page of jobs, the true total and the count per status, all from SQL.

Filtering (statuses, experiment, a text search over name, display name and experiment), sorting and paging
happen in the database (WHERE / ORDER BY / LIMIT / OFFSET, COUNT, GROUP BY), so a page costs the same with
100 jobs or 100,000. Every order ends on the job's id, so pages are stable: paging through a list that
does not change meets every job exactly once. Indexes: ``ix_job_listing`` and ``ix_job_listing_status``
(migration 0009).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend.db.models import Job
from backend.errors import ValidationError
from backend.services.jobs import JobPublic, _public
from backend.services.lookup import get_job_row, get_workspace_row
from backend.services.paging import MAX_PAGE_SIZE, PageWindow, check_page
from backend.statuses import ACTIVE, JobStatus

PAGE_SIZES = (25, 50, 100, 200, 500)
# sort name -> (label, ORDER BY columns); the id breaks ties so that paging is stable.
SORTS: dict[str, tuple[str, tuple[Any, ...]]] = {
    "newest": ("Newest first", (col(Job.created_at).desc(), col(Job.id).desc())),
    "oldest": ("Oldest first", (col(Job.created_at).asc(), col(Job.id).asc())),
    "name": ("Name A-Z", (col(Job.name).asc(), col(Job.id).asc())),
    "name_desc": ("Name Z-A", (col(Job.name).desc(), col(Job.id).desc())),
    "status": (
        "Status, newest first",
        (col(Job.status).asc(), col(Job.created_at).desc(), col(Job.id).desc()),
    ),
    "experiment": (
        "Experiment, newest first",
        (col(Job.experiment_name).asc(), col(Job.created_at).desc(), col(Job.id).desc()),
    ),
}


class JobPage(PageWindow):
    """One page of a filtered, sorted list of jobs, with the figures of the whole list."""

    jobs: list[JobPublic]
    sort: str
    status_counts: dict[str, int]  # jobs per status that match the other filters (statuses not applied)

    @property
    def active(self) -> int:
        """Active jobs among the ``total`` (from the counts, not from this page)."""
        return sum(n for status, n in self.status_counts.items() if status in ACTIVE)

    @property
    def shown(self) -> int:
        return len(self.jobs)


def _check(statuses: list[str] | None, sort: str, offset: int, limit: int) -> None:
    check_page(sort, offset, limit, SORTS)
    unknown = [s for s in statuses or [] if s not in set(JobStatus)]
    if unknown:
        raise ValidationError(
            f"status: {', '.join(map(repr, unknown))} is not a job status (use: {', '.join(JobStatus)})"
        )


def page_jobs(
    *,
    session: Session,
    workspace: str,
    statuses: list[str] | None = None,
    experiment: str | None = None,
    search: str | None = None,
    include_archived: bool = False,
    include_children: bool = False,
    parent: str | None = None,
    types: list[str] | None = None,
    sort: str = "newest",
    offset: int = 0,
    limit: int = 50,
) -> JobPage:
    """Jobs ``offset`` to ``offset + limit`` of the list the filters describe (children of sweeps and
    pipelines only when asked, or for one ``parent``; of the given ``types`` only: ``["sweep"]``), the total
    and the counts per status."""
    _check(statuses, sort, offset, limit)
    ws = get_workspace_row(session=session, name=workspace)
    where: list[Any] = [col(Job.workspace_id) == ws.id]
    parent_name = None
    if parent:
        parent_row = get_job_row(session=session, workspace=workspace, name=parent)
        where.append(col(Job.parent_id) == parent_row.id)
        parent_name = parent_row.name
    elif not include_children:
        where.append(col(Job.parent_id).is_(None))
    if not include_archived:
        where.append(col(Job.archived).is_(False))
    if experiment:
        where.append(col(Job.experiment_name) == experiment)
    if types:
        where.append(col(Job.type).in_(types))
    text = (search or "").strip()
    if text:
        where.append(
            col(Job.name).icontains(text, autoescape=True)
            | col(Job.display_name).icontains(text, autoescape=True)
            | col(Job.experiment_name).icontains(text, autoescape=True)
        )
    counts = {
        status: int(n)
        for status, n in session.exec(
            select(Job.status, func.count()).where(*where).group_by(Job.status)
        ).all()
    }
    if statuses:
        where.append(col(Job.status).in_(statuses))
        total = sum(n for status, n in counts.items() if status in statuses)
    else:
        total = sum(counts.values())
    rows = []
    if offset < total:
        rows = session.exec(
            select(Job).where(*where).order_by(*SORTS[sort][1]).offset(offset).limit(limit)
        ).all()
    return JobPage(
        jobs=[_public(r, parent_name) for r in rows],
        total=total,
        offset=offset,
        limit=limit,
        sort=sort,
        status_counts=counts,
    )


def all_jobs(
    *, session: Session, workspace: str, chunk: int = MAX_PAGE_SIZE, **filters: Any
) -> list[JobPublic]:
    """Every job the filters of ``page_jobs`` describe (newest first), read a page at a time: for views
    that need them all (comparing every run of an experiment), with no cap."""
    found: list[JobPublic] = []
    while True:
        page = page_jobs(session=session, workspace=workspace, offset=len(found), limit=chunk, **filters)
        found += page.jobs
        if not page.jobs or len(found) >= page.total:
            return found
