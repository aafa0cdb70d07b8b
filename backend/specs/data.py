"""The cloud's data asset YAML (``$schema``, name, version, type, path, description, tags)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from backend.specs import SpecModel
from backend.specs.job import VersionText, tag_values

DataType = Literal["uri_file", "uri_folder", "mltable"]


class DataSpec(SpecModel):
    READ_ONLY_FIELDS = ("id", "creation_context", "latest_version")

    name: str
    version: VersionText = None
    type: DataType = "uri_folder"
    path: str
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    properties: dict[str, str] = Field(default_factory=dict)
    datastore: str | None = None  # the cloud uploads a local path there; Studio uses the default datastore
    auto_delete_setting: dict[str, Any] | None = None  # recorded; Studio deletes nothing by itself

    @field_validator("tags", "properties", mode="before")
    @classmethod
    def _values_as_text(cls, value):
        return tag_values(value)
