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

from backend.errors import NotFoundError, UnavailableError, ValidationError

RUN_IDS_PER_SEARCH = 100  # run ids in one search_runs filter (keeps the query string short)
HISTORY_THREADS = 8  # metric histories fetched at once
ENDED_RUN_TTL_S = 600.0  # how long an ended run (or its history) is trusted from the cache
CACHE_RUNS = 5000
CACHE_HISTORIES = 2000
HEALTH_TIMEOUT_S = 3.0
HEALTH_OK_FOR_S = 10.0  # a server that answered is not asked again for this long
ARTIFACT_READ_LIMIT = 50 * 1024 * 1024  # bytes a page downloads from an artifact
CHART_POINTS = 2000  # points a metric chart draws at most (a min/max downsample of longer histories)
STUDIO_API_TIMEOUT_S = 60.0
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


class MetricChart(BaseModel):
    """What a chart draws of one metric: at most ``CHART_POINTS`` points of its ``total``, in step
    order, with the first, last, lowest and highest values exact (``backend.metric_points``)."""

    run_id: str
    key: str
    total: int
    steps: list[int]
    timestamps: list[int]
    values: list[float]

    @property
    def downsampled(self) -> bool:
        return len(self.values) < self.total


class ArtifactEntry(BaseModel):
    path: str  # relative to the run's artifact root
    name: str
    is_dir: bool
    size: int | None


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

    # The registry is the tracking server's, named explicitly: without it MLflow takes the process's
    # global registry URI (``mlflow.set_registry_uri``, ``MLFLOW_REGISTRY_URI``), which may name another
    # server, and a logged model created here would then be registered there.
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _client():
    uri = tracking_uri()
    _check_reachable(uri)
    return uri, _client_for(uri)


def mlflow_client():
    """MLflow's own client for the tracking server (known to answer): for services that use MLflow's
    registry (models)."""
    return _client()[1]


def experiment_id(client: Any, name: str) -> str:
    """The id of experiment ``name`` through MLflow's ``client``: restored if deleted, created if missing."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            client.restore_experiment(found.experiment_id)
        return found.experiment_id
    try:
        return client.create_experiment(name)
    except Exception:  # another process created it meanwhile
        again = client.get_experiment_by_name(name)
        if again is None:
            raise
        return again.experiment_id


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


def experiment_runs(*, experiment: str, limit: int = 20) -> list[RunInfo]:
    """The newest runs of the MLflow experiment ``experiment`` (none when it does not exist): a notebook's
    runs, which are in the experiment named after it and belong to no job."""
    client = mlflow_client()
    try:
        found = client.get_experiment_by_name(experiment)
        if found is None:
            return []
        page = client.search_runs(
            [found.experiment_id], order_by=["attributes.start_time DESC"], max_results=limit
        )
    except Exception as exc:
        raise _mlflow_error(exc, f"experiment {experiment!r}") from None
    return [_run_info(run) for run in page]


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


def _studio_api(uri: str, route: str, params: dict[str, Any]):
    """A ``/studio-api/`` route of Studio's tracking server (``studio.tracking_store``); ``None`` when the
    server does not have it (a stock ``mlflow server``)."""
    import requests

    try:
        response = requests.get(f"{uri}/studio-api/{route}", params=params, timeout=STUDIO_API_TIMEOUT_S)
    except requests.RequestException as exc:
        raise UnavailableError(
            f"the MLflow tracking server at {uri} is not answering ({type(exc).__name__})"
        ) from None
    if response.status_code == 404:
        return None
    if not response.ok:
        raise UnavailableError(f"reading {route} from MLflow failed: HTTP {response.status_code}")
    return response


def _nan(values: list) -> list[float]:
    return [float("nan") if v is None else float(v) for v in values]


def metric_chart(*, run_id: str, key: str, points: int = CHART_POINTS) -> MetricChart:
    """One metric of one run for a chart: downsampled to at most ``points`` (first, last, min, max exact).

    Studio's tracking server downsamples in one query; from another server the whole history is read
    and downsampled here.
    """
    from backend.metric_points import downsample

    uri = _client()[0]
    response = _studio_api(uri, "metric-chart", {"run_id": run_id, "key": key, "points": points})
    if response is not None:
        body = response.json()
        chart = MetricChart(
            run_id=run_id,
            key=key,
            total=body["total"],
            steps=body["steps"],
            timestamps=body["timestamps"],
            values=_nan(body["values"]),
        )
    else:
        history = metric_history(run_id=run_id, key=key)
        kept = downsample(list(zip(history.steps, history.timestamps, history.values, strict=True)), points)
        chart = MetricChart(
            run_id=run_id,
            key=key,
            total=len(history.values),
            steps=[p[0] for p in kept],
            timestamps=[p[1] for p in kept],
            values=[p[2] for p in kept],
        )
    if not chart.total:
        raise NotFoundError(f"run {run_id!r} has no metric {key!r}")
    return chart


def metric_history_page(*, run_id: str, key: str, offset: int = 0, limit: int = 1000) -> MetricHistory:
    """Exact values of one metric, ``limit`` points from ``offset`` (in step order), for a paged table."""
    if offset < 0 or not 1 <= limit <= 10_000:
        raise ValidationError(f"offset must be >= 0 and limit 1..10000 (got offset {offset}, limit {limit})")
    uri = _client()[0]
    response = _studio_api(
        uri, "metric-page", {"run_id": run_id, "key": key, "offset": offset, "limit": limit}
    )
    if response is None:
        whole = metric_history(run_id=run_id, key=key)
        end = offset + limit
        return MetricHistory(
            run_id=run_id,
            key=key,
            steps=whole.steps[offset:end],
            timestamps=whole.timestamps[offset:end],
            values=whole.values[offset:end],
        )
    rows = response.json()["rows"]
    return MetricHistory(
        run_id=run_id,
        key=key,
        steps=[r[0] for r in rows],
        timestamps=[r[1] for r in rows],
        values=_nan([r[2] for r in rows]),
    )


def metric_history_csv(*, run_id: str, key: str) -> bytes:
    """Every value of one metric as CSV (``step,timestamp,value``, in step order), for a download."""
    uri = _client()[0]
    response = _studio_api(uri, "metric-csv", {"run_id": run_id, "key": key})
    if response is not None:
        return response.content
    history = metric_history(run_id=run_id, key=key)
    lines = ["step,timestamp,value"]
    lines += [
        f"{s},{t},{v!r}" for s, t, v in zip(history.steps, history.timestamps, history.values, strict=True)
    ]
    return ("\n".join(lines) + "\n").encode()


# runs in one get-history-bulk-interval request: MLflow takes 100, but their ids must fit in one request
# line, and gunicorn (Studio's MLflow server) refuses lines over 4,094 bytes (41 bytes a run id)
SAMPLED_RUNS_PER_REQUEST = 50
SAMPLED_POINTS_BUDGET = 20_000  # points of one chart, shared by its runs (200 each for 100 runs)
SAMPLED_POINTS_PER_RUN = (100, 2500)  # at least, at most (MLflow's own limit) per run


def points_per_run(runs: int, budget: int = SAMPLED_POINTS_BUDGET) -> int:
    """How many points of each run a chart of ``runs`` runs reads: ``budget`` shared, within bounds."""
    low, high = SAMPLED_POINTS_PER_RUN
    return max(low, min(high, budget // max(1, runs)))


def sampled_histories(
    *, run_ids: Iterable[str], key: str, points: int | None = None
) -> dict[str, MetricHistory]:
    """One metric of many runs, for a chart: at most ``points`` points per run (default
    ``points_per_run``). From Studio's tracking server, a min/max downsample of each (first, last and
    extremes exact), 500 runs a query; from another server, MLflow's even sampling (first and last kept),
    50 runs per ``get-history-bulk-interval`` request. Exact values (min, max, the table and
    downloads) come from ``metric_histories``. Ended runs are cached; runs without the metric are left out.
    """
    wanted = list(dict.fromkeys(r for r in run_ids if r))
    if not wanted:
        return {}
    points = points or points_per_run(len(wanted))
    uri = _client()[0]  # (checks that the server answers)
    found: dict[str, MetricHistory] = {}
    todo = []
    for run_id in wanted:
        cached = _histories.get((uri, run_id, key, points))
        if cached is not None:
            found[run_id] = cached
        else:
            todo.append(run_id)
    fetch = _fetch_charts if todo and _studio_charts_available(uri) else _fetch_sampled
    per_request = CHARTS_RUNS_PER_REQUEST if fetch is _fetch_charts else SAMPLED_RUNS_PER_REQUEST
    chunks = [todo[i : i + per_request] for i in range(0, len(todo), per_request)]
    try:
        with ThreadPoolExecutor(max_workers=min(HISTORY_THREADS, max(1, len(chunks)))) as pool:
            for chunk_found in pool.map(lambda c: fetch(uri, c, key, points), chunks):
                for history in chunk_found.values():
                    found[history.run_id] = history
                    if _runs.get((uri, history.run_id)) is not None:  # only ended runs are cached
                        _histories.put((uri, history.run_id, key, points), history)
    except UnavailableError:
        raise
    except Exception as exc:
        raise _mlflow_error(exc, f"metric {key!r}") from None
    return {r: found[r] for r in wanted if r in found and found[r].values}


CHARTS_RUNS_PER_REQUEST = 500  # runs in one request to Studio's ``metric-charts`` (a POST body)
_no_charts_route: set[str] = set()  # tracking servers without it (a stock ``mlflow server``)


def _studio_charts_available(uri: str) -> bool:
    return uri not in _no_charts_route


def _fetch_charts(uri: str, run_ids: list[str], key: str, points: int) -> dict[str, MetricHistory]:
    """Studio's tracking server: every run's min/max downsample (first, last, extremes exact) in one
    query; a server without the route falls back to MLflow's sampling."""
    import requests

    try:
        response = requests.post(
            f"{uri}/studio-api/metric-charts",
            json={"run_ids": run_ids, "key": key, "points": points},
            timeout=STUDIO_API_TIMEOUT_S,
        )
    except requests.RequestException as exc:
        raise UnavailableError(
            f"the MLflow tracking server at {uri} is not answering ({type(exc).__name__})"
        ) from None
    if response.status_code in (404, 405):
        _no_charts_route.add(uri)
        return _fetch_sampled(uri, run_ids, key, points)
    if not response.ok:
        raise UnavailableError(f"reading metric {key!r} from MLflow failed: HTTP {response.status_code}")
    return {
        run_id: MetricHistory(
            run_id=run_id,
            key=key,
            steps=chart["steps"],
            timestamps=chart["timestamps"],
            values=_nan(chart["values"]),
        )
        for run_id, chart in response.json()["charts"].items()
    }


def _fetch_sampled(uri: str, run_ids: list[str], key: str, points: int) -> dict[str, MetricHistory]:
    import requests

    params = [("run_ids", r) for r in run_ids] + [("metric_key", key), ("max_results", str(points))]
    response = requests.get(
        f"{uri}/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval", params=params, timeout=120
    )
    if response.status_code != 200:
        try:
            message = response.json().get("message", response.text)
        except ValueError:
            message = response.text
        raise UnavailableError(f"reading metric {key!r} from MLflow failed: {message.splitlines()[0][:300]}")
    by_run: dict[str, list[tuple[int, int, float]]] = {}
    for m in response.json().get("metrics", []):
        by_run.setdefault(m["run_id"], []).append(
            (int(m.get("step", 0)), int(m.get("timestamp", 0)), float(m["value"]))
        )
    out = {}
    for run_id, rows in by_run.items():
        rows.sort()
        out[run_id] = MetricHistory(
            run_id=run_id,
            key=key,
            steps=[r[0] for r in rows],
            timestamps=[r[1] for r in rows],
            values=[r[2] for r in rows],
        )
    return out


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
    "MetricChart",
    "MetricHistory",
    "RunInfo",
    "clear_cache",
    "get_run",
    "get_runs",
    "list_artifacts",
    "metric_chart",
    "metric_histories",
    "metric_history",
    "metric_history_csv",
    "metric_history_page",
    "mlflow_client",
    "read_artifact",
]
