"""SQLModel tables. Services turn rows into the public models of ``backend.services``; rows never leave them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlalchemy import false as sa_false
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
    type: str = Field(max_length=32)  # computeinstance | amlcompute | ray
    address: str | None = Field(default=None, max_length=1024)  # ray: its Jobs API or Client address
    size: str = Field(default="", max_length=64)
    cores: float = 1.0
    memory_gb: float = 1.0
    min_instances: int = 0
    max_instances: int = 1
    idle_time_before_scale_down: int = 120
    idle_shutdown_minutes: int | None = None  # computeinstance: stops itself after this long idle
    # computeinstance: Running | Stopped; amlcompute: Succeeded (ready to scale)
    state: str = Field(default="Running", max_length=32)
    current_nodes: int = 0
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    tags: dict[str, str] = _json_dict()
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Job(SQLModel, table=True):
    """A command, sweep or pipeline job. Children (trials, steps) point at their parent."""

    __table_args__ = (
        UniqueConstraint("workspace_id", "name"),
        # The paged Jobs list (migration 0009): newest first, or by status (and its GROUP BY counts).
        Index("ix_job_listing", "workspace_id", "archived", "parent_id", "created_at", "id"),
        Index("ix_job_listing_status", "workspace_id", "archived", "parent_id", "status", "created_at"),
    )

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
    # A sweep's next trial, prepared while the others run: its wrapper waits, and its command starts when
    # the sweep releases it into a free slot (it holds no compute until then; migration 0010).
    standby: bool = Field(default=False, sa_column_kwargs={"server_default": sa_false()})
    archived: bool = False
    # Free-form state of controllers (sweep sampler, pipeline steps) and of policies that ended a job.
    state: dict[str, Any] = _json_dict()
    # [[status, iso time], ...]: every status change, for the timeline and the launch benchmark.
    history: list[list[str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, index=True)
    start_time: datetime | None = None  # the user's command started
    end_time: datetime | None = None


class AgentRecord(SQLModel, table=True):
    """An agent process that serves this studio database: its heartbeat tells the others it is alive
    (several agents, on one machine or several, share a PostgreSQL database; migration 0011)."""

    __tablename__ = "agent"

    id: str = Field(primary_key=True, max_length=64)  # host:pid:random, as in Job.agent_id
    name: str = Field(max_length=255, index=True)
    host: str = Field(max_length=255)
    pid: int
    computes: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))  # None: all
    started_at: datetime = Field(default_factory=utcnow)
    heartbeat_at: datetime = Field(default_factory=utcnow)
    stopped_at: datetime | None = None


class AuditEvent(SQLModel, table=True):
    """One change a signed-in user made (team mode, ``backend.identity``): who, when, what (migration 0013)."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    user: str = Field(max_length=255, index=True)
    role: str = Field(max_length=32)
    action: str = Field(max_length=16)  # created | changed | deleted
    kind: str = Field(max_length=64, index=True)  # a table name, or "model" / "members"
    name: str = Field(default="", max_length=255)
    workspace_id: int | None = Field(default=None, index=True)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class ApiToken(SQLModel, table=True):
    """A personal token for the CLI and the SDK: only its hash is kept (migration 0013)."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user: str = Field(max_length=255, index=True)
    name: str = Field(max_length=255)
    digest: str = Field(max_length=128, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked: bool = False


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


class OnlineEndpoint(SQLModel, table=True):
    """An online endpoint. Its name is unique in the studio (not only in its workspace): the scoring URL
    ``/endpoints/<name>/score`` carries no workspace, as a cloud region's endpoint names do not."""

    __tablename__ = "online_endpoint"

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=64, unique=True, index=True)
    kind: str = Field(default="managed", max_length=32)  # managed | kubernetes
    auth_mode: str = Field(default="key", max_length=32)  # key | aml_token
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    tags: dict[str, str] = _json_dict()
    traffic: dict[str, int] = _json_dict()
    mirror_traffic: dict[str, int] = _json_dict()
    compute: str | None = Field(default=None, max_length=255)  # kubernetes: the attached cluster
    # Cloud fields recorded as given (identity, public_network_access, properties, location).
    details: dict[str, Any] = _json_dict()
    # Fernet tokens of the two keys; decrypted only by ``get_keys``.
    primary_key: str = Field(sa_column=Column(Text, nullable=False))
    secondary_key: str = Field(sa_column=Column(Text, nullable=False))
    provisioning_state: str = Field(default="Creating", max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class OnlineDeployment(SQLModel, table=True):
    """A deployment of an online endpoint: ``instance_count`` scoring processes of one model."""

    __tablename__ = "online_deployment"
    __table_args__ = (UniqueConstraint("endpoint_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: int = Field(foreign_key="online_endpoint.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=64)
    kind: str = Field(default="managed", max_length=32)  # managed | kubernetes
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    tags: dict[str, str] = _json_dict()
    # The model as given (``azureml:name:version``), or an inline one's uploaded path (``azureml://...``).
    model: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    model_type: str | None = Field(default=None, max_length=32)  # an inline model's type, when given
    code_uri: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # the code snapshot
    scoring_script: str | None = Field(default=None, max_length=1024)
    # {"reference", "python", "spec_hash", "reason"}: the environment resolved as a job's is.
    environment: dict[str, Any] = _json_dict()
    instance_type: str | None = Field(default=None, max_length=128)
    instance_count: int = 1
    request_settings: dict[str, int] = _json_dict()
    environment_variables: dict[str, str] = _json_dict()
    # The validated spec with local paths replaced by their uploads (probes, scale settings, ...).
    spec: dict[str, Any] = _json_dict()
    provisioning_state: str = Field(default="Creating", max_length=32)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Bumped on every update: the supervisor replaces processes whose generation is older.
    generation: int = 1
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class RaiInsight(SQLModel, table=True):
    """A Responsible AI analysis of one model version on data: insights (the dashboard) or a mitigation.
    Its numbers live in the artifact its job wrote (``artifact``, a datastore URI); the row links them to
    the model version, the data and the job, and keeps the cohorts people saved for it."""

    __tablename__ = "rai_insight"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=255)
    kind: str = Field(default="insights", max_length=32)  # insights | mitigation
    title: str = Field(default="", max_length=255)
    model_name: str = Field(max_length=255, index=True)
    model_version: str = Field(max_length=64)
    test_data: str = Field(sa_column=Column(Text, nullable=False))  # name:version or a URI
    train_data: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    task_type: str = Field(default="classification", max_length=32)
    target_column: str = Field(max_length=255)
    config: dict[str, Any] = _json_dict()  # what was asked: features, parts and their settings
    job_name: str = Field(max_length=255, index=True)
    artifact: str = Field(sa_column=Column(Text, nullable=False))  # the job output holding the files
    cohorts: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class ModelReview(SQLModel, table=True):
    """A Responsible AI review of a model version: who decided what, when, and on which insights."""

    __tablename__ = "model_review"

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    model_name: str = Field(max_length=255, index=True)
    model_version: str = Field(max_length=64)
    reviewer: str = Field(max_length=255)
    decision: str = Field(max_length=32)  # approved | approved_with_conditions | rejected | needs_work
    notes: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    insight: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow)


class Connection(SQLModel, table=True):
    """A language model benchmarks call: a local GGUF (llama_cpp), an OpenAI-style API, or a Studio online
    endpoint. Not versioned: like the cloud's workspace connections, a name is updated in place."""

    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=255)
    type: str = Field(max_length=32)  # llama_cpp | openai | online_endpoint
    target: str = Field(sa_column=Column(Text, nullable=False))  # URL, endpoint name, GGUF path or package
    model: str | None = Field(default=None, max_length=255)
    # Fernet token of the API key; read only through services.connections.connection_secret.
    api_key: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    price_per_1k_input_tokens: float = 0.0
    price_per_1k_output_tokens: float = 0.0
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    tags: dict[str, str] = _json_dict()
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class BenchmarkRun(SQLModel, table=True):
    """A model benchmark: which models, which dataset, the job that runs it and where its results are."""

    __tablename__ = "benchmark_run"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=255)
    kind: str = Field(default="llm", max_length=32)  # llm | tabular
    dataset: str = Field(sa_column=Column(Text, nullable=False))  # name:version
    models: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    judge: str | None = Field(default=None, max_length=255)
    metrics: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    config: dict[str, Any] = _json_dict()  # what the job was given (no secrets)
    job_name: str = Field(max_length=255, index=True)
    artifact: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
