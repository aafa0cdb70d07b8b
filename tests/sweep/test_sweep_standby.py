"""A sweep's next trial is made ready while the others run (``backend.agent.standby``).

Its wrapper waits, its command does not run until a slot is free, a cancel ends it without running
anything, and an agent that dies while it waits never makes it run twice. Real agent processes, wrappers
and tracking server; nothing is timed.
"""

from __future__ import annotations

import psutil

from backend.services import jobs, open_session
from backend.services.jobs import job_dir
from tests.job_fixtures import AgentProcess, log_of, submit, wait

# Trial 0 runs for as long as its value says; the next one is made ready meanwhile.
SWEEP = """
type: sweep
trial:
  command: python -c "import time; print('ran', ${{{{search_space.s}}}}); time.sleep(${{{{search_space.s}}}})"
  environment: azureml:AzureML-sklearn-1.5@latest
sampling_algorithm: grid
search_space:
  s: {{type: choice, values: [{first}, 0.2, 0.3]}}
objective: {{primary_metric: acc, goal: maximize}}
limits: {{max_total_trials: 3, max_concurrent_trials: 1}}
"""


def _job(name: str) -> jobs.JobPublic:
    with open_session() as s:
        return jobs.get_job(session=s, workspace="default", name=name)


def _standing_by(name: str) -> bool:
    from backend.errors import NotFoundError
    from backend.services.lookup import get_job_row

    with open_session() as s:
        try:
            row = get_job_row(session=s, workspace="default", name=name)
        except NotFoundError:
            return False
        ready = row.status == "Preparing" and row.standby and row.wrapper_pid is not None
    return ready and (job_dir("default", name) / "standing_by").exists()


def _wrapper_pid(name: str) -> int:
    from backend.services.lookup import get_job_row

    with open_session() as s:
        return get_job_row(session=s, workspace="default", name=name).wrapper_pid


def _gone(pid: int, timeout_s: float) -> bool:
    try:
        process = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return True
    _, alive = psutil.wait_procs([process], timeout=timeout_s)
    return not alive


def test_the_next_trial_waits_ready_and_runs_once_after_the_one_before_even_across_an_agent_crash(
    tmp_path, agent, studio_home
):
    sweep = submit(tmp_path, SWEEP.format(first=6))
    first, second, third = (f"{sweep.name}_{i}" for i in range(3))
    wait(sweep.name, until=lambda j: _standing_by(second))
    # Ready (its MLflow run made, its wrapper waiting) while the first trial runs; its command has not run.
    assert _job(first).status == "Running"
    assert _job(second).mlflow_run_id and _job(second).start_time is None
    assert "ran" not in log_of(second)
    waiting = _wrapper_pid(second)

    agent.kill()  # the agent crashes: the waiting wrapper goes with it, the running trial goes on
    assert _gone(waiting, timeout_s=10)
    restarted = AgentProcess(studio_home).start()
    try:
        done = wait(sweep.name, timeout_s=120)
    finally:
        restarted.stop()
    assert done.status == "Completed", done.failure_reason
    for name, value in ((first, "6"), (second, "0.2"), (third, "0.3")):
        assert _job(name).status == "Completed"
        assert log_of(name).count(f"ran {value}") == 1, log_of(name)
    # One trial at a time: each command started after the one before had exited.
    assert _job(second).start_time >= _job(first).end_time
    assert _job(third).start_time >= _job(second).end_time


def test_a_trial_canceled_while_it_stands_by_ends_without_running(tmp_path, agent):
    sweep = submit(tmp_path, SWEEP.format(first=600))
    first, second = f"{sweep.name}_0", f"{sweep.name}_1"
    wait(sweep.name, until=lambda j: _standing_by(second))
    waiting = _wrapper_pid(second)
    with open_session() as s:
        jobs.cancel_job(session=s, workspace="default", name=sweep.name)
    assert wait(sweep.name).status == "Canceled"
    assert {_job(first).status, _job(second).status} == {"Canceled"}
    assert "ran" not in log_of(second)
    assert _gone(waiting, timeout_s=10)
