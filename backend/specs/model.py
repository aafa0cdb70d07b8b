"""The cloud's model YAML (``$schema``, name, version, type, path, description, tags, properties, flavors,
stage)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from backend.specs import SpecModel
from backend.specs.job import AnyCase, Tags, VersionText

ModelType = Literal["mlflow_model", "custom_model", "triton_model"]


class ModelSpec(SpecModel):
    READ_ONLY_FIELDS = ("id", "creation_context", "latest_version", "job_name")

    name: str
    version: VersionText = None
    type: Annotated[ModelType, AnyCase] = "custom_model"
    path: str
    description: str = ""
    tags: Tags = Field(default_factory=dict)
    properties: Tags = Field(default_factory=dict)
    flavors: dict[str, Any] | None = None  # an MLflow model's own MLmodel file says which it has
    stage: str | None = None  # the cloud's free-text stage ("Development", "Production", ...)
    datastore: str | None = None  # the cloud uploads a local path there; Studio uploads to MLflow
