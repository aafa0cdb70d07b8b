"""The wrapper's report on a job's MLflow run, for an agent in another home (``backend/agent/remote_exit.py``):
the end and the log's tail once the command ends; ``not started`` when its agent died before the go signal.
Real wrapper processes and a real tracking server; the agent that "dies" is a real parent process that exits.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backend.agent import remote_exit, runner

WRAPPER = Path(runner.__file__).with_name("wrapper.py")


def _run(tracking: str) -> str:
    from mlflow import MlflowClient

    client = MlflowClient(tracking)
    return client.create_run(client.get_experiment_by_name("Default").experiment_id).info.run_id


def _launch(folder: Path, tracking: str, run_id: str, command: str, *, hold: bool) -> None:
    folder.mkdir(parents=True)
    env = {"PATH": os.environ["PATH"], "MLFLOW_TRACKING_URI": tracking, "MLFLOW_RUN_ID": run_id}
    launch = {"command": command, "cwd": str(folder), "env": env, "standby": hold, "report_exit": True}
    (folder / "launch.json").write_text(json.dumps(launch))


def _wait_for(check, timeout_s: float = 30):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("not seen in time")


def test_the_end_and_the_log_tail_reach_the_run_and_another_home_settles_from_them(tracking, tmp_path):
    run_id = _run(tracking)
    _launch(tmp_path / "a", tracking, run_id, "seq 1 3000; echo last line; exit 3", hold=False)
    done = subprocess.run([sys.executable, "-I", "-S", str(WRAPPER), str(tmp_path / "a")], timeout=60)
    assert done.returncode == 0 and (tmp_path / "a" / "exit_code").exists()
    # An agent in another home: a folder of its own, filled from the run.
    elsewhere = tmp_path / "b"
    remote_exit._read_at.clear()
    assert remote_exit.sync(1, elsewhere, run_id) == remote_exit.ENDED
    assert json.loads((elsewhere / "exit_code").read_text())["code"] == 3
    tail = (elsewhere / "user_logs" / "std_log.txt").read_text()
    assert tail.endswith("last line\n") and len(tail) <= remote_exit_tail_limit()
    assert "\n1\n" not in tail  # the tail, not the whole log


def remote_exit_tail_limit() -> int:
    from backend.agent import wrapper

    return wrapper.LOG_TAIL_CHARS


# Its "agent": a process that starts the wrapper in a new session, then dies without saying go: a while
# later, or at once. Dying at once, it is gone before the wrapper looks at its parent; the wrapper knows it
# by the pid the agent wrote in launch.json (without it the wrapper waited for ever, and in a CI run a job
# stayed Running for the agent that took it over).
AGENT_DIES = {
    "a while after": "time.sleep(0.5)",
    "at once": (
        "launch.write_text(json.dumps({**json.loads(launch.read_text()), 'agent_pid': os.getpid()})); "
        "start(); os._exit(0)"
    ),
}


@pytest.mark.parametrize("when", list(AGENT_DIES))
def test_a_held_wrapper_whose_agent_dies_never_runs_the_command_and_says_so_on_the_run(
    tracking, tmp_path, when
):
    run_id = _run(tracking)
    folder = tmp_path / "a"
    marker = tmp_path / "ran"
    _launch(folder, tracking, run_id, f"touch {marker}", hold=True)
    script = (
        "import json, os, pathlib, subprocess, sys, time; "
        f"launch = pathlib.Path({str(folder / 'launch.json')!r}); "
        f"start = lambda: subprocess.Popen([sys.executable, '-I', '-S', {str(WRAPPER)!r}, {str(folder)!r}], "
        "start_new_session=True); " + ("start(); " if when == "a while after" else "") + AGENT_DIES[when]
    )
    subprocess.Popen([sys.executable, "-c", script]).wait(timeout=30)
    _wait_for(lambda: remote_exit._tags(run_id).get(remote_exit.EXIT_TAG), timeout_s=15)
    assert not marker.exists() and not (folder / "exit_code").exists()
    remote_exit._read_at.clear()
    assert remote_exit.sync(1, tmp_path / "b", run_id) == remote_exit.NOT_STARTED
    assert not (tmp_path / "b" / "exit_code").exists()
