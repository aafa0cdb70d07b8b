"""All configuration, read once from the environment (prefix ``STUDIO_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STUDIO_", extra="ignore")

    home: Path = Field(default=Path(".studio"), description="Folder that holds every file Studio keeps.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite in home by default.")
    database_schema: str | None = Field(
        default=None, description="PostgreSQL schema to use (the tests give each case its own)."
    )
    host: str = Field(default="127.0.0.1", description="Address the UI and MLflow bind to.")
    ui_port: int = 8501
    mlflow_port: int = 5000
    secret_key: str | None = Field(default=None, repr=False, description="Key that encrypts secrets at rest.")
    workspace: str = Field(default="default", description="Workspace used when a command names none.")
    mlflow_uri: str | None = Field(default=None, description="Tracking server URL; set by `studio up`.")
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


@lru_cache
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget cached settings (tests change the environment between cases)."""
    get_settings.cache_clear()
