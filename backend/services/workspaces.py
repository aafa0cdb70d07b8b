"""Workspaces: the top-level container every other object belongs to."""

from __future__ import annotations

import re
import shutil
from datetime import datetime

from pydantic import BaseModel, Field
from sqlmodel import Session, select

from backend.db.models import Workspace
from backend.errors import ConflictError, ValidationError
from backend.services.assets import update_metadata
from backend.services.lookup import DEFAULT_WORKSPACE, get_workspace_row, workspace_root
from backend.specs.job import check_tags

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,32}$")
NAME_RULE = "3 to 33 characters: letters, digits, '-' and '_', starting with a letter or digit"


class WorkspaceCreate(BaseModel):
    name: str
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)


class WorkspaceUpdate(BaseModel):
    description: str | None = None
    tags: dict[str, str] | None = None


class WorkspacePublic(BaseModel):
    name: str
    description: str
    tags: dict[str, str]
    created_at: datetime
    updated_at: datetime
    storage_root: str


def validate_name(name: str) -> str:
    if not NAME_PATTERN.match(name or ""):
        raise ValidationError(f"workspace name {name!r} is not valid: use {NAME_RULE}")
    return name


def _public(row: Workspace) -> WorkspacePublic:
    return WorkspacePublic(
        name=row.name,
        description=row.description,
        tags=dict(row.tags or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
        storage_root=str(workspace_root(row.name)),
    )


def create_workspace(*, session: Session, data: WorkspaceCreate) -> WorkspacePublic:
    """Create a workspace with its four built-in datastores (folders under its storage root)."""
    from backend.services.datastores import create_builtin_datastores

    validate_name(data.name)
    if session.exec(select(Workspace).where(Workspace.name == data.name)).first():
        raise ConflictError(f"workspace {data.name!r} already exists")
    check_tags(data.tags)
    row = Workspace(name=data.name, description=data.description, tags=dict(data.tags))
    session.add(row)
    session.flush()
    create_builtin_datastores(session=session, workspace=row)
    return _public(row)


def ensure_default_workspace(*, session: Session) -> None:
    if not session.exec(select(Workspace).where(Workspace.name == DEFAULT_WORKSPACE)).first():
        create_workspace(
            session=session,
            data=WorkspaceCreate(name=DEFAULT_WORKSPACE, description="Created on first start."),
        )


def list_workspaces(*, session: Session) -> list[WorkspacePublic]:
    return [_public(r) for r in session.exec(select(Workspace).order_by(Workspace.name)).all()]


def get_workspace(*, session: Session, name: str) -> WorkspacePublic:
    return _public(get_workspace_row(session=session, name=name))


def update_workspace(*, session: Session, name: str, data: WorkspaceUpdate) -> WorkspacePublic:
    row = get_workspace_row(session=session, name=name)
    update_metadata(session, row, description=data.description, tags=data.tags)
    return _public(row)


def running_work(*, session: Session, name: str) -> list[str]:
    """What runs in a workspace now (jobs not yet ended, started compute instances)."""
    from backend.services.activity import running_work_in

    row = get_workspace_row(session=session, name=name)
    return running_work_in(session=session, workspace_id=row.id)


def delete_workspace(*, session: Session, name: str, confirm: str | None) -> None:
    """Delete a workspace and its storage; ``confirm`` must repeat its name."""
    row = get_workspace_row(session=session, name=name)
    if name == DEFAULT_WORKSPACE:
        raise ValidationError("the 'default' workspace cannot be deleted")
    if confirm != name:
        raise ValidationError(f"to delete workspace {name!r}, confirm by repeating its name")
    busy = running_work(session=session, name=name)
    if busy:
        raise ConflictError(
            f"workspace {name!r} has work running ({', '.join(busy[:5])}); cancel or stop it first"
        )
    session.delete(row)
    session.flush()
    shutil.rmtree(workspace_root(name), ignore_errors=True)
