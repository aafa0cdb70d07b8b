"""The one definition of Studio's MLflow tracking server command, for ``studio up`` and the tests.

A real ``mlflow server`` (its CLI checks and migrates the store, then starts gunicorn on MLflow's Flask
app) with Studio's gunicorn configuration (``studio.tracking_gunicorn``, which installs
``studio.tracking_store`` in each worker: SQLite in WAL mode with a synced commit, metrics written by
plain SQL). Gunicorn's threaded workers keep a client's connection alive between requests (the MLflow
client keeps it), which the default uvicorn server answers about 40 ms late.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

WORKERS = 2
THREADS = 4
TIMEOUT_S = 120
KEEPALIVE_S = 30  # an idle client connection stays open this long (a job logging in a loop keeps it)
GRACEFUL_S = 5  # on stop, requests in flight get this long (idle kept-alive connections count as such)
GUNICORN_CONFIG = "python:studio.tracking_gunicorn"


def command(*, host: str, port: int, store: Path, artifacts: Path | str, workers: int = WORKERS) -> list[str]:
    """argv of the tracking server: SQLite database ``store``, artifacts served from ``artifacts`` (a
    folder, or the shared storage's ``wasbs://`` URI: ``artifacts_destination``)."""
    gunicorn_opts = (
        f"-c {GUNICORN_CONFIG} --threads {THREADS} --timeout {TIMEOUT_S} --keep-alive {KEEPALIVE_S} "
        f"--graceful-timeout {GRACEFUL_S} --no-control-socket"  # (one per user otherwise: shared by every studio)
    )
    return [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--host",
        host,
        "--port",
        str(port),
        "--backend-store-uri",
        f"sqlite:///{store}",
        "--artifacts-destination",
        str(artifacts),
        "--workers",
        str(workers),
        "--gunicorn-opts",
        gunicorn_opts,
    ]


def artifacts_destination(local: Path) -> Path | str:
    """Where the server keeps artifacts: the shared storage's folder when the studio has one
    (``backend.storage.shared``), else the local folder ``local``."""
    from backend.storage import shared

    storage = shared.configured()
    return local if storage is None else storage.mlflow_destination


def environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The server's environment: ``base`` (the caller's by default), with the repository importable (the
    gunicorn configuration is a Studio module) and MLflow's own job runner off (Studio does not use it).
    With shared storage, MLflow reaches it through a connection string (in this environment only)."""
    env = dict(os.environ if base is None else base)
    from backend.storage import shared

    storage = shared.configured()
    if storage is not None:
        env["AZURE_STORAGE_CONNECTION_STRING"] = storage.connection_string
    root = str(Path(__file__).resolve().parent.parent)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if root not in paths:
        env["PYTHONPATH"] = os.pathsep.join([root, *paths])
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    return env
