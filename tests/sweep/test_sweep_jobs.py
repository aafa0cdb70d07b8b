"""Sweep jobs in the cloud's YAML, run by the real agent with trials as child command jobs."""

import pytest

from backend.services import job_files, jobs, open_session, sweeps
from tests.job_fixtures import submit, wait

CURVE_SCRIPT = """
    import argparse, mlflow
    p = argparse.ArgumentParser()
    p.add_argument("--lr", type=float)
    p.add_argument("--kind")
    p.add_argument("--steps", type=int, default=3)
    a = p.parse_args()
    for i in range(a.steps):
        mlflow.log_metric("acc", round(a.lr * (i + 1) / a.steps, 4), step=i)
"""


def _view(name):
    with open_session() as s:
        return sweeps.get_sweep(session=s, workspace="default", name=name)


def test_random_sweep_over_choice_and_uniform_runs_4_trials_2_at_a_time(tmp_path, tracking, agent):
    job = submit(
        tmp_path,
        """
        $schema: https://azuremlschemas.azureedge.net/latest/sweepJob.schema.json
        type: sweep
        trial:
          code: src
          command: python train.py --lr ${{search_space.lr}} --kind ${{search_space.kind}} --steps ${{inputs.steps}}
          environment: azureml:AzureML-sklearn-1.5@latest
        inputs:
          steps: 3
        sampling_algorithm:
          type: random
          seed: 42
        search_space:
          lr: {type: uniform, min_value: 0.1, max_value: 0.9}
          kind: {type: choice, values: [a, b]}
        objective:
          goal: maximize
          primary_metric: acc
        limits:
          max_total_trials: 4
          max_concurrent_trials: 2
          timeout: 600
    """,
        {"src/train.py": CURVE_SCRIPT},
    )
    done = wait(job.name, timeout_s=240)
    assert done.status == "Completed", done.failure_reason
    view = _view(job.name)
    assert [t.name for t in view.trials] == [f"{job.name}_{i}" for i in range(4)]
    assert all(t.status == "Completed" and t.intervals == 3 for t in view.trials)
    for t in view.trials:
        assert 0.1 <= t.params["lr"] <= 0.9 and t.params["kind"] in ("a", "b")
        assert t.metric == pytest.approx(round(t.params["lr"], 4), abs=1e-3)
    best = max(view.trials, key=lambda t: t.metric)
    assert view.best_trial == best.name and best.is_best
    # Never more than two trials at once.
    spans = sorted((t.start_time, t.end_time) for t in view.trials)
    for _i, (start, _) in enumerate(spans):
        assert sum(1 for s2, e2 in spans if s2 <= start < e2) <= 2, spans
    # Sampled values are MLflow params of each trial; trials nest under the sweep's run.
    from mlflow.tracking import MlflowClient

    with open_session() as s:
        child = jobs.get_job(session=s, workspace="default", name=view.trials[0].name)
    run = MlflowClient(tracking).get_run(child.mlflow_run_id)
    assert run.data.params == {"lr": str(view.trials[0].params["lr"]), "kind": view.trials[0].params["kind"]}
    assert run.data.tags["mlflow.parentRunId"] == done.mlflow_run_id


def test_grid_sweep_stops_after_covering_its_grid(tmp_path, agent):
    job = submit(
        tmp_path,
        """
        type: sweep
        trial:
          command: echo ${{search_space.a}} ${{search_space.b}}
          environment: azureml:AzureML-x@latest
        sampling_algorithm: grid
        search_space:
          a: {type: choice, values: [1, 2]}
          b: {type: choice, values: [x, y]}
        objective: {goal: minimize, primary_metric: loss}
        limits:
          max_total_trials: 10
          max_concurrent_trials: 2
    """,
    )
    done = wait(job.name, timeout_s=120)
    view = _view(job.name)
    assert done.status == "Completed"
    assert sorted((t.params["a"], t.params["b"]) for t in view.trials) == [
        (1, "x"),
        (1, "y"),
        (2, "x"),
        (2, "y"),
    ]
    assert all(t.metric is None for t in view.trials)  # never logged the metric: shown as such, not ranked


def test_bad_sweeps_name_the_parameter_and_create_nothing(tmp_path):
    with pytest.raises(
        jobs.ValidationError, match=r"search_space\.lr: the grid sampling algorithm does not support"
    ):
        submit(
            tmp_path,
            """
            type: sweep
            trial: {command: "echo ${{search_space.lr}}", environment: "azureml:AzureML-x@latest"}
            sampling_algorithm: grid
            search_space: {lr: {type: uniform, min_value: 0, max_value: 1}}
            objective: {goal: maximize, primary_metric: acc}
        """,
        )
    with pytest.raises(
        jobs.ValidationError, match="bayesian sampling algorithm does not support early termination"
    ):
        submit(
            tmp_path,
            """
            type: sweep
            trial: {command: "echo ${{search_space.lr}}", environment: "azureml:AzureML-x@latest"}
            sampling_algorithm: bayesian
            search_space: {lr: {type: uniform, min_value: 0, max_value: 1}}
            objective: {goal: maximize, primary_metric: acc}
            limits: {max_total_trials: 3}
            early_termination: {type: bandit, slack_factor: 0.1}
        """,
        )
    with pytest.raises(jobs.ValidationError, match=r"names parameter 'nope', which is not declared"):
        submit(
            tmp_path,
            """
            type: sweep
            trial: {command: "echo ${{search_space.nope}}", environment: "azureml:AzureML-x@latest"}
            search_space: {lr: {type: uniform, min_value: 0, max_value: 1}}
            objective: {goal: maximize, primary_metric: acc}
            limits: {max_total_trials: 3}
        """,
        )
    with open_session() as s:
        assert jobs.list_jobs(session=s, workspace="default") == []


def test_the_clouds_iris_svm_sweep_runs_20_trials_10_at_a_time_on_a_cluster(tracking, agent):
    from backend.services import compute
    from backend.specs.compute import ComputeSpec
    from tests.conftest import REPO

    with open_session() as s:
        compute.create_compute(
            session=s,
            workspace="default",
            spec=ComputeSpec(
                name="cpu-cluster",
                type="amlcompute",
                size="Standard_DS3_v2",
                min_instances=0,
                max_instances=10,
            ),
        )
        job = job_files.create_job_from_file(
            session=s, workspace="default", file=REPO / "tests/fixtures/sweeps/iris_svm/sweep.yml"
        )
    done = wait(job.name, timeout_s=400)
    assert done.status == "Completed", done.failure_reason
    view = _view(job.name)
    assert len(view.trials) == 20 and all(t.status == "Completed" for t in view.trials)
    assert all(0 < t.metric <= 1 for t in view.trials)
    assert view.best_trial == min(view.trials, key=lambda t: t.metric).name  # goal: minimize
    spans = [(t.start_time, t.end_time) for t in view.trials]
    overlap = max(sum(1 for s2, e2 in spans if s2 <= start < e2) for start, _ in spans)
    assert 2 <= overlap <= 10


def test_a_bayesian_sweep_learns_from_finished_trials(tmp_path, agent):
    job = submit(
        tmp_path,
        """
        type: sweep
        trial:
          code: src
          command: python trial.py ${{search_space.x}} ${{search_space.q}}
          environment: azureml:AzureML-sklearn-1.5@latest
        sampling_algorithm: bayesian
        search_space:
          x: {type: uniform, min_value: 0, max_value: 1}
          q: {type: quniform, min_value: 0, max_value: 10, q: 5}
        objective: {goal: maximize, primary_metric: score}
        limits: {max_total_trials: 4, max_concurrent_trials: 2}
    """,
        {
            "src/trial.py": """
        import json, os, sys, urllib.request
        x, q = float(sys.argv[1]), float(sys.argv[2])
        body = json.dumps({"run_id": os.environ["MLFLOW_RUN_ID"], "key": "score", "value": x + q / 10,
                           "timestamp": 0, "step": 0}).encode()
        url = os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/runs/log-metric"
        urllib.request.urlopen(urllib.request.Request(url, body, {"Content-Type": "application/json"})).read()
    """
        },
    )
    done = wait(job.name, timeout_s=200)
    assert done.status == "Completed", done.failure_reason
    view = _view(job.name)
    assert len(view.trials) == 4 and all(t.metric is not None for t in view.trials)
    assert all(t.params["q"] in (0, 5, 10) and 0 <= t.params["x"] <= 1 for t in view.trials)


def test_a_bandit_policy_cancels_exactly_the_trials_its_rule_names(tmp_path, agent):
    """Curves chosen so the outcome is unambiguous: 1.0 and 0.95 stay within 10% of the best, 0.05 and
    0.04 fall outside it at their first interval and are stopped there, while they would run for minutes."""
    job = submit(
        tmp_path,
        """
        type: sweep
        trial:
          code: src
          command: python trial.py ${{search_space.q}}
          environment: azureml:AzureML-sklearn-1.5@latest
        sampling_algorithm: grid
        search_space:
          q: {type: choice, values: [1.0, 0.05, 0.95, 0.04]}
        objective: {goal: maximize, primary_metric: acc}
        limits: {max_total_trials: 4, max_concurrent_trials: 2}
        early_termination: {type: bandit, slack_factor: 0.1, evaluation_interval: 1}
    """,
        {
            "src/trial.py": """
        import json, os, sys, time, urllib.request
        q = float(sys.argv[1])
        url = os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/runs/log-metric"
        for step in range(3):
            body = {"run_id": os.environ["MLFLOW_RUN_ID"], "key": "acc", "value": q, "timestamp": 0, "step": step}
            urllib.request.urlopen(urllib.request.Request(url, json.dumps(body).encode(),
                                                          {"Content-Type": "application/json"})).read()
            time.sleep(0.1 if q > 0.5 else 120)
    """
        },
    )
    done = wait(job.name, timeout_s=200)
    assert done.status == "Completed", done.failure_reason
    trials = {t.params["q"]: t for t in _view(job.name).trials}
    assert {q: t.status for q, t in trials.items()} == {
        1.0: "Completed",
        0.05: "Canceled",
        0.95: "Completed",
        0.04: "Canceled",
    }
    for q in (0.05, 0.04):
        decided = trials[q].canceled_by
        assert (decided["policy"], decided["interval"]) == ("bandit", 1)
        assert decided["numbers"] == {"value": q, "best": 1.0, "threshold": pytest.approx(1.0 / 1.1)}
        assert (
            decided["reason"]
            == f"bandit policy at interval 1: {q:g} is below 0.909091 (best 1 with slack_factor 0.1)"
        )
        assert trials[q].runtime_s < 60  # stopped, not run to its end
    assert _view(job.name).compute_saved_s > 0


# --- sweeps beyond sane bounds are refused before anything is created (issue 9, item 6) --------------------

SWEEP = """
$schema: https://azuremlschemas.azureedge.net/latest/sweepJob.schema.json
type: sweep
trial:
  command: python train.py --lr ${{search_space.lr}}
  environment: azureml:AzureML-sklearn-1.5-ubuntu22.04-py39-cpu@latest
sampling_algorithm: random
search_space:
  lr: {type: uniform, min_value: 0.01, max_value: 0.1}
objective: {goal: maximize, primary_metric: acc}
limits: {max_total_trials: 4}
"""


def _sweep(**parts: str) -> str:
    """The SWEEP file with top-level keys replaced (``search_space``, ``limits``, ...) or added."""
    lines = [line for line in SWEEP.strip().splitlines() if line.split(":")[0] not in parts]
    lines = [line for line in lines if not (line.startswith("  lr:") and "search_space" in parts)]
    return "\n".join([*lines, *(f"{key}: {value}" for key, value in parts.items())]) + "\n"


def _refused(tmp_path, text: str) -> str:
    with pytest.raises(jobs.ValidationError) as info:
        submit(tmp_path, text)
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'job.yml'}: ") and "\n" not in message
    with open_session() as s:
        assert jobs.list_jobs(session=s, workspace="default", include_children=True) == []
    return message.removeprefix(f"{tmp_path / 'job.yml'}: ")


def test_a_sweep_of_ten_trillion_trials_on_a_stopped_instance_is_refused_with_one_line(tmp_path):
    from backend.services import compute

    (tmp_path / "ci.yml").write_text("name: my-instance\ntype: computeinstance\n")
    with open_session() as s:
        compute.create_compute_from_file(session=s, workspace="default", path=tmp_path / "ci.yml")
        compute.stop_compute(session=s, workspace="default", name="my-instance")
    text = _sweep(compute="azureml:my-instance", limits="{max_total_trials: 10000000000000}")
    assert _refused(tmp_path, text) == (
        "field 'limits.max_total_trials': must be a whole number from 1 to 1000 (got 10000000000000)"
    )


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (
            "{max_total_trials: 0}",
            "field 'limits.max_total_trials': must be a whole number from 1 to 1000 (got 0)",
        ),
        (
            "{max_total_trials: 1001}",
            "field 'limits.max_total_trials': must be a whole number from 1 to 1000",
        ),
        (
            "{max_total_trials: 10, max_concurrent_trials: 101}",
            "field 'limits.max_concurrent_trials': must be a whole number from 1 to 100 (got 101)",
        ),
        (
            "{max_total_trials: 10, timeout: 99999999999}",
            "field 'limits.timeout': must be a whole number of seconds from 1 to 5184000 (60 days) "
            "(got 99999999999)",
        ),
        (
            "{max_total_trials: 10, trial_timeout: -5}",
            "field 'limits.trial_timeout': must be a whole number of seconds from 1 to 5184000 (60 days)",
        ),
    ],
)
def test_sweep_limits_beyond_the_clouds_bounds_are_refused(tmp_path, limits, message):
    assert _refused(tmp_path, _sweep(limits=limits)).startswith(message)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "{type: uniform, min_value: .nan, max_value: 1}",
            "field 'search_space.lr.min_value': must be a finite number (got nan)",
        ),
        (
            "{type: uniform, min_value: 0, max_value: .inf}",
            "field 'search_space.lr.max_value': must be a finite number (got inf)",
        ),
        (
            "{type: normal, mu: -.inf, sigma: 1}",
            "field 'search_space.lr.mu': must be a finite number (got -inf)",
        ),
        (
            "{type: normal, mu: 0, sigma: .nan}",
            "field 'search_space.lr.sigma': must be a finite number (got nan)",
        ),
        (
            "{type: quniform, min_value: 0, max_value: 10, q: .nan}",
            "field 'search_space.lr.q': must be a finite number",
        ),
        (
            "{type: uniform, min_value: 2, max_value: 1}",
            "field 'search_space.lr': min_value must be below max_value (got 2 and 1)",
        ),
        ("{type: normal, mu: 0, sigma: 0}", "field 'search_space.lr.sigma': must be above 0 (got 0)"),
        ("{type: lognormal, mu: 0, sigma: -1}", "field 'search_space.lr.sigma': must be above 0 (got -1)"),
        (
            "{type: quniform, min_value: 0, max_value: 10, q: 0}",
            "field 'search_space.lr.q': must be above 0 (got 0)",
        ),
        ("{type: qnormal, mu: 0, sigma: 1, q: -1}", "field 'search_space.lr.q': must be above 0 (got -1)"),
        (
            "{type: randint, upper: 0}",
            "field 'search_space.lr.upper': must be a whole number of at least 1 (got 0)",
        ),
        (
            "{type: randint, upper: 2.5}",
            "field 'search_space.lr.upper': must be a whole number of at least 1",
        ),
        (
            "{type: choice, values: []}",
            "field 'search_space.lr.values': give a non-empty list of values (got [])",
        ),
        (
            "{type: choice, values: [1, .nan]}",
            "field 'search_space.lr.values.1': must be a finite number (got nan)",
        ),
        (
            "{type: loguniform, min_value: 0, max_value: 1000}",
            "field 'search_space.lr.max_value': must be at most 710",
        ),
        (
            "{type: uniform, min_value: -1e308, max_value: 1e308}",
            "field 'search_space.lr': the range from min_value to max_value is too wide",
        ),
        (
            "{type: lognormal, mu: 700, sigma: 10}",
            "field 'search_space.lr': mu + 7 * sigma must be at most 710",
        ),
        ("{type: gaussian, mu: 0, sigma: 1}", "field 'search_space.lr.type': is not a distribution"),
        (
            "{type: uniform, min_value: 0, max_value: 1, step: 0.1}",
            "field 'search_space.lr.step': 'uniform' takes min_value, max_value only",
        ),
    ],
)
def test_distributions_with_bounds_that_cannot_be_sampled_are_refused(tmp_path, entry, message):
    assert _refused(tmp_path, _sweep(search_space="{lr: " + entry + "}")).startswith(message)


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (
            "{type: bandit, slack_factor: 0.1, evaluation_interval: 0}",
            "field 'early_termination.evaluation_interval': must be a whole number of at least 1 (got 0)",
        ),
        (
            "{type: median_stopping, delay_evaluation: -1}",
            "field 'early_termination.delay_evaluation': must be a whole number of at least 0 (got -1)",
        ),
        (
            "{type: bandit, slack_factor: 0}",
            "field 'early_termination.slack_factor': must be a number above 0 (got 0)",
        ),
        (
            "{type: bandit, slack_amount: -0.2}",
            "field 'early_termination.slack_amount': must be a number above 0 (got -0.2)",
        ),
        (
            "{type: bandit, slack_factor: .nan}",
            "field 'early_termination.slack_factor': must be a number above 0",
        ),
        (
            "{type: bandit}",
            "field 'early_termination': a bandit policy takes exactly one of slack_factor, slack_amount",
        ),
        (
            "{type: bandit, slack_factor: 0.1, slack_amount: 0.2}",
            "field 'early_termination': a bandit policy takes exactly one of slack_factor, slack_amount",
        ),
        (
            "{type: truncation_selection, truncation_percentage: 0}",
            "field 'early_termination.truncation_percentage': must be a whole number from 1 to 99 (got 0)",
        ),
        (
            "{type: truncation_selection, truncation_percentage: 100}",
            "field 'early_termination.truncation_percentage': must be a whole number from 1 to 99 (got 100)",
        ),
        ("{type: truncation_selection}", "field 'early_termination.truncation_percentage': is required"),
        (
            "{type: median_stopping, grace_period: 3}",
            "field 'early_termination.grace_period': is not a field of a median_stopping policy",
        ),
        ("{type: hyperband}", "field 'early_termination.type': must be one of 'bandit', 'median_stopping'"),
    ],
)
def test_early_termination_policies_outside_their_rules_are_refused(tmp_path, policy, message):
    assert _refused(tmp_path, _sweep(early_termination=policy)).startswith(message)


def test_an_empty_trial_command_a_grid_too_large_and_too_many_trial_nodes_are_refused(tmp_path):
    text = _sweep().replace("command: python train.py --lr ${{search_space.lr}}", "command: '   '")
    assert _refused(tmp_path, text).startswith("field 'trial.command': must not be empty")
    values = "{type: choice, values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]}"
    grid = _sweep(
        search_space="{lr: " + values + ", a: " + values + ", b: " + values + "}",
        sampling_algorithm="grid",
        limits="{max_concurrent_trials: 2}",
    )
    assert _refused(tmp_path, grid) == (
        "limits.max_total_trials: the grid has 1331 combinations, more than the 1000 trials a sweep may "
        "run; set limits.max_total_trials (1 to 1000) to run the first ones"
    )
    wide = _sweep().replace("  environment:", "  resources: {instance_count: 999}\n  environment:")
    assert _refused(tmp_path, wide).startswith(
        "trial.resources.instance_count: 999 nodes is more than compute 'serverless' can give"
    )


def test_a_cloud_exported_policy_and_delay_evaluation_zero_are_accepted(tmp_path):
    # The cloud's SDK writes both slacks (0 meaning "not set") and CamelCase policy types.
    policy = "{type: Bandit, slack_factor: 0.1, slack_amount: 0, evaluation_interval: 1, delay_evaluation: 0}"
    job = submit(tmp_path, _sweep(early_termination=policy))
    with open_session() as s:
        row = jobs.get_job_row(session=s, workspace="default", name=job.name)
    assert row.spec["early_termination"] == {
        "type": "bandit",
        "slack_factor": 0.1,
        "evaluation_interval": 1,
        "delay_evaluation": 0,
    }


def test_the_sdk_refuses_a_nan_bound_before_anything_is_queued(tmp_path, monkeypatch):
    from studio.ml import MLClient, command
    from studio.ml.sweep import Uniform

    monkeypatch.chdir(tmp_path)
    client = MLClient(credential=None, subscription_id="s", resource_group_name="r", workspace_name="default")
    job = command(
        command="python train.py --lr ${{inputs.lr}}",
        inputs={"lr": 0.1},
        environment="azureml:AzureML-sklearn-1.5-ubuntu22.04-py39-cpu@latest",
    )
    sweep_job = job(lr=Uniform(min_value=float("nan"), max_value=1.0)).sweep(
        sampling_algorithm="random", primary_metric="acc", goal="maximize", max_total_trials=4
    )
    with pytest.raises(jobs.ValidationError) as info:
        client.jobs.create_or_update(sweep_job)
    assert "field 'search_space.lr.min_value': must be a finite number (got nan)" in str(info.value)
    assert "\n" not in str(info.value)
    with open_session() as s:
        assert jobs.list_jobs(session=s, workspace="default", include_children=True) == []
