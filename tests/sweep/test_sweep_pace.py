"""What a sweep costs between trials: a trial's end frees its slot at once, and a stopped trial is gone at once.

The agent runs in this process, so a test can hold one step of a trial's finalizing (writing its MLflow run)
and see what happens meanwhile. Everything else is real: the tracking server, the wrappers, the trials'
processes. Nothing here is timed: each test asserts the order of events.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from backend.agent import loop, runner
from backend.services import jobs, open_session
from backend.services.jobs import job_dir
from backend.statuses import TERMINAL
from tests.job_fixtures import submit, wait

DEADLINE_S = 90


def _status(name: str) -> str:
    with open_session() as s:
        return jobs.get_job(session=s, workspace="default", name=name).status


def _statuses(sweep: str) -> dict[str, str]:
    with open_session() as s:
        return {j.name: j.status for j in jobs.list_jobs(session=s, workspace="default", parent=sweep)}


class Hold:
    """Holds the end of the named trials' MLflow runs (the last step of finalizing) until ``release()``."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.gate = threading.Event()

    def release(self) -> None:
        self.gate.set()


@pytest.fixture
def held(monkeypatch):
    hold = Hold()
    original = runner._end_mlflow_run

    def _end_mlflow_run(job_id, *args, **kwargs):
        if runner._load(job_id)[0].name in hold.names:
            hold.gate.wait(DEADLINE_S)
        return original(job_id, *args, **kwargs)

    monkeypatch.setattr(runner, "_end_mlflow_run", _end_mlflow_run)
    yield hold
    hold.release()


@pytest.fixture
def agent_thread(tracking, monkeypatch):
    """An agent in this process that passes only when woken (its poll interval is an hour)."""
    from backend.db import ensure_schema

    ensure_schema()
    monkeypatch.setattr(loop, "POLL_INTERVAL_S", 3600.0)
    agent = loop.Agent()
    agent._open_wake_socket()
    stop = threading.Event()

    def _run():
        while not stop.is_set():
            agent.run_once()
            agent._wait(min(agent.next_pass_s, 3600.0))

    thread = threading.Thread(target=_run, daemon=True)
    thread.start()
    yield agent
    stop.set()
    from backend.services.jobs import wake_agent

    wake_agent()
    thread.join(30)
    agent.pool.shutdown(wait=True)
    agent._sock.close()


def _until(check, what: str):
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"not reached within {DEADLINE_S} s: {what}")


SEQUENTIAL = """
type: sweep
trial:
  command: echo trial ${{search_space.x}}
  environment: azureml:AzureML-sklearn-1.5@latest
sampling_algorithm: {type: random, seed: 3}
search_space:
  x: {type: uniform, min_value: 0, max_value: 1}
objective: {primary_metric: acc, goal: maximize}
limits: {max_total_trials: 3, max_concurrent_trials: 1}
"""


def test_the_next_trial_starts_on_a_trials_exit_while_it_is_still_finalizing(tmp_path, agent_thread, held):
    """One trial at a time, and an agent that passes only when woken: the first trial's exit (its wrapper's
    wake-up, then its Finalizing) starts the second trial, while the first one's MLflow run is still being
    written. Then every trial completes, each exactly once."""
    sweep = submit(tmp_path, SEQUENTIAL)
    first, second = f"{sweep.name}_0", f"{sweep.name}_1"
    held.names.add(first)
    seen = _until(
        lambda: (s := _statuses(sweep.name)).get(second) in ("Running", "Finalizing") and s,
        "the second trial running while the first one finalizes",
    )
    assert seen[first] == "Finalizing"  # held in its last step: its slot went to the next trial already
    held.release()
    done = wait(sweep.name, timeout_s=DEADLINE_S)
    assert done.status == "Completed", done.failure_reason
    assert _statuses(sweep.name) == {f"{sweep.name}_{i}": "Completed" for i in range(3)}


STOPPED = """
type: sweep
trial:
  code: src
  command: python trial.py ${{search_space.q}}
  environment: azureml:AzureML-sklearn-1.5@latest
sampling_algorithm: grid
search_space:
  q: {type: choice, values: [1.0, 0.05, 0.95]}
objective: {goal: maximize, primary_metric: acc}
limits: {max_total_trials: 3, max_concurrent_trials: 1}
early_termination: {type: bandit, slack_factor: 0.1, evaluation_interval: 1}
"""

TRIAL = """
import json, os, sys, time, urllib.request
q = float(sys.argv[1])
url = os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/runs/log-metric"
for step in range(2):
    body = {"run_id": os.environ["MLFLOW_RUN_ID"], "key": "acc", "value": q, "timestamp": 0, "step": step}
    urllib.request.urlopen(urllib.request.Request(url, json.dumps(body).encode(),
                                                  {"Content-Type": "application/json"})).read()
    time.sleep(0.1 if q > 0.5 else 600)
"""


def test_a_trial_the_policy_stops_is_signalled_in_the_deciding_pass_and_its_slot_goes_on_at_once(
    tmp_path, tracking, held
):
    """Passes driven one by one. In the pass that cancels the poor trial (0.05, far below 1.0 at interval
    1) its process group is signalled: with no further pass its wrapper reports the command's end (SIGTERM,
    -15). The next trial then runs while the stopped one's MLflow run is still being ended."""
    from backend.db import ensure_schema

    ensure_schema()
    sweep = submit(tmp_path, STOPPED, {"src/trial.py": TRIAL})
    poor, last = f"{sweep.name}_1", f"{sweep.name}_2"
    held.names.add(poor)
    agent = loop.Agent()
    try:

        def _decided() -> bool:
            agent.run_once()
            return _exists(poor) and _status(poor) not in ("Queued", "Preparing", "Running")

        _until(_decided, f"the policy stopping {poor}")
        assert _status(poor) == "CancelRequested"
        # No pass now: the deciding pass signalled the group, and the wrapper outlives the command.
        exit_file = job_dir("default", poor) / "exit_code"
        _until(exit_file.exists, f"{poor}'s wrapper reporting its command's end")
        assert json.loads(exit_file.read_text())["code"] != 0

        def _next_running() -> bool:
            agent.run_once()
            return _statuses(sweep.name).get(last) in ("Running", "Finalizing", "Completed")

        _until(_next_running, "the last trial started")  # (it stood by: released in the exit's pass)
        # Settled (in the agent's pool, beside that release), while its MLflow run is still held.
        _until(lambda: _status(poor) == "Canceled", f"{poor} settled")
        assert _status(last) in ("Running", "Finalizing", "Completed")
        held.release()
        _until(lambda: (agent.run_once(), _status(sweep.name) in TERMINAL)[1], "the sweep's end")
    finally:
        held.release()
        agent.pool.shutdown(wait=True)
    assert _status(sweep.name) == "Completed"
    assert _statuses(sweep.name) == {f"{sweep.name}_0": "Completed", poor: "Canceled", last: "Completed"}


def _exists(name: str) -> bool:
    from backend.errors import NotFoundError

    try:
        _status(name)
    except NotFoundError:
        return False
    return True
