"""A sweep whose compute has no room waits quietly: the agent neither spins nor holds the database."""

from __future__ import annotations

import time

import psutil

from backend.services import compute, jobs, open_session, workspaces
from backend.specs.compute import ComputeSpec
from tests.job_fixtures import submit, wait

SWEEP = """
type: sweep
compute: azureml:box
trial:
  command: python -c "print(${{search_space.x}})"
  environment: azureml:AzureML-sklearn-1.5@latest
search_space:
  x: {type: uniform, min_value: 0, max_value: 1}
sampling_algorithm: random
objective: {primary_metric: acc, goal: maximize}
limits: {max_total_trials: 200, max_concurrent_trials: 20}
"""


def _children(name: str) -> list[jobs.JobPublic]:
    with open_session() as s:
        return jobs.list_jobs(session=s, workspace="default", parent=name)


def test_a_sweep_on_a_stopped_instance_waits_without_cpu_while_other_commands_work(tmp_path, agent):
    with open_session() as s:
        compute.create_compute(
            session=s,
            workspace="default",
            spec=ComputeSpec(name="box", type="computeinstance", size="Standard_DS3_v2"),
        )
        compute.stop_compute(session=s, workspace="default", name="box")
    sweep = submit(tmp_path, SWEEP)
    # 20 trials for the 20 slots, and the standby that is made ready once the compute is up (not now).
    wait(sweep.name, until=lambda j: j.status == "Running" and len(_children(sweep.name)) == 21)
    assert {t.status for t in _children(sweep.name)} == {"Queued"}

    process = psutil.Process(agent.proc.pid)
    before = process.cpu_times()
    started = time.monotonic()
    # Other writers are served at once while the sweep waits.
    with open_session() as s:
        workspaces.create_workspace(session=s, data=workspaces.WorkspaceCreate(name="meanwhile"))
    first = _children(sweep.name)[-1].name
    with open_session() as s:
        assert jobs.cancel_job(session=s, workspace="default", name=first).status == "Canceled"
    time.sleep(5)
    after = process.cpu_times()
    used = (after.user + after.system - before.user - before.system) / (time.monotonic() - started)
    assert used < 0.2, f"the agent used {used:.0%} of a core while the sweep waited"
    # The canceled trial's place is taken (21 waiting again), and no more than that.
    wait(sweep.name, until=lambda j: len(_children(sweep.name)) == 22)
    assert sum(t.status == "Queued" for t in _children(sweep.name)) == 21

    with open_session() as s:
        jobs.cancel_job(session=s, workspace="default", name=sweep.name)
    assert wait(sweep.name).status == "Canceled"
