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


class DataAsset(SQLModel, table=True):
    """One version of a data asset (``uri_file``, ``uri_folder`` or ``mltable``)."""

    __tablename__ = "data_asset"
    __table_args__ = (UniqueConstraint("workspace_id", "name", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=255, index=True)
    version: str = Field(max_length=64)
    type: str = Field(max_length=32)
    # Where the data lives: azureml://datastores/<ds>/paths/<p>, https://..., or an fsspec URL.
    path: str = Field(sa_column=Column(Text, nullable=False))
    # What the user gave (a local path, a URL) before it was uploaded or resolved.
    source: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    tags: dict[str, str] = _json_dict()
    size_bytes: int | None = None
    archived: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class Environment(SQLModel, table=True):
    """One version of an environment. ``spec_hash`` is null when it resolves to the built-in one."""

    __table_args__ = (UniqueConstraint("workspace_id", "name", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=255, index=True)
    version: str = Field(max_length=64)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    tags: dict[str, str] = _json_dict()
    image: str | None = Field(default=None, max_length=512)
    conda_file: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    pip_requirements: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    python_version: str | None = Field(default=None, max_length=32)
    spec_hash: str | None = Field(default=None, max_length=64, index=True)
    # Cloud fields recorded as given (build context, os_type, inference_config, ...); not used to run.
    details: dict[str, Any] = _json_dict()
    archived: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class EnvironmentBuild(SQLModel, table=True):
    """A virtual environment built with uv, shared by every environment with the same spec hash."""

    __tablename__ = "environment_build"

    id: int | None = Field(default=None, primary_key=True)
    spec_hash: str = Field(max_length=64, unique=True, index=True)
    status: str = Field(default="NotStarted", max_length=32)
    python_version: str | None = Field(default=None, max_length=32)
    venv_path: str = Field(sa_column=Column(Text, nullable=False))
    log_path: str = Field(sa_column=Column(Text, nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    requested_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None


class Compute(SQLModel, table=True):
    """A compute target: an instance (one node) or a cluster of slots on this machine."""

    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=255)
    type: str = Field(max_length=32)  # computeinstance | amlcompute
    size: str = Field(default="", max_length=64)
    cores: float = 1.0
    memory_gb: float = 1.0
    min_instances: int = 0
    max_instances: int = 1
    idle_time_before_scale_down: int = 120
    # computeinstance: Running | Stopped; amlcompute: Succeeded (ready to scale)
    state: str = Field(default="Running", max_length=32)
    current_nodes: int = 0
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    tags: dict[str, str] = _json_dict()
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Job(SQLModel, table=True):
    """A command, sweep or pipeline job. Children (trials, steps) point at their parent."""

    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=255)
    type: str = Field(default="command", max_length=32)
    display_name: str = Field(default="", max_length=255)
    experiment_name: str = Field(default="Default", max_length=255, index=True)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    tags: dict[str, str] = _json_dict()
    status: str = Field(default="NotStarted", max_length=32, index=True)
    # The validated, resolved spec the agent runs (command, inputs, outputs, environment, ...).
    spec: dict[str, Any] = _json_dict()
    compute: str = Field(default="serverless", max_length=255)
    instance_count: int = 1
    parent_id: int | None = Field(default=None, foreign_key="job.id", index=True, ondelete="CASCADE")
    mlflow_run_id: str | None = Field(default=None, max_length=64)
    mlflow_experiment_id: str | None = Field(default=None, max_length=64)
    agent_id: str | None = Field(default=None, max_length=64)
    wrapper_pid: int | None = None
    exit_code: int | None = None
    failure_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    cancel_requested: bool = False
    archived: bool = False
    # Free-form state of controllers (sweep sampler, pipeline steps) and of policies that ended a job.
    state: dict[str, Any] = _json_dict()
    # [[status, iso time], ...]: every status change, for the timeline and the launch benchmark.
    history: list[list[str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, index=True)
    start_time: datetime | None = None  # the user's command started
    end_time: datetime | None = None


class ComputeNodeEvent(SQLModel, table=True):
    """Nodes in use on a compute over time (cluster scale-up and idle scale-down)."""

    __tablename__ = "compute_node_event"

    id: int | None = Field(default=None, primary_key=True)
    compute_id: int = Field(foreign_key="compute.id", index=True, ondelete="CASCADE")
    at: datetime = Field(default_factory=utcnow)
    nodes: int
    busy: int


class Component(SQLModel, table=True):
    """One version of a command component. Its code is snapshotted when it is registered."""

    __table_args__ = (UniqueConstraint("workspace_id", "name", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=255, index=True)
    version: str = Field(max_length=64)
    display_name: str = Field(default="", max_length=255)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    tags: dict[str, str] = _json_dict()
    # The component YAML as given, with ``code`` replaced by the snapshot's azureml:// URI.
    spec: dict[str, Any] = _json_dict()
    # The YAML text as the user wrote it, shown on the component's page.
    source_yaml: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    content_hash: str = Field(max_length=64, index=True)
    is_deterministic: bool = True
    anonymous: bool = False
    archived: bool = False
    created_at: datetime = Field(default_factory=utcnow)
