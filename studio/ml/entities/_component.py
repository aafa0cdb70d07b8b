"""``CommandComponent``: a reusable command with declared inputs and outputs; calling it makes a step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.ml.entities._base import (
    AttrDict,
    CreationContext,
    _attr_mappings,
    _Entity,
    _plain,
    _stamped,
    _validation_error,
    _version,
)
from studio.ml.entities._inputs_outputs import Output, _check_input_names, _port_type
from studio.ml.entities._job._pipeline_builder import _register_node
from studio.ml.entities._job.command_job import Command


class CommandComponent(
    _Entity,
    fields=(
        "name version display_name description tags is_deterministic inputs outputs code "
        "environment command resources limits distribution environment_variables "
        "additional_includes"
    ),
):
    """A command component: what ``load_component`` reads and ``ml_client.components`` returns.

    Call it with input values to make a step (a ``Command``): ``train(data=..., epochs=5)``.
    """

    type = "command"

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
            self._fields["version"] = _version(self._fields["version"])
        for key in ("inputs", "outputs"):
            self._fields[key] = _attr_mappings(self._fields.get(key))
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


def _registered(component: CommandComponent, *, latest_version: str, created_at: Any) -> CommandComponent:
    component._registered = True
    return _stamped(component, latest_version=latest_version, created_at=created_at)


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
    return _registered(component, latest_version=record.version, created_at=record.created_at)


def component_from_summary(summary: Any) -> CommandComponent:
    """One line of ``components.list()``: a name and its latest version."""
    fields = {
        "name": summary.name,
        "version": summary.latest_version,
        "display_name": summary.display_name,
        "description": summary.description,
    }
    component = CommandComponent(fields, source=f"component {summary.name}")
    return _registered(component, latest_version=summary.latest_version, created_at=summary.updated_at)


__all__ = ["CommandComponent", "component_from_record", "component_from_summary"]
