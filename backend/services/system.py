"""What ``studio up`` is running: ports and URLs, shared with the UI, the CLI and the agent."""

from __future__ import annotations

import json
import os
from pathlib import Path

import psutil
from pydantic import BaseModel

from backend.settings import get_settings


class Runtime(BaseModel):
    pid: int
    home: str
    mlflow_uri: str
    ui_url: str | None = None
    agent_pid: int | None = None


def runtime_file() -> Path:
    return get_settings().run_dir / "up.json"


def write_runtime(info: Runtime) -> None:
    path = runtime_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(info.model_dump_json(indent=2))
    os.replace(tmp, path)


def clear_runtime() -> None:
    runtime_file().unlink(missing_ok=True)


def current_runtime() -> Runtime | None:
    """The running ``studio up`` of this home, if any (a file left by a dead one is ignored)."""
    path = runtime_file()
    try:
        info = Runtime.model_validate(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None
    return info if psutil.pid_exists(info.pid) else None


def mlflow_tracking_uri() -> str | None:
    """The tracking server to use: STUDIO_MLFLOW_URI, else the one ``studio up`` started."""
    settings = get_settings()
    if settings.mlflow_uri:
        return settings.mlflow_uri
    info = current_runtime()
    return info.mlflow_uri if info else None


class Isolation(BaseModel):
    """How user code is kept apart from Studio on this machine (the Compute page and job logs say it)."""

    sandboxed: bool
    detail: str


def isolation() -> Isolation:
    from backend import sandbox

    found = sandbox.status()
    return Isolation(sandboxed=found.available, detail=found.detail)
