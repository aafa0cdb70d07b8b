"""``command(...)``, ``load_job(path)`` and ``load_component(path)``: how the cloud SDK makes job and component
entities."""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

from studio.ml.entities import AttrDict, Command, CommandComponent, Input, Job, Output, PipelineJob
from studio.ml.entities._job._pipeline_builder import _register_node


def command(
    *,
    name: str | None = None,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    properties: Mapping[str, Any] | None = None,
    display_name: str | None = None,
    command: str | None = None,
    experiment_name: str | None = None,
    environment: Any = None,
    environment_variables: Mapping[str, str] | None = None,
    distribution: Mapping[str, Any] | None = None,
    compute: str | None = None,
    inputs: Mapping[str, Any] | None = None,
    outputs: Mapping[str, Output | None] | None = None,
    instance_count: int | None = None,
    instance_type: str | None = None,
    shm_size: str | None = None,
    timeout: int | None = None,
    code: str | PurePath | None = None,
    identity: Mapping[str, Any] | None = None,
    services: Mapping[str, Any] | None = None,
    queue_settings: Mapping[str, Any] | None = None,
) -> Command:
    """A command job (keywords in the cloud's order); relative ``code`` and local input paths resolve against the current folder.

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
    job = Command(fields, base_path=Path.cwd(), source="command()")
    _register_node(job)  # inside a @pipeline function, a command is one of its steps
    return job


def load_job(source: str | os.PathLike) -> Job:
    """Read the cloud's job YAML file (``type: command``, ``sweep`` or ``pipeline``) into a job entity;
    relative paths resolve against the file's folder.

    The file is validated now (errors name the file and field), so a bad file fails here, as in the cloud.
    """
    from backend.errors import ValidationError
    from backend.specs import parse_spec, read_yaml
    from backend.specs.job import CommandJobSpec
    from backend.specs.pipeline import PipelineJobSpec
    from backend.specs.sweep import SweepJobSpec
    from studio.ml.entities._job.sweep.sweep_job import SweepJob

    path = Path(source)
    data = read_yaml(path)
    kind = data.get("type", "command")
    kinds: dict[str, tuple[type, Any]] = {
        "command": (CommandJobSpec, Command),
        "sweep": (SweepJobSpec, SweepJob),
        "pipeline": (PipelineJobSpec, PipelineJob),
    }
    if kind not in kinds:
        raise ValidationError(
            f"{path}: field 'type': studio.ml.load_job reads {', '.join(kinds)} jobs (got {kind!r})"
        )
    spec_model, entity = kinds[kind]
    parse_spec(spec_model, data, source=str(path))
    return entity._from_yaml_dict(data, base_path=path.resolve().parent, source=str(path))


def load_component(
    source: str | os.PathLike | None = None,
    *,
    relative_origin: str | os.PathLike | None = None,
    params_override: list[Mapping[str, Any]] | None = None,
) -> CommandComponent:
    """Read the cloud's command-component YAML; call the result with input values to make a step.

    Relative ``code`` resolves against the file's folder (or ``relative_origin``). ``params_override``
    is the cloud's list of ``{"field.sub": value}`` changes. The result is validated now.
    """
    from backend.errors import ValidationError
    from backend.specs import parse_spec, read_yaml
    from backend.specs.component import CommandComponentSpec

    if source is None:
        raise ValidationError("load_component: give source= the component's YAML file")
    path = Path(source).resolve()
    if not path.is_file():
        raise ValidationError(f"load_component: {str(source)!r} is not a file")
    data = read_yaml(path)
    kind = data.get("type", "command")
    if kind != "command":
        raise ValidationError(f"{path}: field 'type': load_component reads command components (got {kind!r})")
    for override in params_override or []:
        for key, value in override.items():
            target = data
            *parents, last = str(key).split(".")
            for part in parents:
                target = target.setdefault(part, {})
            target[last] = value
    parse_spec(CommandComponentSpec, data, source=str(path))
    base = Path(relative_origin).resolve() if relative_origin else path.parent
    component = CommandComponent(copy.deepcopy(data), base_path=base, source=str(path))
    if not params_override and not relative_origin:
        component._file = path  # steps can name the file itself while it is used unchanged
        component._loaded = component._to_dict()
    return component


__all__ = ["Input", "Output", "command", "load_component", "load_job"]
