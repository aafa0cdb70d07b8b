"""What every entity is made of: fields kept under their YAML names, rendered as plain YAML data."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import PurePath
from typing import Any


class AttrDict(dict):
    """A dict whose keys also read as attributes (``job.outputs.model``, ``job.resources.instance_count``)."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value


def _plain(value: Any) -> Any:
    """Entities and containers as plain YAML data (``None`` kept: an empty output or an unset input)."""
    if hasattr(value, "_to_dict"):
        return value._to_dict()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _attr_mappings(data: Mapping[str, Any] | None) -> AttrDict:
    """Each mapping among the values as an ``AttrDict`` (a step, a port, a search-space entry)."""
    return AttrDict({k: AttrDict(v) if isinstance(v, Mapping) else v for k, v in (data or {}).items()})


def _version(version: str | int | None) -> str | None:
    return None if version is None else str(version)


def _validation_error(message: str) -> Exception:
    from backend.errors import ValidationError

    return ValidationError(message)


class _Field:
    """An attribute stored in the owner's ``_fields`` dict under its YAML name."""

    def __init__(self, key: str | None = None):
        self.key = key

    def __set_name__(self, owner: type, name: str) -> None:
        self.key = self.key or name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return obj._fields.get(self.key)

    def __set__(self, obj: Any, value: Any) -> None:
        obj._fields[self.key] = value


class _Entity:
    """``class Command(Job, fields="command code environment")`` declares a ``_Field`` per name."""

    _fields: dict[str, Any]

    def __init_subclass__(cls, fields: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in fields.split():
            setattr(cls, name, _Field(name))

    def _to_dict(self) -> dict[str, Any]:
        return {k: _plain(v) for k, v in self._fields.items() if v is not None}

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._to_dict() == other._to_dict()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self._to_dict().items())
        return f"{type(self).__name__}({shown})"


class CreationContext:
    def __init__(self, *, created_at: datetime, created_by: str = "studio"):
        self.created_at = created_at
        self.created_by = created_by

    def __repr__(self) -> str:
        return f"CreationContext(created_at={self.created_at!r})"


def _stamped(entity: Any, *, latest_version: str | None, created_at: datetime) -> Any:
    """A versioned entity as the studio lists it: its latest version, and when it was made (or changed)."""
    entity.latest_version = latest_version
    entity.creation_context = CreationContext(created_at=created_at)
    return entity


__all__ = ["AttrDict", "CreationContext"]
