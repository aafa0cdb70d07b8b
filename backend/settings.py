"""All configuration, read once from the environment (prefix ``STUDIO_``, any case).

A plain pydantic model filled from ``os.environ`` rather than pydantic-settings: the same fields and
validation, without importing asyncio and pydantic-settings' sources in every CLI call (about 80 ms).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

ENV_PREFIX = "studio_"
SECRET_FIELDS = ("secret_key", "database_url", "storage_key")  # never echoed in an error


class SettingsError(ValueError):
    """A ``STUDIO_*`` variable that is not valid: the message names it, what is wrong and what is allowed."""


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_default=True)

    home: Path = Field(default=Path(".studio"), description="Folder that holds every file Studio keeps.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite in home by default.")
    database_schema: str | None = Field(
        default=None, description="PostgreSQL schema to use (the tests give each case its own)."
    )
    host: str = Field(
        default="127.0.0.1",
        description="Address every server Studio starts binds to (UI, MLflow, endpoint router); "
        "loopback unless `studio up --host` says otherwise.",
    )
    ui_port: int = 8501
    mlflow_port: int = 5000
    endpoint_port: int = Field(
        default=8502, description="Port of the router in front of the online endpoints (scoring URLs)."
    )
    secret_key: str | None = Field(default=None, repr=False, description="Key that encrypts secrets at rest.")
    workspace: str = Field(default="default", description="Workspace used when a command names none.")
    mlflow_uri: str | None = Field(default=None, description="Tracking server URL; set by `studio up`.")
    storage_url: str | None = Field(
        default=None,
        description="Shared storage (an Azure Blob container, `backend.storage.shared`) for the MLflow "
        "artifact root and new workspaces' built-in datastores; local folders when unset.",
    )
    storage_key: str | None = Field(default=None, repr=False, description="The shared storage's account key.")
    base_env_dir: Path | None = Field(
        default=None,
        description="Folder for the curated base environment (default STUDIO_HOME/envs/base); "
        "studios on one machine may share one.",
    )

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("base_env_dir")
    @classmethod
    def _absolute_base_env_dir(cls, value: Path | None) -> Path | None:
        return value.expanduser().resolve() if value else None

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'studio.db'}"

    @property
    def workspaces_root(self) -> Path:
        return self.home / "workspaces"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"


def from_environment() -> Settings:
    """``STUDIO_<FIELD>`` variables (case-insensitive, as pydantic-settings reads them) as settings."""
    given = {
        name.lower().removeprefix(ENV_PREFIX): value
        for name, value in os.environ.items()
        if name.lower().startswith(ENV_PREFIX)
    }
    try:
        return Settings.model_validate({k: v for k, v in given.items() if k in Settings.model_fields})
    except PydanticValidationError as exc:
        problem = exc.errors()[0]
        field = str(problem["loc"][0]) if problem["loc"] else "?"
        shown = "" if field in SECRET_FIELDS else f"={problem.get('input')!r}"
        raise SettingsError(f"environment variable STUDIO_{field.upper()}{shown}: {problem['msg']}") from None


@lru_cache
def get_settings() -> Settings:
    return from_environment()


def reset_settings() -> None:
    """Forget cached settings (tests change the environment between cases)."""
    get_settings.cache_clear()
