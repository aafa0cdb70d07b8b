"""Assets: data (``uri_file``, ``uri_folder``, ``mltable``) and environments, registered by name and version."""

from __future__ import annotations

from pathlib import Path, PurePath
from typing import Any

from studio.ml.entities._base import CreationContext, _Entity, _Field, _plain, _stamped, _version


class _Asset(_Entity, fields="name version description tags"):
    """A registered ``name:version`` with a description and tags; its own fields stand between them."""

    def __init__(
        self,
        *,
        name: str | None,
        version: str | int | None,
        description: str | None,
        tags: dict[str, str] | None,
        **fields: Any,
    ):
        self._fields = {
            "name": name,
            "version": _version(version),
            **fields,
            "description": description,
            "tags": dict(tags or {}),
        }
        self.creation_context: CreationContext | None = None

    @classmethod
    def _from_record(cls, record: Any, *own: str) -> Any:
        """The asset from the service layer's record; ``own``: the fields besides the shared ones."""
        return cls(
            name=record.name,
            version=record.version,
            description=record.description,
            tags=record.tags,
            **{key: getattr(record, key) for key in own},
        )

    @property
    def id(self) -> str | None:
        """The reference a job input takes: ``azureml:<name>:<version>``."""
        return f"azureml:{self.name}:{self.version}" if self.name and self.version else None


class Data(_Asset):
    """A data asset version (``uri_file``, ``uri_folder``, ``mltable``)."""

    type = _Field()
    path = _Field()

    def __init__(
        self,
        *,
        name: str | None = None,
        version: str | int | None = None,
        type: str = "uri_folder",
        path: str | PurePath | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
    ):
        super().__init__(name=name, version=version, type=type, path=path, description=description, tags=tags)
        self._base_path = Path.cwd()
        self.latest_version: str | None = None
        self.size_bytes: int | None = None


def data_from_record(record: Any) -> Data:
    data = Data._from_record(record, "type", "path")
    data.size_bytes = record.size_bytes
    return _stamped(data, latest_version=record.version, created_at=record.created_at)


def data_from_summary(summary: Any) -> Data:
    """One line of ``data.list()``: the name and its latest version, like the cloud's container listing."""
    data = Data(name=summary.name, type=summary.type, description=summary.description, tags=summary.tags)
    return _stamped(data, latest_version=summary.latest_version, created_at=summary.updated_at)


class Environment(_Asset):
    """An environment: a registered ``name:version``, or (unnamed) an image and/or conda file for one job."""

    image = _Field()
    conda_file = _Field()

    def __init__(
        self,
        *,
        name: str | None = None,
        version: str | int | None = None,
        image: str | None = None,
        conda_file: str | PurePath | dict | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
    ):
        super().__init__(
            name=name, version=version, image=image, conda_file=conda_file, description=description, tags=tags
        )
        self.python_version: str | None = None
        self.pip_requirements: list[str] = []
        self.build_status: str | None = None
        self.reason: str | None = None

    def _to_dict(self) -> Any:
        # As a job's ``environment``: a registered one by reference, an unnamed one inline.
        if self.id:
            return self.id
        return {k: _plain(v) for k, v in self._fields.items() if v not in (None, {}) and k != "version"}

    def __repr__(self) -> str:
        shown = {k: v for k, v in self._fields.items() if v not in (None, {})}
        return "Environment(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"


def environment_from_record(record: Any) -> Environment:
    env = Environment._from_record(record, "image", "conda_file")
    env.python_version = record.python_version
    env.pip_requirements = list(record.pip_requirements)
    env.build_status = record.build_status
    env.reason = record.reason
    env.creation_context = CreationContext(created_at=record.created_at)
    return env


__all__ = ["Data", "Environment", "data_from_record", "data_from_summary", "environment_from_record"]
