"""The runs service against a real MLflow tracking server: batched reads, caching, histories, artifacts."""

import socket
import time
import uuid

import pytest

from backend.errors import NotFoundError, UnavailableError, ValidationError
from backend.services import comparisons, open_session, runs
from tests.conftest import reset_caches
from tests.job_fixtures import submit, wait


@pytest.fixture
def client(tracking):
    from mlflow.tracking import MlflowClient

    runs.clear_cache()
    yield MlflowClient(tracking)
    runs.clear_cache()


def _experiment(client) -> str:
    return client.create_experiment(f"runs-{uuid.uuid4().hex[:8]}")


def _run(client, experiment: str, *, params=None, losses=(), end=True) -> str:
    from mlflow.entities import Metric, Param

    run_id = client.create_run(experiment).info.run_id
    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric("loss", v, now + i, i) for i, v in enumerate(losses)],
        params=[Param(k, str(v)) for k, v in (params or {}).items()],
    )
    if end:
        client.set_terminated(run_id)
    return run_id


def test_many_runs_are_read_in_chunks_with_params_and_latest_metrics(client, monkeypatch):
    monkeypatch.setattr(runs, "RUN_IDS_PER_SEARCH", 4)  # 10 runs: three searches
    experiment = _experiment(client)
    ids = [_run(client, experiment, params={"i": i, "lr": 0.1}, losses=[1.0, 1 / (i + 2)]) for i in range(10)]
    found = runs.get_runs(run_ids=[*ids, uuid.uuid4().hex], experiment_ids=[experiment])
    assert list(found) == ids  # in the order asked, the unknown id left out
    assert found[ids[3]].params == {"i": "3", "lr": "0.1"}
    assert found[ids[3]].metrics == {"loss": pytest.approx(1 / 5)}
    assert found[ids[3]].ended and found[ids[3]].status == "FINISHED"
    runs.clear_cache()
    assert set(runs.get_runs(run_ids=ids[:2])) == set(ids[:2])  # without experiment ids: all are searched


def test_an_ended_run_is_cached_and_a_running_one_is_read_fresh(client):
    experiment = _experiment(client)
    ended = _run(client, experiment, losses=[1.0])
    running = _run(client, experiment, losses=[1.0], end=False)
    first = runs.get_runs(run_ids=[ended, running], experiment_ids=[experiment])
    assert not first[running].ended
    assert runs.metric_histories(run_ids=[ended, running], key="loss")[ended].values == [1.0]
    client.log_metric(ended, "loss", 2.0, step=1)
    client.log_metric(running, "loss", 2.0, step=1)
    again = runs.get_runs(run_ids=[ended, running], experiment_ids=[experiment])
    assert again[ended].metrics["loss"] == 1.0  # from the cache: an ended run no longer changes
    assert again[running].metrics["loss"] == 2.0
    histories = runs.metric_histories(run_ids=[ended, running], key="loss")
    assert histories[ended].values == [1.0] and histories[running].values == [1.0, 2.0]
    runs.clear_cache()
    assert runs.get_run(run_id=ended).metrics["loss"] == 2.0


def test_metric_histories_of_many_runs_come_back_in_step_order(client):
    from mlflow.entities import Metric

    experiment = _experiment(client)
    ids = [_run(client, experiment, losses=[10.0 - s - i for s in range(30)]) for i in range(12)]
    shuffled = _run(client, experiment, end=False)
    now = int(time.time() * 1000)
    client.log_batch(shuffled, metrics=[Metric("loss", float(s), now, s) for s in (3, 1, 2, 0)])
    silent = _run(client, experiment)  # never logged "loss"
    histories = runs.metric_histories(run_ids=[*ids, shuffled, silent], key="loss")
    assert list(histories) == [*ids, shuffled]
    assert histories[ids[2]].steps == list(range(30))
    assert histories[ids[2]].values[:2] == [8.0, 7.0]
    assert (histories[ids[2]].min, histories[ids[2]].max, histories[ids[2]].last) == (-21.0, 8.0, -21.0)
    assert histories[shuffled].steps == [0, 1, 2, 3] and histories[shuffled].values == [0.0, 1.0, 2.0, 3.0]
    with pytest.raises(NotFoundError, match="no metric 'loss'"):
        runs.metric_history(run_id=silent, key="loss")


def test_artifacts_are_listed_folders_first_and_read_back(client, tmp_path):
    experiment = _experiment(client)
    run_id = _run(client, experiment, end=False)
    (tmp_path / "outputs").mkdir()
    (tmp_path / "outputs" / "model.txt").write_text("weights")
    (tmp_path / "a.txt").write_text("a" * 100)
    client.log_artifacts(run_id, str(tmp_path / "outputs"), "outputs")
    client.log_artifact(run_id, str(tmp_path / "a.txt"))
    top = runs.list_artifacts(run_id=run_id)
    assert [(e.name, e.is_dir) for e in top] == [("outputs", True), ("a.txt", False)]
    inner = runs.list_artifacts(run_id=run_id, path="outputs")
    assert [(e.path, e.size) for e in inner] == [("outputs/model.txt", 7)]
    assert runs.read_artifact(run_id=run_id, path="outputs/model.txt") == b"weights"
    with pytest.raises(NotFoundError, match=r"no artifact file 'outputs/nope\.txt'"):
        runs.read_artifact(run_id=run_id, path="outputs/nope.txt")
    with pytest.raises(ValidationError, match="mlflow artifacts download"):
        runs.read_artifact(run_id=run_id, path="a.txt", max_bytes=10)


def test_a_tracking_server_that_does_not_answer_is_one_clear_error_within_seconds(monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket closes
    monkeypatch.setenv("STUDIO_MLFLOW_URI", f"http://127.0.0.1:{port}")
    reset_caches()
    runs.clear_cache()
    started = time.monotonic()
    with pytest.raises(UnavailableError, match=f"127.0.0.1:{port} is not answering"):
        runs.get_runs(run_ids=["0" * 32])
    assert time.monotonic() - started < 10


def test_without_a_tracking_server_the_error_says_how_to_start_one():
    with pytest.raises(UnavailableError, match="studio up"):
        runs.get_run(run_id="0" * 32)


@pytest.mark.usefixtures("database")
def test_jobs_come_with_their_runs_by_name_or_by_experiment(agent, tmp_path):
    script = {
        "train.py": """
            import sys
            import mlflow

            lr = float(sys.argv[1])
            mlflow.log_param("lr", lr)
            for step in range(3):
                mlflow.log_metric("loss", lr / (step + 1), step=step)
        """
    }
    names = []
    for lr in (0.1, 0.2):
        job = submit(
            tmp_path / str(lr),
            f"""
            command: python train.py {lr}
            code: .
            environment: azureml:AzureML-sklearn-1.5@latest
            experiment_name: compare-me
            """,
            script,
        )
        names.append(job.name)
    for name in names:
        assert wait(name).status == "Completed"
    with open_session() as s:
        by_experiment = comparisons.runs_for_jobs(session=s, workspace="default", experiment="compare-me")
        by_name = comparisons.runs_for_jobs(session=s, workspace="default", names=[names[0], "ghost"])
    assert sorted(r.job for r in by_experiment) == sorted(names)
    assert [r.job for r in by_name] == [names[0]]
    first = by_name[0]
    assert first.run.params == {"lr": "0.1"}
    assert first.run.metrics["loss"] == pytest.approx(0.1 / 3)
    assert first.run.tags["studio.job"] == names[0]
    assert runs.metric_history(run_id=first.run_id, key="loss").steps == [0, 1, 2]
    with open_session() as s, pytest.raises(NotFoundError, match="experiments: compare-me"):
        comparisons.runs_for_jobs(session=s, workspace="default", experiment="nothing-here")
