"""The agent can die at any moment (SIGKILL) and a new one carries on: nothing lost, nothing run twice."""

import os
import signal
import time

import pytest

from backend.services import jobs, open_session
from tests.job_fixtures import AgentProcess, log_of, submit, wait

# Every start of the command appends a line to the job's log (a second run of the job would add another).
SLEEPER = """
    command: echo "start $AZUREML_RUN_ID" && sleep {seconds} && echo "done $AZUREML_RUN_ID"
    environment: azureml:AzureML-sklearn-1.5@latest
"""


def _starts(names: list[str]) -> dict[str, int]:
    return {name: log_of(name).count(f"start {name}") for name in names}


def test_sigkill_of_the_agent_loses_nothing_and_runs_nothing_twice(tmp_path, agent, studio_home):
    names = [submit(tmp_path / f"j{i}", SLEEPER.format(seconds=3)).name for i in range(3)]
    # Serverless runs one job per core (2 here): the first two run, the third waits.
    wait(names[0], until=lambda j: j.status == "Running" and j.start_time is not None)
    agent.kill()
    time.sleep(1)
    agent.start()
    done = [wait(name, timeout_s=120) for name in names]
    assert [j.status for j in done] == ["Completed"] * 3, [j.failure_reason for j in done]
    assert _starts(names) == dict.fromkeys(names, 1)
    for name in names:
        assert f"done {name}" in log_of(name)
        statuses = [h[0] for h in wait(name).history]
        assert statuses.count("Running") == 1, statuses


def test_a_job_that_ended_while_the_agent_was_away_is_settled_on_restart(tmp_path, agent, studio_home):
    job = submit(tmp_path, "command: sleep 1 && echo finished-alone\nenvironment: azureml:AzureML-x@latest\n")
    wait(job.name, until=lambda j: j.status == "Running")
    agent.kill()
    time.sleep(2.5)
    assert wait(job.name, until=lambda j: True).status == "Running"  # nobody settled it yet
    agent.start()
    done = wait(job.name)
    assert done.status == "Completed" and "finished-alone" in log_of(job.name)


def test_a_job_whose_process_vanished_fails_with_that_reason(tmp_path, agent, studio_home):
    job = submit(tmp_path, "command: sleep 60\nenvironment: azureml:AzureML-x@latest\n")
    running = wait(job.name, until=lambda j: j.status == "Running")
    with open_session() as s:
        pid = jobs.get_job_row(session=s, workspace="default", name=job.name).wrapper_pid
    agent.kill()
    os.killpg(pid, signal.SIGKILL)  # the wrapper dies without writing an exit code
    agent.start()
    done = wait(job.name)
    assert running.status == "Running"
    assert done.status == "Failed" and "vanished" in done.failure_reason


def test_two_agents_never_run_the_same_job(tmp_path, agent, studio_home):
    second = AgentProcess(studio_home).start()
    names = [submit(tmp_path / f"j{i}", SLEEPER.format(seconds=0)).name for i in range(6)]
    try:
        done = [wait(name, timeout_s=120) for name in names]
    finally:
        second.stop()
    assert [j.status for j in done] == ["Completed"] * 6
    assert _starts(names) == dict.fromkeys(names, 1)


def test_cancel_while_preparing_stops_before_the_command(tmp_path, agent):
    job = submit(
        tmp_path,
        """
        command: echo "should never run"
        environment:
          conda_file:
            name: slow-build
            dependencies:
              - python=3.11
              - pip:
                  - six
                  - packaging
    """,
    )
    wait(job.name, until=lambda j: j.status == "Preparing")
    with open_session() as s:
        jobs.cancel_job(session=s, workspace="default", name=job.name)
    done = wait(job.name)
    assert done.status == "Canceled"
    time.sleep(1)
    assert "should never run" not in log_of(job.name)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
def test_claims_are_atomic_on_both_databases(tmp_path, database, tracking):
    """Many agents' passes at once: each queued job is claimed by exactly one of them."""
    import threading

    from backend.agent import runner
    from backend.agent.loop import Agent
    from backend.db import ensure_schema

    ensure_schema()
    names = [
        submit(tmp_path / f"j{i}", "command: echo hi\nenvironment: azureml:AzureML-x@latest\n").name
        for i in range(2)
    ]
    claimed: list[int] = []
    agents = [Agent() for _ in range(4)]
    for a in agents:  # record claims instead of preparing
        a._submit = lambda job_id, fn, *args, _c=claimed: _c.append(job_id) if fn is runner.prepare else None
    threads = [threading.Thread(target=a._start_queued) for a in agents]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(claimed) == len(set(claimed)) == 2
    with open_session() as s:
        assert {jobs.get_job(session=s, workspace="default", name=n).status for n in names} == {"Preparing"}


@pytest.mark.parametrize("left_in", ["Preparing", "Finalizing"])
def test_the_running_agent_takes_up_its_own_job_left_unsettled(tmp_path, agent, studio_home, left_in):
    """A task of the agent that ended without settling its job (an internal error: the database busy at
    the wrong moment, a bug) does not leave the job stuck until a restart: the same agent takes it up."""
    from sqlalchemy import update

    from backend.db.models import Job

    job = submit(tmp_path, "command: echo settled-once\nenvironment: azureml:AzureML-x@latest\n")
    done = wait(job.name)
    assert done.status == "Completed"
    with open_session() as s:
        row = jobs.get_job_row(session=s, workspace="default", name=job.name)
        s.exec(update(Job).where(Job.id == row.id).values(status=left_in, end_time=None))
    again = wait(job.name, until=lambda j: j.status not in (left_in, "Running") and j.end_time is not None)
    assert again.status == "Completed", again.failure_reason
    assert (
        "takes the job up again"
        in (studio_home / "jobs" / "default" / job.name / "system_logs" / "agent.log").read_text()
    )
