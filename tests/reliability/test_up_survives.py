"""``studio up`` survives its children: a SIGKILLed agent or MLflow server is started again, and work goes on."""

from __future__ import annotations

import json
import os
import signal
import time

import psutil
import requests

from tests.conftest import RunningStudio
from tests.job_fixtures import log_of, submit, wait

BACK_TIMEOUT_S = 45


def _runtime(home) -> dict:
    return json.loads((home / "run" / "up.json").read_text())


def _find(studio: RunningStudio, *words: str) -> psutil.Process | None:
    """The live child of ``studio up`` whose command line has all of ``words``."""
    for proc in psutil.Process(studio.proc.pid).children():
        try:
            if all(word in proc.cmdline() for word in words) and proc.status() != psutil.STATUS_ZOMBIE:
                return proc
        except psutil.Error:  # gone meanwhile
            continue
    return None


def _child(studio: RunningStudio, *words: str) -> psutil.Process:
    found = _find(studio, *words)
    assert found, f"no child of studio up runs {words}:\n{studio.output()}"
    return found


def _until(condition, what: str, studio: RunningStudio) -> float:
    """Seconds until ``condition()`` holds."""
    start = time.monotonic()
    while time.monotonic() - start < BACK_TIMEOUT_S:
        if studio.proc.poll() is not None:
            raise AssertionError(f"studio up exited while waiting for {what}:\n{studio.output()}")
        if condition():
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"{what} not within {BACK_TIMEOUT_S} s:\n{studio.output()}")


def _healthy(uri: str) -> bool:
    try:
        return requests.get(f"{uri}/health", timeout=1).ok
    except requests.RequestException:
        return False


def test_a_killed_agent_and_mlflow_server_are_restarted_and_jobs_go_on(tmp_path, studio_home, report):
    studio = RunningStudio(studio_home, "--headless")
    try:
        info = studio.wait_ready()
        uri = info["mlflow_uri"]
        # A job in flight across the agent's death: the new agent adopts and settles it.
        across = submit(
            tmp_path / "across", "command: sleep 3 && echo survived\nenvironment: azureml:AzureML-x@latest\n"
        )
        wait(across.name, until=lambda j: j.status == "Running")

        old_agent = info["agent_pid"]
        os.kill(old_agent, signal.SIGKILL)
        agent_back_s = _until(
            lambda: (
                _runtime(studio_home)["agent_pid"] not in (None, old_agent)
                and psutil.pid_exists(_runtime(studio_home)["agent_pid"])
            ),
            "a new agent in up.json",
            studio,
        )
        assert _child(studio, "studio.cli", "agent").pid == _runtime(studio_home)["agent_pid"]
        done = wait(across.name, timeout_s=60)
        assert done.status == "Completed", done.failure_reason
        assert log_of(across.name).count("survived") == 1

        mlflow = _child(studio, "mlflow", "server")
        mlflow.kill()
        mlflow_back_s = _until(
            lambda: (new := _find(studio, "mlflow", "server")) and new.pid != mlflow.pid and _healthy(uri),
            "the MLflow server answering again",
            studio,
        )
        after = submit(
            tmp_path / "after", "command: echo after-restarts\nenvironment: azureml:AzureML-x@latest\n"
        )
        done = wait(after.name, timeout_s=60)
        assert done.status == "Completed", done.failure_reason
        assert done.mlflow_run_id  # the job's run lives on the restarted tracking server
        run = requests.get(f"{uri}/api/2.0/mlflow/runs/get", params={"run_id": done.mlflow_run_id}, timeout=5)
        assert run.ok and run.json()["run"]["info"]["status"] == "FINISHED"
    finally:
        code = studio.stop()
    out = studio.output()
    report(
        f"studio up: agent SIGKILLed -> back in {agent_back_s:.1f} s (job in flight completed once); "
        f"MLflow server SIGKILLed -> answering again in {mlflow_back_s:.1f} s; a job after both completed"
    )
    assert code == 0, out
    assert "warning: agent stopped unexpectedly (killed by signal 9" in out
    assert "warning: MLflow tracking server stopped unexpectedly (killed by signal 9" in out
    assert "restarting it in 1 s" in out and "MLflow tracking server is back" in out
    assert "Traceback" not in out


def test_a_child_that_keeps_dying_at_once_stops_studio_with_a_clear_message(studio_home, report):
    studio = RunningStudio(studio_home, "--headless")
    try:
        studio.wait_ready()
        start = time.monotonic()
        for _ in range(5):  # five deaths in a row, each soon after its start
            pid = _child(studio, "studio.cli", "agent").pid
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + BACK_TIMEOUT_S
            while time.monotonic() < deadline and studio.proc.poll() is None:
                if (new := _find(studio, "studio.cli", "agent")) and new.pid != pid:
                    break
                time.sleep(0.05)
        code = studio.proc.wait(timeout=30)
        gave_up_s = time.monotonic() - start
    finally:
        studio.stop()
    out = studio.output()
    report(
        f"studio up: an agent that died 5 times in a row right after starting -> gave up after {gave_up_s:.1f} s"
    )
    assert code == 1, out
    assert (
        "error: agent keeps stopping (5 times in a row within 60 s of starting; last killed by signal 9)"
        in out
    )
    assert "Traceback" not in out
    assert not (studio_home / "run" / "up.json").exists()
