"""The ``studio.ml`` SDK, written like ``azure.ai.ml`` code, against a real ``studio up --headless``."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import RunningStudio, reset_caches

# Its module-scoped fixtures are made once: every test of the module on one xdist worker.
pytestmark = pytest.mark.xdist_group("test_sdk")

CURATED = "azureml:AzureML-sklearn-1.5-ubuntu22.04-py39-cpu@latest"


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    """One studio (MLflow + agent) for the module; every test acts in its home."""
    home = tmp_path_factory.mktemp("sdk") / "home"
    running = RunningStudio(home, "--headless")
    try:
        running.wait_ready(timeout=180)
        yield running
    finally:
        running.stop()


@pytest.fixture
def ml_client(studio, studio_home, monkeypatch):
    from studio.ml import MLClient

    monkeypatch.setenv("STUDIO_HOME", str(studio.home))
    reset_caches()
    return MLClient(
        credential=object(), subscription_id="sub", resource_group_name="rg", workspace_name="default"
    )


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return folder


def wait_until(ml_client, name: str, statuses: tuple[str, ...], timeout_s: float = 90):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = ml_client.jobs.get(name)
        if job.status in statuses:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {name} still {job.status} after {timeout_s}s")


TRAIN = """
    import argparse, os
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--local")
    parser.add_argument("--registered")
    parser.add_argument("--out")
    args = parser.parse_args()
    local = open(args.local).read().strip()
    registered = open(args.registered).read().strip()
    print(f"epochs={args.epochs} local={local} registered={registered}")
    with open(os.path.join(args.out, "summary.txt"), "w") as handle:
        handle.write(f"{args.epochs}|{local}|{registered}")
"""


def test_command_with_literal_local_and_registered_inputs_completes_with_its_output(
    ml_client, tmp_path, monkeypatch, capsys
):
    from studio.ml import Input, Output, command
    from studio.ml.entities import Data

    write(tmp_path, {"src/train.py": TRAIN, "local.txt": "from-local\n", "registered.txt": "from-asset\n"})
    monkeypatch.chdir(tmp_path)  # the SDK resolves relative paths against the current folder, like the cloud
    asset = ml_client.data.create_or_update(
        Data(name="sdk-words", version=1, type="uri_file", path="./registered.txt")
    )
    assert asset.id == "azureml:sdk-words:1"

    job = command(
        code="./src",
        command=(
            "python train.py --epochs ${{inputs.epochs}} --local ${{inputs.local}} "
            "--registered ${{inputs.registered}} --out ${{outputs.summary}}"
        ),
        inputs={
            "epochs": 3,
            "local": Input(type="uri_file", path="./local.txt"),
            "registered": Input(type="uri_file", path=asset.id),
        },
        outputs={"summary": Output(type="uri_folder")},
        environment=CURATED,
        display_name="sdk train",
        experiment_name="sdk-experiment",
        tags={"team": "sdk"},
    )
    submitted = ml_client.jobs.create_or_update(job)
    assert submitted.name and submitted.status in ("Queued", "Preparing", "Running")
    assert submitted.display_name == "sdk train"
    assert submitted.experiment_name == "sdk-experiment"
    assert submitted.studio_url is None  # headless: there is no UI to link to
    assert submitted.services["Tracking"].endpoint.startswith("http://127.0.0.1:")

    ml_client.jobs.stream(submitted.name)
    printed = capsys.readouterr().out
    assert f"RunId: {submitted.name}" in printed
    assert "epochs=3 local=from-local registered=from-asset" in printed
    assert "Status: Completed" in printed

    done = ml_client.jobs.get(submitted.name)
    assert done.status == "Completed"
    assert done.tags == {"team": "sdk"}
    assert done.inputs["epochs"] == 3
    assert done.inputs["registered"].path == "azureml:sdk-words:1"
    assert done.outputs.summary.path == (
        f"azureml://datastores/workspaceblobstore/paths/azureml/{submitted.name}/summary/"
    )
    ml_client.jobs.download(submitted.name, download_path=tmp_path / "dl", output_name="summary")
    assert (tmp_path / "dl" / "named-outputs" / "summary" / "summary.txt").read_text() == (
        "3|from-local|from-asset"
    )


def test_load_job_reads_a_cloud_yaml_with_paths_relative_to_the_file(
    ml_client, tmp_path, monkeypatch, capsys
):
    from studio.ml import load_job

    folder = write(
        tmp_path / "project",
        {
            "job.yml": f"""
                $schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
                code: ./src
                command: python count.py --rows ${{{{inputs.rows}}}} --out ${{{{outputs.counted}}}}
                inputs:
                  rows:
                    type: uri_file
                    path: ./rows.csv
                outputs:
                  counted:
                    type: uri_folder
                environment: {CURATED}
                compute: azureml:serverless
                display_name: count rows
                experiment_name: yaml-experiment
            """,
            "src/count.py": """
                import argparse, pathlib
                parser = argparse.ArgumentParser()
                parser.add_argument("--rows")
                parser.add_argument("--out")
                args = parser.parse_args()
                count = len(pathlib.Path(args.rows).read_text().splitlines()) - 1
                print(f"counted {count} rows")
                pathlib.Path(args.out, "count.txt").write_text(str(count))
                pathlib.Path("outputs").mkdir(exist_ok=True)
                pathlib.Path("outputs", "note.txt").write_text("artifact")
            """,
            "rows.csv": "a,b\n1,2\n3,4\n5,6\n",
        },
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # paths in the YAML are relative to the file, not to the current folder

    job = load_job(folder / "job.yml")
    assert job.type == "command"
    assert job.inputs["rows"].type == "uri_file" and job.inputs["rows"].path == "./rows.csv"
    assert job.display_name == "count rows"

    submitted = ml_client.jobs.create_or_update(job, experiment_name="yaml-override")
    ml_client.jobs.stream(submitted.name)
    assert "counted 3 rows" in capsys.readouterr().out

    done = ml_client.jobs.get(submitted.name)
    assert (done.status, done.experiment_name, done.display_name) == (
        "Completed",
        "yaml-override",
        "count rows",
    )
    ml_client.jobs.download(submitted.name, download_path=tmp_path / "all")
    assert (tmp_path / "all" / "named-outputs" / "counted" / "count.txt").read_text() == "3"
    assert (tmp_path / "all" / "artifacts" / "outputs" / "note.txt").read_text() == "artifact"
    assert "counted 3 rows" in (tmp_path / "all" / "logs" / "user_logs" / "std_log.txt").read_text()


def test_load_job_of_a_bad_file_names_the_file_and_field(tmp_path):
    from backend.errors import ValidationError
    from studio.ml import load_job

    write(tmp_path, {"job.yml": "command: echo ${{inputs.nope}}\nenvironment: " + CURATED + "\n"})
    with pytest.raises(ValidationError, match=r"job\.yml: .*inputs\.nope.*not declared"):
        load_job(tmp_path / "job.yml")


def test_stream_raises_when_the_job_fails(ml_client, capsys):
    from studio.ml import command
    from studio.ml.exceptions import JobException

    job = command(command="echo about to fail && exit 3", environment=CURATED)
    submitted = ml_client.jobs.create_or_update(job)
    with pytest.raises(JobException, match=rf"job {submitted.name} ended Failed: exit code 3") as raised:
        ml_client.jobs.stream(submitted.name)
    assert raised.value.status == "Failed"
    assert "about to fail" in capsys.readouterr().out
    assert ml_client.jobs.get(submitted.name).status == "Failed"


def test_cancel_stops_running_jobs_and_stream_then_raises(ml_client):
    from backend.errors import ConflictError
    from studio.ml import command
    from studio.ml.exceptions import JobException

    sleeper = command(command="echo started && sleep 120", environment=CURATED)
    first = ml_client.jobs.create_or_update(sleeper)
    second = ml_client.jobs.create_or_update(sleeper)
    wait_until(ml_client, first.name, ("Running",))

    poller = ml_client.jobs.begin_cancel(first.name)
    poller.result(timeout=60)
    assert poller.done()
    assert ml_client.jobs.get(first.name).status == "Canceled"
    with pytest.raises(JobException, match="ended Canceled"):
        ml_client.jobs.stream(first.name)

    requested = ml_client.jobs.cancel(second.name)
    assert requested.status in ("Canceled", "CancelRequested")
    assert wait_until(ml_client, second.name, ("Canceled", "Completed", "Failed")).status == "Canceled"
    with pytest.raises(ConflictError, match="has already ended"):
        ml_client.jobs.cancel(second.name)


def test_data_assets_round_trip(ml_client, tmp_path, monkeypatch):
    from backend.errors import NotFoundError
    from studio.ml.entities import Data

    write(tmp_path, {"v1/part.csv": "x\n1\n", "v2/part.csv": "x\n2\n"})
    monkeypatch.chdir(tmp_path)
    first = ml_client.data.create_or_update(
        Data(name="sdk-table", type="uri_folder", path="./v1", description="first", tags={"k": "v"})
    )
    second = ml_client.data.create_or_update(Data(name="sdk-table", path="./v2"))
    assert (first.version, second.version) == ("1", "2")
    assert first.path.startswith("azureml://datastores/workspaceblobstore/paths/LocalUpload/")

    got = ml_client.data.get("sdk-table", version=1)
    assert (got.description, got.tags, got.type) == ("first", {"k": "v"}, "uri_folder")
    assert ml_client.data.get("sdk-table", label="latest").version == "2"
    listed = {d.name: d for d in ml_client.data.list()}
    assert listed["sdk-table"].latest_version == "2"
    assert [d.version for d in ml_client.data.list(name="sdk-table")] == ["2", "1"]

    ml_client.data.archive("sdk-table", version=2)
    assert ml_client.data.get("sdk-table", label="latest").version == "1"
    with pytest.raises(NotFoundError, match="sdk-table:9 does not exist"):
        ml_client.data.get("sdk-table", version=9)


def test_jobs_list_archive_and_the_environment_and_compute_reads(ml_client, tmp_path):
    from backend.services import environments, open_session
    from studio.ml import command

    write(tmp_path, {"env.yml": "name: sdk-env\nversion: 1\nimage: python:3.11-slim\n"})
    with open_session() as s:
        environments.create_environment_from_file(session=s, workspace="default", path=tmp_path / "env.yml")
    env = ml_client.environments.get("sdk-env", version=1)
    assert (env.id, env.image) == ("azureml:sdk-env:1", "python:3.11-slim")
    assert "sdk-env" in [e.name for e in ml_client.environments.list()]
    serverless = ml_client.compute.get("serverless")
    assert serverless.type == "serverless"
    assert "serverless" in [c.name for c in ml_client.compute.list()]

    older = ml_client.jobs.create_or_update(command(command="echo one", environment=env))
    newer = ml_client.jobs.create_or_update(command(command="echo two", environment=env))
    for name in (older.name, newer.name):
        ml_client.jobs.stream(name)
    names = [j.name for j in ml_client.jobs.list()]
    assert names.index(newer.name) < names.index(older.name)
    assert ml_client.jobs.get(older.name).environment == "sdk-env:1"
    assert ml_client.jobs.list(parent_job_name=older.name) == []

    ml_client.jobs.archive(older.name)
    assert older.name not in [j.name for j in ml_client.jobs.list()]
    assert older.name in [j.name for j in ml_client.jobs.list(list_view_type="All")]
    assert [j.name for j in ml_client.jobs.list(list_view_type="ArchivedOnly")] == [older.name]


def test_studio_url_links_to_the_job_page_and_bad_jobs_fail_before_anything_is_queued(tmp_path, monkeypatch):
    """No agent needed: submission only queues; the UI link comes from the running studio's record."""
    import os

    from backend.errors import ValidationError
    from backend.services.system import Runtime, write_runtime
    from studio.ml import Input, MLClient, command
    from studio.ml.entities import Environment

    write_runtime(
        Runtime(pid=os.getpid(), home="", mlflow_uri="http://127.0.0.1:1", ui_url="http://host:8501")
    )
    monkeypatch.setenv("STUDIO_WORKSPACE", "default")
    reset_caches()
    ml_client = MLClient.from_config(credential=None, path="config.json")
    submitted = ml_client.jobs.create_or_update(
        command(command="echo hi", environment=CURATED, name="linked-job")
    )
    assert submitted.studio_url == "http://host:8501/jobs?job=linked-job&ws=default"
    assert ml_client.jobs.get("linked-job").services["Studio"].endpoint == submitted.studio_url
    unnamed_env = command(
        command="echo hi", environment=Environment(image="python:3.11-slim"), name="inline-env"
    )
    assert unnamed_env.to_yaml_dict()["environment"] == {"image": "python:3.11-slim"}
    assert ml_client.jobs.create_or_update(unnamed_env).environment

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationError, match=r"command\(\): command: .*inputs\.missing.*not declared"):
        ml_client.jobs.create_or_update(command(command="echo ${{inputs.missing}}", environment=CURATED))
    with pytest.raises(ValidationError, match=r"command\(\): inputs\.data\.path: local path .*nothing\.csv"):
        ml_client.jobs.create_or_update(
            command(
                command="cat ${{inputs.data}}",
                inputs={"data": Input(type="uri_file", path="./nothing.csv")},
                environment=CURATED,
            )
        )
    assert [j.name for j in ml_client.jobs.list()] == ["inline-env", "linked-job"]
