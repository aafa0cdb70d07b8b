"""Job inputs and outputs (``Input``, ``Output``), and reading a component's declared ports."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from studio.ml.entities._base import AttrDict, _Entity, _Field, _validation_error, _version

DATA_TYPES = ("uri_file", "uri_folder", "mltable", "mlflow_model", "custom_model", "triton_model")


class _Port(_Entity, fields="type path mode description"):
    """What inputs and outputs share: a type (data ones default to ``uri_folder``), a path and a mode."""

    def __init__(self, type: str, path: Any, mode: str | None, description: str | None, **fields: Any):
        self._fields = {"type": type, "path": path, "mode": mode, **fields, "description": description}

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any]) -> Any:
        entity = cls()
        entity._fields = {"type": "uri_folder", **data}
        return entity

    @classmethod
    def _map_from_yaml(cls, data: Mapping[str, Any] | None) -> AttrDict:
        """A YAML ``inputs:``/``outputs:`` section: each mapping as an entity, literals as they are."""
        return AttrDict(
            {name: cls._from_dict(v) if isinstance(v, Mapping) else v for name, v in (data or {}).items()}
        )


class Input(_Port):
    """A job input: data (``uri_file``, ``uri_folder``, ``mltable``, models) or a typed literal."""

    default = _Field()
    optional = _Field()

    def __init__(
        self,
        *,
        type: str = "uri_folder",
        path: str | PurePath | None = None,
        mode: str | None = None,
        default: Any = None,
        optional: bool | None = None,
        description: str | None = None,
    ):
        super().__init__(type, path, mode, description, default=default, optional=optional)


class Output(_Port):
    """A job output; ``name`` (and ``version``) register it as a data asset when the job completes."""

    name = _Field()
    version = _Field()

    def __init__(
        self,
        *,
        type: str = "uri_folder",
        path: str | None = None,
        mode: str | None = None,
        name: str | None = None,
        version: str | int | None = None,
        description: str | None = None,
    ):
        super().__init__(type, path, mode, description, name=name, version=_version(version))


def _port_get(port: Any, key: str, default: Any = None) -> Any:
    """A field of a component's input/output declaration (a YAML mapping or an ``Input``/``Output``)."""
    if port is None:
        return default
    value = port.get(key) if isinstance(port, Mapping) else getattr(port, key, None)
    return default if value is None else value


def _port_type(port: Any, default: str = "uri_folder") -> str:
    return _port_get(port, "type", default)


def _check_input_names(source: str, given: Mapping[str, Any], declared: Mapping[str, Any]) -> None:
    unknown = [name for name in given if name not in declared]
    if unknown:
        raise _validation_error(
            f"{source}: {unknown[0]!r} is not one of its inputs (inputs: {', '.join(declared) or 'none'})"
        )


__all__ = ["DATA_TYPES", "Input", "Output"]
