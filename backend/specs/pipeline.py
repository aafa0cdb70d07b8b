"""The cloud's pipeline-job YAML (SPEC section 10).

As in the cloud's loader, ``settings`` and each step (``jobs.<name>``) take keys Studio does not know:
they are kept as given, with a warning. The nested parts of a step (``limits``, ``resources``,
``distribution``, a sweep step's ``objective``, ``search_space``, ``early_termination``, ...) are checked as
strictly as in a job file, and stay plain mappings (the pipeline planner reads them).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from backend.specs import FieldProblem, SpecModel, validate_part
from backend.specs.job import (
    Distribution,
    EnvironmentVariables,
    Inputs,
    JobSpecBase,
    LimitsSpec,
    OptionalCommand,
    OutputSpec,
    QueueSettingsSpec,
    ResourcesSpec,
    Tags,
)
from backend.specs.sweep import (
    EarlyTermination,
    ObjectiveSpec,
    SamplingSpec,
    SearchSpace,
    SweepLimitsSpec,
    check_sampling_algorithm,
)

BINDING = re.compile(r"^\$\{\{\s*parent\.(inputs|outputs|jobs)\.([\w.-]+)\s*\}\}$")


class PipelineSettings(SpecModel):
    """``settings``: the cloud's SDK stores keys it does not know as given; so does Studio."""

    model_config = ConfigDict(extra="allow")

    default_compute: str | None = None
    default_datastore: str | None = None
    default_environment: str | None = None
    continue_on_step_failure: bool = False
    force_rerun: bool = False
    on_init: str | None = None
    on_finalize: str | None = None


def _sampling_as_mapping(value: Any) -> Any:
    checked = check_sampling_algorithm(value)
    if isinstance(checked, SamplingSpec):
        return checked.model_dump(exclude_none=True, exclude={"schema_"})
    return checked


class StepSpec(SpecModel):
    """One step of ``jobs``: a command, sweep or pipeline node; unknown keys are kept (as in the cloud)."""

    model_config = ConfigDict(extra="allow")

    type: Literal["command", "sweep", "pipeline"] = "command"
    name: str | None = None
    display_name: str | None = None
    description: str = ""
    tags: Tags = Field(default_factory=dict)
    properties: Tags = Field(default_factory=dict)
    experiment_name: str | None = None
    component: str | dict[str, Any] | None = None
    # An inline command step carries these instead of a component.
    command: OptionalCommand = None
    code: str | None = None
    environment: str | dict[str, Any] | None = None
    environment_variables: EnvironmentVariables = Field(default_factory=dict)
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)
    compute: str | None = None
    resources: ResourcesSpec | None = None
    limits: dict[str, Any] | None = None
    distribution: Distribution = None
    settings: dict[str, Any] | None = None
    identity: dict[str, Any] | None = None
    services: dict[str, Any] | None = None
    queue_settings: QueueSettingsSpec | None = None
    # Sweep steps.
    trial: str | dict[str, Any] | None = None
    sampling_algorithm: Annotated[str | dict[str, Any] | None, BeforeValidator(_sampling_as_mapping)] = None
    search_space: SearchSpace | None = None
    objective: dict[str, Any] | None = None
    early_termination: EarlyTermination = None

    @field_validator("type", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("limits", mode="before")
    @classmethod
    def _limits_of_its_type(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return None
        model = SweepLimitsSpec if info.data.get("type") == "sweep" else LimitsSpec
        return validate_part(model, value, info).model_dump(exclude_none=True, exclude={"schema_"})

    @field_validator("objective", mode="before")
    @classmethod
    def _objective(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return None
        return validate_part(ObjectiveSpec, value, info).model_dump(exclude={"schema_"})


class PipelineJobSpec(JobSpecBase):
    type: Literal["pipeline"]
    version: str | None = None  # pipeline components carry one
    inputs: Inputs = Field(default_factory=dict)
    outputs: dict[str, OutputSpec | None] = Field(default_factory=dict)
    settings: PipelineSettings = Field(default_factory=PipelineSettings)
    compute: str | None = None
    jobs: dict[str, StepSpec]
    identity: dict[str, Any] | None = None
    services: dict[str, Any] | None = None
    limits: LimitsSpec | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value):
        return None if value is None else str(value)

    @model_validator(mode="before")
    @classmethod
    def _at_least_one_step(cls, data: Any) -> Any:
        if isinstance(data, dict) and (data.get("jobs") is None or data.get("jobs") == {}):
            raise FieldProblem(
                "jobs", "a pipeline needs at least one step (jobs: {<step name>: {...}})", data.get("jobs")
            )
        return data


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
