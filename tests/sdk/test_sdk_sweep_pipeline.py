"""Sweeps and pipelines written with ``studio.ml`` like ``azure.ai.ml`` code: rendered to the cloud's YAML,
validated and queued by the service layer, and run by the real agent."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from backend.errors import ValidationError
from backend.services import jobs, open_session, sweeps
from tests.job_fixtures import log_of, wait

CURATED = "azureml:AzureML-sklearn-1.5-ubuntu22.04-py39-cpu@latest"

# Logs the primary metric over MLflow's REST API, so a trial starts fast (no `import mlflow`).
TRIAL = """
    import argparse, json, os, urllib.request
    p = argparse.ArgumentParser(); p.add_argument("--x", type=int); p.add_argument("--scale", type=int)
    a = p.parse_args()
    body = json.dumps({"run_id": os.environ["MLFLOW_RUN_ID"], "key": "score", "value": a.x * a.scale,
                       "timestamp": 0, "step": 0})
    req = urllib.request.Request(os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/runs/log-metric",
                                 body.encode(), {"Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
    print(f"x={a.x} scale={a.scale}")
"""

MAKE = f"""
    $schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
    type: command
    name: make_greeting
    version: 1
    inputs:
      word: {{type: string, default: hello}}
    outputs:
      out: {{type: uri_folder}}
    environment: {CURATED}
    command: echo ${{{{inputs.word}}}} > ${{{{outputs.out}}}}/greeting.txt
"""

SHOUT = f"""
    type: command
    name: shout
    version: 1
    inputs:
      text: {{type: uri_folder}}
    outputs:
      loud: {{type: uri_folder}}
    environment: {CURATED}
    command: tr a-z A-Z < ${{{{inputs.text}}}}/greeting.txt > ${{{{outputs.loud}}}}/loud.txt
"""

TRAIN = f"""
    type: command
    name: train_model
    version: 1
    inputs:
      data: {{type: uri_file}}
      epochs: {{type: integer, default: 3}}
      lr: {{type: number, default: 0.1}}
    outputs:
      model: {{type: uri_folder}}
    code: ./src
    environment: {CURATED}
    command: >-
      python train.py --data ${{{{inputs.data}}}} --epochs ${{{{inputs.epochs}}}} --lr ${{{{inputs.lr}}}}
      --out ${{{{outputs.model}}}}
"""


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return folder


@pytest.fixture
def ml_client(studio_home):
    from studio.ml import MLClient

    return MLClient(
        credential=None, subscription_id="sub", resource_group_name="rg", workspace_name="default"
    )


# --- running ----------------------------------------------------------------------------------------------


def test_random_sweep_built_from_a_command_runs_three_trials_with_the_sampled_values(
    ml_client, agent, tmp_path, monkeypatch
):
    from studio.ml import command
    from studio.ml.sweep import BanditPolicy, Choice, SweepJob

    write(tmp_path, {"src/trial.py": TRIAL})
    monkeypatch.chdir(tmp_path)
    base = command(
        code="./src",
        command="python trial.py --x ${{inputs.x}} --scale ${{inputs.scale}}",
        inputs={"x": 1, "scale": 10},
        environment=CURATED,
        experiment_name="sdk-sweep",
    )
    sweep_job = base(x=Choice([1, 2, 3, 4, 5])).sweep(
        compute="serverless", sampling_algorithm="random", primary_metric="score", goal="Maximize"
    )
    sweep_job.set_limits(max_total_trials=3, max_concurrent_trials=2)
    # Trials log one value; evaluation starts at interval 5, so the policy is recorded but cancels nothing.
    sweep_job.early_termination = BanditPolicy(slack_factor=0.2, evaluation_interval=1, delay_evaluation=5)
    assert base.inputs["x"] == 1  # calling a command returns a new one

    submitted = ml_client.jobs.create_or_update(sweep_job)
    assert isinstance(submitted, SweepJob) and submitted.status == "Queued"
    done = wait(submitted.name, timeout_s=180)
    assert done.status == "Completed", done.failure_reason
    assert isinstance(ml_client.jobs.get(submitted.name), SweepJob)

    with open_session() as s:
        view = sweeps.get_sweep(session=s, workspace="default", name=submitted.name)
    assert view.policy == {
        "type": "bandit",
        "evaluation_interval": 1,
        "delay_evaluation": 5,
        "slack_factor": 0.2,
    }
    assert (view.algorithm, view.primary_metric, view.goal) == ("random", "score", "maximize")
    assert len(view.trials) == 3
    for trial in view.trials:
        x = trial.params["x"]
        assert x in (1, 2, 3, 4, 5)
        assert trial.status == "Completed" and trial.canceled_by is None
        assert trial.metric == x * 10  # the trial got the sampled value and the fixed input
        assert f"x={x} scale=10" in log_of(trial.name)
    assert view.best_trial == max(view.trials, key=lambda t: t.params["x"]).name
    children = ml_client.jobs.list(parent_job_name=submitted.name)
    assert sorted(c.name for c in children) == sorted(t.name for t in view.trials)
    assert {c.experiment_name for c in children} == {"sdk-sweep"}


def test_dsl_pipeline_of_a_loaded_and_a_registered_component_passes_a_file_along(
    ml_client, agent, tmp_path, monkeypatch
):
    from backend.services import data_assets
    from studio.ml import load_component
    from studio.ml.dsl import pipeline
    from studio.ml.entities import PipelineJob

    write(tmp_path, {"components/make.yml": MAKE, "components/shout.yml": SHOUT})
    monkeypatch.chdir(tmp_path)
    make = load_component(source="./components/make.yml")
    registered = ml_client.components.create_or_update(load_component(source="./components/shout.yml"))
    assert registered.id == "azureml:shout:1"
    shout = ml_client.components.get("shout")
    assert (shout.version, shout.inputs.text.type) == ("1", "uri_folder")
    assert [(c.name, c.latest_version) for c in ml_client.components.list()] == [("shout", "1")]

    @pipeline(compute="serverless", description="make a greeting, then shout it")
    def greet(word: str = "hello"):
        made = make(word=word)
        loud = shout(text=made.outputs.out)
        return {"result": loud.outputs.loud}

    job = greet(word="hi there")
    rendered = job.to_yaml_dict()
    assert rendered["jobs"] == {
        "made": {
            "type": "command",
            "component": str(tmp_path / "components" / "make.yml"),
            "inputs": {"word": "${{parent.inputs.word}}"},
        },
        "loud": {
            "type": "command",
            "component": "azureml:shout:1",
            "inputs": {"text": "${{parent.jobs.made.outputs.out}}"},
            "outputs": {"loud": "${{parent.outputs.result}}"},
        },
    }

    submitted = ml_client.jobs.create_or_update(job)
    assert isinstance(submitted, PipelineJob)
    done = wait(submitted.name, timeout_s=180)
    assert done.status == "Completed", done.failure_reason
    assert (done.display_name, done.experiment_name) == ("greet", tmp_path.name)
    with open_session() as s:
        children = jobs.list_jobs(session=s, workspace="default", parent=submitted.name)
        steps = {c.name.removeprefix(f"{submitted.name}_"): c for c in children}
        assert set(steps) == {"made", "loud"}
        assert steps["loud"].inputs["text"]["uri"] == steps["made"].outputs["out"]["uri"]
        result = data_assets.local_copy(
            session=s, workspace="default", uri=done.state["outputs"]["result"]["uri"]
        )
    assert (result / "loud.txt").read_text().strip() == "HI THERE"


# --- rendering and queueing (no agent) --------------------------------------------------------------------


def test_a_sweep_over_every_distribution_renders_the_cloud_yaml_and_is_queued(
    ml_client, tmp_path, monkeypatch
):
    from backend.sweep.policies import make_policy
    from backend.sweep.space import parse_space
    from studio.ml import Input, Output, command
    from studio.ml.sweep import (
        BanditPolicy,
        Choice,
        LogNormal,
        LogUniform,
        MedianStoppingPolicy,
        Normal,
        QLogNormal,
        QLogUniform,
        QNormal,
        QUniform,
        Randint,
        RandomSamplingAlgorithm,
        TruncationSelectionPolicy,
        Uniform,
    )

    write(tmp_path, {"src/train.py": "print('hi')\n", "data.csv": "a\n1\n"})
    monkeypatch.chdir(tmp_path)
    space = {
        "c": Choice(["a", "b"]),
        "r": Randint(upper=5),
        "u": Uniform(0.1, 0.9),
        "lu": LogUniform(min_value=-3, max_value=0),
        "n": Normal(mu=0, sigma=1),
        "ln": LogNormal(0, 0.5),
        "qu": QUniform(1, 10, 1),
        "qlu": QLogUniform(0, 3, 2),
        "qn": QNormal(10, 2, q=1),
        "qln": QLogNormal(mu=1, sigma=0.5, q=0.5),
    }
    names = list(space)
    job = command(
        code="./src",
        command="python train.py "
        + " ".join(f"--{n} ${{{{inputs.{n}}}}}" for n in names)
        + " --data ${{ inputs.data }} --epochs ${{inputs.epochs}} --out ${{outputs.model}}",
        inputs={"data": Input(type="uri_file", path="./data.csv"), "epochs": 3, **dict.fromkeys(names, 0)},
        outputs={"model": Output(type="uri_folder")},
        environment=CURATED,
        display_name="every distribution",
        timeout=120,
    )
    sweep_job = job(**space).sweep(
        sampling_algorithm=RandomSamplingAlgorithm(seed=7, rule="random"),
        primary_metric="acc",
        goal="Minimize",
        max_total_trials=8,
        early_termination_policy=MedianStoppingPolicy(delay_evaluation=2),
    )
    sweep_job.set_limits(max_concurrent_trials=2, timeout=600)
    trial_command = (
        "python train.py "
        + " ".join(f"--{n} ${{{{search_space.{n}}}}}" for n in names)
        + " --data ${{ inputs.data }} --epochs ${{inputs.epochs}} --out ${{outputs.model}}"
    )
    assert sweep_job.to_yaml_dict() == {
        "type": "sweep",
        "display_name": "every distribution",
        "trial": {"command": trial_command, "code": "./src", "environment": CURATED},
        "inputs": {"data": {"type": "uri_file", "path": "./data.csv"}, "epochs": 3},
        "outputs": {"model": {"type": "uri_folder"}},
        "sampling_algorithm": {"type": "random", "seed": 7, "rule": "random"},
        "search_space": {
            "c": {"type": "choice", "values": ["a", "b"]},
            "r": {"type": "randint", "upper": 5},
            "u": {"type": "uniform", "min_value": 0.1, "max_value": 0.9},
            "lu": {"type": "loguniform", "min_value": -3, "max_value": 0},
            "n": {"type": "normal", "mu": 0, "sigma": 1},
            "ln": {"type": "lognormal", "mu": 0, "sigma": 0.5},
            "qu": {"type": "quniform", "min_value": 1, "max_value": 10, "q": 1},
            "qlu": {"type": "qloguniform", "min_value": 0, "max_value": 3, "q": 2},
            "qn": {"type": "qnormal", "mu": 10, "sigma": 2, "q": 1},
            "qln": {"type": "qlognormal", "mu": 1, "sigma": 0.5, "q": 0.5},
        },
        "objective": {"goal": "minimize", "primary_metric": "acc"},
        "limits": {"max_total_trials": 8, "max_concurrent_trials": 2, "timeout": 600, "trial_timeout": 120},
        "early_termination": {"type": "median_stopping", "evaluation_interval": 1, "delay_evaluation": 2},
    }
    assert [d.type for d in parse_space(sweep_job.to_yaml_dict()["search_space"], algorithm="random")] == [
        "choice", "randint", "uniform", "loguniform", "normal", "lognormal",
        "quniform", "qloguniform", "qnormal", "qlognormal",
    ]  # fmt: skip
    for policy in (
        BanditPolicy(slack_amount=0.1, evaluation_interval=2),
        TruncationSelectionPolicy(truncation_percentage=20, evaluation_interval=1),
    ):
        assert make_policy(policy._to_dict()) is not None  # the backend accepts what each policy renders
    # The cloud SDK's default evaluation_interval (0, "every interval") is written as 1, which sweeps accept.
    assert BanditPolicy(slack_factor=0.1)._to_dict() == {
        "type": "bandit", "evaluation_interval": 1, "delay_evaluation": 0, "slack_factor": 0.1
    }  # fmt: skip
    assert make_policy(BanditPolicy(slack_factor=0.1)._to_dict()) is not None

    submitted = ml_client.jobs.create_or_update(sweep_job, experiment_name="every-distribution")
    assert (submitted.type, submitted.status, submitted.experiment_name) == (
        "sweep",
        "Queued",
        "every-distribution",
    )
    with open_session() as s:
        row = jobs.get_job_row(session=s, workspace="default", name=submitted.name)
        assert row.spec["search_space"] == sweep_job.to_yaml_dict()["search_space"]
        assert row.spec["limits"]["trial_timeout"] == 120
        assert row.spec["trial"]["inputs"]["epochs"]["value"] == 3

    bad = job(c=Choice(["a"]), u=Uniform(0.1, 0.9)).sweep(
        sampling_algorithm="grid", primary_metric="acc", goal="maximize"
    )
    with pytest.raises(
        ValidationError, match=r"search_space\.u: the grid sampling algorithm does not support"
    ):
        ml_client.jobs.create_or_update(bad)


def test_a_dsl_pipeline_renders_literals_data_inputs_outputs_and_step_names(ml_client, tmp_path, monkeypatch):
    from studio.ml import Input, load_component
    from studio.ml.dsl import pipeline
    from studio.ml.sweep import Choice

    write(
        tmp_path,
        {"train.yml": TRAIN, "shout.yml": SHOUT, "src/train.py": "print('hi')\n", "data/iris.csv": "a\n1\n"},
    )
    monkeypatch.chdir(tmp_path)
    train, shout = load_component(source="train.yml"), load_component(source="shout.yml")

    @pipeline(default_compute="serverless", experiment_name="dsl-render", force_rerun=True)
    def train_and_shout(iris, epochs: int = 5):
        """Train twice, then shout both models."""
        first = train(data=iris, epochs=epochs, lr=0.5)
        first.compute = "serverless"
        first.display_name = "first training"
        second = train(data=Input(type="uri_file", path="./data/iris.csv"), epochs=7)
        second.outputs.model.mode = "upload"
        for model in (first.outputs.model, second.outputs.model):
            shout(text=model)  # no variable keeps these: named after the component
        swept = train(data=iris, lr=Choice([0.1, 0.2])).sweep(
            primary_metric="acc", goal="maximize", max_total_trials=2
        )
        return {"first_model": first.outputs.model, "best_model": swept.outputs.model}

    job = train_and_shout(iris=Input(type="uri_file", path="./data/iris.csv"))
    job.outputs.first_model.name = "first-model"
    train_path, shout_path = str(tmp_path / "train.yml"), str(tmp_path / "shout.yml")
    assert job.to_yaml_dict() == {
        "type": "pipeline",
        "display_name": "train_and_shout",
        "experiment_name": "dsl-render",
        "description": "Train twice, then shout both models.",
        "inputs": {"iris": {"type": "uri_file", "path": "./data/iris.csv"}, "epochs": 5},
        "outputs": {
            "first_model": {"type": "uri_folder", "name": "first-model"},
            "best_model": {"type": "uri_folder"},
        },
        "settings": {"default_compute": "serverless", "force_rerun": True},
        "jobs": {
            "first": {
                "type": "command",
                "component": train_path,
                "display_name": "first training",
                "compute": "serverless",
                "inputs": {
                    "data": "${{parent.inputs.iris}}",
                    "epochs": "${{parent.inputs.epochs}}",
                    "lr": 0.5,
                },
                "outputs": {"model": "${{parent.outputs.first_model}}"},
            },
            "second": {
                "type": "command",
                "component": train_path,
                "inputs": {"data": {"type": "uri_file", "path": "./data/iris.csv"}, "epochs": 7},
                "outputs": {"model": {"type": "uri_folder", "mode": "upload"}},
            },
            "shout": {
                "type": "command",
                "component": shout_path,
                "inputs": {"text": "${{parent.jobs.first.outputs.model}}"},
            },
            "shout_1": {
                "type": "command",
                "component": shout_path,
                "inputs": {"text": "${{parent.jobs.second.outputs.model}}"},
            },
            "swept": {
                "type": "sweep",
                "trial": train_path,
                "inputs": {"data": "${{parent.inputs.iris}}"},
                "outputs": {"model": "${{parent.outputs.best_model}}"},
                "sampling_algorithm": "random",
                "search_space": {"lr": {"type": "choice", "values": [0.1, 0.2]}},
                "objective": {"goal": "maximize", "primary_metric": "acc"},
                "limits": {"max_total_trials": 2},
            },
        },
    }

    submitted = ml_client.jobs.create_or_update(job)
    assert (submitted.type, submitted.status) == ("pipeline", "Queued")
    with open_session() as s:
        plan = jobs.get_job_row(session=s, workspace="default", name=submitted.name).spec
    assert plan["order"][:2] == ["first", "second"] and set(plan["order"]) == set(job.jobs)
    assert plan["steps"]["shout_1"]["deps"] == ["second"]
    assert plan["steps"]["first"]["inputs"]["lr"] == {"bind": "literal", "value": 0.5}
    assert plan["steps"]["swept"]["kind"] == "sweep"

    # A changed component is sent inline, its code folder made absolute.
    train.environment = "azureml:AzureML-other@latest"

    @pipeline()
    def changed():
        train(data=Input(type="uri_file", path="./data/iris.csv"))

    step = changed().to_yaml_dict()["jobs"]["train_model"]
    assert step["component"]["environment"] == "azureml:AzureML-other@latest"
    assert step["component"]["code"] == str(tmp_path / "src")


def test_load_job_reads_sweep_and_pipeline_files_and_submits_them(ml_client, tmp_path):
    from backend.specs import read_yaml
    from studio.ml import load_job
    from studio.ml.entities import PipelineJob
    from studio.ml.sweep import SweepJob
    from tests.conftest import REPO

    folder = write(
        tmp_path,
        {
            "sweep.yml": f"""
                $schema: https://azuremlschemas.azureedge.net/latest/sweepJob.schema.json
                type: sweep
                trial:
                  code: src
                  command: python train.py --lr ${{{{search_space.lr}}}} --steps ${{{{inputs.steps}}}}
                  environment: {CURATED}
                inputs:
                  steps: 3
                sampling_algorithm: {{type: random, seed: 1}}
                search_space:
                  lr: {{type: uniform, min_value: 0.1, max_value: 0.9}}
                objective: {{goal: maximize, primary_metric: acc}}
                limits: {{max_total_trials: 2}}
                early_termination: {{type: bandit, slack_factor: 0.1}}
            """,
            "src/train.py": "print('hi')\n",
        },
    )
    sweep_job = load_job(folder / "sweep.yml")
    assert isinstance(sweep_job, SweepJob)
    assert sweep_job.to_yaml_dict() == read_yaml(folder / "sweep.yml")
    assert sweep_job.search_space.lr.max_value == 0.9 and sweep_job.objective.primary_metric == "acc"
    sweep_job.set_limits(max_concurrent_trials=1)
    assert sweep_job.to_yaml_dict()["limits"] == {"max_total_trials": 2, "max_concurrent_trials": 1}
    queued = ml_client.jobs.create_or_update(sweep_job)
    assert (queued.type, queued.status, queued.experiment_name) == ("sweep", "Queued", "src")

    pipeline_file = REPO / "tests" / "fixtures" / "pipelines" / "sweep_predict" / "pipeline.yml"
    pipeline_job = load_job(pipeline_file)
    assert isinstance(pipeline_job, PipelineJob)
    assert pipeline_job.jobs.sweep_step.search_space == {
        "c_value": {"type": "choice", "values": [0.1, 0.7, 1.5]}
    }
    assert pipeline_job.to_yaml_dict()["jobs"] == read_yaml(pipeline_file)["jobs"]
    queued = ml_client.jobs.create_or_update(pipeline_job)
    assert (queued.type, queued.status) == ("pipeline", "Queued")
    with open_session() as s:
        plan = jobs.get_job_row(session=s, workspace="default", name=queued.name).spec
    assert plan["order"] == ["sweep_step", "predict_step"]

    write(tmp_path, {"bad.yml": "type: automl\n"})
    with pytest.raises(
        ValidationError, match=r"bad\.yml: field 'type': .*command, sweep, pipeline.*'automl'"
    ):
        load_job(tmp_path / "bad.yml")


def test_mistakes_fail_before_anything_is_queued_with_one_line_that_says_what_to_do(
    ml_client, tmp_path, monkeypatch
):
    from studio.ml import Input, command, load_component
    from studio.ml.dsl import pipeline
    from studio.ml.sweep import Uniform

    write(tmp_path, {"train.yml": TRAIN, "shout.yml": SHOUT, "src/train.py": "", "data.csv": "a\n"})
    monkeypatch.chdir(tmp_path)
    base = command(command="echo ${{inputs.lr}}", inputs={"lr": 0.1}, environment=CURATED)
    with pytest.raises(ValidationError, match=r"command\(\): 'rate' is not one of its inputs \(inputs: lr\)"):
        base(rate=Uniform(0, 1))
    with pytest.raises(
        ValidationError, match=r"command\(\): inputs\.lr: a search-space value \(uniform\) needs a sweep"
    ):
        ml_client.jobs.create_or_update(base(lr=Uniform(0, 1)))

    train, shout = load_component(source="train.yml"), load_component(source="shout.yml")
    with pytest.raises(
        ValidationError, match=r"train\.yml: 'epoch' is not one of its inputs \(inputs: data, epochs, lr\)"
    ):
        train(epoch=3)
    outside = train(data=Input(type="uri_file", path="./data.csv"))

    @pipeline()
    def uses_an_outside_step():
        shout(text=outside.outputs.model)

    with pytest.raises(
        ValidationError, match=r"jobs\.shout\.inputs\.text: takes the output of a step that is not part"
    ):
        uses_an_outside_step().to_yaml_dict()

    @pipeline()
    def returns_a_literal():
        train(data=Input(type="uri_file", path="./data.csv"))
        return {"model": 3}

    with pytest.raises(ValidationError, match=r"returns_a_literal: output 'model': return a step's output"):
        returns_a_literal()

    @pipeline()
    def shouts_at_nothing(count: int = 2):
        shout(text=count)  # a literal where the component wants a folder

    with pytest.raises(ValidationError, match=r"jobs\.shout\.inputs\.text: type mismatch"):
        ml_client.jobs.create_or_update(shouts_at_nothing())
    assert ml_client.jobs.list() == []
