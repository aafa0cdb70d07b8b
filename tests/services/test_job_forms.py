"""The Jobs page's create form: fields and uploaded files to the cloud's job YAML and a queued job; clone."""

import re

import pytest
import yaml

from backend.errors import ValidationError
from backend.services import data_assets, datastores, environments, job_files, job_forms, jobs, open_session
from backend.services.job_forms import InputField, JobForm, OutputField
from backend.statuses import JobStatus
from tests.conftest import REPO

pytestmark = pytest.mark.usefixtures("database")
IRIS = REPO / "assets" / "sample_data" / "iris.csv"


def _iris() -> str:
    with open_session() as s:
        asset = data_assets.create_data_asset(
            session=s,
            workspace="default",
            data=data_assets.DataAssetCreate(name="iris", type="uri_file", path=str(IRIS)),
        )
    return f"azureml:{asset.name}:{asset.version}"


def _form(**changes) -> JobForm:
    base = {
        "command": "python train.py --lr ${{inputs.lr}} --data ${{inputs.data}} --out ${{outputs.model}}",
        "environment": "azureml:AzureML-sklearn-1.5@latest",
        "inputs": [
            InputField(name="lr", value="0.01"),
            InputField(name="data", kind="data", value="azureml:iris:1", type="uri_file", mode="download"),
        ],
        "outputs": [OutputField(name="model", asset_name="my-model")],
        "tags": {"team": "a"},
        "timeout": 600,
    }
    return JobForm(**(base | changes))


def test_the_form_becomes_the_clouds_job_yaml():
    data = yaml.safe_load(job_forms.form_yaml(_form(), uploaded=["train.py", "util.py"]))
    assert data["$schema"].endswith("commandJob.schema.json")
    assert data["code"] == "src" and data["experiment_name"] == "Default"
    assert data["inputs"] == {
        "lr": 0.01,  # typed as a YAML scalar: a number, as in a hand-written file
        "data": {"type": "uri_file", "path": "azureml:iris:1", "mode": "download"},
    }
    assert data["outputs"] == {"model": {"type": "uri_folder", "mode": "rw_mount", "name": "my-model"}}
    assert data["limits"] == {"timeout": 600} and data["tags"] == {"team": "a"}
    assert "compute" not in data  # serverless is the default
    folder = yaml.safe_load(job_forms.form_yaml(_form(), uploaded=["proj/train.py", "proj/lib/util.py"]))
    assert folder["code"] == "proj" and "experiment_name" not in folder  # named after the folder


def test_uploaded_files_become_the_jobs_code_snapshot():
    _iris()
    with open_session() as s:
        job = job_forms.submit_job_form(
            session=s,
            workspace="default",
            form=_form(name="from-form"),
            files=[("proj/train.py", b"print('hi')\n"), ("proj/lib/util.py", b"X = 1\n")],
        )
        code = job_forms.job_code(session=s, workspace="default", name=job.name)
        store = datastores.get_filesystem(session=s, workspace="default", name="workspaceartifactstore")
    assert job.status == JobStatus.QUEUED and job.experiment_name == "proj"
    assert job.inputs["data"]["asset"] == "iris:1" and job.inputs["lr"] == {"kind": "literal", "value": 0.01}
    snapshot = code.split("/paths/", 1)[1]
    assert store.exists(f"{snapshot}/train.py") and store.exists(f"{snapshot}/lib/util.py")


@pytest.mark.parametrize(
    ("changes", "files", "message"),
    [
        ({"command": "  "}, [], "field 'command' is required"),
        ({"command": "echo ${{inputs.nope}}", "inputs": []}, [], "names input 'nope', which is not declared"),
        ({"inputs": [InputField(name="lr", value="1"), InputField(name="lr", value="2")]}, [], "two inputs"),
        ({"inputs": [InputField(name="2x", value="1")]}, [], "input name '2x' is not valid"),
        ({"inputs": [InputField(name="lr", value="")]}, [], "inputs.lr: give a value"),
        ({}, [("../evil.py", b"")], "not a plain relative path"),
    ],
)
def test_a_bad_form_is_one_message_naming_the_field(changes, files, message):
    with open_session() as s, pytest.raises(ValidationError, match=re.escape(message)):
        job_forms.submit_job_form(session=s, workspace="default", form=_form(**changes), files=files)
    with open_session() as s:
        assert jobs.list_jobs(session=s, workspace="default") == []


def test_a_missing_data_asset_is_refused_at_submission():
    with open_session() as s, pytest.raises(ValidationError, match=r"inputs\.data"):
        job_forms.submit_job_form(session=s, workspace="default", form=_form(), files=[("t.py", b"")])


def test_clone_gives_back_the_form_of_a_job_and_resubmits_the_same_code(tmp_path):
    _iris()
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text("print('x')\n")
    (tmp_path / "job.yml").write_text(
        """
command: python train.py --lr ${{inputs.lr}} --data ${{inputs.data}}
code: src
environment: azureml:AzureML-sklearn-1.5@latest
display_name: first try
experiment_name: exp
environment_variables: {SEED: "1"}
inputs:
  lr: 0.5
  data: {type: uri_file, path: azureml:iris:1}
outputs:
  model: {type: uri_folder, name: made, version: "3"}
limits: {timeout: 60}
"""
    )
    with open_session() as s:
        original = job_files.create_job_from_file(session=s, workspace="default", file=tmp_path / "job.yml")
        form = job_forms.form_from_job(session=s, workspace="default", name=original.name)
    assert form.name == "" and form.display_name == "first try" and form.experiment_name == "exp"
    assert form.environment == "azureml:AzureML-sklearn-1.5@latest"
    assert form.inputs == [
        InputField(name="lr", value="0.5"),
        InputField(name="data", kind="data", value="azureml:iris:1", type="uri_file", mode="ro_mount"),
    ]
    assert form.outputs == [OutputField(name="model", asset_name="made")]  # a new version, not 3 again
    assert form.environment_variables == {"SEED": "1"} and form.timeout == 60
    with open_session() as s:
        clone = job_forms.submit_job_form(session=s, workspace="default", form=form)
        codes = [
            job_forms.job_code(session=s, workspace="default", name=n) for n in (original.name, clone.name)
        ]
    assert clone.name != original.name and codes[0] == codes[1]
    assert clone.command == original.command and clone.inputs == original.inputs


def test_pickers_list_environments_data_versions_and_code_folders():
    _iris()
    with open_session() as s:
        environments.create_environment_from_form(
            session=s,
            workspace="default",
            form=environments.EnvironmentForm(name="mine", image="python:3.11"),
        )
        store = datastores.get_filesystem(session=s, workspace="default", name="workspaceworkingdirectory")
        store.put(IRIS, "projects/alpha/iris.csv")
        envs = job_forms.environment_choices(session=s, workspace="default")
        data = job_forms.data_choices(session=s, workspace="default")
        folders = job_forms.code_folders(session=s, workspace="default")
    refs = [e.reference for e in envs]
    assert "azureml:AzureML-sklearn-1.5@latest" in refs
    assert {"azureml:mine@latest", "azureml:mine:1"} <= set(refs)
    assert [(d.reference, d.type) for d in data] == [("azureml:iris:1", "uri_file")]
    assert folders == ["projects", "projects/alpha"]
    assert job_forms.code_folder_uri("projects/alpha") == (
        "azureml://datastores/workspaceworkingdirectory/paths/projects/alpha"
    )
