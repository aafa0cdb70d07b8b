"""What Studio changes inside its MLflow tracking server's workers: SQLite's commits synced, and metrics
written with two prepared statements instead of MLflow's ORM round trips.

Where the time went (profiled on MLflow 3.17, SQLite store, one ``log_metric`` request): about 70% in
``SqlAlchemyStore._log_metrics`` (an ORM ``get`` of the run, ``add_all``, two ORM queries on
``latest_metrics`` and a flush), and one SQLite commit in the default rollback-journal mode, which
syncs the journal and the database file several times (about 300 commits/s on this disk). Studio keeps
MLflow's server, handlers, validation and schema, and changes only these things:

- **WAL mode, every commit synced** (``synchronous=FULL``: one sync of the log per commit): every metric
  is durable, against a crash of the server or of the machine, once the request that logged it has
  returned, and readers (the agent's sweep controller, pages) see it from then on.
- **Metrics by plain SQL**: ``SqlAlchemyStore._log_metrics`` (used by ``log-metric`` and ``log-batch``)
  inserts the rows and upserts ``latest_metrics`` with MLflow's rule (the greatest ``(step, timestamp,
  value)`` wins), in one transaction, after MLflow's own validation. Anything unusual goes to MLflow's
  own code, which then answers exactly as it would have: a run that is missing or deleted, a duplicate
  metric, a database that is not SQLite.

- **log-metric in front of Flask** (``FastLogMetric``): the most frequent request, when its body has
  plain fields, is written through the store and answered in a WSGI layer before Flask's routing and the
  handler's protobuf round trip; everything else goes on to MLflow's handler.

It also adds read-only routes under ``/studio-api/`` for long metric histories (the job page charts
100,000 points): ``metric-chart`` (a min/max downsample to a point budget), ``metric-charts`` (the same
for many runs in one query: a comparison of 100 runs), ``metric-page`` (exact
values, a page at a time) and ``metric-csv`` (every value), each one SQL query on the store instead of
MLflow's history pages of 25,000 entities. A stock server has no such routes; the services then read
MLflow's own history.

Installed by ``studio.tracking_gunicorn`` in every worker; nothing here runs in Studio's own processes.
"""

from __future__ import annotations

import sqlite3
import weakref

# WAL (persistent in the database file) with every commit synced: a commit is one sync of the log.
WAL_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL")

_INSERT_METRIC = (
    "INSERT INTO metrics (key, value, timestamp, step, is_nan, run_uuid) "
    "VALUES (:key, :value, :timestamp, :step, :is_nan, :run_uuid)"
)
# MLflow's rule for the latest value of a metric: the greatest (step, timestamp, value) wins.
_UPSERT_LATEST = (
    "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) "
    "VALUES (:key, :value, :timestamp, :step, :is_nan, :run_uuid) "
    "ON CONFLICT (key, run_uuid) DO UPDATE SET value = excluded.value, timestamp = excluded.timestamp, "
    "step = excluded.step, is_nan = excluded.is_nan "
    "WHERE (excluded.step, excluded.timestamp, excluded.value) > "
    "(latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)"
)
_RUN_STAGE = "SELECT lifecycle_stage FROM runs WHERE run_uuid = :run_uuid"

_HISTORY = (
    "SELECT step, timestamp, CASE WHEN is_nan THEN NULL ELSE value END FROM metrics "
    "WHERE run_uuid = :run_uuid AND key = :key ORDER BY step, timestamp"
)
MAX_PAGE_ROWS = 10_000
MAX_CHART_POINTS = 20_000

_installed = False


def sqlite_pragmas(dbapi_connection, _record) -> None:
    """SQLAlchemy ``connect`` hook: WAL mode and a synced commit, on SQLite only."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        for pragma in WAL_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()


def remember_cursor(conn, cursor, _statement, _parameters, _context, _executemany) -> None:
    """SQLAlchemy ``after_cursor_execute`` hook: the connection's cursors, for ``close_cursors``."""
    if isinstance(cursor, sqlite3.Cursor):
        conn.info.setdefault("studio_cursors", weakref.WeakSet()).add(cursor)


def close_cursors(_dbapi_connection, record) -> None:
    """Pool ``checkin`` hook: close every cursor a request left open on its SQLite connection.

    A statement that was not read to its end (a result let go of without exhausting it) keeps a read
    transaction open on its connection after a rollback: in the rollback journal a lock that writers wait
    for, in WAL mode an old snapshot the next request on that pooled connection would read. Closing the
    cursor resets its statement."""
    for cursor in list(record.info.pop("studio_cursors", ())):
        cursor.close()


def _rows(store, run_id: str, metrics) -> list[dict]:
    from mlflow.utils.validation import _validate_metric

    rows, seen = [], set()
    single = len(metrics) == 1
    for idx, metric in enumerate(metrics):
        _validate_metric(
            metric.key, metric.value, metric.timestamp, metric.step, path="" if single else f"metrics[{idx}]"
        )
        if metric in seen:
            continue
        seen.add(metric)
        is_nan, value = store.sanitize_metric_value(metric.value)
        rows.append(
            {
                "key": metric.key,
                "value": value,
                "timestamp": metric.timestamp,
                "step": metric.step,
                "is_nan": is_nan,
                "run_uuid": run_id,
            }
        )
    return rows


def _latest(rows: list[dict]) -> list[dict]:
    best: dict[str, dict] = {}
    for row in rows:
        known = best.get(row["key"])
        if known is None or (row["step"], row["timestamp"], row["value"]) > (
            known["step"],
            known["timestamp"],
            known["value"],
        ):
            best[row["key"]] = row
    return list(best.values())


def fast_log_metrics(original):
    """``SqlAlchemyStore._log_metrics`` for SQLite by two prepared statements; ``original`` otherwise."""
    from sqlalchemy import exc, text

    insert, upsert, stage = text(_INSERT_METRIC), text(_UPSERT_LATEST), text(_RUN_STAGE)

    def _log_metrics(self, run_id, metrics):
        if self.db_type != "sqlite" or not metrics:
            return original(self, run_id, metrics)
        rows = _rows(self, run_id, metrics)
        try:
            with self.engine.begin() as conn:
                # A write first: the transaction takes SQLite's write lock (waiting its turn) at once,
                # instead of upgrading a read snapshot later, which fails when another writer came first.
                conn.execute(insert, rows)
                found = conn.execute(stage, {"run_uuid": run_id}).first()
                if found is None or found[0] != "active":
                    raise _NotActive
                conn.execute(upsert, _latest(rows))
        except (_NotActive, exc.IntegrityError):
            # Rolled back; MLflow's own code says what is wrong (missing or deleted run) or skips the
            # metrics that are already there, as it always does.
            return original(self, run_id, metrics)
        return None

    return _log_metrics


class _NotActive(Exception):
    pass


def _history(store, run_id: str, key: str, offset: int = 0, limit: int = -1) -> list[tuple]:
    from sqlalchemy import text

    sql = _HISTORY + (" LIMIT :limit OFFSET :offset" if limit >= 0 else "")
    with store.engine.connect() as conn:
        return [
            (int(step), int(ts), float("nan") if value is None else float(value))
            for step, ts, value in conn.execute(
                text(sql), {"run_uuid": run_id, "key": key, "limit": limit, "offset": offset}
            )
        ]


_HISTORIES = (
    "SELECT run_uuid, step, timestamp, CASE WHEN is_nan THEN NULL ELSE value END FROM metrics "
    "WHERE key = :key AND run_uuid IN :run_ids ORDER BY run_uuid, step, timestamp"
)
MAX_CHART_RUNS = 1000


def _histories(store, run_ids: list[str], key: str) -> dict[str, list[tuple]]:
    """One metric of many runs in one query: {run id: [(step, timestamp, value)]} (runs with points)."""
    from sqlalchemy import bindparam, text

    found: dict[str, list[tuple]] = {}
    query = text(_HISTORIES).bindparams(bindparam("run_ids", expanding=True))
    with store.engine.connect() as conn:
        for run_id, step, ts, value in conn.execute(query, {"key": key, "run_ids": run_ids}):
            found.setdefault(run_id, []).append(
                (int(step), int(ts), float("nan") if value is None else float(value))
            )
    return found


def add_routes(app) -> None:
    """``/studio-api/metric-{chart,charts,page,csv}`` on MLflow's Flask app (SQL stores only)."""
    import csv
    import io
    import json

    from flask import Response, request

    from backend.metric_points import downsample

    def _store():
        from mlflow.server.handlers import _get_tracking_store

        store = _get_tracking_store()
        return store if hasattr(store, "engine") else None

    def _args() -> tuple[str, str] | Response:
        run_id, key = request.args.get("run_id", ""), request.args.get("key", "")
        if not run_id or not key:
            return Response("run_id and key are required", status=400)
        return run_id, key

    def _int(name: str, default: int, low: int, high: int) -> int:
        try:
            return max(low, min(high, int(request.args.get(name, default))))
        except ValueError:
            return default

    def metric_chart():
        store, found = _store(), _args()
        if store is None:
            return Response("not a SQL store", status=404)
        if isinstance(found, Response):
            return found
        rows = _history(store, *found)
        points = downsample(rows, _int("points", 2000, 4, MAX_CHART_POINTS))
        body = {"total": len(rows), "steps": [p[0] for p in points], "timestamps": [p[1] for p in points]}
        body["values"] = [None if p[2] != p[2] else p[2] for p in points]  # NaN is not JSON
        return Response(json.dumps(body), mimetype="application/json")

    def metric_charts():
        """POST {"run_ids": [...], "key": k, "points": n}: each run's chart, one query for all of them."""
        store = _store()
        if store is None:
            return Response("not a SQL store", status=404)
        body = request.get_json(silent=True) or {}
        run_ids, key = body.get("run_ids"), body.get("key")
        if not isinstance(run_ids, list) or not isinstance(key, str) or not key:
            return Response("run_ids (a list) and key are required", status=400)
        if len(run_ids) > MAX_CHART_RUNS or not all(isinstance(r, str) for r in run_ids):
            return Response(f"at most {MAX_CHART_RUNS} run ids (strings)", status=400)
        try:
            points = max(4, min(MAX_CHART_POINTS, int(body.get("points", 2000))))
        except (TypeError, ValueError):
            return Response("points must be an integer", status=400)
        charts = {}
        for run_id, rows in (_histories(store, run_ids, key) if run_ids else {}).items():
            kept = downsample(rows, points)
            charts[run_id] = {
                "total": len(rows),
                "steps": [p[0] for p in kept],
                "timestamps": [p[1] for p in kept],
                "values": [None if p[2] != p[2] else p[2] for p in kept],
            }
        return Response(json.dumps({"charts": charts}), mimetype="application/json")

    def metric_page():
        store, found = _store(), _args()
        if store is None:
            return Response("not a SQL store", status=404)
        if isinstance(found, Response):
            return found
        offset, limit = _int("offset", 0, 0, 2**62), _int("limit", 1000, 1, MAX_PAGE_ROWS)
        rows = _history(store, *found, offset=offset, limit=limit)
        body = {"rows": [[s, t, None if v != v else v] for s, t, v in rows]}
        return Response(json.dumps(body), mimetype="application/json")

    def metric_csv():
        store, found = _store(), _args()
        if store is None:
            return Response("not a SQL store", status=404)
        if isinstance(found, Response):
            return found
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["step", "timestamp", "value"])
        writer.writerows(_history(store, *found))
        return Response(out.getvalue(), mimetype="text/csv")

    for view in (metric_chart, metric_page, metric_csv, metric_charts):
        path = "/studio-api/" + view.__name__.replace("_", "-")
        methods = ["POST"] if view is metric_charts else ["GET"]
        app.add_url_rule(path, f"studio_{view.__name__}", view, methods=methods)


LOG_METRIC_PATHS = frozenset({"/api/2.0/mlflow/runs/log-metric", "/ajax-api/2.0/mlflow/runs/log-metric"})
_PLAIN_FIELDS = frozenset({"run_id", "run_uuid", "key", "value", "timestamp", "step"})


def _plain_metric(body: bytes):
    """(run id, ``Metric``) of a ``log-metric`` body with plain fields only; None for anything else."""
    import json

    from mlflow.entities import Metric

    try:
        found = json.loads(body)
    except ValueError:
        return None
    if not isinstance(found, dict) or not found.keys() <= _PLAIN_FIELDS:
        return None
    run_id, key = found.get("run_id") or found.get("run_uuid"), found.get("key")
    value, timestamp, step = found.get("value"), found.get("timestamp"), found.get("step", 0)
    numbers = (value, timestamp, step)
    if not (isinstance(run_id, str) and run_id and isinstance(key, str) and key):
        return None
    if any(isinstance(n, bool) for n in numbers) or not isinstance(value, int | float):
        return None
    if not (isinstance(timestamp, int) and isinstance(step, int)):
        return None
    return run_id, Metric(key, float(value), timestamp, step, run_id=run_id)


class FastLogMetric:
    """WSGI front of MLflow's app for its most frequent request: a ``log-metric`` POST with plain fields
    (what MLflow's client sends) is written through the store and answered ``{}`` here, without Flask's
    routing, the protobuf round trip and the handler's layers (about half of the request's time). The
    Host header is checked as MLflow's security middleware checks it; a browser's cross-origin request,
    any other field, a value MLflow's client sends as text (NaN, infinities) and any error go on to
    MLflow's own handler, which answers as it always does (a failed write here rolled back)."""

    def __init__(self, app) -> None:
        from mlflow.server.security import get_allowed_hosts
        from mlflow.server.security_utils import is_allowed_host_header

        self.app = app
        hosts = get_allowed_hosts()
        self.host_ok = (
            (lambda _h: True) if not hosts or "*" in hosts else (lambda h: is_allowed_host_header(hosts, h))
        )

    def __call__(self, environ, start_response):
        import io

        if (
            environ.get("REQUEST_METHOD") != "POST"
            or environ.get("PATH_INFO") not in LOG_METRIC_PATHS
            or environ.get("HTTP_ORIGIN")
            or "json" not in environ.get("CONTENT_TYPE", "")
        ):
            return self.app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)  # MLflow reads it again if the request goes on
        found = _plain_metric(body) if self.host_ok(environ.get("HTTP_HOST")) else None
        if found is None:
            return self.app(environ, start_response)
        from mlflow.server.handlers import _get_tracking_store

        try:
            _get_tracking_store().log_metric(*found)
        except Exception:
            environ["wsgi.input"] = io.BytesIO(body)
            return self.app(environ, start_response)
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", "2"),
                ("X-Content-Type-Options", "nosniff"),
            ],
        )
        return [b"{}"]


def install() -> None:
    """Install the SQLite hook and the metric path (idempotent); call in a server worker, before the
    MLflow app opens its store."""
    global _installed
    if _installed:
        return
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import Pool

    event.listen(Engine, "connect", sqlite_pragmas)
    event.listen(Engine, "after_cursor_execute", remember_cursor)
    event.listen(Pool, "checkin", close_cursors)
    SqlAlchemyStore._log_metrics = fast_log_metrics(SqlAlchemyStore._log_metrics)
    _installed = True
