"""``ml_client.models``: MLflow's model registry through the studio's services."""

from __future__ import annotations

from pathlib import Path

from studio.ml.entities import Model, model_from_record, model_from_summary
from studio.ml.operations._base import _AssetCalls, _AssetOperations


class ModelOperations(_AssetOperations[Model]):
    _from_record = staticmethod(model_from_record)
    _from_summary = staticmethod(model_from_summary)

    _calls = _AssetCalls("models", "model")

    def create_or_update(self, model: Model) -> Model:
        """Register a model version; a local path (relative to where ``Model`` was made) is uploaded."""
        from backend.services import models
        from backend.specs import parse_spec
        from backend.specs.model import ModelSpec

        source = f"Model(name={model.name!r})"
        spec = parse_spec(ModelSpec, model._to_dict(), source=source)
        return model_from_record(
            self._call(models.create_model_from_spec, spec=spec, base_dir=model._base_path, source=source)
        )

    def download(self, name: str, version: str | int, download_path: str | Path = ".") -> None:
        """Download a version's files to ``download_path/<name>/``, as the cloud's SDK does."""
        from backend.services import models

        self._call(models.download_model, name=name, version=str(version), download_path=Path(download_path))


__all__ = ["ModelOperations"]
