"""Studio's tracking server (``studio.tracking_server``, a real ``mlflow server``): metrics written by its
own SQL path behave as MLflow's, are on disk once the call returns, and a 100,000-point history is
charted from a downsample with exact extremes while the table and the download keep every value."""

from __future__ import annotations

import csv
import io
import math
import sqlite3
import time
import uuid

import pytest

from backend.errors import NotFoundError
from backend.metric_points import downsample
from backend.services import runs
from tests.job_fixtures import mlflow_server_home


@pytest.fixture
def client(tracking):
    from mlflow.tracking import MlflowClient

    runs.clear_cache()
    yield MlflowClient(tracking)
    runs.clear_cache()


def _run(client) -> str:
    experiment = client.create_experiment(f"tracking-{uuid.uuid4().hex[:8]}")
    return client.create_run(experiment).info.run_id


def test_log_metric_keeps_mlflows_rules_for_latest_duplicates_nan_and_ended_runs(client):
    from mlflow.exceptions import MlflowException

    run_id = _run(client)
    now = int(time.time() * 1000)
    client.log_metric(run_id, "loss", 0.5, timestamp=now, step=3)
    client.log_metric(run_id, "loss", 0.9, timestamp=now + 5, step=1)  # an older step: not the latest
    client.log_metric(run_id, "loss", 0.5, timestamp=now, step=3)  # the same point again: no error, one row
    client.log_metric(run_id, "acc", math.nan, timestamp=now, step=0)
    client.log_metric(run_id, "big", math.inf, timestamp=now, step=0)
    data = client.get_run(run_id).data
    assert data.metrics["loss"] == 0.5
    assert math.isnan(data.metrics["acc"])
    assert data.metrics["big"] == pytest.approx(1.7976931348623157e308)
    history = client.get_metric_history(run_id, "loss")
    assert sorted((m.step, m.value) for m in history) == [(1, 0.9), (3, 0.5)]

    client.delete_run(run_id)
    with pytest.raises(MlflowException, match="must be in the 'active' state"):
        client.log_metric(run_id, "loss", 1.0, step=4)
    with pytest.raises(MlflowException, match=r"not found|does not exist|No run"):
        client.log_metric(uuid.uuid4().hex, "loss", 1.0, step=0)


def test_a_logged_metric_is_in_the_database_when_the_call_returns(client, mlflow_server):
    run_id = _run(client)
    client.log_metric(run_id, "m", 42.0, step=7)
    database = mlflow_server_home() / "mlflow.db"
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        found = conn.execute(
            "SELECT value FROM metrics WHERE run_uuid = ? AND key = 'm' AND step = 7", (run_id,)
        ).fetchall()
    assert found == [(42.0,)]


def test_downsample_keeps_first_last_min_max_and_the_budget():
    points = [(i, i, math.sin(i / 100) + (5.0 if i == 4321 else 0.0)) for i in range(10_000)]
    kept = downsample(points, 200)
    assert len(kept) <= 200
    assert kept[0] == points[0] and kept[-1] == points[-1]
    assert max(p[2] for p in kept) == max(p[2] for p in points)
    assert min(p[2] for p in kept) == min(p[2] for p in points)
    assert [p[0] for p in kept] == sorted(p[0] for p in kept)
    assert downsample(points[:50], 200) == points[:50]


def test_a_100000_point_history_is_charted_downsampled_and_downloaded_whole(client):
    from mlflow.entities import Metric

    run_id = _run(client)
    now = int(time.time() * 1000)
    total = 100_000
    values = [1.0 / (1 + i) + (i % 13) * 1e-3 for i in range(total)]
    values[31_337] = -7.5  # a single low outlier the chart must show
    values[77_777] = 99.0  # and a high one
    for start in range(0, total, 1000):
        client.log_batch(
            run_id, metrics=[Metric("loss", values[i], now + i, i) for i in range(start, start + 1000)]
        )
    client.set_terminated(run_id)

    began = time.perf_counter()
    chart = runs.metric_chart(run_id=run_id, key="loss")
    took = time.perf_counter() - began
    assert chart.total == total and chart.downsampled
    assert len(chart.values) <= runs.CHART_POINTS
    assert chart.values[0] == values[0] and chart.values[-1] == values[-1]
    assert min(chart.values) == -7.5 and max(chart.values) == 99.0
    assert chart.steps == sorted(chart.steps)
    print(f"\n100,000-point history: chart data in {took:.3f}s, {len(chart.values)} points drawn")

    page = runs.metric_history_page(run_id=run_id, key="loss", offset=31_330, limit=10)
    assert page.steps == list(range(31_330, 31_340))
    assert page.values == values[31_330:31_340]

    rows = list(csv.reader(io.StringIO(runs.metric_history_csv(run_id=run_id, key="loss").decode())))
    assert rows[0] == ["step", "timestamp", "value"]
    assert len(rows) == total + 1
    assert [float(r[2]) for r in rows[1:]] == values

    with pytest.raises(NotFoundError):
        runs.metric_chart(run_id=run_id, key="no-such-metric")


def test_the_log_metric_fast_path_answers_as_mlflow_and_keeps_its_host_check(client, tracking):
    """Plain bodies are written by Studio's WSGI fast path; anything else gets MLflow's own answer."""
    import requests

    run_id = _run(client)
    url = f"{tracking}/api/2.0/mlflow/runs/log-metric"
    plain = {"run_id": run_id, "key": "m", "value": 1.5, "timestamp": 1000, "step": 2}
    answer = requests.post(url, json=plain, timeout=30)
    assert answer.status_code == 200 and answer.json() == {}
    assert "X-Frame-Options" not in answer.headers  # answered before Flask (whose hooks add it)
    assert [(p.step, p.value) for p in client.get_metric_history(run_id, "m")] == [(2, 1.5)]

    wrong_type = requests.post(url, json={**plain, "value": "high"}, timeout=30)  # MLflow's own 400
    assert wrong_type.status_code == 400 and wrong_type.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "X-Frame-Options" in wrong_type.headers
    missing = requests.post(url, json={**plain, "run_id": uuid.uuid4().hex}, timeout=30)
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    no_key = requests.post(url, json={k: v for k, v in plain.items() if k != "key"}, timeout=30)
    assert no_key.status_code == 400

    rebound = requests.post(url, json={**plain, "step": 3}, headers={"Host": "evil.example.com"}, timeout=30)
    assert rebound.status_code == 403  # DNS rebinding protection, as on MLflow's other routes
    assert [p.step for p in client.get_metric_history(run_id, "m")] == [2]
