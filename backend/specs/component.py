"""The cloud's command-component YAML (SPEC section 9) and checking values against its interface.

As in the cloud's loader, the top level of a component and its ``resources`` take keys Studio does not
know (``services``, ``identity``, ``queue_settings``, ...): they are kept as given, with a warning.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from backend.errors import ValidationError
from backend.specs import FieldProblem, SpecModel
from backend.specs.job import (
    Command,
    ComponentDistribution,
    EnvironmentVariables,
    InputType,
    LimitsSpec,
    OutputType,
    ResourcesSpec,
    Tags,
    check_expressions,
    is_data_type,
)

PRIMITIVES = ("string", "integer", "number", "boolean")
# The cloud's rule for a component's name (azure-ai-ml's ``ComponentNameStr``), and its service's 255.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,254}$")
NAME_RULE = "1 to 255 characters: lower-case letters, digits and '_', starting with a lower-case letter"


class ComponentInput(SpecModel):
    type: InputType
    default: Any = None
    optional: bool = False
    description: str = ""
    min: float | None = None
    max: float | None = None
    enum: list[Any] | None = None
    mode: str | None = None
    path: str | None = None  # some published components carry a default path

    @field_validator("type", mode="before")
    @classmethod
    def _path_is_a_folder(cls, value: Any) -> Any:
        # ``path`` is the cloud's older name for a data input (its loader still takes it)
        return "uri_folder" if value == "path" else value

    @property
    def is_data(self) -> bool:
        return is_data_type(self.type)


class ComponentOutput(SpecModel):
    type: OutputType = "uri_folder"
    description: str = ""
    mode: str | None = None
    path: str | None = None

    @field_validator("type", mode="before")
    @classmethod
    def _no_primitive_outputs(cls, value: Any) -> Any:
        if value == "path":  # the cloud's older name for a folder output
            return "uri_folder"
        if value in PRIMITIVES:
            raise FieldProblem(
                "",
                "outputs of a primitive type (string, integer, number, boolean) are not supported here yet; "
                "write the value to a uri_file output instead",
                value,
            )
        return value


class ComponentResources(ResourcesSpec):
    """A component's ``resources``: the cloud keeps keys it does not know; so does Studio."""

    model_config = ConfigDict(extra="allow")


class CommandComponentSpec(SpecModel):
    model_config = ConfigDict(extra="allow")
    READ_ONLY_FIELDS = ("creation_context", "latest_version")

    type: Literal["command"] = "command"
    name: str | None = None
    version: str | None = None
    display_name: str | None = None
    description: str = ""
    tags: Tags = Field(default_factory=dict)
    properties: dict[str, Any] = Field(default_factory=dict)
    is_deterministic: bool = True
    inputs: dict[str, ComponentInput] = Field(default_factory=dict)
    outputs: dict[str, ComponentOutput] = Field(default_factory=dict)
    code: str | None = None
    environment: str | dict[str, Any]
    command: Command
    resources: ComponentResources | None = None
    limits: LimitsSpec | None = None
    distribution: ComponentDistribution = None
    environment_variables: EnvironmentVariables = Field(default_factory=dict)
    additional_includes: list[str] = Field(default_factory=list)

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value):
        return None if value is None else str(value)

    @field_validator("name")
    @classmethod
    def _name_rule(cls, value: str | None) -> str | None:
        if value is not None and not NAME_PATTERN.match(value):
            raise FieldProblem("", f"must be {NAME_RULE}", value)
        return value

    @model_validator(mode="after")
    def _command_names_declared_ports(self):
        check_expressions(self.command, inputs=set(self.inputs), outputs=set(self.outputs))
        return self


def check_value(name: str, port: ComponentInput, value: Any, *, field: str) -> Any:
    """A literal value for a typed input: converted, and checked against min/max/enum."""
    where = f"{field}.{name}"
    kind = port.type
    try:
        if kind == "integer":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            value = int(value)
        elif kind == "number":
            if isinstance(value, bool):
                raise ValueError
            value = float(value)
        elif kind == "boolean":
            if isinstance(value, str) and value.lower() in ("true", "false"):
                value = value.lower() == "true"
            elif not isinstance(value, bool):
                raise ValueError
        elif kind == "string":
            value = str(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{where}: {value!r} is not a valid {kind}") from None
    if kind in ("integer", "number"):
        if port.min is not None and value < port.min:
            raise ValidationError(f"{where}: {value} is below the minimum {port.min:g}")
        if port.max is not None and value > port.max:
            raise ValidationError(f"{where}: {value} is above the maximum {port.max:g}")
    if port.enum is not None and value not in port.enum:
        raise ValidationError(f"{where}: {value!r} is not one of {', '.join(map(repr, port.enum))}")
    return value
