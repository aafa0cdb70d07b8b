"""The loan fixture as a studio user has it: the models registered, the CSVs as data assets."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "rai"
REFERENCE = json.loads((FIXTURE / "reference.json").read_text())


def register_fixture(model: str = "logreg") -> dict[str, str]:
    """Register ``model_<model>/`` (mlflow_model) and test/train CSVs (uri_file); returns their references."""
    from backend.services import data_assets, models, open_session
    from backend.services.model_registry import ModelCreate

    suffix = uuid.uuid4().hex[:6]
    with open_session() as s:
        registered = models.create_model(
            session=s,
            workspace="default",
            data=ModelCreate(
                name=f"loan-{model}-{suffix}", type="mlflow_model", path=str(FIXTURE / f"model_{model}")
            ),
        )
        refs = {"model": f"{registered.name}:{registered.version}"}
        for part in ("test", "train"):
            asset = data_assets.create_data_asset(
                session=s,
                workspace="default",
                data=data_assets.DataAssetCreate(
                    name=f"loan-{part}-{suffix}", type="uri_file", path=str(FIXTURE / f"{part}.csv")
                ),
            )
            refs[part] = f"{asset.name}:{asset.version}"
    return refs
