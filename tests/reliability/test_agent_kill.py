"""The agent SIGKILLed with 20 jobs in flight, then started again: every job settles once, correctly.

Each job appends "<job name> <pid>" to one ledger file (an output folder on the workspace's local datastore
that all 20 jobs share, bound writable into each job's sandbox), sleeps a little and exits with a code of
its own: every fifth job exits 3 and must end Failed, the others Completed. A second line for a job in the
ledger means it ran twice.
"""

from __future__ import annotations

import time
from collections import Counter

from backend.services import compute, jobs, open_session
from backend.specs.compute import ComputeSpec
from backend.statuses import TERMINAL
from tests.job_fixtures import submit

JOBS = 20
NODES = 6  # a cluster of 6 nodes: at the kill some jobs run, some are preparing, the rest are queued
SETTLE_TIMEOUT_S = 75
LEDGER = "azureml://datastores/workspaceblobstore/paths/reliability/ledger"

JOB = """
command: >-
  echo "$AZUREML_RUN_ID $$" >> ${{{{outputs.ledger}}}}/ledger.txt && sleep {sleep} && exit {code}
environment: azureml:AzureML-sklearn-1.5@latest
compute: azureml:burst
outputs:
  ledger:
    type: uri_folder
    path: {ledger}
    mode: rw_mount
"""


def _expected_code(i: int) -> int:
    return 3 if i % 5 == 4 else 0


def _statuses(names: list[str]) -> dict[str, str]:
    with open_session() as s:
        return {n: jobs.get_job(session=s, workspace="default", name=n).status for n in names}


def _ledger(home) -> Counter:
    found = list(home.rglob("reliability/ledger/ledger.txt"))
    assert found, f"no ledger under {home}"
    return Counter(line.split()[0] for line in found[0].read_text().splitlines() if line.strip())


def test_agent_sigkilled_with_20_jobs_in_flight_settles_all_once(tmp_path, agent, studio_home, report):
    with open_session() as s:
        compute.create_compute(
            session=s,
            workspace="default",
            spec=ComputeSpec(name="burst", type="amlcompute", min_instances=NODES, max_instances=NODES),
        )
    names = []
    for i in range(JOBS):
        yml = JOB.format(sleep=1 + i % 3, code=_expected_code(i), ledger=LEDGER)
        names.append(submit(tmp_path / f"j{i}", yml).name)
    expected = {n: "Failed" if _expected_code(i) else "Completed" for i, n in enumerate(names)}

    # Kill once some jobs run and others still wait: the agent dies in the middle of its work.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = Counter(_statuses(names).values())
        if now["Running"] >= 2 and now["Queued"] + now["Preparing"] >= 2:
            break
        time.sleep(0.05)
    at_kill = Counter(_statuses(names).values())
    agent.kill()
    time.sleep(1)
    restarted = time.monotonic()
    agent.start()

    deadline = restarted + SETTLE_TIMEOUT_S
    while time.monotonic() < deadline:
        final = _statuses(names)
        if all(status in TERMINAL for status in final.values()):
            break
        time.sleep(0.2)
    settle_s = time.monotonic() - restarted
    final = _statuses(names)
    ledger = _ledger(studio_home)
    settled = sum(final[n] == expected[n] for n in names)
    twice = sorted(n for n in names if ledger[n] > 1)
    never = sorted(n for n in names if ledger[n] == 0)
    stuck = sorted(n for n in names if final[n] not in TERMINAL)
    in_flight = ", ".join(f"{count} {status}" for status, count in sorted(at_kill.items()))
    report(
        f"agent SIGKILL with {JOBS} jobs in flight ({in_flight}): {settled} of {JOBS} settled correctly, "
        f"{len(twice)} ran twice, {len(stuck)} stuck; all settled {settle_s:.1f} s after the restart"
    )
    wrong = {n: (final[n], expected[n]) for n in names if final[n] != expected[n]}
    assert not wrong, f"{wrong}\n{agent.log()[-3000:]}"
    assert not twice and not never, (twice, never)
    assert not stuck


def test_a_wrapper_started_just_before_the_agent_died_is_adopted_not_run_again(
    tmp_path, tracking, studio_home
):
    """The agent may die between starting a job's wrapper and recording it (Preparing, no wrapper.pid yet):
    the next agent finds the wrapper by its command line and adopts the job instead of preparing it again."""
    from sqlalchemy import update

    from backend.agent.loop import Agent
    from backend.db import ensure_schema
    from backend.db.models import Job
    from tests.job_fixtures import log_of, wait

    ensure_schema()
    job = submit(
        tmp_path, 'command: echo "start $AZUREML_RUN_ID" && sleep 2\nenvironment: azureml:AzureML-x@latest\n'
    )
    first = Agent()
    try:
        deadline = time.monotonic() + 60
        while wait(job.name, until=lambda j: True).status != "Running" and time.monotonic() < deadline:
            first.run_once()
            time.sleep(0.1)
        with open_session() as s:
            row = jobs.get_job_row(session=s, workspace="default", name=job.name)
            pid, folder = row.wrapper_pid, studio_home / "jobs" / "default" / job.name
            # As the dead agent left it: Preparing, claimed by an agent that is gone, no pid recorded.
            s.exec(
                update(Job)
                .where(Job.id == row.id)
                .values(status="Preparing", wrapper_pid=None, agent_id="elsewhere:999999999:dead")
            )
        (folder / "wrapper.pid").unlink()
        second = Agent()
        try:
            second._recover_orphans()
            adopted = wait(job.name, until=lambda j: True)
            with open_session() as s:
                recorded = jobs.get_job_row(session=s, workspace="default", name=job.name).wrapper_pid
            deadline = time.monotonic() + 60
            while wait(job.name, until=lambda j: True).status not in TERMINAL and time.monotonic() < deadline:
                second.run_once()
                time.sleep(0.1)
        finally:
            second.pool.shutdown(wait=True)
    finally:
        first.pool.shutdown(wait=True)
    assert (adopted.status, recorded) == ("Running", pid)
    assert wait(job.name).status == "Completed"
    assert log_of(job.name).count(f"start {job.name}") == 1
