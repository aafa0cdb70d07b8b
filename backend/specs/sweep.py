"""The cloud's sweep-job YAML (SPEC section 8)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from backend.specs import SpecModel
from backend.specs.job import InputSpec, Literal_, OutputSpec, ResourcesSpec


class TrialSpec(SpecModel):
    """A sweep's ``trial`` written inline: a command job body."""

    type: Literal["command"] = "command"
    command: str
    code: str | None = None
    environment: str | dict[str, Any]
    environment_variables: dict[str, str] = Field(default_factory=dict)
    resources: ResourcesSpec = Field(default_factory=ResourcesSpec)
    distribution: dict[str, Any] | None = None

    @field_validator("environment_variables", mode="before")
    @classmethod
    def _text(cls, value):
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else value


class SamplingSpec(SpecModel):
    type: Literal["random", "grid", "bayesian"]
    seed: int | None = None
    rule: Literal["random", "sobol"] = "random"
    logbase: float | str | None = None


class ObjectiveSpec(SpecModel):
    primary_metric: str
    goal: Literal["maximize", "minimize"]

    @field_validator("goal", mode="before")
    @classmethod
    def _lower(cls, value):
        return value.lower() if isinstance(value, str) else value


class SweepLimitsSpec(SpecModel):
    max_total_trials: int | None = Field(default=None, ge=1)
    max_concurrent_trials: int | None = Field(default=None, ge=1)
    timeout: int | None = Field(default=None, gt=0)
    trial_timeout: int | None = Field(default=None, gt=0)


class SweepJobSpec(SpecModel):
    type: Literal["sweep"]
    name: str | None = None
    display_name: str | None = None
    experiment_name: str | None = None
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    properties: dict[str, Any] = Field(default_factory=dict)
    trial: TrialSpec | str
    inputs: dict[str, Literal_ | InputSpec | None] = Field(default_factory=dict)
    outputs: dict[str, OutputSpec | None] = Field(default_factory=dict)
    compute: str | None = None
    sampling_algorithm: Literal["random", "grid", "bayesian"] | SamplingSpec = "random"
    search_space: dict[str, Any]
    objective: ObjectiveSpec
    limits: SweepLimitsSpec = Field(default_factory=SweepLimitsSpec)
    early_termination: dict[str, Any] | None = None
    identity: dict[str, Any] | None = None
    queue_settings: dict[str, Any] | None = None
    resources: ResourcesSpec | None = None

    @field_validator("sampling_algorithm", mode="before")
    @classmethod
    def _lower(cls, value):
        return value.lower() if isinstance(value, str) else value

    @property
    def sampling(self) -> SamplingSpec:
        algo = self.sampling_algorithm
        return algo if isinstance(algo, SamplingSpec) else SamplingSpec(type=algo)
