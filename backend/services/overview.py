"""A workspace at a glance: how many of each asset kind, and what happened lately."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import and_, distinct, func, true
from sqlmodel import Session, select

from backend.db.models import Component, Compute, DataAsset, Datastore, Environment, Job
from backend.services.lookup import get_workspace_row

RECENT_LIMIT = 15


class Activity(BaseModel):
    when: datetime
    kind: str
    name: str
    what: str


class Overview(BaseModel):
    workspace: str
    counts: dict[str, int]
    recent: list[Activity]


def _tracked_kinds():
    """(label, table, what to count, how to name a row, which rows) for every kind the overview counts.

    Versioned assets count names, not versions.
    """
    return [
        ("jobs", Job, Job.id, Job.name, Job.parent_id.is_(None)),
        (
            "data assets",
            DataAsset,
            distinct(DataAsset.name),
            DataAsset.name + ":" + DataAsset.version,
            true(),
        ),
        ("datastores", Datastore, Datastore.id, Datastore.name, true()),
        (
            "environments",
            Environment,
            distinct(Environment.name),
            Environment.name + ":" + Environment.version,
            true(),
        ),
        (
            "components",
            Component,
            distinct(Component.name),
            Component.name + ":" + Component.version,
            Component.anonymous.is_(False),
        ),
        ("computes", Compute, Compute.id, Compute.name, true()),
    ]


def workspace_overview(*, session: Session, workspace: str) -> Overview:
    ws = get_workspace_row(session=session, name=workspace)
    counts: dict[str, int] = {}
    recent: list[Activity] = []
    for label, table, counted, name_col, condition in _tracked_kinds():
        in_ws = and_(table.workspace_id == ws.id, condition)
        counts[label] = session.exec(select(func.count(counted)).where(in_ws)).one()
        rows = session.exec(
            select(name_col, table.created_at)
            .where(in_ws)
            .order_by(table.created_at.desc())
            .limit(RECENT_LIMIT)
        ).all()
        recent += [
            Activity(when=when, kind=label.removesuffix("s"), name=name, what="created")
            for name, when in rows
        ]
    recent.sort(key=lambda a: a.when, reverse=True)
    return Overview(workspace=workspace, counts=counts, recent=recent[:RECENT_LIMIT])
