"""``Model``: a version in MLflow's model registry (``mlflow_model``, ``custom_model``, ``triton_model``)."""

from __future__ import annotations

from pathlib import Path, PurePath
from typing import Any

from studio.ml.entities._assets import _Asset
from studio.ml.entities._base import _stamped


class Model(_Asset, fields="type path properties flavors stage"):
    """A model version: a local file or folder, ``azureml://jobs/<job>/outputs/<output>`` or
    ``runs:/<run-id>/<path>`` as ``path``."""

    def __init__(
        self,
        *,
        name: str | None = None,
        version: str | int | None = None,
        type: str = "custom_model",
        path: str | PurePath | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        flavors: dict[str, Any] | None = None,
        stage: str | None = None,
    ):
        super().__init__(
            name=name,
            version=version,
            type=type,
            path=path,
            properties=dict(properties or {}) or None,
            flavors=flavors,
            stage=stage,
            description=description,
            tags=tags,
        )
        self._base_path = Path.cwd()
        self.latest_version: str | None = None
        self.job_name: str | None = None
        self.run_id: str | None = None
        self.archived: bool = False


def model_from_record(record: Any) -> Model:
    model = Model._from_record(record, "type", "path", "properties", "flavors", "stage")
    model.job_name, model.run_id, model.archived = record.job, record.run_id, record.archived
    return _stamped(model, latest_version=record.version, created_at=record.created_at)


def model_from_summary(summary: Any) -> Model:
    """One line of ``models.list()``: the name and its latest version."""
    model = Model(name=summary.name, type=summary.type, description=summary.description, tags=summary.tags)
    return _stamped(model, latest_version=summary.latest_version, created_at=summary.updated_at)
