"""The pipeline controller never holds the database: a pipeline that waits costs the agent (nearly) nothing."""

from __future__ import annotations

import sqlite3
import time

import psutil
import pytest
from sqlalchemy.engine import make_url

from backend.services import compute, datastores, job_files, jobs, open_session, workspaces
from backend.services import pipeline_views as pv
from backend.settings import get_settings
from backend.specs.compute import ComputeSpec
from backend.statuses import JobStatus
from tests.conftest import REPO
from tests.job_fixtures import wait

EXAMPLES = REPO / "tests" / "fixtures" / "pipelines"
PIPELINE = EXAMPLES / "on_instance" / "pipeline.yml"
MEASURE_S = 4.0
MAX_CPU_SHARE = 0.2  # of one core; an idle agent uses about 1%
BIG_INPUT_BYTES = 1 << 30  # a sparse file: no disk used, about a second to hash
PROBE_BUSY_TIMEOUT_S = 0.5  # what a command may wait for the write lock in the probe below


def _children(name: str) -> dict[str, jobs.JobPublic]:
    with open_session() as s:
        return {c.tags["studio.step"]: c for c in jobs.list_jobs(session=s, workspace="default", parent=name)}


def _stopped_instance(name: str = "box") -> None:
    with open_session() as s:
        compute.create_compute(
            session=s,
            workspace="default",
            spec=ComputeSpec(name=name, type="computeinstance", size="Standard_DS3_v2"),
        )
        compute.stop_compute(session=s, workspace="default", name=name)


def _commits_by_others(db: sqlite3.Connection) -> int:
    # Changes whenever another connection commits a write to the database.
    return db.execute("PRAGMA data_version").fetchone()[0]


def test_a_pipeline_waiting_for_a_stopped_instance_leaves_the_agent_idle_and_the_database_free(agent):
    _stopped_instance()
    with open_session() as s:
        pipeline = job_files.create_job_from_file(session=s, workspace="default", file=PIPELINE)
    wait(pipeline.name, timeout_s=60, until=lambda j: len(_children(j.name)) == 6)
    branches = _children(pipeline.name)
    assert sorted(branches) == [f"branch_{i}" for i in range(1, 7)]
    assert {c.status for c in branches.values()} == {JobStatus.QUEUED}

    time.sleep(1.0)  # the passes that follow the last start (woken by its commit) are over
    process = psutil.Process(agent.proc.pid)
    db = sqlite3.connect(make_url(get_settings().resolved_database_url).database)
    try:
        writes_before, cpu_before = _commits_by_others(db), sum(process.cpu_times()[:2])
        started = time.monotonic()
        time.sleep(MEASURE_S)
        cpu_share = (sum(process.cpu_times()[:2]) - cpu_before) / (time.monotonic() - started)
        writes_after = _commits_by_others(db)
    finally:
        db.close()
    assert cpu_share < MAX_CPU_SHARE, f"the agent used {cpu_share:.0%} of a core while the pipeline waited"
    assert writes_after == writes_before, "the agent wrote to the database while nothing changed"

    # Other commands go through at once: no lock is held, nothing waits for the agent.
    with open_session() as s:
        workspaces.create_workspace(session=s, data=workspaces.WorkspaceCreate(name="other"))
    with open_session() as s:
        canceled = jobs.cancel_job(session=s, workspace="default", name=branches["branch_6"].name)
    assert canceled.status == JobStatus.CANCELED

    # The controller still notices every change: the instance starts, the branches run, join is skipped.
    with open_session() as s:
        compute.start_compute(session=s, workspace="default", name="box")
    done = wait(pipeline.name, timeout_s=120)
    assert done.status == JobStatus.FAILED
    with open_session() as s:
        steps = {
            st.name: st for st in pv.get_pipeline_view(session=s, workspace="default", name=done.name).steps
        }
    assert [steps[f"branch_{i}"].status for i in range(1, 6)] == [JobStatus.COMPLETED] * 5
    assert steps["branch_6"].status == JobStatus.CANCELED
    assert steps["join"].skipped_reason == "skipped: step 'branch_6' did not complete"
    assert done.failure_reason.startswith("step 'branch_6' canceled")
    assert "database is locked" not in agent.log()


@pytest.mark.usefixtures("agent")
def test_canceling_a_waiting_pipeline_cancels_its_steps_and_settles_it():
    _stopped_instance()
    with open_session() as s:
        pipeline = job_files.create_job_from_file(session=s, workspace="default", file=PIPELINE)
    wait(pipeline.name, timeout_s=60, until=lambda j: len(_children(j.name)) == 6)
    with open_session() as s:
        jobs.cancel_job(session=s, workspace="default", name=pipeline.name)
    done = wait(pipeline.name, timeout_s=60)
    assert done.status == JobStatus.CANCELED
    assert {c.status for c in _children(pipeline.name).values()} == {JobStatus.CANCELED}
    with open_session() as s:
        steps = pv.get_pipeline_view(session=s, workspace="default", name=done.name).steps
    assert [st.status for st in steps if st.name == "join"] == [JobStatus.NOT_STARTED]


def test_hashing_step_inputs_for_reuse_never_holds_the_write_lock(agent):
    """Each step's reuse key hashes its input when it starts: seconds of work, with no transaction open,
    so a command that writes meanwhile never waits for the lock (the report: "database is locked")."""
    _stopped_instance()
    with open_session() as s:
        store = datastores.get_filesystem(session=s, workspace="default", name="workspaceblobstore")
    big = store.local_path("big")
    big.mkdir(parents=True)
    with open(big / "data.bin", "wb") as handle:
        handle.truncate(BIG_INPUT_BYTES)
    with open_session() as s:
        pipeline = job_files.create_job_from_file(
            session=s, workspace="default", file=EXAMPLES / "big_inputs" / "pipeline.yml"
        )

    db = sqlite3.connect(
        make_url(get_settings().resolved_database_url).database,
        timeout=PROBE_BUSY_TIMEOUT_S,
        isolation_level=None,
    )
    probes, locked = 0, []
    try:
        while len(_children(pipeline.name)) < 3:
            try:
                db.execute("BEGIN IMMEDIATE")  # takes the write lock, as any command's write would
                db.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                locked.append(str(exc))
            probes += 1
            if probes > 4000:
                pytest.fail(f"the steps did not start; agent log:\n{agent.log()[-3000:]}")
            time.sleep(0.02)
    finally:
        db.close()
    assert probes > 10  # the probe ran while the agent hashed
    assert locked == []
    with open_session() as s:
        jobs.cancel_job(session=s, workspace="default", name=pipeline.name)
    assert wait(pipeline.name, timeout_s=60).status == JobStatus.CANCELED
