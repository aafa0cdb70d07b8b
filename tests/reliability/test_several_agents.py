"""Two agents on one PostgreSQL studio database: each claims the jobs of its computes, both drain their jobs
with each job run exactly once, and the jobs of an agent that is SIGKILLed are finished by the other: on one
machine and STUDIO_HOME (40 jobs), and with separate homes and shared storage (200 jobs).

Agent ``a`` serves compute ``ca`` only; agent ``b`` serves every compute. Each job appends its run id to one
ledger (an output folder both agents' jobs share; the agents share this machine and STUDIO_HOME), so a
second line for a job means it ran twice. Halfway, ``a`` is SIGKILLed: ``b`` takes up its running jobs
(their wrappers outlive it), its preparing ones and the rest of ``ca``'s queue.
"""

from __future__ import annotations

import signal
import time
from collections import Counter

import pytest

from backend.services import agents, compute, jobs, open_session
from backend.specs.compute import ComputeSpec
from backend.statuses import TERMINAL
from tests.conftest import reset_caches
from tests.job_fixtures import AgentProcess, submit

JOBS = 40
NODES = 4
SETTLE_TIMEOUT_S = 240
LONG = range(JOBS // 2, JOBS // 2 + 12)  # jobs that sleep 4 s: in flight when ``a`` is killed
LEDGER = "azureml://datastores/workspaceblobstore/paths/agents/ledger"
JOB = """
command: echo "$AZUREML_RUN_ID" >> ${{{{outputs.ledger}}}}/ledger.txt && sleep {pause}
environment: azureml:AzureML-sklearn-1.5@latest
compute: azureml:{compute}
outputs:
  ledger:
    type: uri_folder
    path: {ledger}
    mode: rw_mount
"""


def _rows(names: list[str]) -> dict[str, tuple[str, str | None]]:
    from backend.db.models import Job

    with open_session() as s:
        from sqlmodel import col, select

        return {r.name: (r.status, r.agent_id) for r in s.exec(select(Job).where(col(Job.name).in_(names)))}


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_two_agents_on_one_home_drain_jobs_once_each_and_one_finishes_the_jobs_of_the_other(
    database, tracking, tmp_path, studio_home, report
):
    from backend.db import ensure_schema

    ensure_schema()
    with open_session() as s:
        for name in ("ca", "cb"):
            spec = ComputeSpec(name=name, type="amlcompute", min_instances=NODES, max_instances=NODES)
            compute.create_compute(session=s, workspace="default", spec=spec)
    a = AgentProcess(studio_home, name="a", computes="ca").start()
    b = AgentProcess(studio_home, name="b").start()
    try:
        names = []
        for i in range(JOBS):
            # Those just past halfway run long enough to be in flight when ``a`` is killed; the rest are quick.
            pause = 4 if i in LONG else 0
            text = JOB.format(compute="ca" if i % 2 else "cb", ledger=LEDGER, pause=pause)
            job = submit(tmp_path / f"j{i}", text)
            names.append(job.name)
        on_ca = {n for i, n in enumerate(names) if i % 2}
        with open_session() as s:
            ids = {x.name: x.id for x in agents.list_agents(session=s)}
        assert set(ids) == {"a", "b"}
        # Halfway, with jobs of ``a`` in flight, ``a`` crashes.
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while time.monotonic() < deadline:
            rows = _rows(names)
            done = sum(status in TERMINAL for status, _ in rows.values())
            in_flight_of_a = [n for n, (st, ag) in rows.items() if ag == ids["a"] and st not in TERMINAL]
            if done >= JOBS // 4 and any(names.index(n) in LONG for n in in_flight_of_a):
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"agent a never had one of the long jobs in flight: {Counter(rows.values())}")
        a.kill()  # (what it had in flight is read after the kill: it settles nothing more)
        orphaned = {n for n, (st, ag) in _rows(names).items() if ag == ids["a"] and st not in TERMINAL}
        while time.monotonic() < deadline:
            rows = _rows(names)
            if all(status in TERMINAL for status, _ in rows.values()):
                break
            time.sleep(0.2)
        with open_session() as s:
            alive = {x.name for x in agents.list_agents(session=s)}
    finally:
        a.kill() if a.proc.poll() is None else None
        b.stop()
    statuses = Counter(status for status, _ in rows.values())
    ledger = list(studio_home.rglob("agents/ledger/ledger.txt"))
    runs = Counter(line.strip() for line in ledger[0].read_text().splitlines() if line.strip())
    by = Counter("a" if ag == ids["a"] else "b" if ag == ids["b"] else ag for _, ag in rows.values())
    report(
        f"2 agents on PostgreSQL: {statuses['Completed']} of {JOBS} Completed, ran once {sum(n == 1 for n in runs.values())}, "
        f"twice or more {sum(n > 1 for n in runs.values())}; agent a SIGKILLed with {len(orphaned)} jobs in "
        f"flight, all finished by b; settled by a {by['a']}, by b {by['b']}"
    )  # fmt: skip
    assert statuses == {"Completed": JOBS}, (statuses, b.log()[-3000:])
    assert runs == Counter({n: 1 for n in names}), "a job ran twice or not at all"  # (run id = job name)
    # ``a`` claimed only jobs of its compute; ``b`` finished every job that ``a`` had in flight.
    assert all(n in on_ca for n, (_, ag) in rows.items() if ag == ids["a"])
    assert orphaned and all(rows[n][1] == ids["b"] for n in orphaned)
    assert alive == {"b"}


SHARED_JOBS = 200
# Each run of a job reports its run id to the test's ledger (an HTTP server on loopback: the two homes share
# no folder), then writes its output on the shared storage and an artifact.
LEDGER_JOB = """
command: |
  exec 3<>/dev/tcp/127.0.0.1/$LEDGER_PORT && printf 'GET /%s HTTP/1.0\\r\\n\\r\\n' "$AZUREML_RUN_ID" >&3 && cat <&3 >/dev/null
  sleep $PAUSE
  {more}echo "marked $AZUREML_RUN_ID"
environment: azureml:AzureML-sklearn-1.5@latest
environment_variables:
  LEDGER_PORT: "{port}"
  PAUSE: "{pause}"
"""
# The first jobs also write an output and an artifact, both on the shared storage.
WITH_OUTPUTS = 20
OUTPUTS = """echo "$AZUREML_RUN_ID" > ${{outputs.mark}}/mark.txt
  mkdir -p outputs && echo "$AZUREML_RUN_ID" > outputs/host.txt
  """
OUTPUTS_SPEC = """outputs:
  mark:
    type: uri_folder
"""


SHARED_LONG = range(SHARED_JOBS // 2, SHARED_JOBS // 2 + 12)


def _ledger_job(i: int, port: int) -> str:
    # Those just past halfway run long enough to be in flight when ``a`` is killed; the rest are quick.
    pause = 2 if i in SHARED_LONG else 0
    text = LEDGER_JOB.format(port=port, pause=pause, more=OUTPUTS if i < WITH_OUTPUTS else "")
    return text + (OUTPUTS_SPEC if i < WITH_OUTPUTS else "")


@pytest.fixture
def ledger():
    """An HTTP server on loopback that counts the requests for each path: ``(port, Counter)``."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: Counter = Counter()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            with lock:
                seen[self.path.strip("/")] += 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def shared_tracking(shared, tmp_path, monkeypatch):
    """A tracking server whose artifact root is the shared container (as `studio up` starts it there)."""
    from studio import tracking_server
    from tests.job_fixtures import start_tracking_server, stop_tracking_server

    home = tmp_path / "mlflow"
    home.mkdir()
    proc, uri = start_tracking_server(home, tracking_server.artifacts_destination(home / "art"))
    monkeypatch.setenv("STUDIO_MLFLOW_URI", uri)
    reset_caches()
    try:
        yield uri
    finally:
        stop_tracking_server(proc)


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_two_agents_with_separate_homes_drain_200_jobs_once_each_and_one_finishes_the_jobs_of_the_other(
    database, shared, shared_tracking, ledger, tmp_path, studio_home, report
):
    """Separate homes: agent b cannot see the folders of a's jobs; it follows those that a had running when
    it was SIGKILLed through their MLflow runs (backend/agent/remote_exit.py)."""
    from backend.db import ensure_schema

    azurite, container = shared
    port, seen = ledger
    ensure_schema()
    homes = [tmp_path / "home-a", tmp_path / "home-b"]
    a, b = (AgentProcess(home, name=home.name, env={"STUDIO_HOME": str(home)}).start() for home in homes)
    try:
        # Both agents passing (registered) before any job is queued, so that both get a share of them.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with open_session() as s:
                ids = {x.name: x.id for x in agents.list_agents(session=s)}
            if set(ids) >= {h.name for h in homes}:
                break
            time.sleep(0.2)
        names = [submit(tmp_path / f"j{i}", _ledger_job(i, port)).name for i in range(SHARED_JOBS)]
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while time.monotonic() < deadline:
            rows = _rows(names)
            done = sum(status in TERMINAL for status, _ in rows.values())
            if done >= SHARED_JOBS // 2 - 10 and _running_commands_of(ids["home-a"], rows, seen):
                # Frozen first, so that what it has in flight is read while it can settle nothing (a quick
                # job could end, and be settled by ``a``, between a check and the kill: a CI run).
                a.proc.send_signal(signal.SIGSTOP)
                rows = _rows(names)
                if _running_commands_of(ids["home-a"], rows, seen):
                    break
                a.proc.send_signal(signal.SIGCONT)
            time.sleep(0.1)
        else:
            pytest.fail(f"agent a never had a job running its command: {Counter(rows.values())}")
        a.kill()  # its running jobs' processes go on, in home-a, where b cannot look
        orphaned = {n for n, (st, ag) in _rows(names).items() if ag == ids["home-a"] and st not in TERMINAL}
        while time.monotonic() < deadline:
            rows = _rows(names)
            if all(status in TERMINAL for status, _ in rows.values()):
                break
            time.sleep(0.5)
        with open_session() as s:
            found = {n: jobs.get_job(session=s, workspace="default", name=n) for n in names}
    finally:
        a.kill() if a.proc.poll() is None else None
        b.stop()
    statuses = Counter(j.status for j in found.values())
    stuck = [(n, j) for n, j in found.items() if j.status != "Completed"][:3]
    assert statuses == {"Completed": SHARED_JOBS}, (
        [(n, j.status, j.failure_reason, _folder_files(homes, n), _exit_tag(j)) for n, j in stuck],
        b.log()[-3000:],
    )
    assert seen == Counter({n: 1 for n in names}), "a job ran twice or not at all"  # (run id = job name)
    assert orphaned and all(rows[n][1] == ids["home-b"] for n in orphaned)
    # b finished them from their runs: the log's tail is on the job's page.
    assert all(f"marked {n}" in jobs.read_log(workspace="default", name=n)[0] for n in orphaned)
    blobs = azurite.blob_names(container)
    marks = [b for b in blobs if b.endswith("/mark.txt")]
    artifacts = [b for b in blobs if b.startswith("studio/mlflow/") and b.endswith("/outputs/host.txt")]
    # Each job its own agent finished wrote its output once on the shared storage, and its artifact there
    # (the MLflow artifact root is the shared container too).
    # Those that b followed from their runs left theirs in home-a.
    homed = set(names[:WITH_OUTPUTS]) - orphaned
    assert len(marks) == len(artifacts) == len(homed), (len(marks), len(artifacts), len(homed))
    assert all(any(f"/{n}/" in b for b in marks) for n in homed)
    # (``started_at``: a job ``a`` prepared but never told to start was prepared again, and run, by ``b``)
    ran_by = {h.name: sum((h / "jobs" / "default" / n / "started_at").exists() for n in names) for h in homes}
    by = Counter(
        "a" if ag == ids["home-a"] else "b" if ag == ids["home-b"] else ag for _, ag in rows.values()
    )
    report(
        f"2 agents, separate homes, PostgreSQL + shared storage (Azurite): {statuses['Completed']} of "
        f"{SHARED_JOBS} Completed, ran once {sum(n == 1 for n in seen.values())}, twice or more "
        f"{sum(n > 1 for n in seen.values())}; run in home-a {ran_by['home-a']}, home-b {ran_by['home-b']}; "
        f"agent a SIGKILLed with {len(orphaned)} jobs in flight, finished by b through their MLflow runs"
    )
    assert sum(ran_by.values()) == SHARED_JOBS and all(ran_by.values())
    assert by["b"] >= len(orphaned)


def _running_commands_of(agent: str, rows: dict, seen: Counter) -> list[str]:
    """The jobs ``agent`` has Running whose command has started (it called the ledger)."""
    return [n for n, (status, ag) in rows.items() if ag == agent and status == "Running" and n in seen]


def _folder_files(homes, name: str) -> dict[str, list[str]]:
    """What each home's folder of a job holds (a failure's clue: started, ended, standing by)."""
    return {h.name: sorted(p.name for p in (h / "jobs" / "default" / name).glob("*")) for h in homes}


def _exit_tag(job) -> str | None:
    """The end its wrapper reported on the job's MLflow run (``backend/agent/remote_exit.py``), if any."""
    from backend.agent import remote_exit

    try:
        return remote_exit._tags(job.mlflow_run_id).get(remote_exit.EXIT_TAG) if job.mlflow_run_id else None
    except Exception as exc:
        return f"(the run could not be read: {exc})"
