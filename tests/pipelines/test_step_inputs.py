"""A pipeline step's data inputs resolve when the step starts, as in the cloud: a datastore path that an
earlier step writes works; one that is still missing fails that step; the graph is checked at submission."""

from __future__ import annotations

import pytest

from backend.services import data_assets, job_files, jobs, open_session
from backend.services import pipeline_views as pv
from backend.statuses import JobStatus
from tests.conftest import REPO
from tests.job_fixtures import log_of, wait

EXAMPLES = REPO / "tests" / "fixtures" / "pipelines"
CLEAN = "azureml://datastores/workspaceblobstore/paths/shared/clean"


def run(example: str, *overrides: str, timeout_s: float = 240) -> tuple[jobs.JobPublic, dict]:
    with open_session() as s:
        job = job_files.create_job_from_file(
            session=s,
            workspace="default",
            file=EXAMPLES / example / "pipeline.yml",
            overrides=list(overrides),
        )
    done = wait(job.name, timeout_s=timeout_s)
    with open_session() as s:
        view = pv.get_pipeline_view(session=s, workspace="default", name=job.name)
    return done, {step.name: step for step in view.steps}


def _text(uri: str, file: str) -> str:
    with open_session() as s:
        return (data_assets.local_copy(session=s, workspace="default", uri=uri) / file).read_text()


@pytest.mark.usefixtures("agent")
def test_a_step_reads_a_datastore_path_that_an_earlier_step_writes_and_reuse_hashes_it_at_start():
    done, steps = run("shared_path")
    assert done.status == JobStatus.COMPLETED, done.failure_reason
    assert all(step.status == JobStatus.COMPLETED for step in steps.values()), steps
    assert "trained on rows=150" in log_of(steps["train"].job)
    assert _text(CLEAN, "clean.csv").count("\n") == 151
    assert "rows=150" in log_of(steps["evaluate"].job)

    again, again_steps = run("shared_path")
    assert again.status == JobStatus.COMPLETED, again.failure_reason
    assert again_steps["prep"].reused_from == steps["prep"].job
    assert again_steps["train"].reused_from == steps["train"].job

    # prep now writes other rows to the same path: train's data is hashed when it starts (after prep
    # wrote), not when the pipeline was submitted (when the path still held the first run's rows).
    other, other_steps = run("shared_path", "inputs.raw_data.path=./data/iris_head.csv")
    assert other.status == JobStatus.COMPLETED, other.failure_reason
    assert other_steps["prep"].reused_from is None
    assert other_steps["train"].reused_from is None
    assert "trained on rows=30" in log_of(other_steps["train"].job)


@pytest.mark.usefixtures("agent")
def test_on_a_blob_datastore_a_step_reads_what_an_earlier_step_wrote_and_reuse_follows_its_content(azurite):
    from backend.services import datastores

    spec = datastores.parse_datastore(
        {
            "name": "blobstore",
            "type": "azure_blob",
            "account_name": azurite.account,
            "container_name": azurite.new_container("pipes"),
            "endpoint": azurite.endpoint,
            "protocol": "http",
            "credentials": {"account_key": azurite.account_key},
        },
        source="blobstore.yml",
    )
    with open_session() as s:
        datastores.create_datastore(session=s, workspace="default", spec=spec)
    on_blob = (
        "jobs.prep.outputs.clean_data.path=azureml://datastores/blobstore/paths/shared/clean/",
        "jobs.train.inputs.training_data.path=azureml://datastores/blobstore/paths/shared/clean/",
    )
    first, first_steps = run("shared_path", *on_blob)
    assert first.status == JobStatus.COMPLETED, first.failure_reason
    assert "trained on rows=150" in log_of(first_steps["train"].job)

    # Other rows written to the same blob path: train's key hashes what is there now, not a copy
    # downloaded for an earlier run.
    second, second_steps = run("shared_path", *on_blob, "inputs.raw_data.path=./data/iris_head.csv")
    assert second.status == JobStatus.COMPLETED, second.failure_reason
    assert second_steps["train"].reused_from is None
    assert "trained on rows=30" in log_of(second_steps["train"].job)

    third, third_steps = run("shared_path", *on_blob, "inputs.raw_data.path=./data/iris_head.csv")
    assert third.status == JobStatus.COMPLETED, third.failure_reason
    assert third_steps["train"].reused_from == second_steps["train"].job


@pytest.mark.usefixtures("agent")
def test_a_path_still_missing_when_the_step_starts_fails_that_step_naming_step_input_and_path():
    missing = "azureml://datastores/workspaceblobstore/paths/shared/nowhere/"
    done, steps = run(
        "shared_path",
        f"jobs.train.inputs.training_data.path={missing}",
        "settings.continue_on_step_failure=true",
    )
    assert done.status == JobStatus.FAILED
    train = steps["train"]
    assert train.status == JobStatus.FAILED and train.job is None
    expected = (
        "step 'train', input 'training_data': azureml://datastores/workspaceblobstore/paths/shared/nowhere "
        "does not exist on datastore 'workspaceblobstore'"
    )
    assert train.failure_reason == expected
    assert f"step 'train' failed to start: {expected}" in done.failure_reason
    # Only that step: its dependent is skipped, the independent branch runs to the end.
    assert steps["evaluate"].status == pv.SKIPPED
    assert steps["evaluate"].skipped_reason == "skipped: step 'train' did not complete"
    assert steps["prep"].status == steps["describe"].status == JobStatus.COMPLETED
    assert "prep done" in log_of(steps["describe"].job)
    with open_session() as s:
        (summary,) = pv.list_pipelines(session=s, workspace="default")
    assert (summary.steps_done, summary.steps_failed, summary.steps_total) == (2, 1, 4)


@pytest.mark.usefixtures("agent")
def test_a_step_that_does_not_wait_for_the_writer_of_its_path_is_told_which_step_writes_it(tmp_path):
    # Nothing orders the steps, so reader starts while writer is still running (writer takes its time
    # before writing its file; its output folder is there from its start) and finds the file not written.
    (tmp_path / "pipeline.yml").write_text(
        """\
type: pipeline
jobs:
  writer:
    command: sleep 8 && echo hi > ${{outputs.out}}/hi.txt
    environment: azureml:AzureML-sklearn-1.5@latest
    outputs:
      out: {type: uri_folder, path: "azureml://datastores/workspaceblobstore/paths/hint/out/"}
  reader:
    command: cat ${{inputs.data}}
    environment: azureml:AzureML-sklearn-1.5@latest
    inputs:
      data: {type: uri_file, path: "azureml://datastores/workspaceblobstore/paths/hint/out/hi.txt"}
"""
    )
    with open_session() as s:
        job = job_files.create_job_from_file(session=s, workspace="default", file=tmp_path / "pipeline.yml")
    done = wait(job.name)
    with open_session() as s:
        steps = {
            st.name: st for st in pv.get_pipeline_view(session=s, workspace="default", name=job.name).steps
        }
    assert done.status == JobStatus.FAILED
    assert steps["writer"].status == JobStatus.COMPLETED
    assert steps["reader"].failure_reason == (
        "step 'reader', input 'data': azureml://datastores/workspaceblobstore/paths/hint/out/hi.txt does not exist "
        "on datastore 'workspaceblobstore' (step 'writer' writes it as output 'out', but step 'reader' does "
        "not wait for 'writer': bind one of its inputs to ${{parent.jobs.writer.outputs.out}})"
    )


@pytest.mark.usefixtures("agent")
def test_a_nested_pipeline_resolves_its_steps_inputs_when_they_start():
    done, steps = run("nested_shared_path")
    assert done.status == JobStatus.COMPLETED, done.failure_reason
    assert steps["prep_and_train"].kind == "pipeline"
    with open_session() as s:
        inner = {
            step.name: step
            for step in pv.get_pipeline_view(
                session=s, workspace="default", name=steps["prep_and_train"].job
            ).steps
        }
    assert "trained on rows=150" in log_of(inner["train"].job)
    assert "rows=150" in log_of(steps["evaluate"].job)
    assert "151" in log_of(steps["evaluate"].job)


@pytest.mark.usefixtures("agent")
def test_a_sweep_step_reads_a_path_that_an_earlier_step_writes():
    done, steps = run("sweep_shared_path", timeout_s=300)
    assert done.status == JobStatus.COMPLETED, done.failure_reason
    with open_session() as s:
        sweep = jobs.get_job(session=s, workspace="default", name=steps["sweep_step"].job)
    assert sweep.type == "sweep" and sweep.state["best_trial"]
    assert "trained on rows=20" in log_of(sweep.state["best_trial"])


SHARED = EXAMPLES / "shared_path"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            "jobs.train.inputs.training_data.path=azureml:no_such_data:1",
            "jobs.train.inputs.training_data.path: 'azureml:no_such_data:1': data asset 'no_such_data'",
        ),
        (
            "jobs.train.inputs.training_data.path=azureml://datastores/workspaceblobstore/folders/x",
            "is not a known azureml:// form",
        ),
        (
            "jobs.train.inputs.training_data.path=azureml://datastores/no_such_store/paths/x/",
            "datastore 'no_such_store' does not exist",
        ),
        (
            "jobs.prep.outputs.clean_data.path=azureml://datastores/no_such_store/paths/x/",
            "jobs.prep.outputs.clean_data.path: 'azureml://datastores/no_such_store/paths/x/': datastore",
        ),
        (
            "jobs.prep.outputs.clean_data.path=./somewhere",
            "must be an azureml://datastores/<datastore>/paths/<path> location",
        ),
        ("jobs.train.component=azureml:no_such_component:1", "no_such_component"),
        ("jobs.train.inputs.bogus=1", "jobs.train.inputs.bogus: the component has no input 'bogus'"),
        (
            "jobs.evaluate.inputs.model=${{parent.jobs.train.outputs.nothing}}",
            "step 'train' has no output 'nothing'",
        ),
        ("jobs.prep.inputs.raw_data=./data/not_there.csv", "not_there.csv' does not exist"),
    ],
)
def test_structural_errors_are_refused_at_submission_and_create_nothing(change, message):
    with open_session() as s, pytest.raises(jobs.ValidationError, match=_escaped(message)):
        job_files.create_job_from_file(
            session=s, workspace="default", file=SHARED / "pipeline.yml", overrides=[change]
        )
    with open_session() as s:
        assert jobs.list_jobs(session=s, workspace="default", include_children=True) == []


def _escaped(text: str) -> str:
    import re

    return re.escape(text)


def test_nested_pipeline_errors_are_refused_at_submission(tmp_path):
    (tmp_path / "inner.yml").write_text(
        "type: pipeline\ninputs:\n  data: {type: uri_folder}\njobs:\n  a:\n"
        "    command: ls ${{inputs.d}}\n    environment: azureml:AzureML-sklearn-1.5@latest\n"
        "    inputs:\n      d: ${{parent.inputs.data}}\n"
    )
    (tmp_path / "loop.yml").write_text(
        "type: pipeline\njobs:\n  again:\n    type: pipeline\n    component: ./loop.yml\n"
    )
    cases = {
        "needs": (
            "type: pipeline\njobs:\n  n:\n    type: pipeline\n    component: ./inner.yml\n",
            "jobs.n.inputs.data: the pipeline component needs this input (uri_folder)",
        ),
        "loop": (
            "type: pipeline\njobs:\n  n:\n    type: pipeline\n    component: ./loop.yml\n",
            "the pipeline components include each other",
        ),
        "inner_store": (
            "type: pipeline\njobs:\n  n:\n    type: pipeline\n    component: ./inner.yml\n    inputs:\n"
            "      data: {type: uri_folder, path: 'azureml://datastores/no_such_store/paths/x'}\n",
            "datastore 'no_such_store' does not exist",
        ),
    }
    for name, (text, message) in cases.items():
        (tmp_path / f"{name}.yml").write_text(text)
        with open_session() as s, pytest.raises(jobs.ValidationError, match=_escaped(message)):
            job_files.create_job_from_file(session=s, workspace="default", file=tmp_path / f"{name}.yml")
    with open_session() as s:
        assert jobs.list_jobs(session=s, workspace="default", include_children=True) == []
