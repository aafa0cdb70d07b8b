"""SQLModel tables. Services turn rows into the public models of ``backend.services``; rows never leave them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def _json_dict() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Workspace(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=64)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    tags: dict[str, str] = _json_dict()
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Datastore(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=255)
    type: str = Field(max_length=32)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    tags: dict[str, str] = _json_dict()
    # Non-secret connection settings (folder, account, container, endpoint, protocol).
    config: dict[str, Any] = _json_dict()
    credential_type: str = Field(default="none", max_length=32)
    # Fernet token of the credential; never decrypted outside backend.storage.
    secret: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    is_default: bool = False
    built_in: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
