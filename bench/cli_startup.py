"""How long a ``studio`` command takes as a whole process, next to ``python -c pass``.

    .venv/bin/python bench/cli_startup.py [--runs 10] [--postgres URL] [--keep]

Starts its own ``studio up --headless`` (a real MLflow server and the agent, free ports) on a temporary
STUDIO_HOME, creates a workspace's worth of things to list and show (a data asset, a job that runs to its
end, a registered model), then runs every command below ``--runs`` times as a fresh process, round-robin
(so that load on a shared machine spreads over all of them), each the way the ``studio`` console script
runs it (``from studio.quick import main``), twice: handed to the running studio's CLI server
(``STUDIO_CLI_SERVER=require``) and in the process itself (``STUDIO_CLI_SERVER=off``). Wall time is what a person waits; CPU time (user + system of
the child, from ``wait4``) is steadier on a busy machine. Both are printed with their median, p90
(nearest rank) and the median as a multiple of ``python -c pass``'s from the same run.
Nothing is asserted; see bench/README.md.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from job_launch import start_studio, stop_studio  # noqa: E402

STUDIO = "import sys; from studio.quick import main; sys.exit(main())"  # what the `studio` script runs
MODES = {"served": "require", "in-process": "off"}  # STUDIO_CLI_SERVER


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def studio_env(home: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
    env["STUDIO_HOME"] = str(home)
    env["PYTHONPATH"] = str(REPO)
    env["STUDIO_ENDPOINT_PORT"] = "0"  # any free port: other studios may run on this machine
    env["STUDIO_BASE_ENV_DIR"] = os.environ.get("STUDIO_BASE_ENV_DIR", str(REPO / ".tools" / "base-env"))
    if database_url:
        env["STUDIO_DATABASE_URL"] = database_url
        env["STUDIO_DATABASE_SCHEMA"] = f"bench_cli_{os.getpid()}"
    return env


def studio(env: dict[str, str], cwd: Path, *argv: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", STUDIO, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        sys.exit(f"studio {' '.join(argv)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def seed(env: dict[str, str], work: Path) -> None:
    """One of each thing the commands list and show: a data asset, a finished job, a model."""
    (work / "rows.csv").write_text("x,y\n1,2\n")
    (work / "model.pkl").write_bytes(b"not really a model")
    (work / "job.yml").write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\n"
        "name: bench-job\ncommand: echo hello\nenvironment: azureml:AzureML-sklearn-1.5@latest\n"
    )
    studio(env, work, "data", "create", "--name", "rows", "--path", "rows.csv", "--type", "uri_file")
    studio(env, work, "job", "create", "--file", "job.yml", "--stream")
    studio(env, work, "model", "create", "--name", "bench-model", "--path", "model.pkl")


COMMANDS: list[tuple[str, list[str] | None]] = [
    ("python -c pass", None),
    ("studio --help", ["--help"]),
    ("studio workspace list", ["workspace", "list"]),
    ("studio workspace show default", ["workspace", "show", "default"]),
    ("studio job list", ["job", "list"]),
    ("studio job show -n bench-job", ["job", "show", "-n", "bench-job"]),
    ("studio data list", ["data", "list"]),
    ("studio data show -n rows", ["data", "show", "-n", "rows"]),
    ("studio model list", ["model", "list"]),
    ("studio model show -n bench-model", ["model", "show", "-n", "bench-model"]),
]


def timed(argv: list[str] | None, env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall s, CPU s) of one whole process."""
    args = [sys.executable, "-c", "pass"] if argv is None else [sys.executable, "-c", STUDIO, *argv]
    started = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.stderr and proc.stderr.close()
    if proc.returncode != 0:
        sys.exit(f"{argv} failed ({proc.returncode}):\n{err}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="Processes per command (default 10).")
    parser.add_argument("--postgres", metavar="URL", help="Use this PostgreSQL (a schema of its own).")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary STUDIO_HOME.")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="studio-cli-bench-"))
    home, work = tmp / "home", tmp / "work"
    work.mkdir()
    env = studio_env(home, args.postgres)
    if args.postgres:
        import sqlalchemy as sa

        admin = sa.create_engine(args.postgres.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{env["STUDIO_DATABASE_SCHEMA"]}"'))
    proc = start_studio(home, env)
    try:
        seed(env, work)
        envs = {mode: {**env, "STUDIO_CLI_SERVER": value} for mode, value in MODES.items()}
        for _, argv in COMMANDS:  # once each, untimed: the first call after an upgrade pays for the check
            timed(argv, envs["in-process"], work)
        rows = [(f"{label} ({mode})" if argv else label, argv, envs[mode]) for label, argv in COMMANDS
                for mode in (MODES if argv else ["in-process"])]  # fmt: skip
        results: dict[str, list[tuple[float, float]]] = {label: [] for label, _, _ in rows}
        for _ in range(args.runs):
            for label, argv, mode_env in rows:
                results[label].append(timed(argv, mode_env, work))
    finally:
        stop_studio(proc)
        if args.postgres:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{env["STUDIO_DATABASE_SCHEMA"]}" CASCADE'))
            admin.dispose()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    bare_wall = statistics.median(w for w, _ in results["python -c pass"])
    bare_cpu = statistics.median(c for _, c in results["python -c pass"])
    database = "PostgreSQL" if args.postgres else "SQLite"
    print(f"\nstudio CLI start-up, {args.runs} processes per command, {database}, {os.cpu_count()} CPUs")
    print(
        f"{'command':50} {'wall median s':>13} {'p90 s':>7} {'× bare':>7}  "
        f"{'CPU median s':>12} {'p90 s':>7} {'× bare':>7}"
    )
    for label, rows in results.items():
        walls, cpus = [w for w, _ in rows], [c for _, c in rows]
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        print(
            f"{label:50} {wall:13.3f} {percentile(walls, 90):7.3f} {wall / bare_wall:7.1f}  "
            f"{cpu:12.3f} {percentile(cpus, 90):7.3f} {cpu / max(bare_cpu, 1e-3):7.1f}"
        )


if __name__ == "__main__":
    main()
