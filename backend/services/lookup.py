"""The rows every service looks up by name: a workspace, a job, a workspace's named record. A leaf: it
imports no other service."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from sqlmodel import Session, select

from backend.db.models import Job, Workspace
from backend.errors import NotFoundError
from backend.settings import get_settings

DEFAULT_WORKSPACE = "default"
Row = TypeVar("Row")


def workspace_root(name: str) -> Path:
    """The folder that holds a workspace's files (its built-in datastores)."""
    return get_settings().workspaces_root / name


def get_workspace_row(*, session: Session, name: str) -> Workspace:
    row = session.exec(select(Workspace).where(Workspace.name == name)).first()
    if row is None:
        known = ", ".join(session.exec(select(Workspace.name).order_by(Workspace.name)).all())
        raise NotFoundError(f"workspace {name!r} does not exist (workspaces: {known or 'none'})")
    return row


def get_job_row(*, session: Session, workspace: str, name: str) -> Job:
    ws = get_workspace_row(session=session, name=workspace)
    row = session.exec(select(Job).where(Job.workspace_id == ws.id, Job.name == name)).first()
    if row is None:
        raise NotFoundError(f"job {name!r} does not exist in workspace {workspace!r}")
    return row


def get_named_row(*, session: Session, table: type[Row], workspace: str, name: str, what: str) -> Row:
    """The row of ``table`` (a table with ``workspace_id`` and ``name``) named ``name`` in ``workspace``;
    NotFoundError names ``what`` it is."""
    ws = get_workspace_row(session=session, name=workspace)
    model: Any = table
    row = session.exec(select(model).where(model.workspace_id == ws.id, model.name == name)).first()
    if row is None:
        raise NotFoundError(f"no {what} named {name!r} in workspace {workspace!r}")
    return row
