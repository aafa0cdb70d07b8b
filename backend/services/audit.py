"""The audit log: every change a signed-in user made (``backend.identity``, recorded by ``backend.db``),
newest first, filtered and paged in the database."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import Session, col, select

from backend.db.models import AuditEvent, Workspace
from backend.services.paging import PageWindow, check_page

ACTIONS = ("created", "changed", "deleted")


class AuditRecord(BaseModel):
    at: datetime
    user: str
    role: str
    action: str
    kind: str
    name: str
    workspace: str | None
    detail: str


class AuditPage(PageWindow):
    events: list[AuditRecord]
    users: list[str]  # every user in the log (for the filter)
    kinds: list[str]

    @property
    def shown(self) -> int:
        return len(self.events)


def page_events(
    *,
    session: Session,
    user: str | None = None,
    kind: str | None = None,
    action: str | None = None,
    workspace: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> AuditPage:
    check_page("newest", offset, limit, ["newest"])
    names = {w.id: w.name for w in session.exec(select(Workspace)).all()}
    where = []
    if user:
        where.append(col(AuditEvent.user) == user)
    if kind:
        where.append(col(AuditEvent.kind) == kind)
    if action:
        where.append(col(AuditEvent.action) == action)
    if workspace:
        ids = [i for i, n in names.items() if n == workspace]
        where.append(col(AuditEvent.workspace_id).in_(ids or [-1]))
    total = session.exec(select(func.count()).select_from(AuditEvent).where(*where)).one()
    rows = session.exec(
        select(AuditEvent)
        .where(*where)
        .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return AuditPage(
        events=[
            AuditRecord(
                at=r.at,
                user=r.user,
                role=r.role,
                action=r.action,
                kind=r.kind,
                name=r.name,
                workspace=names.get(r.workspace_id) if r.workspace_id is not None else None,
                detail=r.detail,
            )
            for r in rows
        ],
        total=int(total),
        offset=offset,
        limit=limit,
        users=list(session.exec(select(AuditEvent.user).distinct().order_by(AuditEvent.user)).all()),
        kinds=list(session.exec(select(AuditEvent.kind).distinct().order_by(AuditEvent.kind)).all()),
    )
