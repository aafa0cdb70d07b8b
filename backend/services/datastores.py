"""Datastores: named connections to storage. Four built-ins per workspace, plus user ones."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, select

from backend.db.models import Datastore, Workspace

BUILTIN_DATASTORES: dict[str, str] = {
    "workspaceblobstore": "default datastore: uploads, data assets and job outputs",
    "workspaceartifactstore": "job logs, code snapshots, MLflow artifacts",
    "workspaceworkingdirectory": "your notebooks and files",
    "workspacefilestore": "a general file share",
}
DEFAULT_DATASTORE = "workspaceblobstore"


class DatastorePublic(BaseModel):
    name: str
    type: str
    description: str
    tags: dict[str, str]
    is_default: bool
    built_in: bool
    config: dict[str, Any]
    credential_type: str
    secret_set: bool
    created_at: datetime


def builtin_folder(workspace_name: str, datastore_name: str) -> Path:
    from backend.services.workspaces import workspace_root

    return workspace_root(workspace_name) / "datastores" / datastore_name


def public(row: Datastore, workspace_name: str) -> DatastorePublic:
    config = dict(row.config or {})
    if row.built_in:
        config["path"] = str(builtin_folder(workspace_name, row.name))
    return DatastorePublic(
        name=row.name,
        type=row.type,
        description=row.description,
        tags=dict(row.tags or {}),
        is_default=row.is_default,
        built_in=row.built_in,
        config=config,
        credential_type=row.credential_type,
        secret_set=row.secret is not None,
        created_at=row.created_at,
    )


def create_builtin_datastores(*, session: Session, workspace: Workspace) -> None:
    for name, description in BUILTIN_DATASTORES.items():
        builtin_folder(workspace.name, name).mkdir(parents=True, exist_ok=True)
        session.add(
            Datastore(
                workspace_id=workspace.id,
                name=name,
                type="local",
                description=description,
                built_in=True,
                is_default=name == DEFAULT_DATASTORE,
            )
        )
    session.flush()


def list_datastores(*, session: Session, workspace: str) -> list[DatastorePublic]:
    from backend.services.workspaces import get_workspace_row

    ws = get_workspace_row(session=session, name=workspace)
    rows = session.exec(
        select(Datastore).where(Datastore.workspace_id == ws.id).order_by(Datastore.name)
    ).all()
    return [public(r, ws.name) for r in rows]


def get_datastore_row(*, session: Session, workspace: str, name: str) -> tuple[Workspace, Datastore]:
    from backend.services.errors import NotFoundError
    from backend.services.workspaces import get_workspace_row

    ws = get_workspace_row(session=session, name=workspace)
    row = session.exec(
        select(Datastore).where(Datastore.workspace_id == ws.id, Datastore.name == name)
    ).first()
    if row is None:
        known = ", ".join(
            session.exec(
                select(Datastore.name).where(Datastore.workspace_id == ws.id).order_by(Datastore.name)
            )
        )
        raise NotFoundError(
            f"datastore {name!r} does not exist in workspace {workspace!r} (datastores: {known})"
        )
    return ws, row


def get_datastore(*, session: Session, workspace: str, name: str) -> DatastorePublic:
    ws, row = get_datastore_row(session=session, workspace=workspace, name=name)
    return public(row, ws.name)


def default_datastore_name(*, session: Session, workspace: str) -> str:
    from backend.services.workspaces import get_workspace_row

    ws = get_workspace_row(session=session, name=workspace)
    row = session.exec(select(Datastore).where(Datastore.workspace_id == ws.id, Datastore.is_default)).first()
    return row.name if row else DEFAULT_DATASTORE


def get_filesystem(*, session: Session, workspace: str, name: str):
    """The datastore as a ``DatastoreFS`` (paths relative to its root)."""
    from backend.storage import filesystems

    ws, row = get_datastore_row(session=session, workspace=workspace, name=name)
    if row.built_in:
        return filesystems.local_datastore(row.name, builtin_folder(ws.name, row.name))
    return filesystems.for_datastore(row)
