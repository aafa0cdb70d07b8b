"""The base ``Job``: YAML fields, and what the studio reports once a job is submitted."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from studio.ml.entities._base import AttrDict, CreationContext, _attr_mappings, _Entity, _plain
from studio.ml.entities._inputs_outputs import Input, Output


class JobService:
    """A link the studio offers for a job (``job.services["Studio"].endpoint``)."""

    def __init__(self, *, endpoint: str, type: str):
        self.endpoint = endpoint
        self.type = type

    def __repr__(self) -> str:
        return f"JobService(type={self.type!r}, endpoint={self.endpoint!r})"


class Job(
    _Entity, fields="name display_name experiment_name description tags properties compute inputs outputs"
):
    """A job: the YAML fields in ``_fields``, plus what the studio reports once it is submitted."""

    type = "job"

    # Sections read from YAML as ``AttrDict`` (attribute access), and those whose every entry is one.
    _YAML_SECTIONS: tuple[str, ...] = ()
    _YAML_ENTRIES: tuple[str, ...] = ()

    def __init__(
        self, fields: dict[str, Any] | None = None, *, base_path: Path | None = None, source: str = ""
    ):
        self._fields: dict[str, Any] = self._with_defaults(dict(fields or {}))
        # Relative paths (code, local inputs) resolve against the folder the job was written in.
        self._base_path = base_path or Path.cwd()
        self._source = source or f"{self.type} job"
        self.status: str | None = None
        self.studio_url: str | None = None
        self.creation_context: CreationContext | None = None
        self.start_time: datetime | None = None
        self.end_time: datetime | None = None
        self.failure_reason: str | None = None
        self.mlflow_run_id: str | None = None
        self.parent_job_name: str | None = None
        self._links: dict[str, JobService] = {}

    @staticmethod
    def _with_defaults(fields: dict[str, Any]) -> dict[str, Any]:
        """The fields as a job of this type keeps them (sections a pipeline or sweep always has)."""
        return fields

    @classmethod
    def _from_yaml_dict(cls, data: Mapping[str, Any], *, base_path: Path, source: str) -> Any:
        """A job read from YAML: mappings stay as written (attribute access works on them)."""
        fields: dict[str, Any] = {k: v for k, v in data.items() if k != "type"}
        fields["inputs"] = Input._map_from_yaml(fields.get("inputs"))
        fields["outputs"] = Output._map_from_yaml(fields.get("outputs"))
        for key in cls._YAML_SECTIONS:
            if isinstance(fields.get(key), Mapping):
                fields[key] = AttrDict(fields[key])
        for key in cls._YAML_ENTRIES:
            if isinstance(fields.get(key), Mapping):
                fields[key] = _attr_mappings(fields[key])
        return cls(fields, base_path=base_path, source=source)

    def _plain_fields(
        self, *, skip: tuple[str, ...] = (), keep_empty: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """The set fields as YAML data, in order: none that is ``None`` or an empty mapping (but ``keep_empty``)."""
        return {
            key: _plain(value)
            for key, value in self._fields.items()
            if key not in skip
            and value is not None
            and not (isinstance(value, Mapping) and not value and key not in keep_empty)
        }

    def to_yaml_dict(self) -> dict[str, Any]:
        """The job as the cloud's YAML mapping (what ``create_or_update`` submits)."""
        return {"type": self.type, **self._plain_fields(keep_empty=("inputs", "outputs"))}

    _to_dict = to_yaml_dict

    def _as_trial(self, swept: set[str]) -> Any:
        """The job as a sweep's ``trial`` (a command job says it its own way)."""
        return self._to_dict()

    def _timeout_as_trial(self) -> int | None:
        """The trial timeout this job implies as a sweep's trial."""
        return None

    def __eq__(self, other: object) -> bool:
        from backend.errors import StudioError

        if other is self:
            return True
        if type(other) is not type(self):
            return False
        try:
            return self.to_yaml_dict() == other.to_yaml_dict()  # type: ignore[attr-defined]
        except StudioError:
            return False  # one that cannot render yet (a step missing an input) equals only itself

    __hash__ = None  # type: ignore[assignment]

    @property
    def services(self) -> dict[str, Any] | None:
        """The ``services`` given for the job, or for a submitted job its links (``Studio``, ``Tracking``)."""
        return self._fields.get("services") or self._links or None

    @services.setter
    def services(self, value: dict[str, Any] | None) -> None:
        self._fields["services"] = value

    def __repr__(self) -> str:
        shown = {"name": self.name, "type": self.type, "status": self.status}
        return f"{type(self).__name__}(" + ", ".join(f"{k}={v!r}" for k, v in shown.items() if v) + ")"


class _KeywordJob(Job):
    """A job the cloud also builds from keywords: ``PipelineJob(jobs=...)``, ``SweepJob(trial=...)``."""

    def __init__(
        self,
        fields: dict[str, Any] | None = None,
        *,
        base_path: Path | None = None,
        source: str = "",
        **kwargs: Any,
    ):
        super().__init__({**(fields or {}), **kwargs}, base_path=base_path, source=source)


__all__ = ["Job", "JobService"]
