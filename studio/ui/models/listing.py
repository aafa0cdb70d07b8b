"""The list of models (latest version of each) and the Register form."""

from __future__ import annotations

from backend.services import models
from studio.ui import asset_pager
from studio.ui.models.register import register_form


def listing() -> None:
    asset_pager.paged_asset_listing(
        models.page_models,
        keys=("models_show_archived", "models_table"),
        register=register_form,
        empty=(
            "No models yet: register a folder, a job's output or an MLflow run above, or register one "
            "with plain MLflow (`mlflow.register_model`): it shows here at once."
        ),
        noun="model",
        extra={"tags": lambda r: ", ".join(f"{k}={v}" for k, v in r.tags.items())},
    )
