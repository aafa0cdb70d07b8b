"""500 job submissions from 10 processes at once, on SQLite and on PostgreSQL: 500 rows, 0 errors, 0
duplicates. The processes start together on a new database (so they also race to create its schema and
the default workspace), wait for one signal, then each submits 50 command jobs through the service layer,
one unit of work each, as 50 `studio job create` calls would. No agent runs: the jobs stay queued."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

PROCESSES = 10
PER_PROCESS = 50
TIMEOUT_S = 240  # the whole run; measured at well under a minute on 2 busy cores

SUBMITTER = r"""
import json, sys, time
from pathlib import Path

go, count = Path(sys.argv[1]), int(sys.argv[2])
from backend.services import jobs, open_session
from backend.specs.job import CommandJobSpec

spec = CommandJobSpec(command="echo hello", environment="azureml:AzureML-sklearn-1.5@latest")
while not go.exists():
    time.sleep(0.005)
names, errors, latencies = [], [], []
for _ in range(count):
    started = time.perf_counter()
    try:
        with open_session() as s:
            names.append(jobs.submit_command_job(session=s, workspace="default", spec=spec).name)
    except Exception as exc:  # counted, and shown by the test
        errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    latencies.append(time.perf_counter() - started)
print(json.dumps({"names": names, "errors": errors, "latencies": latencies}))
"""


@pytest.mark.timeout(TIMEOUT_S + 60)
def test_500_submissions_from_10_processes_at_once(database, tracking, tmp_path: Path, report) -> None:
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SUBMITTER, str(go), str(PER_PROCESS)],
            cwd=REPO,
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    try:
        time.sleep(1.0)  # most of them have imported the services by now; the rest join as they can
        started = time.perf_counter()
        go.touch()
        outputs = [proc.communicate(timeout=TIMEOUT_S) for proc in procs]
        elapsed = time.perf_counter() - started
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    results, crashed = [], []
    for proc, (out, err) in zip(procs, outputs, strict=True):
        if proc.returncode != 0 or not out.strip():
            crashed.append(f"exit {proc.returncode}: {err.strip()[-2000:]}")
        else:
            results.append(json.loads(out.strip().splitlines()[-1]))
    names = [n for r in results for n in r["names"]]
    errors = [e for r in results for e in r["errors"]] + crashed
    latencies = [t for r in results for t in r["latencies"]]

    from backend.services import jobs, open_session

    with open_session() as s:
        rows = jobs.list_jobs(session=s, workspace="default", limit=10_000)
    row_names = [j.name for j in rows]
    duplicates = len(row_names) - len(set(row_names))
    p90 = sorted(latencies)[int(0.9 * len(latencies))] if latencies else float("nan")
    report(
        f"{PROCESSES * PER_PROCESS} submissions from {PROCESSES} processes on {database}: {len(rows)} rows, "
        f"{len(errors)} errors, {duplicates} duplicates, {elapsed:.1f} s "
        f"(per submission median {statistics.median(latencies) if latencies else float('nan'):.3f} s, "
        f"p90 {p90:.3f} s)"
    )
    assert not errors, errors[:5]
    assert duplicates == 0
    assert len(rows) == PROCESSES * PER_PROCESS
    assert sorted(row_names) == sorted(names)
    assert all(j.status == "Queued" for j in rows)
