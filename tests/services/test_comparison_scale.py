"""Comparing many runs reads MLflow in batches: every job of an experiment (no cap), and each curve as a
sample (first and last points kept, real logged values), several runs a request, against a real tracking
server: through Studio's ``metric-charts`` route (one query, a min/max downsample with the extremes exact)
and, as from a stock server, through MLflow's get-history-bulk-interval."""

from __future__ import annotations

import pytest

from backend.services import comparisons, open_session, runs
from backend.services.lookup import get_workspace_row
from bench.ui_scale import seed_jobs

RUNS = 60  # more than one request's worth (50)
STEPS = 300


def _value(r: int, step: int) -> float:
    return 1.0 / (1 + 0.01 * (r + 1) * step)


@pytest.fixture
def many_runs(tracking) -> list[str]:
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient
    from sqlmodel import update

    from backend.db import ensure_schema
    from backend.db.models import Job

    client = MlflowClient(tracking_uri=tracking)
    experiment = client.create_experiment(f"scale-{id(client)}")
    ids = []
    for r in range(RUNS):
        run = client.create_run(experiment)
        if r != 7:  # run 7 never logs the metric
            client.log_batch(
                run.info.run_id, metrics=[Metric("loss", _value(r, s), 1000 + s, s) for s in range(STEPS)]
            )
        client.set_terminated(run.info.run_id)
        ids.append(run.info.run_id)
    ensure_schema()
    with open_session() as s:
        ws = get_workspace_row(session=s, name="default")
        seed_jobs(session=s, workspace_id=ws.id, count=RUNS, prefix="cmp", statuses=("Completed",))
        for r, run_id in enumerate(ids):
            s.execute(
                update(Job)
                .where(Job.workspace_id == ws.id, Job.name == f"cmp-{r + 1:06d}")
                .values(mlflow_run_id=run_id, mlflow_experiment_id=experiment, experiment_name="scale")
            )
    runs.clear_cache()
    yield ids
    runs.clear_cache()


@pytest.fixture(params=["studio route", "mlflow sampling"])
def reader(request, tracking):
    if request.param == "mlflow sampling":  # as against a stock server, which has no metric-charts route
        runs._no_charts_route.add(tracking)
    yield request.param
    runs._no_charts_route.discard(tracking)


def test_every_run_of_an_experiment_is_compared_and_curves_are_sampled_in_batches(many_runs, reader):
    with open_session() as s:
        loaded = comparisons.runs_for_jobs(session=s, workspace="default", experiment="scale")
    assert len(loaded) == RUNS and all(r.run is not None for r in loaded)

    sampled = runs.sampled_histories(run_ids=many_runs, key="loss", points=40)
    assert set(sampled) == set(many_runs) - {many_runs[7]}  # a run without the metric is left out
    for r, run_id in enumerate(many_runs):
        if run_id not in sampled:
            continue
        history = sampled[run_id]
        assert 2 <= len(history.steps) <= 40
        assert history.steps[0] == 0 and history.steps[-1] == STEPS - 1  # the ends are kept
        assert history.steps == sorted(history.steps)
        assert history.values == [pytest.approx(_value(r, s)) for s in history.steps]  # logged values
        assert history.timestamps == [1000 + s for s in history.steps]

    exact = runs.metric_histories(run_ids=many_runs[:2], key="loss")
    assert exact[many_runs[0]].steps == list(range(STEPS))  # the table's min/max read every point
    assert exact[many_runs[0]].min == pytest.approx(_value(0, STEPS - 1))


def test_the_points_budget_is_shared_by_the_runs_of_a_chart():
    assert runs.points_per_run(1) == 2500  # MLflow's most per run
    assert runs.points_per_run(100) == 200
    assert runs.points_per_run(10_000) == 100  # never fewer than this


def test_studio_route_keeps_each_curves_extremes_exact(tracking):
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking)
    experiment = client.create_experiment(f"spiky-{id(client)}")
    values = {}
    for r in range(3):
        run = client.create_run(experiment)
        curve = [((s * 37 + r * 11) % 101) / 10 for s in range(2000)]
        curve[1234 + r] = 99.0 + r  # one spike up, one down, where no even sample would fall
        curve[777 - r] = -50.0 - r
        for start in range(0, 2000, 1000):
            client.log_batch(
                run.info.run_id,
                metrics=[Metric("m", curve[s], 1000 + s, s) for s in range(start, start + 1000)],
            )
        values[run.info.run_id] = curve
    runs.clear_cache()
    sampled = runs.sampled_histories(run_ids=list(values), key="m", points=100)
    assert set(sampled) == set(values)
    for run_id, curve in values.items():
        history = sampled[run_id]
        assert len(history.values) <= 100
        assert max(history.values) == max(curve) and min(history.values) == min(curve)
        assert history.steps[0] == 0 and history.steps[-1] == 1999
        assert history.values == [curve[s] for s in history.steps]
