"""The cloud's command-job YAML (SPEC section 7) and the ``${{...}}`` / ``$[[...]]`` expressions."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from backend.errors import ValidationError
from backend.specs import SpecModel

DATA_TYPES = ("uri_file", "uri_folder", "mltable")
MODEL_TYPES = ("mlflow_model", "custom_model", "triton_model")
INPUT_MODES = ("ro_mount", "download", "direct", "eval_mount", "eval_download")
OUTPUT_MODES = ("rw_mount", "upload", "direct")
Literal_ = str | int | float | bool

EXPRESSION = re.compile(r"\$\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")
OPTIONAL_PART = re.compile(r"\$\[\[(.*?)\]\]", re.S)


class InputSpec(SpecModel):
    type: Literal[
        "uri_file",
        "uri_folder",
        "mltable",
        "mlflow_model",
        "custom_model",
        "triton_model",
        "string",
        "integer",
        "number",
        "boolean",
    ] = "uri_folder"
    path: str | None = None
    mode: Literal["ro_mount", "download", "direct", "eval_mount", "eval_download"] | None = None
    default: Any = None
    value: Any = None
    optional: bool = False
    description: str = ""

    @property
    def is_data(self) -> bool:
        return self.type in DATA_TYPES or self.type in MODEL_TYPES


class OutputSpec(SpecModel):
    type: Literal["uri_file", "uri_folder", "mltable", "mlflow_model", "custom_model", "triton_model"] = (
        "uri_folder"
    )
    mode: Literal["rw_mount", "upload", "direct"] | None = None
    path: str | None = None
    name: str | None = None
    version: str | None = None
    description: str = ""

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value):
        return None if value is None else str(value)


class ResourcesSpec(SpecModel):
    instance_count: int = Field(default=1, ge=1)
    instance_type: str | None = None
    shm_size: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


class LimitsSpec(SpecModel):
    timeout: int | None = Field(default=None, gt=0)


class CommandJobSpec(SpecModel):
    type: Literal["command"] = "command"
    name: str | None = None
    display_name: str | None = None
    experiment_name: str | None = None
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    properties: dict[str, Any] = Field(default_factory=dict)
    command: str
    code: str | None = None
    environment: str | dict[str, Any]
    environment_variables: dict[str, str] = Field(default_factory=dict)
    compute: str | None = None
    inputs: dict[str, Literal_ | InputSpec | None] = Field(default_factory=dict)
    outputs: dict[str, OutputSpec | None] = Field(default_factory=dict)
    resources: ResourcesSpec = Field(default_factory=ResourcesSpec)
    limits: LimitsSpec = Field(default_factory=LimitsSpec)
    distribution: dict[str, Any] | None = None
    services: dict[str, Any] | None = None
    identity: dict[str, Any] | None = None
    queue_settings: dict[str, Any] | None = None

    @field_validator("tags", "environment_variables", mode="before")
    @classmethod
    def _values_as_text(cls, value):
        if isinstance(value, dict):
            return {str(k): "" if v is None else str(v) for k, v in value.items()}
        return value

    @field_validator("inputs", mode="before")
    @classmethod
    def _inputs(cls, value):
        # A mapping without a ``type`` but with a ``path`` is a data input (uri_folder by default).
        return value

    @model_validator(mode="after")
    def _expressions_name_known_inputs_and_outputs(self):
        check_expressions(self.command, inputs=set(self.inputs), outputs=set(self.outputs), field="command")
        return self


def expressions(text: str) -> list[str]:
    return EXPRESSION.findall(text or "")


def check_expressions(
    text: str,
    *,
    inputs: set[str],
    outputs: set[str],
    search_space: set[str] | None = None,
    field: str = "command",
) -> None:
    """Every ``${{...}}`` must name a declared input, output or search-space parameter."""
    for expr in expressions(text):
        kind, _, name = expr.partition(".")
        name = name.split(".")[0]
        known = {"inputs": inputs, "outputs": outputs, "search_space": search_space or set()}.get(kind)
        if known is None:
            raise ValueError(
                f"{field}: '${{{{{expr}}}}}' is not a known expression (use inputs.<name>, outputs.<name>"
                + (", search_space.<name>" if search_space is not None else "")
                + ")"
            )
        if name not in known:
            listed = ", ".join(sorted(known)) or "none"
            raise ValueError(
                f"{field}: '${{{{{expr}}}}}' names {kind[:-1] if kind != 'search_space' else 'parameter'} "
                f"{name!r}, which is not declared ({kind}: {listed})"
            )


def render_command(command: str, values: dict[str, str | None]) -> str:
    """Substitute ``${{inputs.x}}`` etc.; drop each ``$[[...]]`` part whose expressions have no value."""

    def _optional(match: re.Match) -> str:
        part = match.group(1)
        if any(values.get(expr) is None for expr in expressions(part)):
            return ""
        return part

    text = OPTIONAL_PART.sub(_optional, command)
    missing = [e for e in expressions(text) if values.get(e) is None]
    if missing:
        raise ValidationError(
            f"command: no value for {', '.join('${{' + m + '}}' for m in missing)} "
            "(give the input, or wrap the part in $[[ ]] to make it optional)"
        )
    return EXPRESSION.sub(lambda m: str(values[m.group(1)]), text)
