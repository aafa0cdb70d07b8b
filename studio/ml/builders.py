"""``command(...)`` and ``load_job(path)``: the two ways the cloud SDK makes a job entity."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

from studio.ml.entities import AttrDict, Command, Input, Output


def command(
    *,
    command: str | None = None,
    code: str | PurePath | None = None,
    environment: Any = None,
    inputs: Mapping[str, Any] | None = None,
    outputs: Mapping[str, Output | None] | None = None,
    compute: str | None = None,
    name: str | None = None,
    display_name: str | None = None,
    experiment_name: str | None = None,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    properties: Mapping[str, Any] | None = None,
    environment_variables: Mapping[str, str] | None = None,
    distribution: Mapping[str, Any] | None = None,
    instance_count: int | None = None,
    instance_type: str | None = None,
    shm_size: str | None = None,
    timeout: int | None = None,
    identity: Mapping[str, Any] | None = None,
    services: Mapping[str, Any] | None = None,
    queue_settings: Mapping[str, Any] | None = None,
) -> Command:
    """A command job; relative ``code`` and local input paths resolve against the current folder.

    ``inputs`` values are literals (``3``, ``"text"``, ``True``) or ``Input(...)``; ``outputs`` values are
    ``Output(...)`` or ``None`` (a fresh folder). ``environment`` is a reference (``azureml:name:1``,
    ``AzureML-sklearn-1.5@latest``) or an ``Environment`` entity.
    """
    resources = AttrDict(
        {
            k: v
            for k, v in (
                ("instance_count", instance_count),
                ("instance_type", instance_type),
                ("shm_size", shm_size),
            )
            if v is not None
        }
    )
    fields = {
        "name": name,
        "display_name": display_name,
        "experiment_name": experiment_name,
        "description": description,
        "tags": dict(tags or {}),
        "properties": dict(properties or {}),
        "command": command,
        "code": code,
        "environment": environment,
        "environment_variables": dict(environment_variables or {}),
        "compute": compute,
        "inputs": AttrDict(inputs or {}),
        "outputs": AttrDict(outputs or {}),
        "resources": resources,
        "limits": AttrDict({"timeout": timeout} if timeout is not None else {}),
        "distribution": distribution,
        "identity": identity,
        "services": services,
        "queue_settings": queue_settings,
    }
    return Command(fields, base_path=Path.cwd(), source="command()")


def load_job(source: str | os.PathLike) -> Command:
    """Read the cloud's job YAML file into a job entity; relative paths resolve against the file's folder.

    The file is validated now (errors name the file and field), so a bad file fails here, as in the cloud.
    """
    from backend.errors import ValidationError
    from backend.specs import parse_spec, read_yaml
    from backend.specs.job import CommandJobSpec

    path = Path(source)
    data = read_yaml(path)
    kind = data.get("type", "command")
    if kind != "command":
        raise ValidationError(
            f"{path}: field 'type': studio.ml.load_job reads command jobs (got {kind!r}); "
            f"submit this file with `studio job create --file {path}`"
        )
    parse_spec(CommandJobSpec, data, source=str(path))
    return Command._from_yaml_dict(data, base_path=path.resolve().parent, source=str(path))


__all__ = ["Input", "Output", "command", "load_job"]
