"""Pydantic models of the cloud's YAML formats, and loading with one clear message per mistake.

A message names the file, the field and what was wrong: ``data.yml: field 'type': must be one of
'uri_file', 'uri_folder', 'mltable' (got 'table')``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field

from backend.errors import ValidationError

M = TypeVar("M", bound=BaseModel)


class SpecModel(BaseModel):
    """Base of every YAML model: unknown fields are errors; ``$schema`` is accepted and kept."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_: str | None = Field(default=None, alias="$schema")


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML file's mapping; a missing, unreadable or non-mapping file is a ValidationError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{path}: cannot read the file ({exc})") from None
    return parse_yaml_text(text, source=str(path))


def parse_yaml_text(text: str, *, source: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ValidationError(f"{source}: not valid YAML{where}: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValidationError(f"{source}: expected a mapping of fields, got {type(data).__name__}")
    return data


def apply_overrides(data: dict[str, Any], overrides: list[str] | None, *, source: str) -> dict[str, Any]:
    """Apply ``--set field.sub=value`` overrides (values parsed as YAML scalars) to a spec mapping."""
    for item in overrides or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"--set expects field=value, got {item!r}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        target = data
        parts = key.strip().split(".")
        for part in parts[:-1]:
            nxt = target.get(part)
            if nxt is None:
                nxt = target[part] = {}
            if not isinstance(nxt, dict):
                raise ValidationError(f"{source}: --set {key}: field {part!r} is not a mapping")
            target = nxt
        target[parts[-1]] = value
    return data


def _describe(error: dict[str, Any]) -> str:
    loc = ".".join(str(p) for p in error["loc"] if not str(p).startswith("function-"))
    kind = error["type"]
    given = error.get("input")
    if kind == "extra_forbidden":
        return f"field {loc!r} is not allowed here"
    if kind == "missing":
        return f"field {loc!r} is required"
    message = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    shown = given if not isinstance(given, dict | list) else type(given).__name__
    return f"field {loc!r}: {message} (got {shown!r})" if loc else f"{message}"


def parse_spec(model: type[M], data: dict[str, Any], *, source: str, context: dict | None = None) -> M:
    """Validate a mapping against a spec model; the first error becomes one clear message."""
    try:
        return model.model_validate(data, context=context)
    except pydantic.ValidationError as exc:
        errors = exc.errors(include_url=False)
        more = (
            f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
            if len(errors) > 1
            else ""
        )
        raise ValidationError(f"{source}: {_describe(errors[0])}{more}") from None


def load_spec(model: type[M], path: str | Path, overrides: list[str] | None = None) -> M:
    source = str(path)
    return parse_spec(model, apply_overrides(read_yaml(path), overrides, source=source), source=source)
