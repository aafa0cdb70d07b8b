"""Entities shaped like ``azure.ai.ml.entities``: Input, Output, Command (a job), Data, Environment, Compute.

Entities hold what the user wrote and render it as the cloud's YAML mapping (``to_yaml_dict()``), which
the service layer validates and submits exactly like a YAML file. A job's fields live in one dict keyed
by YAML name, so other job types (sweeps, pipelines) and search-space values can reuse the rendering.
Entities returned by the client also carry what the studio knows (status, links, times).
"""

from __future__ import annotations

import contextvars
import copy
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


# --- helpers shared by jobs, components and pipelines ------------------------------------------------------

DATA_TYPES = ("uri_file", "uri_folder", "mltable", "mlflow_model", "custom_model", "triton_model")


def _validation_error(message: str) -> Exception:
    from backend.errors import ValidationError

    return ValidationError(message)


def _port_get(port: Any, key: str, default: Any = None) -> Any:
    """A field of a component's input/output declaration (a YAML mapping or an ``Input``/``Output``)."""
    if port is None:
        return default
    value = port.get(key) if isinstance(port, Mapping) else getattr(port, key, None)
    return default if value is None else value


def _port_type(port: Any, default: str = "uri_folder") -> str:
    return _port_get(port, "type", default)


def _check_input_names(source: str, given: Mapping[str, Any], declared: Mapping[str, Any]) -> None:
    unknown = [name for name in given if name not in declared]
    if unknown:
        raise _validation_error(
            f"{source}: {unknown[0]!r} is not one of its inputs (inputs: {', '.join(declared) or 'none'})"
        )


class _PipelineBuilder:
    """The steps made while a ``@pipeline`` function runs, in the order they were made."""

    def __init__(self, name: str):
        self.name = name
        self.nodes: list[Job] = []

    def add(self, node: Job) -> None:
        self.nodes.append(node)

    def replace(self, old: Job, new: Job) -> None:
        for index, node in enumerate(self.nodes):
            if node is old:
                self.nodes[index] = new
                return
        self.nodes.append(new)

    def __deepcopy__(self, memo: dict) -> _PipelineBuilder:
        return self


# The @pipeline functions running now (innermost last); a step made meanwhile joins the innermost one.
_PIPELINE_BUILDERS: contextvars.ContextVar[tuple[_PipelineBuilder, ...]] = contextvars.ContextVar(
    "studio_ml_pipeline_builders", default=()
)


def _register_node(node: Job) -> None:
    stack = _PIPELINE_BUILDERS.get()
    if stack:
        stack[-1].add(node)


def _replace_node(old: Job, new: Job) -> None:
    stack = _PIPELINE_BUILDERS.get()
    if stack:
        stack[-1].replace(old, new)


class PipelineInput:
    """A ``@pipeline`` function's parameter while it runs: given to a step, it binds
    ``${{parent.inputs.<name>}}``; ``value`` is what the pipeline was called with."""

    def __init__(self, name: str, value: Any, owner: _PipelineBuilder):
        self.name = name
        self.value = value
        self._owner = owner

    @property
    def type(self) -> str | None:
        value = self.value
        if isinstance(value, Input):
            return value.type
        for kind, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string")):
            if isinstance(value, kind):
                return name
        return None

    def result(self) -> Any:
        return self.value

    def __str__(self) -> str:
        return f"${{{{parent.inputs.{self.name}}}}}"

    def __repr__(self) -> str:
        return f"PipelineInput(name={self.name!r}, value={self.value!r})"

    def __deepcopy__(self, memo: dict) -> PipelineInput:
        return self  # it names the pipeline's input: copies of a step keep the same binding


def _is_binding(value: Any) -> bool:
    """A value that names where data comes from in a pipeline: a pipeline input, or a step's output."""
    return isinstance(value, PipelineInput | Output)


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

    def __eq__(self, other: object) -> bool:
        from backend.errors import StudioError

        if other is self:
            return True
        if type(other) is not type(self):
            return False
        try:
            return self.to_yaml_dict() == other.to_yaml_dict()  # type: ignore[attr-defined]
        except StudioError:
            return False  # one that cannot render yet (a step missing an input) equals only itself

    __hash__ = None  # type: ignore[assignment]

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

    # Set when the command is a component's step (``component(inputs...)``): it runs that component.
    _component: CommandComponent | None = None

    @classmethod
    def _from_yaml_dict(cls, data: Mapping[str, Any], *, base_path: Path, source: str) -> Command:
        fields = {k: v for k, v in data.items() if k != "type"}
        fields["inputs"] = _inputs_from_yaml(fields.get("inputs"))
        fields["outputs"] = _outputs_from_yaml(fields.get("outputs"))
        for section in ("resources", "limits"):
            if isinstance(fields.get(section), Mapping):
                fields[section] = AttrDict(fields[section])
        return cls(fields, base_path=base_path, source=source)

    def __call__(self, *args: Any, **inputs: Any) -> Command:
        """A new command with these input values (literals, ``Input``, search-space distributions, or in a
        pipeline another step's ``.outputs.<name>``); the other inputs, outputs and settings are copied."""
        if args:
            raise _validation_error(f"{self._source}: give input values by name (input=value)")
        declared = self._component.inputs if self._component is not None else self.inputs
        _check_input_names(self._source, inputs, declared or {})
        node = self._copy()
        node.name = None  # as in the cloud: a copy is a new job (or step), not the same one
        node.inputs.update(inputs)
        _register_node(node)
        return node

    def _copy(self) -> Command:
        fields: dict[str, Any] = {}
        for key, value in self._fields.items():
            if key == "inputs":
                # Bindings (pipeline inputs, other steps' outputs) stay the same objects: they name their source.
                fields[key] = AttrDict(
                    {k: v if _is_binding(v) else copy.deepcopy(v) for k, v in (value or {}).items()}
                )
            else:
                fields[key] = copy.deepcopy(value)
        node = type(self)(fields, base_path=self._base_path, source=self._source)
        node._component = self._component
        return node

    def sweep(
        self,
        *,
        primary_metric: str,
        goal: str,
        sampling_algorithm: Any = "random",
        compute: str | None = None,
        max_concurrent_trials: int | None = None,
        max_total_trials: int | None = None,
        timeout: int | None = None,
        trial_timeout: int | None = None,
        early_termination_policy: Any = None,
        search_space: Mapping[str, Any] | None = None,
        identity: Any = None,
        queue_settings: Any = None,
        job_tier: str | None = None,  # the cloud's; no tiers here
        priority: str | None = None,  # the cloud's; no priorities here
    ) -> Any:
        """A ``SweepJob`` over this command: inputs whose value is a distribution are the search space.

        ``sampling_algorithm``: ``"random"``, ``"grid"``, ``"bayesian"`` or a ``*SamplingAlgorithm``;
        ``goal``: ``"maximize"`` / ``"minimize"`` (any case). In a pipeline the sweep replaces this step.
        """
        from studio.ml.sweep import make_sweep

        job = make_sweep(
            self,
            primary_metric=primary_metric,
            goal=goal,
            sampling_algorithm=sampling_algorithm,
            compute=compute,
            max_concurrent_trials=max_concurrent_trials,
            max_total_trials=max_total_trials,
            timeout=timeout,
            trial_timeout=trial_timeout,
            early_termination_policy=early_termination_policy,
            search_space=search_space,
            identity=identity,
            queue_settings=queue_settings,
        )
        _replace_node(self, job)
        return job

    def to_yaml_dict(self) -> dict[str, Any]:
        if self._component is None:
            return super().to_yaml_dict()
        return self._component_job_dict()

    _to_dict = to_yaml_dict

    def _component_job_dict(self) -> dict[str, Any]:
        """A component's step submitted as a job on its own: the component's command with these inputs."""
        component = self._component
        assert component is not None
        body = component._to_dict()
        if body.get("additional_includes"):
            raise _validation_error(
                f"{self._source}: a component with additional_includes runs as a pipeline step; "
                "register it (ml_client.components.create_or_update) or use it in a @pipeline"
            )
        data: dict[str, Any] = {"type": "command"}
        for key in ("name", "display_name", "experiment_name", "description", "tags", "properties"):
            value = self._fields.get(key)
            if value not in (None, {}):
                data[key] = _plain(value)
        data["command"] = body.get("command")
        code = component._code_reference()
        if code:
            data["code"] = code
        data["environment"] = body.get("environment")
        variables = {**body.get("environment_variables", {}), **_plain(self.environment_variables or {})}
        if variables:
            data["environment_variables"] = variables
        inputs: dict[str, Any] = {}
        for name, port in (component.inputs or {}).items():
            kind = _port_type(port)
            value = self.inputs.get(name)
            if value is None:
                value = _port_get(port, "default")
                if value is None:
                    if _port_get(port, "optional"):
                        continue
                    raise _validation_error(
                        f"{self._source}: inputs.{name}: the component needs this input (type {kind})"
                    )
            if kind in DATA_TYPES and isinstance(value, str | PurePath):
                value = {"type": kind, "path": str(value)}
            inputs[name] = _plain(value)
        data["inputs"] = inputs
        data["outputs"] = {name: _plain(out) for name, out in (self.outputs or {}).items()}
        if self.compute:
            data["compute"] = self.compute
        for key in ("resources", "limits", "distribution"):
            value = _plain(self._fields.get(key)) or body.get(key)
            if value:
                data[key] = value
        for key in ("identity", "queue_settings", "services"):
            if self._fields.get(key):
                data[key] = _plain(self._fields[key])
        return data


# --- components --------------------------------------------------------------------------------------------


class CommandComponent(_Entity):
    """A command component: what ``load_component`` reads and ``ml_client.components`` returns.

    Call it with input values to make a step (a ``Command``): ``train(data=..., epochs=5)``.
    """

    type = "command"
    name = _Field()
    version = _Field()
    display_name = _Field()
    description = _Field()
    tags = _Field()
    is_deterministic = _Field()
    inputs = _Field()
    outputs = _Field()
    code = _Field()
    environment = _Field()
    command = _Field()
    resources = _Field()
    limits = _Field()
    distribution = _Field()
    environment_variables = _Field()
    additional_includes = _Field()

    def __init__(
        self,
        fields: dict[str, Any] | None = None,
        *,
        base_path: Path | None = None,
        source: str = "",
        **kwargs: Any,  # the cloud's keyword form: CommandComponent(name=..., command=..., inputs=...)
    ):
        self._fields = {**(fields or {}), **kwargs}
        self._fields.pop("type", None)
        if self._fields.get("version") is not None:
            self._fields["version"] = str(self._fields["version"])
        for key in ("inputs", "outputs"):
            self._fields[key] = AttrDict(
                {
                    name: AttrDict(port) if isinstance(port, Mapping) else port
                    for name, port in (self._fields.get(key) or {}).items()
                }
            )
        # Relative ``code`` and ``additional_includes`` resolve against the component's own folder.
        self._base_path = base_path or Path.cwd()
        self._source = source or f"component {self._fields.get('name')}"
        self._file: Path | None = None  # the YAML it was loaded from
        self._loaded: dict[str, Any] | None = None  # that YAML as read, to tell whether it was changed
        self._registered = False
        self.creation_context: CreationContext | None = None
        self.latest_version: str | None = None

    @property
    def id(self) -> str | None:
        """``azureml:<name>:<version>`` once registered (what a step or trial can name it by)."""
        return (
            f"azureml:{self.name}:{self.version}" if self._registered and self.name and self.version else None
        )

    def _to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": "command"}
        for key, value in self._fields.items():
            if value is not None:
                data[key] = _plain(value)
        return data

    to_yaml_dict = _to_dict

    def _code_reference(self) -> str | None:
        """``code`` as a reference that holds anywhere: a URI as given, a local folder made absolute."""
        code = self.code
        if not code:
            return None
        text = str(code)
        if text.startswith("azureml") or "://" in text:
            return text
        return str((self._base_path / text).resolve())

    def _reference(self) -> str | dict[str, Any]:
        """What a pipeline step's ``component:`` (or a sweep's ``trial:``) says: the registered
        ``azureml:name:version``, the YAML file's absolute path, or (changed since loaded) the mapping."""
        if self.id:
            return self.id
        body = self._to_dict()
        if self._file is not None and body == self._loaded:
            return str(self._file)
        body.pop("$schema", None)
        if self.code:
            body["code"] = self._code_reference()
        if body.get("additional_includes"):
            body["additional_includes"] = [
                str((self._base_path / str(item)).resolve()) for item in body["additional_includes"]
            ]
        return body

    def __call__(self, *args: Any, **inputs: Any) -> Command:
        """A step that runs this component with these inputs (literals, ``Input``, a pipeline parameter,
        another step's ``.outputs.<name>``, or search-space distributions to sweep)."""
        if args:
            raise _validation_error(f"{self._source}: give input values by name (input=value)")
        _check_input_names(self._source, inputs, self.inputs or {})
        fields = {
            "name": None,
            "display_name": None,
            "experiment_name": None,
            "description": None,
            "tags": {},
            "properties": {},
            "compute": None,
            "inputs": AttrDict(inputs),
            "outputs": AttrDict(
                {name: Output(type=_port_type(port)) for name, port in (self.outputs or {}).items()}
            ),
            "environment_variables": {},
            "resources": AttrDict(),
            "limits": AttrDict(),
            "distribution": None,
            "identity": None,
            "queue_settings": None,
        }
        node = Command(fields, base_path=Path.cwd(), source=f"component {self.name}")
        node._component = self
        _register_node(node)
        return node

    def __repr__(self) -> str:
        return f"CommandComponent(name={self.name!r}, version={self.version!r})"


def component_from_record(record: Any) -> CommandComponent:
    """A registered component from the service layer's ``ComponentPublic``."""
    fields = dict(record.spec)
    fields.update(
        name=record.name,
        version=record.version,
        display_name=record.display_name,
        description=record.description,
        tags=dict(record.tags or {}),
        is_deterministic=record.is_deterministic,
    )
    component = CommandComponent(fields, source=f"component {record.name}:{record.version}")
    component._registered = True
    component.latest_version = record.version
    component.creation_context = CreationContext(created_at=record.created_at)
    return component


def component_from_summary(summary: Any) -> CommandComponent:
    """One line of ``components.list()``: a name and its latest version."""
    component = CommandComponent(
        {
            "name": summary.name,
            "version": summary.latest_version,
            "display_name": summary.display_name,
            "description": summary.description,
        },
        source=f"component {summary.name}",
    )
    component._registered = True
    component.latest_version = summary.latest_version
    component.creation_context = CreationContext(created_at=summary.updated_at)
    return component


# --- pipelines ---------------------------------------------------------------------------------------------


class PipelineJob(Job):
    """A pipeline: steps (``jobs``) bound to each other and to the pipeline's ``inputs`` and ``outputs``.

    Built by a ``@pipeline`` function (steps are job entities) or read by ``load_job`` (steps as written).
    """

    type = "pipeline"
    settings = _Field()
    jobs = _Field()
    identity = _Field()

    def __init__(
        self,
        fields: dict[str, Any] | None = None,
        *,
        base_path: Path | None = None,
        source: str = "",
        **kwargs: Any,  # the cloud's keyword form: PipelineJob(jobs=..., inputs=..., settings=...)
    ):
        merged = {**(fields or {}), **kwargs}
        for key in ("inputs", "outputs", "settings", "jobs"):
            merged[key] = AttrDict(merged.get(key) or {})
        super().__init__(merged, base_path=base_path, source=source)
        self._builder: _PipelineBuilder | None = None  # whose parameters are this pipeline's inputs
        self._output_sources: dict[str, Output] = {}  # pipeline output -> the step output returned for it
        self._default_experiment: str | None = None

    def to_yaml_dict(self) -> dict[str, Any]:
        """The cloud's pipeline YAML mapping, as ``create_or_update`` submits it."""
        data: dict[str, Any] = {"type": "pipeline"}
        for key, value in self._fields.items():
            if key in ("inputs", "outputs", "settings", "jobs"):
                continue
            if value is None or (isinstance(value, Mapping) and not value):
                continue
            data[key] = _plain(value)
        for key in ("inputs", "outputs"):
            if self._fields.get(key):
                data[key] = {name: _plain(value) for name, value in self._fields[key].items()}
        settings = {k: _plain(v) for k, v in (self.settings or {}).items() if v is not None}
        if settings:
            data["settings"] = settings
        context = _StepContext(self)
        data["jobs"] = {
            step: context.render(step, node) if isinstance(node, Job) else _plain(node)
            for step, node in (self.jobs or {}).items()
        }
        return data

    _to_dict = to_yaml_dict

    @classmethod
    def _from_yaml_dict(cls, data: Mapping[str, Any], *, base_path: Path, source: str) -> PipelineJob:
        fields: dict[str, Any] = {k: v for k, v in data.items() if k != "type"}
        fields["inputs"] = _inputs_from_yaml(fields.get("inputs"))
        fields["outputs"] = _outputs_from_yaml(fields.get("outputs"))
        fields["jobs"] = AttrDict(
            {k: AttrDict(v) if isinstance(v, Mapping) else v for k, v in (fields.get("jobs") or {}).items()}
        )
        return cls(fields, base_path=base_path, source=source)


class _StepContext:
    """Renders a pipeline's step entities as YAML steps, turning object references into bindings."""

    def __init__(self, pipeline: PipelineJob):
        self.pipeline = pipeline
        self.source = pipeline._source
        self.owner: dict[int, tuple[str, str]] = {}  # id(step output) -> (step, output name)
        for step, node in (pipeline.jobs or {}).items():
            if isinstance(node, Job):
                for port, out in (node.outputs or {}).items():
                    if isinstance(out, Output):
                        self.owner.setdefault(id(out), (step, port))
        self.bound: dict[int, str] = {}  # id(step output) -> the pipeline output it fills
        for name, out in pipeline._output_sources.items():
            if name not in (pipeline.outputs or {}):
                continue
            if id(out) not in self.owner:
                raise _validation_error(
                    f"{self.source}: outputs.{name}: the step output returned for it is not part of this pipeline"
                )
            if id(out) in self.bound:
                raise _validation_error(
                    f"{self.source}: outputs.{self.bound[id(out)]} and outputs.{name} are the same step output; "
                    "return each step output once"
                )
            self.bound[id(out)] = name

    def bind(self, value: Any, where: str) -> Any:
        from studio.ml.sweep import SweepDistribution

        if isinstance(value, PipelineInput):
            if value._owner is not self.pipeline._builder:
                raise _validation_error(
                    f"{self.source}: {where}: {value} is a parameter of another @pipeline function"
                )
            return str(value)
        if isinstance(value, Output):
            if id(value) not in self.owner:
                raise _validation_error(
                    f"{self.source}: {where}: takes the output of a step that is not part of this pipeline "
                    "(make that step inside the @pipeline function)"
                )
            step, port = self.owner[id(value)]
            return f"${{{{parent.jobs.{step}.outputs.{port}}}}}"
        if isinstance(value, Input) and _is_binding(value.path):
            return {**value._to_dict(), "path": self.bind(value.path, where)}
        if isinstance(value, SweepDistribution):
            raise _validation_error(
                f"{self.source}: {where}: a search-space value ({value.type}) needs a sweep step: "
                "call .sweep(...) on the step"
            )
        return _plain(value)

    def outputs(self, node: Job, step: str, *, every: bool) -> dict[str, Any]:
        """A step's outputs: bindings to pipeline outputs, and those given settings (``every``: all)."""
        declared = {}
        component = getattr(node, "_component", None)
        trial = getattr(node, "trial", None)
        component = component or getattr(trial, "_component", None)
        if component is not None:
            declared = {name: _port_type(port) for name, port in (component.outputs or {}).items()}
        rendered: dict[str, Any] = {}
        for port, out in (node.outputs or {}).items():
            if isinstance(out, Output) and id(out) in self.bound:
                rendered[port] = f"${{{{parent.outputs.{self.bound[id(out)]}}}}}"
            elif isinstance(out, Output):
                body = out._to_dict()
                if every or set(body) - {"type"} or body.get("type") != declared.get(port, "uri_folder"):
                    rendered[port] = body
            elif out is not None or every:
                rendered[port] = _plain(out)
        return rendered

    def render(self, step: str, node: Job) -> dict[str, Any]:
        from studio.ml.sweep import SweepJob

        where = f"jobs.{step}"
        out: dict[str, Any] = {}
        if isinstance(node, SweepJob):
            trial = node.trial
            reference = trial._component._reference() if getattr(trial, "_component", None) else None
            if not isinstance(reference, str):
                raise _validation_error(
                    f"{self.source}: {where}: a sweep step's trial is a component "
                    "(load_component(...)(...).sweep(...)) loaded from an unchanged file or registered"
                )
            fixed, space = node._split_inputs()
            out.update(type="sweep", trial=reference)
            self._common(node, out)
            out["inputs"] = {
                k: self.bind(v, f"{where}.inputs.{k}") for k, v in fixed.items() if v is not None
            }
            out["outputs"] = self.outputs(node, step, every=False)
            out["sampling_algorithm"] = _plain(node.sampling_algorithm)
            out["search_space"] = {k: _plain(v) for k, v in space.items()}
            for key in ("objective", "limits", "early_termination"):
                if node._fields.get(key) is not None:
                    out[key] = _plain(node._fields[key])
        elif isinstance(node, Command) and node._component is not None:
            out.update(type="command", component=node._component._reference())
            self._common(node, out)
            out["inputs"] = {
                k: self.bind(v, f"{where}.inputs.{k}")
                for k, v in (node.inputs or {}).items()
                if v is not None
            }
            out["outputs"] = self.outputs(node, step, every=False)
            self._settings(node, out)
        elif isinstance(node, Command):
            body = node.to_yaml_dict()
            out.update(type="command", command=body.get("command"))
            if node.code:
                code = str(node.code)
                local = not (code.startswith("azureml") or "://" in code)
                out["code"] = str((node._base_path / code).resolve()) if local else code
            out["environment"] = body.get("environment")
            self._common(node, out)
            out["inputs"] = {k: self.bind(v, f"{where}.inputs.{k}") for k, v in (node.inputs or {}).items()}
            out["outputs"] = self.outputs(node, step, every=True)
            self._settings(node, out)
        else:
            raise _validation_error(f"{self.source}: {where}: a {node.type} job cannot be a pipeline step")
        return {k: v for k, v in out.items() if v not in (None, {}) or k == "type"}

    @staticmethod
    def _common(node: Job, out: dict[str, Any]) -> None:
        for key in ("display_name", "description", "experiment_name", "tags", "compute"):
            value = node._fields.get(key)
            if value not in (None, {}, ""):
                out[key] = _plain(value)

    @staticmethod
    def _settings(node: Job, out: dict[str, Any]) -> None:
        for key in ("environment_variables", "resources", "limits", "distribution"):
            value = _plain(node._fields.get(key))
            if value:
                out[key] = value


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
    from studio.ml.sweep import SweepJob

    cls: type[Job] = {"command": Command, "sweep": SweepJob, "pipeline": PipelineJob}.get(record.type, Job)
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
    "CommandComponent",
    "Compute",
    "CreationContext",
    "Data",
    "Environment",
    "Input",
    "Job",
    "JobService",
    "Output",
    "PipelineInput",
    "PipelineJob",
]
