"""Lists at scale in a real browser: the Jobs page with 100,000 jobs, and a comparison of 100 runs.

    .venv/bin/python bench/ui_scale.py                 # 100,000 jobs; 100 runs x 1,000 steps
    .venv/bin/python bench/ui_scale.py --jobs 20000 --runs 50 --steps 500 --repeat 3

It seeds a temporary ``STUDIO_HOME``: the jobs in bulk through the database layer (one executemany per
10,000 rows), and the runs into Studio's own MLflow server with ``log_batch``; starts ``studio up`` (MLflow,
agent, UI) and drives the UI in Debian's Chromium, headless. Figures (median of ``--repeat`` loads, each in a
fresh browser tab):

- jobs page: navigation to ``/jobs`` → the table's first row drawn (and the "rows 1-50 of N" caption), for a
  workspace with ``--jobs`` jobs and, as the baseline in the same run, one with 100 jobs;
- compare: navigation to ``/jobs?compare=...`` → every curve of the chart drawn, for ``--runs`` runs with
  ``--steps``-step curves, and the same view for 2 runs as the baseline.

Nothing is asserted; it prints a table and stops everything it started.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

STATUSES = ("Completed", "Completed", "Completed", "Failed", "Canceled", "Running", "Queued")
ENDED = ("Completed", "Completed", "Completed", "Failed", "Canceled")  # a live agent leaves these alone
EXPERIMENTS = ("baseline", "tuning", "ablation", "nightly", "scale")


def seed_jobs(
    *,
    session,
    workspace_id: int,
    count: int,
    prefix: str = "job",
    start: datetime | None = None,
    same_time_every: int = 1,
    chunk: int = 10_000,
    statuses: tuple[str, ...] = STATUSES,
) -> None:
    """``count`` job rows in one workspace, in bulk (executemany through the database layer): statuses and
    experiments in a fixed rotation, one second apart (``same_time_every`` rows share a creation time, to
    exercise the tie-breaks of sorting), named ``<prefix>-000001`` on. Seed only ended ``statuses`` where
    an agent runs: it would claim Queued rows and settle Running ones."""
    from sqlalchemy import insert

    from backend.db.models import Job

    start = start or datetime(2026, 1, 1, tzinfo=UTC)
    width = max(6, len(str(count)))
    for first in range(0, count, chunk):
        rows = []
        for i in range(first, min(count, first + chunk)):
            created = start + timedelta(seconds=i // same_time_every)
            status = statuses[i % len(statuses)]
            rows.append(
                {
                    "workspace_id": workspace_id,
                    "name": f"{prefix}-{i + 1:0{width}d}",
                    "type": "command",
                    "display_name": f"{prefix}-{i + 1:0{width}d}",
                    "experiment_name": EXPERIMENTS[i % len(EXPERIMENTS)],
                    "description": "",
                    "tags": {},
                    "status": status,
                    "spec": {"command": "python train.py"},
                    "compute": "serverless",
                    "instance_count": 1,
                    "cancel_requested": False,
                    "archived": False,
                    "state": {},
                    "history": [["Queued", created.isoformat()]],
                    "created_at": created,
                    "start_time": created if status != "Queued" else None,
                    "end_time": created + timedelta(seconds=30)
                    if status in ("Completed", "Failed")
                    else None,
                }
            )
        session.execute(insert(Job), rows)
    session.flush()


# ----------------------------------------------------------------------------------------------- seeding

SMALL_WORKSPACE = "small"
COMPARE_EXPERIMENT = "compare-scale"
TWO_EXPERIMENT = "compare-two"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu"]


def seed_workspaces(jobs: int) -> None:
    """``default`` with ``jobs`` jobs, ``small`` with 100 (the baseline)."""
    from backend.db import ensure_schema
    from backend.services import open_session, workspaces
    from backend.services.lookup import get_workspace_row

    ensure_schema()
    with open_session() as s:
        small = workspaces.create_workspace(session=s, data=workspaces.WorkspaceCreate(name=SMALL_WORKSPACE))
        small_id = get_workspace_row(session=s, name=small.name).id
        seed_jobs(session=s, workspace_id=small_id, count=100, statuses=ENDED)
        default_id = get_workspace_row(session=s, name="default").id
        seed_jobs(session=s, workspace_id=default_id, count=jobs, statuses=ENDED)


def seed_runs(
    mlflow_uri: str, runs: int, steps: int, experiment_name: str = COMPARE_EXPERIMENT, prefix: str = "cmp"
) -> list[str]:
    """``runs`` finished MLflow runs with a ``steps``-point ``loss`` curve each (``log_batch``), and a
    Completed job for each in ``default``, in experiment ``experiment_name``; returns the job names
    (``<prefix>-000001`` on), in creation order."""
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient
    from sqlmodel import update

    from backend.db.models import Job
    from backend.services import open_session
    from backend.services.lookup import get_workspace_row

    client = MlflowClient(tracking_uri=mlflow_uri)
    experiment = client.create_experiment(experiment_name)
    now = int(time.time() * 1000)
    names, ids = [], []
    for r in range(runs):
        run = client.create_run(experiment, run_name=f"{prefix}-{r:03d}")
        lr = 0.001 * (r + 1)
        metrics = [
            Metric("loss", 1.0 / (1 + lr * step) + 0.01 * (r % 7), now + step, step) for step in range(steps)
        ]
        for start in range(0, len(metrics), 1000):  # MLflow takes at most 1,000 metrics a call
            client.log_batch(
                run.info.run_id,
                metrics=metrics[start : start + 1000],
                params=[Param("lr", str(lr)), Param("layers", str(1 + r % 4))] if start == 0 else [],
            )
        client.set_terminated(run.info.run_id)
        names.append(f"{prefix}-{r:03d}")
        ids.append(run.info.run_id)
    with open_session() as s:
        ws = get_workspace_row(session=s, name="default")
        seed_jobs(
            session=s,
            workspace_id=ws.id,
            count=runs,
            prefix=prefix,
            start=datetime(2027, 1, 1, tzinfo=UTC) if prefix == "cmp" else datetime(2026, 12, 1, tzinfo=UTC),
            statuses=("Completed",),
        )
        for r, run_id in enumerate(ids):
            s.execute(
                update(Job)
                .where(Job.workspace_id == ws.id, Job.name == f"{prefix}-{r + 1:06d}")
                .values(
                    mlflow_run_id=run_id,
                    mlflow_experiment_id=experiment,
                    experiment_name=experiment_name,
                    status="Completed",
                )
            )
    return [f"{prefix}-{r + 1:06d}" for r in range(runs)]


# ------------------------------------------------------------------------------------------------ studio


def start_studio(home: Path):
    """``studio up`` with its UI (MLflow, agent, UI on free ports); returns the process and ``up.json``."""
    import json
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
    env["STUDIO_HOME"] = str(home)
    if os.environ.get("STUDIO_BASE_ENV_DIR"):
        env["STUDIO_BASE_ENV_DIR"] = os.environ["STUDIO_BASE_ENV_DIR"]
    log = open(home.parent / "studio-up.log", "wb")  # noqa: SIM115  (the child writes to it while it runs)
    proc = subprocess.Popen(
        [sys.executable, "-m", "studio.cli", "up", "--ui-port", "0", "--mlflow-port", "0"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    up = home / "run" / "up.json"
    deadline = time.monotonic() + 300
    while not up.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_studio(proc)
            sys.exit(
                f"studio up did not start:\n{(home.parent / 'studio-up.log').read_text(errors='replace')}"
            )
        time.sleep(0.2)
    return proc, json.loads(up.read_text())


def stop_studio(proc) -> None:
    import signal
    import subprocess

    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ----------------------------------------------------------------------------------------------- browser


def _wait_cell(page, text: str, timeout_s: float) -> None:
    """Until a table cell shows ``text`` (tables draw on a canvas; their cells are in the a11y grid)."""
    page.wait_for_function(
        """(text) => Array.from(document.querySelectorAll("[data-testid='stDataFrame'] [role='gridcell']"))
                    .some(cell => cell.textContent === text)""",
        arg=text,
        timeout=timeout_s * 1000,
        polling="raf",
    )


def time_jobs_page(browser, url: str, newest: str, total: int | None, shot: Path | None = None) -> float:
    """Seconds from navigation to the Jobs table's row ``newest`` (and its "of N" caption) on screen."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        started = time.perf_counter()
        page.goto(url, wait_until="commit")
        _wait_cell(page, newest, 60)
        if total is not None:
            page.get_by_text(f"of {total:,}", exact=False).first.wait_for(timeout=60_000)
        took = time.perf_counter() - started
        if shot:
            page.wait_for_timeout(500)
            page.screenshot(path=str(shot), full_page=True)
        return took
    finally:
        context.close()


def time_compare(browser, url: str, runs: int, shots: Path | None = None) -> float:
    """Seconds from navigation to the comparison's chart with every run's curve drawn."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        started = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_function(
            """(runs) => {
                const plot = document.querySelector('.js-plotly-plot');
                return plot && plot.querySelectorAll('.scatterlayer .trace').length >= runs;
            }""",
            arg=runs,
            timeout=120_000,
            polling="raf",
        )
        took = time.perf_counter() - started
        if shots:
            page.screenshot(path=str(shots), full_page=True)
        return took
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the temporary STUDIO_HOME")
    parser.add_argument("--shots", type=Path, help="save screenshots of the pages measured in this folder")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="studio-ui-scale-"))
    home = root / "home"
    os.environ["STUDIO_HOME"] = str(home)
    for name in [
        k for k in os.environ if k.startswith("STUDIO_") and k not in ("STUDIO_HOME", "STUDIO_BASE_ENV_DIR")
    ]:
        del os.environ[name]
    started = time.perf_counter()
    seed_workspaces(args.jobs)
    print(f"seeded {args.jobs:,} + 100 jobs in {time.perf_counter() - started:.1f} s")
    proc, info = start_studio(home)
    try:
        os.environ["STUDIO_MLFLOW_URI"] = info["mlflow_uri"]
        started = time.perf_counter()
        names = seed_runs(info["mlflow_uri"], args.runs, args.steps)
        seed_runs(info["mlflow_uri"], 2, args.steps, TWO_EXPERIMENT, "two")  # the click baseline
        print(
            f"seeded {args.runs} runs x {args.steps} steps (log_batch) in {time.perf_counter() - started:.1f} s"
        )
        _measure(info["ui_url"].rstrip("/"), args, names)
    finally:
        stop_studio(proc)
        if not args.keep:
            import shutil

            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"kept {root}")


def time_jobs_click(browser, ui: str, workspace: str, newest: str, total: int) -> float:
    """Seconds from a click on "Jobs" in the sidebar of an app already open (on Home) to the Jobs table's
    row ``newest`` and its "of N" caption: navigation inside the app, as a user moves between pages."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(f"{ui}/?ws={workspace}")
        page.get_by_role("link", name="Jobs", exact=True).wait_for(timeout=60_000)
        page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')")
        page.wait_for_timeout(500)
        started = time.perf_counter()
        page.get_by_role("link", name="Jobs", exact=True).click()
        _wait_cell(page, newest, 60)
        page.get_by_text(f"of {total:,}", exact=False).first.wait_for(timeout=60_000)
        return time.perf_counter() - started
    finally:
        context.close()


def time_compare_click(browser, ui: str, experiment: str, runs: int) -> float:
    """Seconds from a click on "Compare all" (experiment ``experiment``) on the Jobs page, already open,
    to the comparison's chart with every run's curve drawn: navigation inside the app."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(f"{ui}/jobs?ws=default")
        picker = page.get_by_role("combobox", name="Experiment to compare")
        picker.wait_for(timeout=60_000)
        page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')")
        picker.click()
        page.get_by_role("option", name=experiment, exact=True).click()
        page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')")
        page.wait_for_timeout(500)
        started = time.perf_counter()
        page.get_by_role("button", name="Compare all").click()
        page.wait_for_function(
            """(runs) => {
                const plot = document.querySelector('.js-plotly-plot');
                return plot && plot.querySelectorAll('.scatterlayer .trace').length >= runs;
            }""",
            arg=runs,
            timeout=120_000,
            polling="raf",
        )
        return time.perf_counter() - started
    finally:
        context.close()


def _measure(ui: str, args, names: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    big_newest = names[-1]  # the comparison's jobs were created last: newest first
    width = max(6, len(str(args.jobs)))
    newest = f"job-{args.jobs:0{width}d}"  # the newest of the bulk jobs
    total = args.jobs + args.runs + 2  # and the two runs of the click baseline
    last_page = -(-total // 50)
    last_first = f"job-{total - (last_page - 1) * 50:0{width}d}"  # the last page's first row (oldest jobs)
    two = f"{ui}/jobs?ws=default&compare={names[0]},{names[1]}"
    many = f"{ui}/jobs?ws=default&experiment={COMPARE_EXPERIMENT}"
    repeat = range(args.repeat)
    rows: list[tuple[str, str, list[float]]] = []  # (group, label, seconds)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_FLAGS)
        try:
            time_jobs_page(browser, f"{ui}/jobs?ws=default", big_newest, total)  # Streamlit's first run
            small = f"{ui}/jobs?ws={SMALL_WORKSPACE}"
            rows += [
                (
                    "click",
                    "Jobs page, 100 jobs (baseline), sidebar click",
                    [time_jobs_click(browser, ui, SMALL_WORKSPACE, "job-000100", 100) for _ in repeat],
                ),
                (
                    "click",
                    f"Jobs page, {total:,} jobs, sidebar click",
                    [time_jobs_click(browser, ui, "default", big_newest, total) for _ in repeat],
                ),
                (
                    "load",
                    "Jobs page, 100 jobs (baseline), new tab",
                    [time_jobs_page(browser, small, "job-000100", 100) for _ in repeat],
                ),
                (
                    "load",
                    f"Jobs page, {total:,} jobs, new tab",
                    [time_jobs_page(browser, f"{ui}/jobs?ws=default", big_newest, total) for _ in repeat],
                ),
                (
                    "load",
                    f"Jobs page, {total:,} jobs, last page, new tab",
                    [
                        time_jobs_page(browser, f"{ui}/jobs?ws=default&page={last_page}", last_first, total)
                        for _ in repeat
                    ],
                ),
                (
                    "load",
                    f"Jobs page, {total:,} jobs, search {newest[:-2]!r}, new tab",
                    [
                        time_jobs_page(browser, f"{ui}/jobs?ws=default&q={newest[:-2]}", newest, None)
                        for _ in repeat
                    ],
                ),
                ("cold", "Compare 2 runs (baseline), first view", [time_compare(browser, two, 2)]),
                (
                    "cold",
                    f"Compare {args.runs} runs x {args.steps} steps, first view",
                    [time_compare(browser, many, args.runs)],
                ),
                (
                    "click-cmp",
                    "Compare 2 runs (baseline), Compare all click",
                    [time_compare_click(browser, ui, TWO_EXPERIMENT, 2) for _ in repeat],
                ),
                (
                    "click-cmp",
                    f"Compare {args.runs} runs x {args.steps} steps, Compare all click",
                    [time_compare_click(browser, ui, COMPARE_EXPERIMENT, args.runs) for _ in repeat],
                ),
                ("warm", "Compare 2 runs (baseline), again", [time_compare(browser, two, 2) for _ in repeat]),
                (
                    "warm",
                    f"Compare {args.runs} runs x {args.steps} steps, again",
                    [time_compare(browser, many, args.runs) for _ in repeat],
                ),
            ]
            if args.shots:
                args.shots.mkdir(parents=True, exist_ok=True)
                time_compare(browser, many, args.runs, args.shots / "compare.png")
                time_jobs_page(browser, f"{ui}/jobs?ws=default", big_newest, total, args.shots / "jobs.png")
        finally:
            browser.close()
    print()
    print(f"{'view':<58} {'median s':>9} {'min s':>7} {'max s':>7} {'x baseline':>11}")
    base: dict[str, float] = {}
    for group, label, times in rows:
        median = statistics.median(times)
        base.setdefault(group, median)  # each group's first row is its baseline
        print(
            f"{label:<58} {median:>9.3f} {min(times):>7.3f} {max(times):>7.3f} {median / base[group]:>11.2f}"
        )
    print(
        f"\n(median of {args.repeat} fresh browser tabs each, one for a first view; sidebar click -> table row; "
        "new tab: navigation -> table row; compare: navigation (new tab, or a click on Compare all on the open Jobs "
        "page) -> every curve drawn)"
    )


if __name__ == "__main__":
    main()
