"""How long a trivial job takes to start and to end, next to running the same command bare.

    .venv/bin/python bench/job_launch.py [--jobs 20] [--keep]

Starts its own ``studio up --headless`` on a temporary STUDIO_HOME (free ports), submits
``command: python -c pass`` (built-in environment) through the service layer N times, one at a time,
waiting for each to end, and reads each job's own timestamps: the ``history`` entries
([status, iso time]) the services and the agent write, ``start_time`` (the wrapper's ``started_at``
file), ``end_time`` (the wrapper's exit time) and the agent's ``system_logs/agent.log`` lines. The
baseline is ``python -c pass`` run bare with the same interpreter, measured in the same run.
Nothing is asserted: it prints a table (see bench/README.md for the columns).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from backend.statuses import JobStatus

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# `date` prints when the command itself runs (inside its sandbox, after bwrap and bash have started).
COMMAND = "date +%s.%N && python -c pass"
ENVIRONMENT = "azureml:AzureML-sklearn-1.5@latest"  # a curated name: runs in the built-in interpreter
READY_TIMEOUT_S = 300
JOB_TIMEOUT_S = 300
WAIT_POLL_S = 0.02  # how often the bench looks for the end of a job (does not change the job's timestamps)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def start_studio(home: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``studio up --headless`` on ``home`` (free ports), once it is ready; ``env`` replaces the default."""
    if env is None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
        env["STUDIO_HOME"] = str(home)
        if os.environ.get("STUDIO_BASE_ENV_DIR"):
            env["STUDIO_BASE_ENV_DIR"] = os.environ["STUDIO_BASE_ENV_DIR"]
        env["STUDIO_ENDPOINT_PORT"] = "0"  # any free port: several benchmarks (or a studio) may run at once
    home.mkdir(parents=True, exist_ok=True)
    log = open(home.parent / "studio-up.log", "wb")  # noqa: SIM115  (the child writes to it while it runs)
    proc = subprocess.Popen(
        [sys.executable, "-m", "studio.cli", "up", "--headless", "--mlflow-port", "0"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not (home / "run" / "up.json").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_studio(proc)
            sys.exit(
                f"studio up did not start:\n{(home.parent / 'studio-up.log').read_text(errors='replace')}"
            )
        time.sleep(0.2)
    return proc


def stop_studio(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def bare_runs(count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - started)
    return times


def agent_log_times(folder: Path) -> dict[str, datetime]:
    """When the agent began preparing, resolved the environment and started the wrapper (its own log)."""
    found: dict[str, datetime] = {}
    try:
        lines = (folder / "system_logs" / "agent.log").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        stamp, _, message = line.partition(" ")
        for key, prefix in (
            ("prepare", "preparing job"),
            ("environment", "environment"),
            ("launch", "starting:"),
        ):
            if key not in found and message.startswith(prefix):
                found[key] = datetime.fromisoformat(stamp)
    return found


def run_job(index: int) -> dict[str, float]:
    from backend.services import jobs, open_session
    from backend.specs.job import CommandJobSpec

    spec = CommandJobSpec(command=COMMAND, environment=ENVIRONMENT, experiment_name="job-launch-bench")
    started = time.perf_counter()
    with open_session() as s:
        job = jobs.submit_command_job(session=s, workspace="default", spec=spec, source="bench/job_launch.py")
    submit_call = time.perf_counter() - started
    done = jobs.wait_for_end(workspace="default", name=job.name, timeout_s=JOB_TIMEOUT_S, poll_s=WAIT_POLL_S)
    if done.status != JobStatus.COMPLETED:
        sys.exit(f"job {index} ({done.name}) ended {done.status}: {done.failure_reason}")
    at = {status: datetime.fromisoformat(when) for status, when in done.history}
    logged = agent_log_times(jobs.job_dir("default", done.name))
    t0 = at[JobStatus.NOT_STARTED]

    def since(moment: datetime, origin: datetime = t0) -> float:
        return (moment - origin).total_seconds()

    log_text, _ = jobs.read_log(workspace="default", name=done.name)
    ran = datetime.fromtimestamp(float(log_text.split()[0]), tz=done.start_time.tzinfo)
    row = {
        "submit call (client)": submit_call,
        "submission → start": since(done.start_time),
        "submission → command runs (in its sandbox)": since(ran),
        "submission → Completed": since(at[JobStatus.COMPLETED]),
        "  submission → claimed (Preparing)": since(at[JobStatus.PREPARING]),
        "  claimed → start (prepare + wrapper)": since(done.start_time, at[JobStatus.PREPARING]),
        "  start → exit (the command)": since(done.end_time, done.start_time),
        "  exit → Completed (notice + finalize)": since(at[JobStatus.COMPLETED], done.end_time),
        "    exit → Finalizing (agent notices)": since(at[JobStatus.FINALIZING], done.end_time),
        "    Finalizing → Completed": since(at[JobStatus.COMPLETED], at[JobStatus.FINALIZING]),
    }
    if len(logged) == 3:
        row.update(
            {
                "    claimed → prepare task runs": since(logged["prepare"], at[JobStatus.PREPARING]),
                "    code snapshot + environment": since(logged["environment"], logged["prepare"]),
                "    inputs, MLflow run, launch file": since(logged["launch"], logged["environment"]),
                "    wrapper spawn → started_at": since(done.start_time, logged["launch"]),
            }
        )
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20, help="how many jobs to run (default 20)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary STUDIO_HOME")
    args = parser.parse_args()
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")

    tmp = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    home = tmp / "home"
    base_env_dir = os.environ.get("STUDIO_BASE_ENV_DIR") or str(REPO / ".tools" / "base-env")
    for name in [k for k in os.environ if k.startswith("STUDIO_")]:
        del os.environ[name]
    os.environ["STUDIO_HOME"] = str(home)
    # The curated base venv is built once and kept (like the tests' one), so runs compare like with like.
    os.environ["STUDIO_BASE_ENV_DIR"] = base_env_dir
    print(f"starting studio up --headless on {home} ...", flush=True)
    proc = start_studio(home)
    rows = []
    try:
        runtime = json.loads((home / "run" / "up.json").read_text())
        print(
            f"MLflow {runtime['mlflow_uri']}; running {args.jobs} jobs one at a time: {COMMAND!r}", flush=True
        )
        for index in range(args.jobs):
            rows.append(run_job(index))
            print(".", end="", flush=True)
        print()
        bare = bare_runs(max(args.jobs, 10))
    finally:
        stop_studio(proc)
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    baseline = statistics.median(bare)
    header = f"{'':42} {'median s':>9} {'p90 s':>9} {'× bare':>8}"
    print()
    print(header)
    print("-" * len(header))
    print(f"{'bare python -c pass (subprocess)':42} {baseline:9.3f} {percentile(bare, 90):9.3f} {1.0:8.1f}")
    for metric in rows[0]:
        values = [r[metric] for r in rows if metric in r]
        median = statistics.median(values)
        print(f"{metric:42} {median:9.3f} {percentile(values, 90):9.3f} {median / baseline:8.1f}")
    first = rows[0]
    print()
    print(
        f"first job (cold agent): submission → start {first['submission → start']:.3f} s, "
        f"→ command runs {first['submission → command runs (in its sandbox)']:.3f} s, "
        f"→ Completed {first['submission → Completed']:.3f} s; figures above are over all {len(rows)} jobs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
