"""The pipeline read model, the composer's YAML, a component as a job, and registering from the browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from backend.services import (
    ValidationError,
    component_forms,
    components,
    data_assets,
    datastores,
    jobs,
    open_session,
    pipeline_composer,
    pipeline_plans,
)
from backend.services import pipeline_views as pv
from backend.services.pipeline_composer import (
    ComposedInput,
    ComposedPipeline,
    ComposedStep,
    PipelineInputField,
)
from backend.specs.pipeline import PipelineJobSpec
from backend.statuses import JobStatus
from tests.job_fixtures import wait

ENV = "azureml:AzureML-sklearn-1.5@latest"
WRITER = f"""\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: writer
version: 1
description: writes a greeting to its output folder
inputs:
  greeting: {{type: string, default: hello}}
  times: {{type: integer, default: 1, min: 1, max: 5}}
  mood: {{type: string, default: calm, enum: [calm, loud]}}
outputs:
  out: {{type: uri_folder}}
environment: {ENV}
command: >-
  for i in $(seq ${{{{inputs.times}}}}); do echo ${{{{inputs.greeting}}}}-${{{{inputs.mood}}}} >> ${{{{outputs.out}}}}/msg.txt; done
"""
READER = f"""\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: reader
version: 1
inputs:
  src: {{type: uri_folder}}
  verbose: {{type: boolean, default: false}}
  ratio: {{type: number, optional: true}}
outputs:
  copy: {{type: uri_folder}}
environment: {ENV}
command: >-
  cat ${{{{inputs.src}}}}/msg.txt && cp ${{{{inputs.src}}}}/msg.txt ${{{{outputs.copy}}}}/msg.txt
"""
FAILER = f"""\
type: command
name: failer
version: 1
outputs:
  out: {{type: uri_folder}}
environment: {ENV}
command: echo about to fail && exit 3
"""


def register(folder: Path, *texts: str, workspace: str = "default") -> list[components.ComponentPublic]:
    """Register component YAML texts through the service layer (the way the pages' tests set up)."""
    folder.mkdir(parents=True, exist_ok=True)
    found = []
    for index, text in enumerate(texts):
        file = folder / f"component_{index}.yml"
        file.write_text(text)
        with open_session() as s:
            found.append(components.create_component_from_file(session=s, workspace=workspace, file=file))
    return found


def writer_then_reader(**settings) -> ComposedPipeline:
    settings.setdefault("display_name", "write then read")
    return ComposedPipeline(
        steps=[
            ComposedStep(name="write", component="writer:1"),
            ComposedStep(
                name="read",
                component="reader:1",
                inputs={"src": ComposedInput(kind="step_output", value="write.out")},
                promote={"copy": "read_copy"},
            ),
        ],
        **settings,
    )


def _view(name: str) -> pv.PipelineView:
    with open_session() as s:
        return pv.get_pipeline_view(session=s, workspace="default", name=name)


def _submit(pipeline: ComposedPipeline) -> jobs.JobPublic:
    with open_session() as s:
        return pipeline_composer.submit_composed(session=s, workspace="default", pipeline=pipeline)


# --------------------------------------------------------------------------------------------- composer


@pytest.mark.usefixtures("database")
def test_composed_yaml_wires_literals_data_pipeline_inputs_and_step_outputs(tmp_path):
    register(tmp_path / "c", WRITER, READER)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "msg.txt").write_text("hi\n")
    with open_session() as s:
        data_assets.create_data_asset(
            session=s,
            workspace="default",
            data=data_assets.DataAssetCreate(name="greetings", path=str(tmp_path / "d")),
        )
    pipeline = ComposedPipeline(
        display_name="wired",
        experiment_name="composer-tests",
        default_compute="serverless",
        force_rerun=True,
        inputs=[PipelineInputField(name="how_many", type="integer", value=3)],
        steps=[
            ComposedStep(
                name="w",
                component="writer:1",
                inputs={
                    "greeting": ComposedInput(kind="literal", value="hey"),
                    "times": ComposedInput(kind="pipeline_input", value="how_many"),
                    "mood": ComposedInput(kind="default"),
                },
            ),
            ComposedStep(
                name="r1",
                component="reader:1",
                inputs={
                    "src": ComposedInput(kind="step_output", value="w.out"),
                    "verbose": ComposedInput(kind="literal", value=True),
                    "ratio": ComposedInput(kind="literal", value=0.5),
                },
                promote={"copy": "first_copy"},
            ),
            ComposedStep(
                name="r2",
                component="reader:1",
                inputs={"src": ComposedInput(kind="data", value="azureml:greetings:1", type="uri_folder")},
            ),
        ],
    )
    assert pipeline_composer.check_composed(pipeline) == []
    data = yaml.safe_load(pipeline_composer.compose_pipeline_yaml(pipeline))
    assert data == {
        "$schema": "https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json",
        "type": "pipeline",
        "display_name": "wired",
        "experiment_name": "composer-tests",
        "inputs": {"how_many": 3},
        "outputs": {"first_copy": {"type": "uri_folder"}},
        "settings": {"default_compute": "azureml:serverless", "force_rerun": True},
        "jobs": {
            "w": {
                "type": "command",
                "component": "azureml:writer:1",
                "inputs": {"greeting": "hey", "times": "${{parent.inputs.how_many}}"},
            },
            "r1": {
                "type": "command",
                "component": "azureml:reader:1",
                "inputs": {"src": "${{parent.jobs.w.outputs.out}}", "verbose": True, "ratio": 0.5},
                "outputs": {"copy": "${{parent.outputs.first_copy}}"},
            },
            "r2": {
                "type": "command",
                "component": "azureml:reader:1",
                "inputs": {"src": {"type": "uri_folder", "path": "azureml:greetings:1"}},
            },
        },
    }
    spec = PipelineJobSpec.model_validate(data)
    with open_session() as s:
        plan = pipeline_plans.build_plan(session=s, workspace="default", spec=spec, base_dir=None)
    assert plan["order"].index("w") < plan["order"].index("r1")
    assert plan["steps"]["r1"]["deps"] == ["w"] and plan["steps"]["r2"]["deps"] == []
    assert plan["steps"]["w"]["inputs"]["mood"] == {"bind": "literal", "value": "calm"}  # the default
    assert plan["steps"]["r2"]["inputs"]["src"]["value"]["asset"] == "greetings:1"
    assert plan["settings"]["force_rerun"] is True


@pytest.mark.usefixtures("database")
def test_the_composer_names_wiring_problems_before_the_database_is_asked():
    pipeline = ComposedPipeline(
        inputs=[PipelineInputField(name="1bad", type="integer", value=None)],
        steps=[
            ComposedStep(
                name="a",
                component="writer:1",
                inputs={"greeting": ComposedInput(kind="pipeline_input", value="nope")},
            ),
            ComposedStep(
                name="b",
                component="reader:1",
                inputs={"src": ComposedInput(kind="step_output", value="c.out")},
            ),
            ComposedStep(name="c", component="writer:1"),
            ComposedStep(name="c", component="writer:1"),
        ],
    )
    problems = pipeline_composer.check_composed(pipeline)
    assert "pipeline input '1bad': use letters, digits and '_' (not starting with a digit)" in problems
    assert "pipeline input '1bad': give a value" in problems
    assert "step 'a', input 'greeting': pipeline input 'nope' is not declared" in problems
    assert "step 'b', input 'src': it can only read an output of an earlier step" in problems
    assert "two steps are named 'c'" in problems
    assert pipeline_composer.check_composed(ComposedPipeline()) == [
        "add at least one step (pick a registered component)"
    ]
    with (
        open_session() as s,
        pytest.raises(ValidationError, match="pipeline composer: pipeline input '1bad'"),
    ):
        pipeline_composer.submit_composed(session=s, workspace="default", pipeline=pipeline)


@pytest.mark.usefixtures("database")
def test_a_literal_outside_the_components_range_is_refused_with_the_step_and_input(tmp_path):
    register(tmp_path, WRITER)
    pipeline = ComposedPipeline(
        steps=[
            ComposedStep(
                name="w", component="writer:1", inputs={"times": ComposedInput(kind="literal", value=9)}
            )
        ]
    )
    with open_session() as s, pytest.raises(ValidationError) as caught:
        pipeline_composer.validate_composed(session=s, workspace="default", pipeline=pipeline)
    assert str(caught.value) == "pipeline composer: jobs.w.inputs.times: 9 is above the maximum 5"
    pipeline.steps[0].inputs["times"] = ComposedInput(kind="literal", value=2)
    pipeline.steps.append(ComposedStep(name="x", component="nosuch:1"))
    with (
        open_session() as s,
        pytest.raises(ValidationError, match=re.escape("jobs.x.component: 'azureml:nosuch:1'")),
    ):
        pipeline_composer.submit_composed(session=s, workspace="default", pipeline=pipeline)
    with open_session() as s:
        assert jobs.list_jobs(session=s, workspace="default") == []


@pytest.mark.usefixtures("database")
def test_a_submitted_composition_is_a_queued_pipeline_whose_view_shows_the_graph(tmp_path):
    register(tmp_path, WRITER, READER)
    job = _submit(writer_then_reader())
    assert job.type == "pipeline" and job.status == JobStatus.QUEUED and job.experiment_name == "Default"
    view = _view(job.name)
    assert [s.name for s in view.steps] == ["write", "read"]
    assert [s.status for s in view.steps] == [JobStatus.NOT_STARTED, JobStatus.NOT_STARTED]
    assert [s.depth for s in view.steps] == [0, 1]
    assert view.edges == [("write", "read")]
    assert [s.component for s in view.steps] == ["writer:1", "reader:1"]
    read = view.step("read")
    src = next(p for p in read.inputs if p.name == "src")
    assert (src.binding, src.source_step, src.type) == ("write.outputs.out", "write", "uri_folder")
    verbose = next(p for p in read.inputs if p.name == "verbose")
    assert (verbose.binding, verbose.value, verbose.type) == ("value", "false", "boolean")
    assert [(o.name, o.binding) for o in view.outputs] == [("read_copy", "read.outputs.copy")]
    assert (view.steps_done, view.steps_total) == (0, 2)
    with open_session() as s:
        listed = pv.list_pipelines(session=s, workspace="default")
    assert [(p.name, p.steps_done, p.steps_total, p.status) for p in listed] == [
        (job.name, 0, 2, JobStatus.QUEUED)
    ]
    # A version that differs only in its number has the same content: the plan cannot tell them apart.
    register(tmp_path / "v2", WRITER.replace("version: 1", "version: 2"))
    assert _view(job.name).steps[0].component == "writer:1 = writer:2"


@pytest.mark.usefixtures("database")
def test_the_view_refuses_a_job_that_is_not_a_pipeline(tmp_path):
    register(tmp_path, WRITER)
    with open_session() as s:
        job = component_forms.submit_component_job(session=s, workspace="default", component="writer:1")
    with open_session() as s, pytest.raises(ValidationError, match="is a command job, not a pipeline"):
        pv.get_pipeline_view(session=s, workspace="default", name=job.name)


# ------------------------------------------------------------------------------------ component as a job


@pytest.mark.usefixtures("database")
def test_a_component_becomes_a_command_job_with_its_snapshot_and_checked_values(tmp_path):
    (tmp_path / "src").mkdir(parents=True)
    (tmp_path / "src" / "hello.py").write_text("print('hi')\n")
    text = WRITER.replace("version: 1\n", "version: 1\ncode: ./src\n")
    (writer,) = register(tmp_path, text)
    data = component_forms.component_job_data(
        writer, inputs={"times": ComposedInput(kind="literal", value=2)}, compute="serverless"
    )
    assert data["code"] == writer.spec["code"] and data["code"].startswith("azureml://datastores/")
    assert data["inputs"] == {"greeting": "hello", "times": 2, "mood": "calm"}
    assert data["outputs"] == {"out": {"type": "uri_folder"}}
    with open_session() as s, pytest.raises(ValidationError) as caught:
        component_forms.submit_component_job(
            session=s,
            workspace="default",
            component="writer:1",
            inputs={"mood": ComposedInput(kind="literal", value="sad")},
        )
    assert str(caught.value) == "component writer:1: inputs.mood: 'sad' is not one of 'calm', 'loud'"
    with open_session() as s:
        job = component_forms.submit_component_job(
            session=s,
            workspace="default",
            component="writer:1",
            inputs={"times": ComposedInput(kind="literal", value="3")},
            experiment_name="from-component",
        )
    assert job.status == JobStatus.QUEUED and job.experiment_name == "from-component"
    assert job.inputs["times"] == {"kind": "literal", "value": 3}
    assert job.tags["component"] == "writer:1"


@pytest.mark.usefixtures("database")
def test_a_component_job_declares_an_optional_input_it_leaves_empty(tmp_path):
    register(tmp_path, READER)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "msg.txt").write_text("hi\n")
    with open_session() as s:
        data_assets.create_data_asset(
            session=s,
            workspace="default",
            data=data_assets.DataAssetCreate(name="folder", path=str(tmp_path / "d")),
        )
    with (
        open_session() as s,
        pytest.raises(ValidationError, match=re.escape("inputs.src: the component needs this input")),
    ):
        component_forms.submit_component_job(session=s, workspace="default", component="reader:1")
    with open_session() as s:
        job = component_forms.submit_component_job(
            session=s,
            workspace="default",
            component="reader:1",
            inputs={"src": ComposedInput(kind="data", value="azureml:folder:1")},
        )
    assert job.inputs["ratio"] is None and job.inputs["src"]["asset"] == "folder:1"


# ------------------------------------------------------------------------------------------- registering


@pytest.mark.usefixtures("database")
def test_register_an_uploaded_yaml_with_loose_and_folder_code_files():
    text = WRITER.replace("version: 1\n", "code: ./src\n")
    with open_session() as s:
        first = component_forms.register_uploaded_component(
            session=s,
            workspace="default",
            yaml_name="writer.yml",
            yaml_bytes=text.encode(),
            files=[("run.py", b"print(1)\n")],
        )
        second = component_forms.register_uploaded_component(
            session=s,
            workspace="default",
            yaml_name="writer.yml",
            yaml_bytes=text.encode(),
            files=[("src/run.py", b"print(2)\n"), ("src/lib/util.py", b"")],
        )
    assert (first.name, first.version, second.version) == ("writer", "1", "2")
    with open_session() as s:
        store = datastores.get_filesystem(session=s, workspace="default", name="workspaceartifactstore")
    for component, expected in ((first, ["run.py"]), (second, ["lib", "run.py"])):
        folder = component.spec["code"].split("/paths/", 1)[1]
        assert sorted(e.name for e in store.ls(folder)) == expected
    assert components.component_yaml(first) == text


@pytest.mark.usefixtures("database")
def test_an_upload_whose_files_do_not_fit_the_yaml_is_one_clear_message():
    no_code = WRITER
    with open_session() as s, pytest.raises(ValidationError) as caught:
        component_forms.register_uploaded_component(
            session=s,
            workspace="default",
            yaml_name="w.yml",
            yaml_bytes=no_code.encode(),
            files=[("a.py", b"")],
        )
    assert str(caught.value).startswith("w.yml: field 'code': the YAML names no local code folder")
    needs_code = WRITER.replace("version: 1\n", "code: ./src\n")
    with (
        open_session() as s,
        pytest.raises(ValidationError, match=re.escape("'./src' is a local folder: upload its files too")),
    ):
        component_forms.register_uploaded_component(
            session=s, workspace="default", yaml_name="w.yml", yaml_bytes=needs_code.encode()
        )
    with open_session() as s, pytest.raises(ValidationError, match=r"^w.yml: field 'command'"):
        component_forms.register_uploaded_component(
            session=s, workspace="default", yaml_name="w.yml", yaml_bytes=b"name: x\nenvironment: e\n"
        )
    for place in ("/etc", "../elsewhere"):
        escaping = WRITER.replace("version: 1\n", f"code: {place}\n")
        with open_session() as s, pytest.raises(ValidationError) as caught:
            component_forms.register_uploaded_component(
                session=s,
                workspace="default",
                yaml_name="w.yml",
                yaml_bytes=escaping.encode(),
                files=[("a.py", b"")],
            )
        assert str(caught.value).startswith(
            f"w.yml: field 'code': '{place}' must be a folder beside the YAML"
        )
    with open_session() as s:
        assert components.list_components(session=s, workspace="default") == []


@pytest.mark.usefixtures("database")
def test_register_a_component_yaml_from_the_working_directory_datastore(tmp_path):
    project = tmp_path / "proj"
    (project / "src").mkdir(parents=True)
    (project / "src" / "run.py").write_text("print('run')\n")
    (project / "component.yml").write_text(READER.replace("version: 1\n", "code: ./src\n"))
    (project / "unrelated.txt").write_text("not part of the component\n")
    with open_session() as s:
        store = datastores.get_filesystem(session=s, workspace="default", name="workspaceworkingdirectory")
    store.put(project, "team/proj")
    with open_session() as s:
        assert component_forms.component_yaml_files(session=s, workspace="default") == [
            "team/proj/component.yml"
        ]
        found = component_forms.register_component_from_datastore(
            session=s, workspace="default", path="team/proj/component.yml"
        )
        artifacts = datastores.get_filesystem(session=s, workspace="default", name="workspaceartifactstore")
    assert (found.name, found.version) == ("reader", "1")
    assert [e.name for e in artifacts.ls(found.spec["code"].split("/paths/", 1)[1])] == ["run.py"]
    (project / "bad.yml").write_text(READER.replace("version: 1\n", "code: /etc\n"))
    store.put(project / "bad.yml", "team/proj/bad.yml")
    with open_session() as s, pytest.raises(ValidationError, match="'/etc' must be a folder beside the YAML"):
        component_forms.register_component_from_datastore(
            session=s, workspace="default", path="team/proj/bad.yml"
        )
    with (
        open_session() as s,
        pytest.raises(pv.NotFoundError, match=re.escape("team/nothing.yml: no such file")),
    ):
        component_forms.register_component_from_datastore(
            session=s, workspace="default", path="team/nothing.yml"
        )


# ------------------------------------------------------------------------------------ pipelines that ran


@pytest.mark.usefixtures("agent")
def test_the_view_of_finished_pipelines_shows_outputs_reuse_and_skipped_steps(tmp_path):
    register(tmp_path, WRITER, READER, FAILER)
    first = _submit(writer_then_reader())
    done = wait(first.name, timeout_s=180)
    assert done.status == JobStatus.COMPLETED, done.failure_reason
    view = _view(first.name)
    assert [(s.name, s.status) for s in view.steps] == [
        ("write", JobStatus.COMPLETED),
        ("read", JobStatus.COMPLETED),
    ]
    assert [s.job for s in view.steps] == [f"{first.name}_write", f"{first.name}_read"]
    write, read = view.steps
    written = next(p for p in write.outputs if p.name == "out").value
    assert written.startswith("azureml://datastores/workspaceblobstore/paths/azureml/")
    assert next(p for p in read.inputs if p.name == "src").value == written
    assert read.mlflow_run_id and read.duration_s is not None and not read.reused_from
    copy = view.outputs[0]
    assert (copy.name, copy.binding) == ("read_copy", "read.outputs.copy") and copy.value.startswith(
        "azureml://"
    )
    assert "hello-calm" in jobs.read_log(workspace="default", name=read.job)[0]
    assert (view.steps_done, view.steps_total) == (2, 2)

    again = _submit(writer_then_reader())
    failing = _submit(
        ComposedPipeline(
            steps=[
                ComposedStep(name="boom", component="failer:1"),
                ComposedStep(
                    name="after",
                    component="reader:1",
                    inputs={"src": ComposedInput(kind="step_output", value="boom.out")},
                ),
            ]
        )
    )
    assert wait(again.name, timeout_s=120).status == JobStatus.COMPLETED
    reused = _view(again.name)
    assert [s.reused_from for s in reused.steps] == [f"{first.name}_write", f"{first.name}_read"]
    assert all(s.status == JobStatus.COMPLETED for s in reused.steps)

    assert wait(failing.name, timeout_s=120).status == JobStatus.FAILED
    failed = _view(failing.name)
    boom, after = failed.steps
    assert boom.status == JobStatus.FAILED and "exit code 3" in (boom.failure_reason or "")
    assert after.status == pv.SKIPPED and after.job is None
    assert after.skipped_reason == "skipped: step 'boom' did not complete"
    with open_session() as s:
        listed = {p.name: p for p in pv.list_pipelines(session=s, workspace="default")}
    assert (listed[first.name].steps_done, listed[first.name].steps_total) == (2, 2)
    assert (listed[failing.name].steps_failed, listed[failing.name].status) == (1, JobStatus.FAILED)
