"""The cloud's pipeline-job YAML (SPEC section 10)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator

from backend.specs import SpecModel
from backend.specs.job import InputSpec, LimitsSpec, Literal_, OutputSpec, ResourcesSpec

BINDING = re.compile(r"^\$\{\{\s*parent\.(inputs|outputs|jobs)\.([\w.-]+)\s*\}\}$")


class PipelineSettings(SpecModel):
    default_compute: str | None = None
    default_datastore: str | None = None
    default_environment: str | None = None
    continue_on_step_failure: bool = False
    force_rerun: bool = False
    on_init: str | None = None
    on_finalize: str | None = None


class StepSpec(SpecModel):
    type: Literal["command", "sweep", "pipeline"] = "command"
    name: str | None = None
    display_name: str | None = None
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    experiment_name: str | None = None
    component: str | dict[str, Any] | None = None
    # An inline command step carries these instead of a component.
    command: str | None = None
    code: str | None = None
    environment: str | dict[str, Any] | None = None
    environment_variables: dict[str, str] = Field(default_factory=dict)
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)
    compute: str | None = None
    resources: ResourcesSpec | None = None
    limits: dict[str, Any] | None = None
    distribution: dict[str, Any] | None = None
    settings: dict[str, Any] | None = None
    # Sweep steps.
    trial: str | dict[str, Any] | None = None
    sampling_algorithm: str | dict[str, Any] | None = None
    search_space: dict[str, Any] | None = None
    objective: dict[str, Any] | None = None
    early_termination: dict[str, Any] | None = None

    @field_validator("environment_variables", mode="before")
    @classmethod
    def _text(cls, value):
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else value


class PipelineJobSpec(SpecModel):
    type: Literal["pipeline"]
    name: str | None = None
    version: str | None = None  # pipeline components carry one
    display_name: str | None = None
    experiment_name: str | None = None
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    properties: dict[str, Any] = Field(default_factory=dict)
    inputs: dict[str, Literal_ | InputSpec | None] = Field(default_factory=dict)
    outputs: dict[str, OutputSpec | None] = Field(default_factory=dict)
    settings: PipelineSettings = Field(default_factory=PipelineSettings)
    compute: str | None = None
    jobs: dict[str, StepSpec]
    identity: dict[str, Any] | None = None
    limits: LimitsSpec | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value):
        return None if value is None else str(value)


def parse_binding(value: Any) -> tuple[str, str] | tuple[str, str, str] | None:
    """``${{parent.inputs.x}}`` -> ("inputs", "x"); ``${{parent.jobs.s.outputs.y}}`` -> ("jobs", "s", "y")."""
    if not isinstance(value, str):
        return None
    match = BINDING.match(value.strip())
    if not match:
        return None
    kind, rest = match.groups()
    if kind == "jobs":
        step, _, tail = rest.partition(".outputs.")
        if not tail:
            return ("jobs", rest, "")
        return ("jobs", step, tail)
    return (kind, rest)
