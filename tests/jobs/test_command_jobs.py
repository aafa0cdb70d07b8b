"""Command jobs written for the cloud, run here unchanged, through a real agent and MLflow server."""

import json
from pathlib import Path

import pytest

from backend.services import data_assets, jobs, open_session
from tests.conftest import REPO
from tests.job_fixtures import log_of, submit, wait

IRIS = REPO / "assets" / "sample_data" / "iris.csv"
MLTABLE = REPO / "tests" / "fixtures" / "mltable" / "case_01_csv_basic_infer"
pytestmark = pytest.mark.usefixtures("agent")


def test_hello_world(tmp_path):
    job = submit(
        tmp_path,
        """
        $schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
        command: echo "hello world"
        environment:
          image: library/python:latest
        compute: azureml:serverless
    """,
    )
    done = wait(job.name)
    assert done.status == "Completed", done.failure_reason
    assert "hello world" in log_of(job.name)
    assert [h[0] for h in done.history] == [
        "NotStarted",
        "Queued",
        "Preparing",
        "Running",
        "Finalizing",
        "Completed",
    ]
    assert done.start_time and done.end_time and done.start_time <= done.end_time
    agent_log = (jobs.job_dir("default", job.name) / "system_logs" / "agent.log").read_text()
    assert "built-in environment" in agent_log  # the log says which environment and why


def test_inputs_of_every_type_and_mode_reach_the_command(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.txt").write_text("A")
    model = tmp_path / "model"
    model.mkdir()
    (model / "MLmodel").write_text("flavors: {}\n")
    with open_session() as s:
        data_assets.create_data_asset(
            session=s,
            workspace="default",
            data=data_assets.DataAssetCreate(name="iris", type="uri_file", path=str(IRIS)),
        )
    job = submit(
        tmp_path,
        f"""
        command: >-
          python show.py --n ${{{{inputs.n}}}} --rate ${{{{inputs.rate}}}} --flag ${{{{inputs.flag}}}}
          --file ${{{{inputs.file}}}} --folder ${{{{inputs.folder}}}} --table ${{{{inputs.table}}}}
          --asset ${{{{inputs.asset}}}} --latest ${{{{inputs.latest}}}} --copy ${{{{inputs.copy}}}}
          --direct ${{{{inputs.direct}}}} --model ${{{{inputs.model}}}} $[[--missing ${{{{inputs.missing}}}}]]
        code: src
        environment: azureml:AzureML-sklearn-1.5@latest
        inputs:
          n: 3
          rate: 0.5
          flag: true
          file: {{type: uri_file, path: {IRIS}}}
          folder: {{type: uri_folder, path: {folder}}}
          table: {{type: mltable, path: {MLTABLE}}}
          asset: {{type: uri_file, path: azureml:iris:1}}
          latest: {{type: uri_file, path: azureml:iris@latest}}
          copy: {{type: uri_folder, path: {folder}, mode: download}}
          direct: {{type: uri_file, path: {IRIS}, mode: direct}}
          model: {{type: mlflow_model, path: {model}}}
          missing: {{type: uri_file, optional: true}}
    """,
        {
            "src/show.py": """
        import json, os, sys
        args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
        env = {k: v for k, v in os.environ.items() if k.startswith("AZURE_ML_INPUT_")}
        print("ARGS=" + json.dumps(args))
        print("ENV=" + json.dumps(env))
        for key in ("--folder", "--copy"):  # a mounted input is read-only; a downloaded one is the job's own
            try:
                with open(os.path.join(args[key], "new.txt"), "w") as handle:
                    handle.write("x")
                print(f"WRITE{key}=ok")
            except OSError:
                print(f"WRITE{key}=refused")
    """
        },
    )
    done = wait(job.name)
    assert done.status == "Completed", done.failure_reason
    log = log_of(job.name)
    args = json.loads(log.split("ARGS=")[1].splitlines()[0])
    env = json.loads(log.split("ENV=")[1].splitlines()[0])
    assert (args["--n"], args["--rate"], args["--flag"]) == ("3", "0.5", "True")
    assert "--missing" not in args  # $[[...]] dropped: the optional input was not given
    assert Path(args["--file"]).read_text() == IRIS.read_text()
    assert (Path(args["--folder"]) / "a.txt").read_text() == "A"
    assert (Path(args["--table"]) / "MLTable").is_file()
    assert Path(args["--asset"]).name == "iris.csv" and Path(args["--latest"]).name == "iris.csv"
    assert (Path(args["--copy"]) / "a.txt").read_text() == "A"
    assert str(jobs.job_dir("default", job.name)) in args["--copy"]  # download mode: a private copy
    assert "WRITE--folder=refused" in log and "WRITE--copy=ok" in log
    assert args["--direct"].startswith("azureml://datastores/workspaceblobstore/paths/LocalUpload/")
    assert (Path(args["--model"]) / "MLmodel").is_file()
    assert env["AZURE_ML_INPUT_file"] == args["--file"]
    assert done.inputs["asset"]["asset"] == "iris:1"


def test_outputs_default_and_named_are_written_and_registered(tmp_path):
    job = submit(
        tmp_path,
        """
        command: >-
          echo result > ${{outputs.plain}}/r.txt &&
          mkdir -p ${{outputs.named}}/sub && echo 42 > ${{outputs.named}}/sub/answer.txt &&
          echo kept > outputs/artifact.txt
        environment: azureml:AzureML-sklearn-1.5@latest
        outputs:
          plain:
          named:
            type: uri_folder
            name: answers
            version: "7"
          elsewhere:
            type: uri_folder
            path: azureml://datastores/workspacefilestore/paths/custom/place
        code: src
    """,
        {"src/outputs/.keep": ""},
    )
    done = wait(job.name)
    assert done.status == "Completed", done.failure_reason
    assert (
        done.outputs["plain"]["uri"]
        == f"azureml://datastores/workspaceblobstore/paths/azureml/{job.name}/plain/"
    )
    assert done.outputs["elsewhere"]["uri"] == "azureml://datastores/workspacefilestore/paths/custom/place"
    with open_session() as s:
        asset = data_assets.get_data_asset(session=s, workspace="default", name="answers")
        local = data_assets.local_copy(session=s, workspace="default", uri=asset.path)
    assert asset.version == "7" and asset.tags["studio.job"] == job.name
    assert (local / "sub" / "answer.txt").read_text().strip() == "42"
    dest = tmp_path / "download"
    with open_session() as s:
        copied = jobs.download_job(session=s, workspace="default", name=job.name, dest=dest)
    assert (dest / "named-outputs" / "plain" / "r.txt").read_text().strip() == "result"
    assert (dest / "artifacts" / "outputs" / "artifact.txt").read_text().strip() == "kept"
    assert "logs/user_logs" in copied


def test_environment_variables_of_the_spec_and_the_job_are_set(tmp_path, tracking):
    job = submit(
        tmp_path,
        """
        command: env | sort | grep -E '^(MY_|MLFLOW_|AZUREML_RUN_ID|AZURE_ML_OUTPUT_)'
        environment: azureml:AzureML-sklearn-1.5@latest
        environment_variables:
          MY_SETTING: "on"
          MY_NUMBER: 3
        outputs:
          out:
    """,
    )
    done = wait(job.name)
    env = dict(line.split("=", 1) for line in log_of(job.name).splitlines() if "=" in line)
    assert env["MY_SETTING"] == "on" and env["MY_NUMBER"] == "3"
    assert env["AZUREML_RUN_ID"] == job.name
    assert env["MLFLOW_RUN_ID"] == done.mlflow_run_id and env["MLFLOW_TRACKING_URI"] == tracking
    assert env["MLFLOW_EXPERIMENT_ID"] == done.mlflow_experiment_id
    assert env["AZURE_ML_OUTPUT_out"].endswith(f"azureml/{job.name}/out")


def test_plain_mlflow_logging_lands_in_the_jobs_run_and_a_model_folder_is_an_output(tmp_path, tracking):
    from mlflow.tracking import MlflowClient

    job = submit(
        tmp_path,
        f"""
        command: python train.py --data ${{{{inputs.iris}}}} --C ${{{{inputs.C}}}} --model-dir ${{{{outputs.model}}}}
        code: {REPO / "assets" / "sample_code"}
        inputs:
          iris: {{type: uri_file, path: {IRIS}}}
          C: 0.5
        outputs:
          model: {{type: mlflow_model}}
        environment: azureml:AzureML-sklearn-1.5@latest
        experiment_name: iris-tests
        display_name: iris logistic regression
        tags: {{team: ml}}
    """,
    )
    done = wait(job.name, timeout_s=180)
    assert done.status == "Completed", done.failure_reason
    run = MlflowClient(tracking).get_run(done.mlflow_run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "iris logistic regression"
    assert run.data.params == {"C": "0.5", "max_iter": "200"}
    assert 0.8 < run.data.metrics["accuracy"] <= 1.0
    assert run.data.tags["team"] == "ml" and run.data.tags["studio.job"] == job.name
    assert done.experiment_name == "iris-tests"
    artifacts = {a.path for a in MlflowClient(tracking).list_artifacts(done.mlflow_run_id)}
    assert {"user_logs", "system_logs"} <= artifacts
    model_dir = Path(
        done.outputs["model"]["uri"].replace(
            "azureml://datastores/workspaceblobstore/paths/",
            str(jobs.get_settings().home / "workspaces/default/datastores/workspaceblobstore") + "/",
        )
    )
    assert (model_dir / "MLmodel").is_file()


def test_a_failing_command_fails_with_its_exit_code_and_log_tail(tmp_path, tracking):
    from mlflow.tracking import MlflowClient

    job = submit(
        tmp_path,
        """
        command: echo "about to fail" && exit 3
        environment: azureml:AzureML-sklearn-1.5@latest
    """,
    )
    done = wait(job.name)
    assert done.status == "Failed" and done.exit_code == 3
    assert done.failure_reason.startswith("exit code 3") and "about to fail" in done.failure_reason
    assert MlflowClient(tracking).get_run(done.mlflow_run_id).info.status == "FAILED"


def _child_pid(name: str, seconds: str) -> int:
    """The host pid of the job's ``sleep <seconds>`` (inside its sandbox it has another pid)."""
    import psutil

    wait(name, until=lambda j: "pid=" in log_of(name))
    for proc in psutil.process_iter(["cmdline"]):
        if proc.info["cmdline"] == ["sleep", seconds]:
            return proc.pid
    raise AssertionError(f"no 'sleep {seconds}' process is running for job {name}")


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_cancel_while_running_kills_the_whole_process_group(tmp_path):
    job = submit(
        tmp_path,
        """
        command: sleep 300.17 & echo "pid=$!" && wait
        environment: azureml:AzureML-sklearn-1.5@latest
    """,
    )
    grandchild = _child_pid(job.name, "300.17")
    with open_session() as s:
        assert jobs.cancel_job(session=s, workspace="default", name=job.name).status == "CancelRequested"
    done = wait(job.name)
    assert done.status == "Canceled"
    assert not _alive(grandchild)


def test_timeout_stops_the_job_and_says_why(tmp_path):
    job = submit(
        tmp_path,
        """
        command: sleep 120.31 & echo "pid=$!" && wait
        environment: azureml:AzureML-sklearn-1.5@latest
        limits:
          timeout: 2
    """,
    )
    grandchild = _child_pid(job.name, "120.31")
    done = wait(job.name, timeout_s=30)
    assert done.status == "Failed" and done.failure_reason.startswith("timeout")
    assert not _alive(grandchild)


def test_cancel_while_queued_ends_at_once(tmp_path, agent):
    agent.stop()  # nothing will claim it
    job = submit(tmp_path, "command: echo never\nenvironment: azureml:AzureML-sklearn-1.5@latest\n")
    with open_session() as s:
        done = jobs.cancel_job(session=s, workspace="default", name=job.name)
    assert done.status == "Canceled" and not log_of(job.name)
