"""Ray as compute: a local Ray head (``ray start --head``) runs a command job, a sweep and a pipeline from the
same YAML as a local compute (only ``compute:`` names the Ray compute); the job's log streams while it runs,
a cancel stops the Ray job, and the MLflow runs hold the metrics. Real Ray, agent and tracking server.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import pytest

from backend.services import compute, jobs, open_session
from backend.specs.compute import ComputeSpec
from tests.job_fixtures import log_of, submit, wait

pytest.importorskip("ray", reason="the ray extra is not installed")
RAY = Path(sys.executable).with_name("ray")
START_TIMEOUT_S = 90

# Its module-scoped fixtures are made once: every test of the module on one xdist worker.
pytestmark = pytest.mark.xdist_group("test_ray_compute")

TRAIN = """
import os, sys, time
import mlflow
lr = float(sys.argv[1])
print("epoch 0 of", os.environ["AZUREML_RUN_ID"], flush=True)
time.sleep(float(os.environ.get("PAUSE", "0")))
mlflow.log_metric("accuracy", 1 - abs(lr - 0.3))
os.makedirs("outputs", exist_ok=True)
open("outputs/model.txt", "w").write(f"lr={lr}")
out = os.environ.get("AZURE_ML_OUTPUT_model_dir")
if out:
    open(os.path.join(out, "model.txt"), "w").write(f"lr={lr}")
print("done", flush=True)
"""
JOB = """
code: src
command: python train.py {lr}
environment: azureml:AzureML-sklearn-1.5@latest
compute: azureml:rayc
environment_variables:
  PAUSE: "{pause}"
"""
SWEEP = """
type: sweep
compute: azureml:rayc
trial:
  code: src
  command: python train.py ${{search_space.lr}}
  environment: azureml:AzureML-sklearn-1.5@latest
sampling_algorithm: grid
search_space:
  lr: {type: choice, values: [0.1, 0.3, 0.5]}
objective: {goal: maximize, primary_metric: accuracy}
limits: {max_total_trials: 3, max_concurrent_trials: 2}
"""
PIPELINE = """
type: pipeline
settings:
  default_compute: azureml:rayc
jobs:
  train:
    code: src
    command: python train.py 0.3
    environment: azureml:AzureML-sklearn-1.5@latest
    outputs:
      model_dir:
  check:
    command: cat ${{inputs.model}}/model.txt
    environment: azureml:AzureML-sklearn-1.5@latest
    inputs:
      model: ${{parent.jobs.train.outputs.model_dir}}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def ray_head():
    """A Ray head on free ports in a temporary folder; every process of it is gone afterwards. Its dashboard
    (the Jobs API) answers on every address: by this machine's own address it counts as a cluster elsewhere."""
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # (Ray's socket paths must stay short)
    port, dashboard = _free_port(), _free_port()
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    started = subprocess.run(
        [str(RAY), "start", "--head", f"--port={port}", f"--dashboard-port={dashboard}",
         "--dashboard-host=0.0.0.0", "--num-cpus=2", "--include-dashboard=true",
         # Every port free now: Ray's fixed defaults (52365 for the job agent...) can be a busy test run's
         # ephemeral ports, and a job agent that cannot bind leaves "No available agent to submit job".
         f"--dashboard-agent-listen-port={_free_port()}", f"--dashboard-agent-grpc-port={_free_port()}",
         f"--runtime-env-agent-port={_free_port()}", f"--metrics-export-port={_free_port()}",
         f"--ray-client-server-port={_free_port()}", f"--node-manager-port={_free_port()}",
         f"--object-manager-port={_free_port()}",
         "--disable-usage-stats", f"--temp-dir={temp}"],
        env=env, capture_output=True, text=True, timeout=START_TIMEOUT_S,
    )  # fmt: skip
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield f"http://127.0.0.1:{dashboard}"
    finally:
        _stop_ray(temp)
        shutil.rmtree(temp, ignore_errors=True)


def _stop_ray(temp: str) -> None:
    """Every process of this head: those that name its folder, and their children (Ray's workers)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if any(temp in part for part in proc.info["cmdline"] or []):
            found.append(proc)
            try:
                found += proc.children(recursive=True)
            except psutil.Error:
                pass
    for proc in found:
        try:
            proc.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(found, timeout=15)
    for proc in alive:
        try:
            proc.kill()
        except psutil.Error:
            pass


@pytest.fixture
def rayc(ray_head, agent):
    from backend.services import ray_cluster

    ray_cluster.forget(ray_head)
    with open_session() as s:
        compute.create_compute(
            session=s, workspace="default", spec=ComputeSpec(name="rayc", type="ray", address=ray_head)
        )
    return ray_head


def _metric(run_id: str, key: str) -> float:
    from mlflow import MlflowClient

    return MlflowClient(os.environ["STUDIO_MLFLOW_URI"]).get_run(run_id).data.metrics[key]


def test_a_command_job_runs_on_ray_with_its_log_streaming_and_its_metric_in_mlflow(tmp_path, rayc):
    job = submit(tmp_path, JOB.format(lr=0.3, pause=4), {"src/train.py": TRAIN})
    # The log streams: its first line is on the job's page while the job still runs.
    seen = wait(job.name, until=lambda j: j.status in ("Running", "Finalizing", "Completed") and
                "epoch 0" in log_of(job.name), timeout_s=120)  # fmt: skip
    assert seen.status == "Running", seen.status
    done = wait(job.name, timeout_s=120)
    assert done.status == "Completed", (done.failure_reason, log_of(job.name))
    assert "done" in log_of(job.name)
    assert _metric(done.mlflow_run_id, "accuracy") == pytest.approx(1.0)
    from backend.services import runs

    files = runs.list_artifacts(run_id=done.mlflow_run_id, path="outputs")
    assert any(f.path.endswith("model.txt") for f in files), files
    from ray.job_submission import JobSubmissionClient

    with open_session() as s:
        row = jobs.get_job_row(session=s, workspace="default", name=job.name)
        ray = row.state["ray"]
    assert str(JobSubmissionClient(rayc).get_job_status(ray["submission_id"])) in (
        "SUCCEEDED",
        "JobStatus.SUCCEEDED",
    )


def test_a_canceled_job_stops_its_ray_job(tmp_path, rayc):
    from ray.job_submission import JobSubmissionClient

    job = submit(tmp_path, JOB.format(lr=0.3, pause=600), {"src/train.py": TRAIN})
    wait(job.name, until=lambda j: "epoch 0" in log_of(job.name), timeout_s=120)
    with open_session() as s:
        jobs.cancel_job(session=s, workspace="default", name=job.name)
    assert wait(job.name, timeout_s=60).status == "Canceled"
    with open_session() as s:
        submission = jobs.get_job_row(session=s, workspace="default", name=job.name).state["ray"][
            "submission_id"
        ]
    assert "STOPPED" in str(JobSubmissionClient(rayc).get_job_status(submission))


def test_a_sweep_and_a_pipeline_run_on_ray_from_their_local_yaml(tmp_path, rayc):
    sweep = submit(tmp_path / "sweep", SWEEP, {"src/train.py": TRAIN})
    pipeline = submit(tmp_path / "pipe", PIPELINE, {"src/train.py": TRAIN})
    done = wait(sweep.name, timeout_s=180)
    assert done.status == "Completed", done.failure_reason
    from backend.services import sweeps

    with open_session() as s:
        view = sweeps.get_sweep(session=s, workspace="default", name=sweep.name)
    assert sorted(round(t.metric, 3) for t in view.trials) == [0.8, 0.8, 1.0]
    assert view.best_trial and all(t.status == "Completed" for t in view.trials)
    finished = wait(pipeline.name, timeout_s=180)
    assert finished.status == "Completed", finished.failure_reason
    with open_session() as s:
        steps = {
            j.display_name: j.name
            for j in jobs.list_jobs(session=s, workspace="default", parent=pipeline.name)
        }
    assert "lr=0.3" in log_of(steps["check"])


def test_a_cluster_whose_nodes_run_on_ray_sends_its_jobs_there_asking_its_size_cores(
    tmp_path, ray_head, agent
):
    """An ``amlcompute`` with an ``address``: the same job YAML, each node asking Ray for the size's cores."""
    from ray.job_submission import JobSubmissionClient

    from backend.services import ray_cluster

    ray_cluster.forget(ray_head)
    with open_session() as s:
        compute.create_compute(
            session=s,
            workspace="default",
            spec=ComputeSpec(
                name="raynodes", type="amlcompute", size="Standard_DS2_v2", max_instances=4, address=ray_head
            ),
        )
        capacity = compute.compute_capacity(session=s, workspace="default", name="raynodes")
        exported = compute.compute_spec_yaml(
            compute.get_compute(session=s, workspace="default", name="raynodes")
        )
    assert capacity.slots == 1, capacity.note  # 2 CPUs on the head hold one node of 2 cores
    assert "Ray cluster" in capacity.note and f"address: {ray_head}" in exported
    job = submit(tmp_path, JOB.format(lr=0.3, pause=0).replace("azureml:rayc", "azureml:raynodes"),
                 {"src/train.py": TRAIN})  # fmt: skip
    done = wait(job.name, timeout_s=120)
    assert done.status == "Completed", (done.failure_reason, log_of(job.name))
    assert _metric(done.mlflow_run_id, "accuracy") == pytest.approx(1.0)
    with open_session() as s:
        submission = jobs.get_job_row(session=s, workspace="default", name=job.name).state["ray"][
            "submission_id"
        ]
    assert JobSubmissionClient(ray_head).get_job_info(submission).metadata["studio.cpus"] == "2"


def _own_address() -> str | None:
    """This machine's first address that is not loopback (None: it has none)."""
    import psutil

    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family == socket.AF_INET and not address.address.startswith("127."):
                return address.address
    return None


def test_a_cluster_elsewhere_gets_the_inputs_with_the_code_and_sends_the_outputs_back(
    tmp_path, ray_head, agent
):
    """Addressed by this machine's own address, the head counts as a cluster on other machines: the job runs
    in Ray's copy of the code, its input is a copy that went with it, its outputs come back through its run."""
    from backend.services import ray_cluster, runs

    own = _own_address()
    if own is None:
        pytest.skip("this machine has no address but loopback")
    elsewhere = ray_head.replace("127.0.0.1", own)
    ray_cluster.forget(elsewhere)
    with open_session() as s:
        compute.create_compute(
            session=s, workspace="default", spec=ComputeSpec(name="rayfar", type="ray", address=elsewhere)
        )
    pipeline = submit(
        tmp_path,
        PIPELINE.replace("azureml:rayc", "azureml:rayfar").replace(
            "command: cat ${{inputs.model}}/model.txt",
            "command: pwd && echo $AZURE_ML_INPUT_model && cat ${{inputs.model}}/model.txt",
        ),
        {"src/train.py": TRAIN},
    )
    done = wait(pipeline.name, timeout_s=240)
    assert done.status == "Completed", done.failure_reason
    with open_session() as s:
        steps = {
            j.display_name: j for j in jobs.list_jobs(session=s, workspace="default", parent=pipeline.name)
        }
    check = log_of(steps["check"].name)
    # The second step read the first one's output: sent back through the run, then copied to Ray with the code.
    assert "lr=0.3" in check and ".studio/inputs/model" in check, check
    assert "/jobs/default/" not in check.split("lr=0.3")[0]  # it ran in Ray's working directory, not here
    files = runs.list_artifacts(run_id=steps["train"].mlflow_run_id, path="outputs")
    assert any(f.path.endswith("model.txt") for f in files), files  # ./outputs came back too
    with open_session() as s:
        state = jobs.get_job_row(session=s, workspace="default", name=steps["train"].name).state["ray"]
    assert state["address"] == elsewhere and "model_dir" in state["outputs"]


def test_an_input_too_big_to_go_with_the_code_is_one_line_and_nothing_runs(
    tmp_path, ray_head, tracking, studio_home
):
    from backend.db import ensure_schema
    from tests.job_fixtures import AgentProcess

    own = _own_address()
    if own is None:
        pytest.skip("this machine has no address but loopback")
    ensure_schema()
    with open_session() as s:
        compute.create_compute(
            session=s, workspace="default",
            spec=ComputeSpec(name="rayfar2", type="ray", address=ray_head.replace("127.0.0.1", own)),
        )  # fmt: skip
    (tmp_path / "big.txt").write_text("x" * 5000)
    agent = AgentProcess(studio_home, env={"STUDIO_RAY_UPLOAD_LIMIT_MB": "0.001"}).start()  # (1 KiB)
    try:
        job = submit(
            tmp_path,
            "command: cat ${{inputs.data}}\nenvironment: azureml:AzureML-sklearn-1.5@latest\n"
            "compute: azureml:rayfar2\ninputs:\n  data:\n    type: uri_file\n    path: ./big.txt\n",
        )
        done = wait(job.name, timeout_s=120)
    finally:
        agent.stop()
    assert done.status == "Failed" and "input 'data' is too big to go with the code" in done.failure_reason
    assert done.start_time is None  # its command never started


def test_a_registered_environment_goes_to_a_cluster_elsewhere_as_its_packages(studio_home):
    """Ray's ``pip`` runtime environment: the requirements the environment was built from; none for the
    curated one (the cluster's own Python)."""
    from backend.agent import ray_files
    from backend.services.environment_builds import envs_root

    built = envs_root() / "abc123"
    built.mkdir(parents=True)
    (built / "requirements.txt").write_text("scikit-learn==1.5.2\nmlflow-skinny\npip\n")
    assert ray_files.packages({"spec_hash": "abc123"}) == ["scikit-learn==1.5.2", "mlflow-skinny", "pip"]
    assert ray_files.packages({"spec_hash": None, "curated": "base"}) == []
    assert ray_files.packages({"spec_hash": "not-built"}) == []
