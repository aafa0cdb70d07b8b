"""The agent's side of MLflow: a run per job, parameters, the end of a run, metric histories, artifacts.

The calls a job's start and the sweep controller need go straight to the tracking server's REST API
over one kept-alive connection per thread: ``import mlflow`` costs a second or more, which the first
job after the agent starts would otherwise wait for. Artifact uploads and downloads, and tracking URIs
that are not HTTP servers, go through ``MlflowClient`` (imported when first needed).
"""

from __future__ import annotations

import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from backend.errors import UnavailableError

REQUEST_TIMEOUT_S = 30
HISTORY_PAGE = 25_000  # metric points per request when reading a history


class TrackingError(Exception):
    """The tracking server refused a request; the message is its own."""

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code


def tracking_uri() -> str:
    from backend.services.system import mlflow_tracking_uri

    uri = mlflow_tracking_uri()
    if not uri:
        raise UnavailableError(
            "no MLflow tracking server: start Studio with `studio up`, or set STUDIO_MLFLOW_URI"
        )
    return uri


@lru_cache(maxsize=4)
def _client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)  # never the process's global registry URI


def client():
    """MLflow's own client (slow to import): for artifacts and for tests."""
    return _client(tracking_uri())


_local = threading.local()


def _rest() -> tuple[Any, str] | None:
    """(a requests session of this thread, the server's base URL), or None for a non-HTTP store."""
    uri = tracking_uri().rstrip("/")
    if not uri.startswith(("http://", "https://")):
        return None
    session = getattr(_local, "session", None)
    if session is None:
        import requests

        session = _local.session = requests.Session()
    return session, uri


def _call(method: str, endpoint: str, **kwargs: Any) -> dict[str, Any]:
    rest = _rest()
    assert rest is not None
    session, base = rest
    import requests

    url = f"{base}/api/2.0/mlflow/{endpoint}"
    try:
        response = session.request(method, url, timeout=REQUEST_TIMEOUT_S, **kwargs)
    except requests.ConnectionError:
        # A kept-alive connection the server closed as it was reused ("connection reset by peer"): once
        # more on a fresh one. (A run created twice would be an orphan; a job failed for it is worse.)
        session.close()
        response = session.request(method, url, timeout=REQUEST_TIMEOUT_S, **kwargs)
    if response.ok:
        return response.json() if response.content else {}
    try:
        body = response.json()
    except ValueError:
        body = {}
    raise TrackingError(
        f"MLflow {endpoint}: {body.get('message') or response.text[:200] or response.reason}",
        body.get("error_code"),
    )


_experiment_ids: dict[tuple[str, str], str] = {}


def experiment_id(name: str) -> str:
    """The id of an experiment (created when missing); remembered, since every job asks."""
    key = (tracking_uri(), name)
    if key not in _experiment_ids:
        _experiment_ids[key] = _experiment_id(name)
    return _experiment_ids[key]


def _find_experiment(name: str) -> dict[str, Any] | None:
    try:
        return _call("GET", "experiments/get-by-name", params={"experiment_name": name})["experiment"]
    except TrackingError as exc:
        if exc.code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise


def experiment_id_if_any(name: str) -> str | None:
    """The id of an existing experiment, or None (never creates one)."""
    if _rest() is None:
        found = client().get_experiment_by_name(name)
        return found.experiment_id if found else None
    found = _find_experiment(name)
    return found["experiment_id"] if found else None


def _experiment_id(name: str) -> str:
    if _rest() is None:
        return _experiment_id_by_client(name)
    found = _find_experiment(name)
    if found is not None:
        if found.get("lifecycle_stage") == "deleted":
            _call("POST", "experiments/restore", json={"experiment_id": found["experiment_id"]})
        return found["experiment_id"]
    try:
        return _call("POST", "experiments/create", json={"name": name})["experiment_id"]
    except TrackingError:  # another process created it between the two calls
        again = _find_experiment(name)
        if again is None:
            raise
        return again["experiment_id"]


def _experiment_id_by_client(name: str) -> str:
    from backend.services.runs import experiment_id

    return experiment_id(client(), name)


def _now_ms() -> int:
    return int(time.time() * 1000)


def create_run(*, experiment: str, run_name: str, tags: dict[str, str]) -> tuple[str, str]:
    exp_id = experiment_id(experiment)
    if _rest() is None:
        run = client().create_run(exp_id, run_name=run_name, tags=tags)
        return run.info.run_id, exp_id
    body = {
        "experiment_id": exp_id,
        "run_name": run_name,
        "start_time": _now_ms(),
        "tags": [{"key": k, "value": str(v)} for k, v in {**tags, "mlflow.runName": run_name}.items()],
    }
    return _call("POST", "runs/create", json=body)["run"]["info"]["run_id"], exp_id


def log_params(run_id: str, params: dict[str, object]) -> None:
    if not params:
        return
    pairs = [(str(k), str(v)[:6000]) for k, v in params.items()]
    if _rest() is None:
        from mlflow.entities import Param

        client().log_batch(run_id, params=[Param(k, v) for k, v in pairs])
        return
    _call(
        "POST",
        "runs/log-batch",
        json={"run_id": run_id, "params": [{"key": k, "value": v} for k, v in pairs]},
    )


def log_metric(run_id: str, key: str, value: float, step: int = 0) -> None:
    if _rest() is None:
        client().log_metric(run_id, key, value, step=step)
        return
    body = {"run_id": run_id, "key": key, "value": value, "timestamp": _now_ms(), "step": step}
    _call("POST", "runs/log-metric", json=body)


def metric_history(run_id: str, key: str) -> list[float]:
    """Every value of ``key`` in ``run_id``, by step then time."""
    if _rest() is None:
        history = client().get_metric_history(run_id, key)
        return [m.value for m in sorted(history, key=lambda m: (m.step, m.timestamp))]
    points: list[dict[str, Any]] = []
    params: dict[str, Any] = {"run_id": run_id, "metric_key": key, "max_results": HISTORY_PAGE}
    while True:
        page = _call("GET", "metrics/get-history", params=params)
        points += page.get("metrics", [])
        token = page.get("next_page_token")
        if not token:
            break
        params["page_token"] = token
    points.sort(key=lambda m: (int(m.get("step", 0)), int(m.get("timestamp", 0))))
    return [float(m["value"]) for m in points]


def _artifact_root(run_id: str) -> str | None:
    """The run's artifact location below the server's artifact proxy, or None when it is elsewhere."""
    from urllib.parse import urlparse

    uri = _call("GET", "runs/get", params={"run_id": run_id})["run"]["info"]["artifact_uri"]
    parsed = urlparse(uri)
    if parsed.scheme != "mlflow-artifacts":
        return None
    return parsed.path.strip("/")


def upload_folder(run_id: str, folder: Path, artifact_path: str) -> None:
    """Upload the files under ``folder`` to ``artifact_path`` of the run (nothing when it is empty)."""
    files = [p for p in sorted(folder.rglob("*")) if p.is_file()] if folder.is_dir() else []
    if not files:
        return
    root = _artifact_root(run_id) if _rest() is not None else None
    if root is None:
        client().log_artifacts(run_id, str(folder), artifact_path)
        return
    session, base = _rest()
    from urllib.parse import quote

    for path in files:
        target = "/".join(p for p in (root, artifact_path, path.relative_to(folder).as_posix()) if p)
        with open(path, "rb") as handle:
            response = session.put(
                f"{base}/api/2.0/mlflow-artifacts/artifacts/{quote(target)}",
                data=handle,
                timeout=REQUEST_TIMEOUT_S * 10,
            )
        if not response.ok:
            raise TrackingError(
                f"MLflow artifact upload of {path.name}: {response.text[:200] or response.reason}"
            )


def end_run(run_id: str, status: str) -> None:
    """``status`` is the job's; MLflow's run status follows it."""
    mlflow_status = {"Completed": "FINISHED", "Failed": "FAILED", "Canceled": "KILLED"}.get(status, "FAILED")
    if _rest() is None:
        client().set_terminated(run_id, status=mlflow_status)
        return
    _call("POST", "runs/update", json={"run_id": run_id, "status": mlflow_status, "end_time": _now_ms()})
