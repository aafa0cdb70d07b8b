"""JupyterLab on compute instances (issue 16): a running instance gets a sandboxed, token-protected server
on the workspace's share; its kernel logs to the workspace's MLflow and cannot reach Studio's database or
secrets; a restarted agent adopts the server; an idle instance stops itself; stopping the instance ends the
server, its kernels and every process under them."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import psutil
import pytest
import requests

from backend.errors import ValidationError
from backend.services import compute, notebook_servers, open_session
from backend.specs.compute import ComputeSpec
from tests.jupyter import run_code, start_session

START_TIMEOUT_S = 180


def _wait_server(name: str, state: str | None, timeout_s: float = START_TIMEOUT_S):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with open_session() as s:
            server = notebook_servers.server_for(session=s, workspace="default", compute=name)
        if (server.state if server else None) == state:
            return server
        if server is not None and server.state == notebook_servers.FAILED:
            raise AssertionError(f"JupyterLab failed: {server.message}")
        time.sleep(0.3)
    raise AssertionError(f"server of {name} still {server.state if server else None}, not {state}")


def _processes_under(path: str) -> list[str]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        argv = " ".join(proc.info["cmdline"] or [])
        if path in argv:
            found.append(f"{proc.pid}: {argv[:200]}")
    return found


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "studio.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_a_running_instance_serves_jupyterlab_that_logs_to_the_workspace_and_ends_with_it(
    agent, tracking, studio_home
):
    import mlflow

    # The tracking server is the session's: a notebook name of its own keeps other tests' runs out of its
    # experiment (a job's experiment "train" was there in a CI run).
    notebook = f"train_{uuid.uuid4().hex[:6]}"
    with open_session() as s:
        spec = ComputeSpec(name="nb1", type="computeinstance", idle_time_before_shutdown_minutes=30)
        compute.create_compute(session=s, workspace="default", spec=spec)
    server = _wait_server("nb1", notebook_servers.RUNNING)
    share = notebook_servers.share_root("default")
    assert server.root == str(share) and server.url.startswith("http://127.0.0.1:")
    with open_session() as s:
        url = notebook_servers.open_url(
            session=s, workspace="default", compute="nb1", path=f"exp/{notebook}.ipynb"
        )
    port = server.url.split(":")[2].split("/")[0]
    assert url.startswith(f"http://127.0.0.1:{port}/lab/tree/exp/{notebook}.ipynb?token=")
    token = url.split("token=")[1]
    # Token-protected: without it the API refuses; the token is in no file in plain text, nor in the log.
    assert (
        requests.get(f"http://127.0.0.1:{port}/api/status", timeout=10, proxies={"http": ""}).status_code
        == 403
    )
    for path in notebook_servers.instance_dir("default", "nb1").rglob("*"):
        if path.is_file():
            assert token not in path.read_text(errors="replace"), path

    (share / "exp").mkdir(parents=True, exist_ok=True)
    kernel = start_session(url, f"exp/{notebook}.ipynb")
    probe = run_code(
        url,
        kernel,
        "import os, mlflow\n"
        "mlflow.log_metric('from_notebook', 0.5)\n"
        "print('experiment', mlflow.get_experiment(mlflow.last_active_run().info.experiment_id).name)\n"
        f"print('db', os.path.exists({str(studio_home / 'studio.db')!r}))\n"
        f"print('key', os.path.exists({str(studio_home / 'secret.key')!r}))\n"
        "print('token', 'JUPYTER_TOKEN' in os.environ, 'STUDIO_DATABASE_URL' in os.environ)\n"
        "print('workspace', os.environ['STUDIO_WORKSPACE'])\n"
        "open('written.txt', 'w').write('from the kernel')\n",
    )
    assert probe["status"] == "ok", probe
    out = probe["stdout"]
    assert f"experiment {notebook}" in out and "db False" in out and "key False" in out, out
    assert "token False False" in out and "workspace default" in out, out
    assert (share / "exp" / "written.txt").read_text() == "from the kernel"  # cwd: the notebook's folder
    mlflow.set_tracking_uri(tracking)
    runs = mlflow.search_runs(experiment_names=[notebook], output_format="list")
    assert [r.data.metrics.get("from_notebook") for r in runs] == [0.5]

    # MLClient in the kernel: the workspace preselected, its calls run by the agent's SDK gateway.
    sdk = run_code(
        url,
        kernel,
        "from studio.ml import MLClient, command\n"
        "ml_client = MLClient()\n"
        "print('ws', ml_client.workspace_name, [c.name for c in ml_client.compute.list()])\n"
        "os.makedirs('src', exist_ok=True)\n"
        "open('src/hello.py', 'w').write('print(\"hello from the notebook job\")')\n"
        "job = ml_client.jobs.create_or_update(command(code='./src', command='python hello.py',\n"
        "    environment='AzureML-sklearn-1.5@latest', experiment_name='from-notebook'))\n"
        "ml_client.jobs.stream(job.name)\n"
        "print('status', ml_client.jobs.get(job.name).status)\n"
        "try:\n"
        f"    ml_client.jobs.create_or_update(command(code={str(studio_home)!r}, command='ls',\n"
        "        environment='AzureML-sklearn-1.5@latest'))\n"
        "except Exception as exc:\n"
        "    print('refused', type(exc).__name__, exc)\n",
        timeout_s=240,
    )
    assert sdk["status"] == "ok", sdk
    out = sdk["stdout"]
    assert "ws default ['serverless', 'nb1']" in out, out
    assert "hello from the notebook job" in out and "status Completed" in out, out  # streamed to the cell
    assert f"refused ValidationError {studio_home} is outside {share}" in out, out

    # The CLI: the URL, the token only when asked.
    shown = json.loads(_cli("compute", "show", "--name", "nb1", "-o", "json").stdout)
    assert shown["jupyterlab"]["state"] == "Running" and token not in json.dumps(shown)
    with_token = json.loads(_cli("compute", "show", "--name", "nb1", "--show-token", "-o", "json").stdout)
    assert token in with_token["jupyterlab"]["url"]

    # A restarted agent adopts the server: same host process, same kernel.
    host = notebook_servers.server_dir("default", "nb1")
    from backend.agent.notebooks import NotebookSupervisor, _host_pid

    pid = _host_pid(host)
    agent.kill()
    agent.start()
    time.sleep(3)
    assert _host_pid(host) == pid and run_code(url, kernel, "print(1 + 1)")["stdout"].strip() == "2"

    # Idle for longer than its 30 minutes (the clock moved on): the instance stops, and its server ends.
    supervisor = NotebookSupervisor()
    supervisor.run_once(now=datetime.now(UTC) + timedelta(minutes=31))
    supervisor.stop()  # (the gateway it opened in this process closes)
    with open_session() as s:
        assert compute.get_compute(session=s, workspace="default", name="nb1").state == "Stopped"
    _wait_server("nb1", None, timeout_s=60)
    deadline = time.monotonic() + 20  # (the lock goes as the host exits: it may still be finishing)
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, f"the host {pid} is still running"
        time.sleep(0.2)
    instance = str(notebook_servers.instance_dir("default", "nb1"))
    deadline = time.monotonic() + 20
    while _processes_under(instance) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_under(instance) == []
    assert "idle for 31 minutes" in (host / "host.log").read_text()

    # The SDK starts it again (a new token), and stops it.
    from studio.ml import MLClient

    ml_client = MLClient()
    ml_client.compute.begin_start("nb1").result(timeout=START_TIMEOUT_S)
    with open_session() as s:
        again = notebook_servers.open_url(session=s, workspace="default", compute="nb1")
    assert again and again.split("token=")[1] != token
    ml_client.compute.begin_stop("nb1").result(timeout=60)
    deadline = time.monotonic() + 20
    while _processes_under(instance) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_under(instance) == []


def test_team_mode_roots_the_server_at_the_users_folder(studio_home):
    from backend.db import ensure_schema
    from backend.identity import User, acting_as
    from backend.services import users

    users.add_user("olga", role="Owner", password="pw-for-olga-1")
    with acting_as(User("olga", "Owner")):
        users.add_user("alice", role="Contributor", password="pw-for-alice-1")

    ensure_schema()
    with acting_as(User("alice", "Contributor")), open_session() as s:
        compute.create_compute(
            session=s, workspace="default", spec=ComputeSpec(name="ci", type="computeinstance")
        )
    with open_session() as s:
        user = notebook_servers.instance_user(session=s, workspace="default", compute="ci")
    assert user == "alice"
    assert (
        notebook_servers.server_root("default", user)
        == notebook_servers.share_root("default") / "Users" / "alice"
    )


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"idle_time_before_shutdown_minutes": 5}, "from 15 to 20160"),
        ({"idle_time_before_shutdown": "30 minutes"}, "ISO 8601"),
        ({"idle_time_before_shutdown": "PT10M"}, "from 15 to 20160"),
        ({"idle_time_before_shutdown": "PT1H", "idle_time_before_shutdown_minutes": 30}, "disagree"),
        ({"type": "amlcompute", "idle_time_before_shutdown_minutes": 30}, "applies to compute instances"),
    ],
)
def test_idle_shutdown_fields_are_checked(fields, problem):
    from backend.specs import parse_spec

    with pytest.raises(ValidationError, match=problem):
        parse_spec(ComputeSpec, {"name": "x", "type": "computeinstance", **fields}, source="ci.yml")


def test_the_iso_form_of_idle_shutdown_is_minutes_and_goes_back_out_as_yaml(studio_home):
    import yaml

    from backend.db import ensure_schema
    from backend.specs import parse_spec

    ensure_schema()
    spec = parse_spec(
        ComputeSpec,
        {"name": "ci", "type": "computeinstance", "idle_time_before_shutdown": "PT1H30M"},
        source="x",
    )
    assert spec.idle_time_before_shutdown_minutes == 90
    with open_session() as s:
        created = compute.create_compute(session=s, workspace="default", spec=spec)
    assert yaml.safe_load(compute.compute_spec_yaml(created))["idle_time_before_shutdown_minutes"] == 90


def test_a_built_custom_environment_is_a_kernel_of_the_instance(agent, tracking):
    from backend.services import environment_builds, environments
    from backend.specs.environment import EnvironmentSpec
    from backend.statuses import BuildStatus

    with open_session() as s:
        env = environments.create_environment(
            session=s, workspace="default", spec=EnvironmentSpec(name="tiny"), pip_requirements=["six"]
        )
    assert environment_builds.build_environment(env.spec_hash).status == BuildStatus.SUCCEEDED
    with open_session() as s:
        compute.create_compute(
            session=s, workspace="default", spec=ComputeSpec(name="nb2", type="computeinstance")
        )
    _wait_server("nb2", notebook_servers.RUNNING)
    with open_session() as s:
        url = notebook_servers.open_url(session=s, workspace="default", compute="nb2")
    token = url.split("token=")[1]
    specs = requests.get(
        url.split("/lab")[0] + "/api/kernelspecs",
        headers={"Authorization": f"token {token}"},
        timeout=30,
        proxies={"http": ""},
    ).json()["kernelspecs"]
    assert specs["env-tiny-1"]["spec"]["display_name"] == "Python (tiny:1)" and "python3" in specs
    kernel = start_session(url, "tiny.ipynb", kernel="env-tiny-1")
    ran = run_code(
        url,
        kernel,
        "import sys, six, ipykernel\nprint(sys.prefix.endswith('layers/env-tiny-1'), six.__name__)",
    )
    assert ran["status"] == "ok" and ran["stdout"].split() == ["True", "six"], ran
    with open_session() as s:
        compute.stop_compute(session=s, workspace="default", name="nb2")
    _wait_server("nb2", None, timeout_s=60)
