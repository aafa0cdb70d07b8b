"""Reading MLflow for pages: runs (params, latest metrics), metric histories and artifacts.

Every job is an MLflow run (SPEC section 13). Pages read many runs at once (the comparison view reads
up to hundreds), so reads are batched: runs come from ``search_runs`` with a filter on run ids, in
chunks; a metric's history is fetched only for the metric a chart shows, a few runs in parallel.
Runs that have ended no longer change, so they are cached here, keyed by tracking URI and run id;
runs still going are read fresh each time. MLflow is imported lazily (it is slow to import).
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session

from backend.errors import NotFoundError, UnavailableError, ValidationError

RUN_IDS_PER_SEARCH = 100  # run ids in one search_runs filter (keeps the query string short)
HISTORY_THREADS = 8  # metric histories fetched at once
ENDED_RUN_TTL_S = 600.0  # how long an ended run (or its history) is trusted from the cache
CACHE_RUNS = 5000
CACHE_HISTORIES = 2000
HEALTH_TIMEOUT_S = 3.0
HEALTH_OK_FOR_S = 10.0  # a server that answered is not asked again for this long
ARTIFACT_READ_LIMIT = 50 * 1024 * 1024  # bytes a page downloads from an artifact
ENDED = ("FINISHED", "FAILED", "KILLED")


class RunInfo(BaseModel):
    run_id: str
    experiment_id: str
    run_name: str
    status: str  # MLflow's: RUNNING, SCHEDULED, FINISHED, FAILED, KILLED
    start_time: datetime | None
    end_time: datetime | None
    params: dict[str, str]
    metrics: dict[str, float]  # the latest value of each metric
    tags: dict[str, str]

    @property
    def ended(self) -> bool:
        return self.status in ENDED


class MetricHistory(BaseModel):
    """One metric of one run, in logging order: parallel lists (cheap for long histories)."""

    run_id: str
    key: str
    steps: list[int]
    timestamps: list[int]  # milliseconds since the epoch
    values: list[float]

    @property
    def last(self) -> float | None:
        return self.values[-1] if self.values else None

    @property
    def min(self) -> float | None:
        return min(self.values) if self.values else None

    @property
    def max(self) -> float | None:
        return max(self.values) if self.values else None


class ArtifactEntry(BaseModel):
    path: str  # relative to the run's artifact root
    name: str
    is_dir: bool
    size: int | None


class JobRun(BaseModel):
    """A job next to its MLflow run (``run`` is None before the job has started)."""

    job: str
    display_name: str
    status: str
    experiment: str
    created_at: datetime
    duration_s: float | None
    run_id: str | None
    run: RunInfo | None


# -------------------------------------------------------------------------------------------- client


class _Cache:
    """A bounded, thread-safe map whose entries expire (Streamlit runs each session in its own thread)."""

    def __init__(self, size: int):
        self.size = size
        self.items: OrderedDict[tuple, tuple[float, Any]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple) -> Any | None:
        with self.lock:
            found = self.items.get(key)
            if found is None:
                return None
            if found[0] < time.monotonic():
                del self.items[key]
                return None
            self.items.move_to_end(key)
            return found[1]

    def put(self, key: tuple, value: Any, ttl_s: float = ENDED_RUN_TTL_S) -> None:
        with self.lock:
            self.items[key] = (time.monotonic() + ttl_s, value)
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


_runs = _Cache(CACHE_RUNS)
_histories = _Cache(CACHE_HISTORIES)
_healthy: dict[str, float] = {}


def clear_cache() -> None:
    """Forget every cached run and history (tests; a server that was reset)."""
    _runs.clear()
    _histories.clear()
    _healthy.clear()


def tracking_uri() -> str:
    from backend.services.system import mlflow_tracking_uri

    uri = mlflow_tracking_uri()
    if not uri:
        raise UnavailableError(
            "no MLflow tracking server: start Studio with `studio up`, or set STUDIO_MLFLOW_URI"
        )
    return uri.rstrip("/")


def _check_reachable(uri: str) -> None:
    """Fail in seconds, not after the MLflow client's minutes of retries, when the server is down."""
    if not uri.startswith(("http://", "https://")) or _healthy.get(uri, 0) > time.monotonic():
        return
    import requests

    try:
        requests.get(f"{uri}/health", timeout=HEALTH_TIMEOUT_S).raise_for_status()
    except requests.RequestException as exc:
        raise UnavailableError(
            f"the MLflow tracking server at {uri} is not answering ({type(exc).__name__}); "
            "is `studio up` running?"
        ) from None
    _healthy[uri] = time.monotonic() + HEALTH_OK_FOR_S


@lru_cache(maxsize=4)
def _client_for(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _client():
    uri = tracking_uri()
    _check_reachable(uri)
    return uri, _client_for(uri)


def _mlflow_error(exc: Exception, what: str) -> Exception:
    from mlflow.exceptions import MlflowException

    if isinstance(exc, MlflowException) and exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
        return NotFoundError(f"{what} does not exist in MLflow")
    if isinstance(exc, MlflowException) and exc.error_code == "INVALID_PARAMETER_VALUE":
        return ValidationError(f"{what}: {exc.message.splitlines()[0]}")
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return UnavailableError(f"reading {what} from MLflow failed: {first}")


# ---------------------------------------------------------------------------------------------- runs


def _when(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms else None


def _run_info(run) -> RunInfo:
    return RunInfo(
        run_id=run.info.run_id,
        experiment_id=run.info.experiment_id,
        run_name=run.info.run_name or run.info.run_id,
        status=run.info.status,
        start_time=_when(run.info.start_time),
        end_time=_when(run.info.end_time),
        params=dict(run.data.params),
        metrics={k: float(v) for k, v in run.data.metrics.items()},
        tags={k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")},
    )


def _all_experiment_ids(client) -> list[str]:
    from mlflow.entities import ViewType

    ids, token = [], None
    while True:
        page = client.search_experiments(view_type=ViewType.ALL, max_results=1000, page_token=token)
        ids += [e.experiment_id for e in page]
        token = page.token
        if not token:
            return ids


def get_runs(*, run_ids: Iterable[str], experiment_ids: Iterable[str] | None = None) -> dict[str, RunInfo]:
    """The runs with these ids (missing ones are left out), read in chunks of ``RUN_IDS_PER_SEARCH``.

    ``experiment_ids`` narrows the search (jobs know theirs); without it every experiment is searched.
    """
    wanted = list(dict.fromkeys(r for r in run_ids if r))
    if not wanted:
        return {}
    uri, client = _client()
    found: dict[str, RunInfo] = {}
    missing = []
    for run_id in wanted:
        cached = _runs.get((uri, run_id))
        if cached is not None:
            found[run_id] = cached
        else:
            missing.append(run_id)
    if not missing:
        return found
    from mlflow.entities import ViewType

    try:
        experiments = list(dict.fromkeys(e for e in experiment_ids or [] if e)) or _all_experiment_ids(client)
        for start in range(0, len(missing), RUN_IDS_PER_SEARCH):
            chunk = missing[start : start + RUN_IDS_PER_SEARCH]
            quoted = ", ".join(f"'{r}'" for r in chunk)
            token = None
            while True:
                page = client.search_runs(
                    experiments,
                    filter_string=f"attributes.run_id IN ({quoted})",
                    run_view_type=ViewType.ALL,
                    max_results=1000,
                    page_token=token,
                )
                for run in page:
                    info = _run_info(run)
                    found[info.run_id] = info
                    if info.ended:
                        _runs.put((uri, info.run_id), info)
                token = page.token
                if not token:
                    break
    except Exception as exc:
        raise _mlflow_error(exc, f"{len(missing)} run(s)") from None
    return {r: found[r] for r in wanted if r in found}


def get_run(*, run_id: str) -> RunInfo:
    uri, client = _client()
    cached = _runs.get((uri, run_id))
    if cached is not None:
        return cached
    try:
        info = _run_info(client.get_run(run_id))
    except Exception as exc:
        raise _mlflow_error(exc, f"run {run_id!r}") from None
    if info.ended:
        _runs.put((uri, run_id), info)
    return info


def runs_for_jobs(
    *, session: Session, workspace: str, names: Iterable[str] | None = None, experiment: str | None = None
) -> list[JobRun]:
    """Jobs (by name, or every job of an experiment, children included) with their runs, in one batch."""
    from backend.services import jobs

    if names is not None:  # names that do not exist (any more) are left out; the caller can tell
        found = []
        for name in dict.fromkeys(names):
            try:
                found.append(jobs.get_job(session=session, workspace=workspace, name=name))
            except NotFoundError:
                continue
    elif experiment:
        found = jobs.list_jobs(
            session=session, workspace=workspace, experiment=experiment, include_children=True
        )
        if not found:
            known = ", ".join(jobs.list_experiments(session=session, workspace=workspace)) or "none"
            raise NotFoundError(
                f"experiment {experiment!r} has no jobs in workspace {workspace!r} (experiments: {known})"
            )
    else:
        raise ValidationError("name the jobs to compare, or an experiment")
    with_runs = [j for j in found if j.mlflow_run_id]
    runs = (
        get_runs(
            run_ids=[j.mlflow_run_id for j in with_runs],
            experiment_ids=[j.mlflow_experiment_id for j in with_runs if j.mlflow_experiment_id],
        )
        if with_runs
        else {}
    )
    return [
        JobRun(
            job=j.name,
            display_name=j.display_name,
            status=j.status,
            experiment=j.experiment_name,
            created_at=j.created_at,
            duration_s=j.duration_s,
            run_id=j.mlflow_run_id,
            run=runs.get(j.mlflow_run_id or ""),
        )
        for j in found
    ]


# ------------------------------------------------------------------------------------------- metrics


def _fetch_history(uri: str, client, run_id: str, key: str) -> MetricHistory:
    points = sorted(client.get_metric_history(run_id, key), key=lambda m: (m.step, m.timestamp))
    return MetricHistory(
        run_id=run_id,
        key=key,
        steps=[int(m.step) for m in points],
        timestamps=[int(m.timestamp) for m in points],
        values=[float(m.value) for m in points],
    )


def metric_histories(*, run_ids: Iterable[str], key: str) -> dict[str, MetricHistory]:
    """The history of one metric for many runs (a few requests at once); runs without it are left out.

    Histories of runs known to have ended (read by ``get_runs``/``get_run`` before) are cached.
    """
    wanted = list(dict.fromkeys(r for r in run_ids if r))
    if not wanted:
        return {}
    uri, client = _client()
    found: dict[str, MetricHistory] = {}
    todo = []
    for run_id in wanted:
        cached = _histories.get((uri, run_id, key))
        if cached is not None:
            found[run_id] = cached
        else:
            todo.append(run_id)
    try:
        with ThreadPoolExecutor(max_workers=min(HISTORY_THREADS, max(1, len(todo)))) as pool:
            for history in pool.map(lambda r: _fetch_history(uri, client, r, key), todo):
                found[history.run_id] = history
                if _runs.get((uri, history.run_id)) is not None:  # only ended runs are cached
                    _histories.put((uri, history.run_id, key), history)
    except Exception as exc:
        raise _mlflow_error(exc, f"metric {key!r}") from None
    return {r: found[r] for r in wanted if r in found and found[r].values}


def metric_history(*, run_id: str, key: str) -> MetricHistory:
    found = metric_histories(run_ids=[run_id], key=key)
    if run_id not in found:
        raise NotFoundError(f"run {run_id!r} has no metric {key!r}")
    return found[run_id]


# ----------------------------------------------------------------------------------------- artifacts


def list_artifacts(*, run_id: str, path: str = "") -> list[ArtifactEntry]:
    """The artifacts in one folder of a run (folders first)."""
    _uri, client = _client()
    try:
        entries = client.list_artifacts(run_id, path.strip("/") or None)
    except Exception as exc:
        raise _mlflow_error(exc, f"artifacts of run {run_id!r}") from None
    found = [
        ArtifactEntry(path=e.path, name=e.path.rsplit("/", 1)[-1], is_dir=e.is_dir, size=e.file_size)
        for e in entries
    ]
    return sorted(found, key=lambda e: (not e.is_dir, e.name.lower()))


def read_artifact(*, run_id: str, path: str, max_bytes: int = ARTIFACT_READ_LIMIT) -> bytes:
    """One artifact file's content (for a page's download button); large files are refused."""
    path = path.strip("/")
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    entry = next((e for e in list_artifacts(run_id=run_id, path=parent) if e.path == path), None)
    if entry is None or entry.is_dir:
        raise NotFoundError(f"run {run_id!r} has no artifact file {path!r}")
    if entry.size is not None and entry.size > max_bytes:
        raise ValidationError(
            f"artifact {path} is {entry.size / 1e6:.0f} MB, more than the {max_bytes / 1e6:.0f} MB a page "
            f"downloads; use `mlflow artifacts download --run-id {run_id} --artifact-path {path}`"
        )
    import os

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no bars in the server log
    _uri, client = _client()
    with tempfile.TemporaryDirectory(prefix="studio-artifact-") as folder:
        try:
            local = client.download_artifacts(run_id, path, folder)
        except Exception as exc:
            raise _mlflow_error(exc, f"artifact {path!r} of run {run_id!r}") from None
        return Path(local).read_bytes()


__all__ = [
    "ArtifactEntry",
    "JobRun",
    "MetricHistory",
    "RunInfo",
    "clear_cache",
    "get_run",
    "get_runs",
    "list_artifacts",
    "metric_histories",
    "metric_history",
    "read_artifact",
    "runs_for_jobs",
]
