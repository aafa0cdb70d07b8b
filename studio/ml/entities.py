"""Entities shaped like ``azure.ai.ml.entities``: Input, Output, Command (a job), Data, Environment, Compute.

Entities hold what the user wrote and render it as the cloud's YAML mapping (``to_yaml_dict()``), which
the service layer validates and submits exactly like a YAML file. A job's fields live in one dict keyed
by YAML name, so other job types (sweeps, pipelines) and search-space values can reuse the rendering.
Entities returned by the client also carry what the studio knows (status, links, times).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path, PurePath
from typing import Any


class AttrDict(dict):
    """A dict whose keys also read as attributes (``job.outputs.model``, ``job.resources.instance_count``)."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value


def _plain(value: Any) -> Any:
    """Entities and containers as plain YAML data (``None`` kept: an empty output or an unset input)."""
    if hasattr(value, "_to_dict"):
        return value._to_dict()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class _Field:
    """An attribute stored in the owner's ``_fields`` dict under its YAML name."""

    def __init__(self, key: str | None = None):
        self.key = key

    def __set_name__(self, owner: type, name: str) -> None:
        self.key = self.key or name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return obj._fields.get(self.key)

    def __set__(self, obj: Any, value: Any) -> None:
        obj._fields[self.key] = value


class _Entity:
    _fields: dict[str, Any]

    def _to_dict(self) -> dict[str, Any]:
        return {k: _plain(v) for k, v in self._fields.items() if v is not None}

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._to_dict() == other._to_dict()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self._to_dict().items())
        return f"{type(self).__name__}({shown})"


# --- job inputs and outputs --------------------------------------------------------------------------------


class Input(_Entity):
    """A job input: data (``uri_file``, ``uri_folder``, ``mltable``, models) or a typed literal."""

    type = _Field()
    path = _Field()
    mode = _Field()
    default = _Field()
    optional = _Field()
    description = _Field()

    def __init__(
        self,
        *,
        type: str = "uri_folder",
        path: str | PurePath | None = None,
        mode: str | None = None,
        default: Any = None,
        optional: bool | None = None,
        description: str | None = None,
    ):
        self._fields = {
            "type": type,
            "path": path,
            "mode": mode,
            "default": default,
            "optional": optional,
            "description": description,
        }

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any]) -> Input:
        entity = cls()
        entity._fields = {"type": "uri_folder", **data}
        return entity


class Output(_Entity):
    """A job output; ``name`` (and ``version``) register it as a data asset when the job completes."""

    type = _Field()
    path = _Field()
    mode = _Field()
    name = _Field()
    version = _Field()
    description = _Field()

    def __init__(
        self,
        *,
        type: str = "uri_folder",
        path: str | None = None,
        mode: str | None = None,
        name: str | None = None,
        version: str | int | None = None,
        description: str | None = None,
    ):
        self._fields = {
            "type": type,
            "path": path,
            "mode": mode,
            "name": name,
            "version": None if version is None else str(version),
            "description": description,
        }

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any]) -> Output:
        entity = cls()
        entity._fields = {"type": "uri_folder", **data}
        return entity


def _inputs_from_yaml(data: Mapping[str, Any] | None) -> AttrDict:
    return AttrDict(
        {name: Input._from_dict(v) if isinstance(v, Mapping) else v for name, v in (data or {}).items()}
    )


def _outputs_from_yaml(data: Mapping[str, Any] | None) -> AttrDict:
    return AttrDict(
        {name: Output._from_dict(v) if isinstance(v, Mapping) else v for name, v in (data or {}).items()}
    )


class JobService:
    """A link the studio offers for a job (``job.services["Studio"].endpoint``)."""

    def __init__(self, *, endpoint: str, type: str):
        self.endpoint = endpoint
        self.type = type

    def __repr__(self) -> str:
        return f"JobService(type={self.type!r}, endpoint={self.endpoint!r})"


# --- jobs --------------------------------------------------------------------------------------------------


class Job(_Entity):
    """A job: the YAML fields in ``_fields``, plus what the studio reports once it is submitted."""

    type = "job"
    name = _Field()
    display_name = _Field()
    experiment_name = _Field()
    description = _Field()
    tags = _Field()
    properties = _Field()
    compute = _Field()
    inputs = _Field()
    outputs = _Field()

    def __init__(
        self, fields: dict[str, Any] | None = None, *, base_path: Path | None = None, source: str = ""
    ):
        self._fields: dict[str, Any] = dict(fields or {})
        # Relative paths (code, local inputs) resolve against the folder the job was written in.
        self._base_path = base_path or Path.cwd()
        self._source = source or f"{self.type} job"
        self.status: str | None = None
        self.studio_url: str | None = None
        self.creation_context: CreationContext | None = None
        self.start_time: datetime | None = None
        self.end_time: datetime | None = None
        self.failure_reason: str | None = None
        self.mlflow_run_id: str | None = None
        self.parent_job_name: str | None = None
        self._links: dict[str, JobService] = {}

    def to_yaml_dict(self) -> dict[str, Any]:
        """The job as the cloud's YAML mapping (what ``create_or_update`` submits)."""
        data: dict[str, Any] = {"type": self.type}
        for key, value in self._fields.items():
            if value is None or (
                isinstance(value, Mapping) and not value and key not in ("inputs", "outputs")
            ):
                continue
            data[key] = _plain(value)
        return data

    _to_dict = to_yaml_dict

    @property
    def services(self) -> dict[str, Any] | None:
        """The ``services`` given for the job, or for a submitted job its links (``Studio``, ``Tracking``)."""
        return self._fields.get("services") or self._links or None

    @services.setter
    def services(self, value: dict[str, Any] | None) -> None:
        self._fields["services"] = value

    def __repr__(self) -> str:
        shown = {"name": self.name, "type": self.type, "status": self.status}
        return f"{type(self).__name__}(" + ", ".join(f"{k}={v!r}" for k, v in shown.items() if v) + ")"


class CreationContext:
    def __init__(self, *, created_at: datetime, created_by: str = "studio"):
        self.created_at = created_at
        self.created_by = created_by

    def __repr__(self) -> str:
        return f"CreationContext(created_at={self.created_at!r})"


class Command(Job):
    """A command job (what ``command(...)`` builds and ``load_job`` reads from a ``type: command`` file)."""

    type = "command"
    command = _Field()
    code = _Field()
    environment = _Field()
    environment_variables = _Field()
    resources = _Field()
    limits = _Field()
    distribution = _Field()
    identity = _Field()
    queue_settings = _Field()

    @classmethod
    def _from_yaml_dict(cls, data: Mapping[str, Any], *, base_path: Path, source: str) -> Command:
        fields = {k: v for k, v in data.items() if k != "type"}
        fields["inputs"] = _inputs_from_yaml(fields.get("inputs"))
        fields["outputs"] = _outputs_from_yaml(fields.get("outputs"))
        for section in ("resources", "limits"):
            if isinstance(fields.get(section), Mapping):
                fields[section] = AttrDict(fields[section])
        return cls(fields, base_path=base_path, source=source)


def job_from_record(record: Any, *, studio_url: str | None, tracking_uri: str | None) -> Job:
    """A job entity from the service layer's ``JobPublic``."""
    inputs = AttrDict()
    for name, value in (record.inputs or {}).items():
        if value is None or value.get("kind") == "literal":
            inputs[name] = None if value is None else value["value"]
        else:
            path = f"azureml:{value['asset']}" if value.get("asset") else value.get("uri")
            inputs[name] = Input(type=value.get("type", "uri_folder"), path=path, mode=value.get("mode"))
    outputs = AttrDict(
        {
            name: Output(
                type=out.get("type", "uri_folder"),
                path=out.get("uri"),
                mode=out.get("mode"),
                name=out.get("asset_name"),
                version=out.get("asset_version"),
            )
            for name, out in (record.outputs or {}).items()
        }
    )
    fields: dict[str, Any] = {
        "name": record.name,
        "display_name": record.display_name,
        "experiment_name": record.experiment_name,
        "description": record.description,
        "tags": dict(record.tags or {}),
        "compute": record.compute,
        "inputs": inputs,
        "outputs": outputs,
    }
    cls: type[Job] = Command if record.type == "command" else Job
    if cls is Command:
        fields.update(
            command=record.command,
            environment=record.environment,
            resources=AttrDict(instance_count=record.instance_count),
        )
    job = cls(fields, source=f"job {record.name}")
    if cls is Job:
        job.type = record.type  # a sweep or pipeline job listed before the SDK knows its shape
    job.status = record.status
    job.studio_url = studio_url
    job.creation_context = CreationContext(created_at=record.created_at)
    job.start_time = record.start_time
    job.end_time = record.end_time
    job.failure_reason = record.failure_reason
    job.mlflow_run_id = record.mlflow_run_id
    job.parent_job_name = record.parent
    if studio_url:
        job._links["Studio"] = JobService(endpoint=studio_url, type="Studio")
    if tracking_uri:
        job._links["Tracking"] = JobService(endpoint=tracking_uri, type="Tracking")
    return job


# --- assets and compute ------------------------------------------------------------------------------------


class Data(_Entity):
    """A data asset version (``uri_file``, ``uri_folder``, ``mltable``)."""

    name = _Field()
    version = _Field()
    type = _Field()
    path = _Field()
    description = _Field()
    tags = _Field()

    def __init__(
        self,
        *,
        name: str | None = None,
        version: str | int | None = None,
        type: str = "uri_folder",
        path: str | PurePath | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
    ):
        self._fields = {
            "name": name,
            "version": None if version is None else str(version),
            "type": type,
            "path": path,
            "description": description,
            "tags": dict(tags or {}),
        }
        self._base_path = Path.cwd()
        self.latest_version: str | None = None
        self.creation_context: CreationContext | None = None
        self.size_bytes: int | None = None

    @property
    def id(self) -> str | None:
        """The reference a job input takes: ``azureml:<name>:<version>``."""
        return f"azureml:{self.name}:{self.version}" if self.name and self.version else None


def data_from_record(record: Any) -> Data:
    data = Data(
        name=record.name,
        version=record.version,
        type=record.type,
        path=record.path,
        description=record.description,
        tags=record.tags,
    )
    data.latest_version = record.version
    data.creation_context = CreationContext(created_at=record.created_at)
    data.size_bytes = record.size_bytes
    return data


def data_from_summary(summary: Any) -> Data:
    """One line of ``data.list()``: the name and its latest version, like the cloud's container listing."""
    data = Data(name=summary.name, type=summary.type, description=summary.description, tags=summary.tags)
    data.latest_version = summary.latest_version
    data.creation_context = CreationContext(created_at=summary.updated_at)
    return data


class Environment(_Entity):
    """An environment: a registered ``name:version``, or (unnamed) an image and/or conda file for one job."""

    name = _Field()
    version = _Field()
    image = _Field()
    conda_file = _Field()
    description = _Field()
    tags = _Field()

    def __init__(
        self,
        *,
        name: str | None = None,
        version: str | int | None = None,
        image: str | None = None,
        conda_file: str | PurePath | dict | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
    ):
        self._fields = {
            "name": name,
            "version": None if version is None else str(version),
            "image": image,
            "conda_file": conda_file,
            "description": description,
            "tags": dict(tags or {}),
        }
        self.python_version: str | None = None
        self.pip_requirements: list[str] = []
        self.build_status: str | None = None
        self.reason: str | None = None
        self.creation_context: CreationContext | None = None

    @property
    def id(self) -> str | None:
        return f"azureml:{self.name}:{self.version}" if self.name and self.version else None

    def _to_dict(self) -> Any:
        # As a job's ``environment``: a registered one by reference, an unnamed one inline.
        if self.id:
            return self.id
        return {k: _plain(v) for k, v in self._fields.items() if v not in (None, {}) and k != "version"}

    def __repr__(self) -> str:
        shown = {k: v for k, v in self._fields.items() if v not in (None, {})}
        return "Environment(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"


def environment_from_record(record: Any) -> Environment:
    env = Environment(
        name=record.name,
        version=record.version,
        image=record.image,
        conda_file=record.conda_file,
        description=record.description,
        tags=record.tags,
    )
    env.python_version = record.python_version
    env.pip_requirements = list(record.pip_requirements)
    env.build_status = record.build_status
    env.reason = record.reason
    env.creation_context = CreationContext(created_at=record.created_at)
    return env


class Compute(_Entity):
    """A compute target (read-only here): serverless, a compute instance or a cluster."""

    name = _Field()
    type = _Field()
    size = _Field()
    min_instances = _Field()
    max_instances = _Field()
    idle_time_before_scale_down = _Field()
    description = _Field()
    tags = _Field()

    def __init__(self, fields: dict[str, Any], *, state: str | None = None, current_nodes: int = 0):
        self._fields = dict(fields)
        self.state = state
        self.current_nodes = current_nodes


def compute_from_record(record: Any) -> Compute:
    return Compute(
        {
            "name": record.name,
            "type": record.type,
            "size": record.size,
            "min_instances": record.min_instances,
            "max_instances": record.max_instances,
            "idle_time_before_scale_down": record.idle_time_before_scale_down,
            "description": record.description,
            "tags": dict(record.tags or {}),
        },
        state=record.state,
        current_nodes=record.current_nodes,
    )


__all__ = [
    "AttrDict",
    "Command",
    "Compute",
    "CreationContext",
    "Data",
    "Environment",
    "Input",
    "Job",
    "JobService",
    "Output",
]
