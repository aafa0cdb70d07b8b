"""``ml_client.data``, ``.components`` and ``.environments``: versioned assets."""

from __future__ import annotations

from studio.ml.entities import (
    CommandComponent,
    Data,
    Environment,
    component_from_record,
    component_from_summary,
    data_from_record,
    data_from_summary,
    environment_from_record,
)
from studio.ml.operations._base import _AssetCalls, _AssetOperations


class DataOperations(_AssetOperations[Data]):
    _from_record = staticmethod(data_from_record)
    _from_summary = staticmethod(data_from_summary)

    _calls = _AssetCalls("data_assets", "data_asset")

    def create_or_update(self, data: Data) -> Data:
        """Register a data version; a local path (relative to where ``Data`` was made) is uploaded."""
        from backend.services import data_assets
        from backend.specs import parse_spec
        from backend.specs.data import DataSpec

        spec = parse_spec(DataSpec, data._to_dict(), source=f"Data(name={data.name!r})")
        create = data_assets.DataAssetCreate(
            **spec.model_dump(include=set(data_assets.DataAssetCreate.model_fields))
        )
        return data_from_record(
            self._call(data_assets.create_data_asset, data=create, base_dir=data._base_path)
        )


class ComponentOperations(_AssetOperations[CommandComponent]):
    _from_record = staticmethod(component_from_record)
    _from_summary = staticmethod(component_from_summary)

    _calls = _AssetCalls("components", "component")

    def create_or_update(
        self, component: CommandComponent, *, version: str | int | None = None
    ) -> CommandComponent:
        """Register a component version (its code is snapshotted); without a version, the next integer."""
        import yaml

        from backend.errors import ValidationError
        from backend.services import components, open_session
        from backend.specs import parse_spec
        from backend.specs.component import CommandComponentSpec

        data = component._to_dict()
        if version is not None:
            data["version"] = str(version)
        spec = parse_spec(CommandComponentSpec, data, source=component._source)
        if component._file is not None and data == component._loaded:
            text = component._file.read_text()
        else:
            text = yaml.safe_dump({k: v for k, v in data.items() if k != "$schema"}, sort_keys=False)
        try:
            with open_session() as s:
                record = components.register_component(
                    session=s,
                    workspace=self._workspace,
                    spec=spec,
                    base_dir=component._base_path,
                    source_yaml=text,
                )
        except ValidationError as exc:
            raise ValidationError(f"{component._source}: {exc}") from None
        return component_from_record(record)


class EnvironmentOperations(_AssetOperations[Environment]):
    _from_record = staticmethod(environment_from_record)

    _calls = _AssetCalls("environments", "environment")

    def list(self, name: str | None = None) -> list[Environment]:  # type: ignore[override]
        """The latest version of each environment, or with ``name`` every version of it."""
        from backend.services import environments

        return [environment_from_record(r) for r in self._call(environments.list_environments, name=name)]


__all__ = ["ComponentOperations", "DataOperations", "EnvironmentOperations"]
