"""The cloud's pipeline examples, run here unchanged from their YAML by the real agent."""

from datetime import datetime
from pathlib import Path

import pytest

from backend.services import data_assets, datastores, job_files, jobs, open_session
from tests.conftest import REPO
from tests.job_fixtures import log_of, wait

EXAMPLES = REPO / "tests" / "fixtures" / "pipelines"


def run_pipeline(example: str, *overrides: str, timeout_s: float = 240):
    with open_session() as s:
        job = job_files.create_job_from_file(
            session=s,
            workspace="default",
            file=EXAMPLES / example / "pipeline.yml",
            overrides=list(overrides),
        )
    done = wait(job.name, timeout_s=timeout_s)
    with open_session() as s:
        steps = {
            c.state.get("step") or c.name.removeprefix(f"{job.name}_"): c
            for c in jobs.list_jobs(session=s, workspace="default", parent=job.name)
        }
    return done, steps


def _local(uri: str) -> Path:
    with open_session() as s:
        return data_assets.local_copy(session=s, workspace="default", uri=uri)


@pytest.mark.usefixtures("agent")
def test_train_score_eval_with_three_local_components_and_local_data():
    done, steps = run_pipeline("train_score_eval")
    assert done.status == "Completed", done.failure_reason
    assert set(steps) == {"train_job", "score_job", "evaluate_job"}
    assert all(s.status == "Completed" for s in steps.values())
    report = _local(done.state["outputs"]["pipeline_job_evaluation_report"]["uri"]) / "eval_result.txt"
    assert report.read_text().startswith("accuracy=")
    assert (
        steps["score_job"].inputs["model_input"]["uri"] == steps["train_job"].outputs["model_output"]["uri"]
    )
    assert "trained" in log_of(steps["train_job"].name)


@pytest.mark.usefixtures("agent")
def test_single_component_pipeline():
    done, steps = run_pipeline("single")
    assert done.status == "Completed", done.failure_reason
    assert "Hello Python World" in log_of(steps["hello_python_world_job"].name)


@pytest.mark.usefixtures("agent")
def test_a_to_b_to_c_passes_outputs_along_and_second_run_reuses_every_step():
    done, steps = run_pipeline("abc")
    assert done.status == "Completed", done.failure_reason
    trace = _local(steps["componentC"].outputs["component_out"]["uri"]) / "trace.txt"
    assert trace.read_text().split() == ["a", "b", "c"]
    order = sorted(steps.values(), key=lambda j: j.start_time)
    assert [j.name.rsplit("_", 1)[-1] for j in order] == ["componentA", "componentB", "componentC"]

    again, again_steps = run_pipeline("abc")
    assert again.status == "Completed"
    for name, step in again_steps.items():
        assert step.state["reused_from"] == steps[name].name, name
        assert step.outputs == steps[name].outputs

    forced, forced_steps = run_pipeline("abc", "settings.force_rerun=true")
    assert forced.status == "Completed"
    assert not any(s.state.get("reused_from") for s in forced_steps.values())


@pytest.mark.usefixtures("agent")
def test_inline_command_steps_pass_a_folder():
    done, steps = run_pipeline("hello")
    assert done.status == "Completed", done.failure_reason
    assert "world" in log_of(steps["world_job"].name)


@pytest.mark.usefixtures("agent")
def test_local_file_and_datastore_inputs():
    with open_session() as s:
        store = datastores.get_filesystem(session=s, workspace="default", name="workspaceblobstore")
    store.put(REPO / "assets" / "sample_data" / "iris.csv", "shared/iris/iris.csv")
    done, steps = run_pipeline("data_inputs")
    assert done.status == "Completed", done.failure_reason
    assert "151" in log_of(steps["from_local_file"].name)
    assert "151" in log_of(steps["from_datastore"].name)


@pytest.mark.usefixtures("agent")
def test_sweep_step_then_predict_with_the_best_model():
    done, steps = run_pipeline("sweep_predict", timeout_s=300)
    assert done.status == "Completed", done.failure_reason
    sweep = steps["sweep_step"]
    assert sweep.type == "sweep" and sweep.state["best_trial"]
    assert '"c": 0.7' in log_of(steps["predict_step"].name)


@pytest.mark.usefixtures("agent")
def test_two_independent_steps_run_at_the_same_time():
    done, steps = run_pipeline("parallel")
    assert done.status == "Completed", done.failure_reason
    spans = []
    for step in steps.values():
        start, end = (_local(step.outputs["out"]["uri"]) / "t").read_text().split()
        spans.append((datetime.fromtimestamp(float(start)), datetime.fromtimestamp(float(end))))
    (a_start, a_end), (b_start, b_end) = spans
    assert a_start < b_end and b_start < a_end, spans


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (
            "type: pipeline\njobs:\n  a:\n    command: echo ${{inputs.x}}\n    environment: azureml:AzureML-x@latest\n"
            "    inputs:\n      x: ${{parent.jobs.b.outputs.o}}\n  b:\n    command: echo ${{inputs.y}}\n"
            "    environment: azureml:AzureML-x@latest\n    inputs:\n      y: ${{parent.jobs.a.outputs.o}}\n"
            "    outputs:\n      o:\n",
            "has no output 'o'",
        ),
        (
            "type: pipeline\njobs:\n  a:\n    command: echo ${{inputs.x}} ${{outputs.o}}\n"
            "    environment: azureml:AzureML-x@latest\n    inputs:\n      x: ${{parent.jobs.b.outputs.o}}\n"
            "    outputs:\n      o:\n  b:\n    command: echo ${{inputs.y}} ${{outputs.o}}\n"
            "    environment: azureml:AzureML-x@latest\n    inputs:\n      y: ${{parent.jobs.a.outputs.o}}\n"
            "    outputs:\n      o:\n",
            "the steps form a cycle: a -> b -> a",
        ),
        (
            "type: pipeline\njobs:\n  a:\n    command: echo ${{inputs.x}}\n    environment: azureml:AzureML-x@latest\n"
            "    inputs:\n      x: ${{parent.jobs.ghost.outputs.o}}\n",
            "names step 'ghost', which does not exist",
        ),
        (
            "type: pipeline\njobs:\n  a:\n    command: echo ${{inputs.x}}\n    environment: azureml:AzureML-x@latest\n"
            "    inputs:\n      x: ${{parent.inputs.nope}}\n",
            "names pipeline input 'nope', which is not declared",
        ),
    ],
)
def test_graph_errors_are_caught_before_anything_runs(tmp_path, yaml_text, message):
    (tmp_path / "p.yml").write_text(yaml_text)
    with open_session() as s, pytest.raises(jobs.ValidationError, match=message.replace("(", r"\(")):
        job_files.create_job_from_file(session=s, workspace="default", file=tmp_path / "p.yml")
    with open_session() as s:
        assert jobs.list_jobs(session=s, workspace="default") == []


def test_component_interface_errors_name_the_step_and_input(tmp_path):
    train = EXAMPLES / "train_score_eval" / "train.yml"
    cases = {
        "unknown": ("bogus: 1", "jobs.t.inputs.bogus: the component has no input 'bogus'"),
        "range": (
            "training_data: {type: uri_folder, path: "
            + str(EXAMPLES / "train_score_eval" / "data")
            + "}\n      max_epocs: 1000",
            "max_epocs: 1000 is above the maximum 100",
        ),
        "enum": (
            "training_data: {type: uri_folder, path: "
            + str(EXAMPLES / "train_score_eval" / "data")
            + "}\n      learning_rate_schedule: cosine",
            "'cosine' is not one of",
        ),
        "mismatch": ("training_data: 5", "not valid|type mismatch|is a file|does not exist"),
    }
    for name, (inputs, message) in cases.items():
        (tmp_path / f"{name}.yml").write_text(
            f"type: pipeline\njobs:\n  t:\n    component: {train}\n    inputs:\n      {inputs}\n"
        )
        with open_session() as s, pytest.raises(jobs.ValidationError, match=message):
            job_files.create_job_from_file(session=s, workspace="default", file=tmp_path / f"{name}.yml")


@pytest.mark.usefixtures("agent")
def test_a_non_deterministic_component_runs_again_every_time(tmp_path):
    (tmp_path / "stamp.yml").write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json\n"
        "type: command\nname: stamp\nversion: 1\nis_deterministic: false\n"
        "outputs:\n  out: {type: uri_folder}\n"
        "environment: azureml:AzureML-sklearn-1.5@latest\n"
        "command: date +%s.%N > ${{outputs.out}}/t\n"
    )
    (tmp_path / "pipeline.yml").write_text(
        "type: pipeline\njobs:\n  stamp:\n    type: command\n    component: ./stamp.yml\n"
    )
    runs = []
    for _ in range(2):
        with open_session() as s:
            job = job_files.create_job_from_file(
                session=s, workspace="default", file=tmp_path / "pipeline.yml"
            )
        assert wait(job.name).status == "Completed"
        with open_session() as s:
            (step,) = jobs.list_jobs(session=s, workspace="default", parent=job.name)
        runs.append(step)
    assert [r.state.get("reused_from") for r in runs] == [None, None]
    assert runs[0].outputs["out"]["uri"] != runs[1].outputs["out"]["uri"]


def _submit_text(tmp_path: Path, files: dict[str, str]):
    from tests.job_fixtures import write

    write(tmp_path, files)
    with open_session() as s:
        return job_files.create_job_from_file(session=s, workspace="default", file=tmp_path / "pipeline.yml")


GREETER = """
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: greeter
environment: azureml:AzureML-sklearn-1.5@latest
environment_variables: {GREETING: hello, WHO: component}
command: echo "$GREETING $WHO"
"""


@pytest.mark.usefixtures("agent")
def test_a_step_overrides_its_components_environment_variables(tmp_path):
    job = _submit_text(
        tmp_path,
        {
            "greeter.yml": GREETER,
            "pipeline.yml": """
            type: pipeline
            jobs:
              greet:
                component: ./greeter.yml
                environment_variables: {WHO: step}
            """,
        },
    )
    done = wait(job.name)
    assert done.status == "Completed", done.failure_reason
    with open_session() as s:
        (step,) = jobs.list_jobs(session=s, workspace="default", parent=job.name)
    assert "hello step" in log_of(step.name)


def test_a_step_asking_for_more_nodes_than_its_compute_has_is_refused(tmp_path):
    import os

    from backend.services import ValidationError

    nodes = (os.cpu_count() or 1) + 1  # serverless gives one node per core
    with pytest.raises(ValidationError, match=rf"jobs\.greet\.resources\.instance_count: {nodes} nodes"):
        _submit_text(
            tmp_path,
            {
                "greeter.yml": GREETER,
                "pipeline.yml": """
                type: pipeline
                settings: {default_compute: azureml:serverless}
                jobs:
                  greet:
                    component: ./greeter.yml
                    resources: {instance_count: NODES}
                """.replace("NODES", str(nodes)),
            },
        )


@pytest.mark.usefixtures("agent")
def test_a_component_file_without_a_name_runs_as_the_cloud_runs_it(tmp_path):
    job = _submit_text(
        tmp_path,
        {
            "unnamed.yml": GREETER.replace("name: greeter\n", ""),
            "pipeline.yml": """
            type: pipeline
            jobs:
              greet:
                component: ./unnamed.yml
            """,
        },
    )
    done = wait(job.name)
    assert done.status == "Completed", done.failure_reason
