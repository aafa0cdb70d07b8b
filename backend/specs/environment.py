"""The cloud's environment YAML (CLI v2 ``environment.schema.json``) and the conda files it names.

An environment file looks like::

    $schema: https://azuremlschemas.azureedge.net/latest/environment.schema.json
    name: sklearn-env
    version: 1
    image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest
    conda_file: ./conda.yml        # or an inline mapping

and a conda file::

    name: sklearn-env
    channels: [conda-forge]
    dependencies:
      - python=3.11
      - scikit-learn=1.5
      - pip
      - pip:
          - mlflow
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backend.specs import SpecModel
from backend.specs.job import tag_values


def _as_text(value: Any) -> Any:
    """YAML reads ``version: 1`` as a number; versions and tag values are text."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(value)
    return value


class _Part(BaseModel):
    """A nested mapping of the environment YAML: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")


class BuildContext(_Part):
    """A docker build context: recorded (Studio runs no containers); a local path must exist."""

    path: str
    dockerfile_path: str | None = None


class Route(_Part):
    port: int
    path: str


class InferenceConfig(_Part):
    liveness_route: Route
    readiness_route: Route
    scoring_route: Route


class EnvironmentSpec(SpecModel):
    """One environment version as the cloud's YAML writes it."""

    READ_ONLY_FIELDS = ("creation_context", "intellectual_property", "latest_version")

    name: str | None = None
    version: str | None = None
    description: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    properties: dict[str, Any] = Field(default_factory=dict)
    image: str | None = None
    conda_file: str | dict[str, Any] | None = None
    build: BuildContext | None = None
    os_type: Literal["linux", "windows"] | None = None
    inference_config: InferenceConfig | None = None
    datastore: str | None = None
    auto_delete_setting: dict[str, Any] | None = None  # recorded; Studio deletes nothing by itself

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return _as_text(value)

    @field_validator("tags", mode="before")
    @classmethod
    def _tag_values_text(cls, value: Any) -> Any:
        return tag_values(value)

    @field_validator("os_type", mode="before")
    @classmethod
    def _os_lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


class PipSection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pip: list[str]

    @field_validator("pip", mode="before")
    @classmethod
    def _pip_entries_text(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [_as_text(v) for v in value]
        return value


class CondaFile(BaseModel):
    """A conda environment file (``conda env export`` format)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    channels: list[str] = Field(default_factory=list)
    dependencies: list[str | PipSection] = Field(default_factory=list)
    prefix: str | None = None
    variables: dict[str, str] | None = None

    @field_validator("channels", "dependencies", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value
