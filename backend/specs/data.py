"""The cloud's data asset YAML (``$schema``, name, version, type, path, description, tags)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from backend.specs import SpecModel

DataType = Literal["uri_file", "uri_folder", "mltable"]


class DataSpec(SpecModel):
    name: str
    version: str | None = None
    type: DataType = "uri_folder"
    path: str
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    properties: dict[str, str] = Field(default_factory=dict)

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value):
        return None if value is None else str(value)

    @field_validator("tags", "properties", mode="before")
    @classmethod
    def _values_as_text(cls, value):
        if isinstance(value, dict):
            return {str(k): "" if v is None else str(v) for k, v in value.items()}
        return value
