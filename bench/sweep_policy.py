"""What early termination saves, and what the sweep controller costs, for 1 s and 5 s trials.

    .venv/bin/python bench/sweep_policy.py                  # 40 trials of 1 s (10 intervals of 0.1 s)
    .venv/bin/python bench/sweep_policy.py --both           # and 12 trials of 5 s (10 intervals of 0.5 s)
    .venv/bin/python bench/sweep_policy.py --interval-s 0.5 --trials 12   # one configuration of your own

Starts its own ``studio up --headless`` (free ports, temporary STUDIO_HOME) and, for each configuration,
runs the same random sweep twice: ``max_concurrent_trials: 2``, of a script that logs a learning curve
that depends only on its parameters (through MLflow's REST API, so no trial pays for ``import mlflow``):
once without a policy, once with a bandit policy (slack_factor 0.2, delay 3). For each run it prints the
sweep's wall time next to the sum of the trial scripts' own run times divided by the concurrency (the
time the trials alone would need), the ratio of the two (the controller's overhead), the policy run's
wall time over the no-policy run's, the compute used and saved as the sweep reports it, how many trials
the policy stopped, and the best metric. Then where the time between trials goes, from the trials' own
records (see bench/README.md). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import textwrap
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from job_launch import percentile, start_studio, stop_studio  # noqa: E402

from backend.statuses import TERMINAL  # noqa: E402

CONCURRENCY = 2
TRIAL = """
import time
started, script_started = time.monotonic(), time.time()  # the trial's own time: all of its code, imports too
import json, os, sys, urllib.request
lr, depth, steps, pause = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
print(f"script_started={script_started:.6f}", flush=True)
url = os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/runs/log-metric"
for step in range(steps):
    # A curve that rises to a ceiling set by the parameters (deterministic: no randomness).
    value = (1 - abs(lr - 0.3)) * (0.5 + depth / 20) * (1 - 0.8 ** (step + 1))
    body = json.dumps({"run_id": os.environ["MLFLOW_RUN_ID"], "key": "accuracy", "value": value,
                       "timestamp": int(time.time() * 1000), "step": step}).encode()
    urllib.request.urlopen(urllib.request.Request(url, body, {"Content-Type": "application/json"})).read()
    time.sleep(pause)
print(f"script_seconds={time.monotonic() - started:.4f}")
print(f"script_ended={time.time():.6f}")
"""


def sweep_yaml(trials: int, intervals: int, pause: float, policy: bool) -> str:
    text = f"""
        type: sweep
        trial:
          code: src
          command: python trial.py ${{{{search_space.lr}}}} ${{{{search_space.depth}}}} {intervals} {pause}
          environment: azureml:AzureML-sklearn-1.5@latest
        sampling_algorithm:
          type: random
          seed: 7
        search_space:
          lr: {{type: uniform, min_value: 0.01, max_value: 0.9}}
          depth: {{type: randint, upper: 10}}
        objective: {{goal: maximize, primary_metric: accuracy}}
        limits: {{max_total_trials: {trials}, max_concurrent_trials: {CONCURRENCY}}}
    """
    if policy:
        text += "    early_termination: {type: bandit, slack_factor: 0.2, delay_evaluation: 3}\n"
    return textwrap.dedent(text)


def _at(history: list[list[str]], status: str) -> float | None:
    return next((datetime.fromisoformat(t).timestamp() for s, t in history if s == status), None)


def _trial_times(name: str) -> dict:
    """One trial's moments (epoch seconds) from its own records: row, history, exit file and log."""
    from backend.agent.runner import read_exit
    from backend.services import jobs, open_session
    from backend.services.jobs import job_dir

    with open_session() as s:
        job = jobs.get_job(session=s, workspace="default", name=name)
    text, _ = jobs.read_log(workspace="default", name=name)
    values = dict(line.split("=", 1) for line in text.splitlines() if line.startswith("script_"))
    ended = read_exit(job_dir("default", name))
    settled = next((datetime.fromisoformat(t).timestamp() for s, t in job.history if s in TERMINAL), None)
    agent_log, _ = jobs.read_log(workspace="default", name=name, which="system_logs/agent.log")
    spawn = next((line.split(" ", 1)[0] for line in agent_log.splitlines() if " starting: " in line), None)
    return {
        "created": _at(job.history, "Queued"),
        "claimed": _at(job.history, "Preparing"),
        "spawn": datetime.fromisoformat(spawn).timestamp() if spawn else None,
        "start": job.start_time.timestamp() if job.start_time else None,
        "script": float(values["script_started"]) if "script_started" in values else None,
        "script_s": float(values["script_seconds"]) if "script_seconds" in values else None,
        "script_end": float(values["script_ended"]) if "script_ended" in values else None,
        "cancel": _at(job.history, "CancelRequested"),
        "exit": ended[1].timestamp() if ended else None,
        "settled": settled,
    }


def run_sweep(folder: Path, text: str) -> dict:
    from backend.services import job_files, jobs, open_session, sweeps

    (folder / "sweep.yml").write_text(text)
    started = time.monotonic()
    with open_session() as s:
        job = job_files.create_job_from_file(session=s, workspace="default", file=folder / "sweep.yml")
    while True:
        with open_session() as s:
            current = jobs.get_job(session=s, workspace="default", name=job.name)
        if current.status in TERMINAL:
            break
        time.sleep(0.2)
    wall = time.monotonic() - started  # replaced below by the sweep's own records when they are there
    with open_session() as s:
        view = sweeps.get_sweep(session=s, workspace="default", name=job.name)
    times = [_trial_times(t.name) for t in view.trials]
    history = view.job.history  # submission (the row's NotStarted) → the sweep's end, as the agent wrote it
    submitted = ended = None
    if history and history[-1][0] in TERMINAL:
        submitted = datetime.fromisoformat(history[0][1]).timestamp()
        ended = datetime.fromisoformat(history[-1][1]).timestamp()
        wall = ended - submitted
    best = next((t for t in view.trials if t.is_best), None)
    for t in view.trials:
        if t.status not in ("Completed", "Canceled"):
            print(f"{t.name} {t.status}: {t.failure_reason}", file=sys.stderr)
    return {
        "status": current.status,
        "wall": wall,
        "script_sum": sum(t["script_s"] or 0.0 for t in times),
        "times": times,
        "submitted": submitted,
        "ended": ended,
        "trials": len(view.trials),
        "stopped": sum(1 for t in view.trials if t.canceled_by),
        "used": view.compute_used_s,
        "saved": view.compute_saved_s,
        "best": best.metric if best else None,
    }


def bare_trial_s(folder: Path, intervals: int, pause: float, runs: int = 5) -> float:
    """Median wall time of the trial script run by hand (``python trial.py ...``, the curated environment's
    interpreter, no sandbox), logging to an MLflow run of its own: what one trial costs outside Studio."""
    import subprocess

    from backend.agent import tracking
    from backend.services import base_environment

    python = base_environment.ensure()
    run_id, _ = tracking.create_run(experiment="bare-trials", run_name="bare", tags={})
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking.tracking_uri(), "MLFLOW_RUN_ID": run_id}
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [str(python), "trial.py", "0.3", "5", str(intervals), str(pause)],
            cwd=folder / "src",
            env=env,
            check=True,
            capture_output=True,
        )
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _spans(
    times: list[dict], submitted: float | None = None, ended: float | None = None
) -> dict[str, list[float]]:
    """Where the time between trials goes (seconds, one value per trial or per slot hand-over), and the
    sweep's fixed costs: its submission → its first trial's start, its last trial gone → its own end."""
    found: dict[str, list[float]] = {}

    def add(label: str, first: float | None, then: float | None) -> None:
        if first is not None and then is not None:
            found.setdefault(label, []).append(then - first)

    for t in times:
        # A stopped trial's process is gone at its exit (its wrapper reports it) or, when nothing reported
        # it, when the agent found it gone and settled it.
        t["gone"] = t["exit"] if t["exit"] is not None else t["settled"]
        add("created → claimed", t["created"], t["claimed"])
        add("claimed → wrapper start", t["claimed"], t["start"])
        add("  claimed → prepared", t["claimed"], t["spawn"])
        add("  prepared → wrapper start", t["spawn"], t["start"])
        add("wrapper start → script", t["start"], t["script"])
        add("script end → exit", t["script_end"], t["exit"])
        add("cancel → gone (stopped)", t["cancel"], t["gone"])
        add("exit → settled", t["exit"], t["settled"])
    # A slot's hand-over: once the first CONCURRENCY trials run, the k-th trial to exit makes room for
    # the (k + CONCURRENCY)-th to start.
    exits = sorted(t["gone"] for t in times if t["gone"] is not None)
    starts = sorted(t["start"] for t in times if t["start"] is not None)
    for k in range(len(starts) - CONCURRENCY):
        if k < len(exits):
            found.setdefault("gone → next trial starts", []).append(starts[k + CONCURRENCY] - exits[k])
    if starts:
        add("submitted → first start", submitted, starts[0])
    if exits:
        add("last gone → sweep ended", exits[-1], ended)
    return found


def print_results(label: str, results: dict[str, dict], bare: float) -> None:
    print(f"\n{label}, {CONCURRENCY} at a time; one trial run by hand: {bare:.3f} s (median)\n")
    print(
        f"{'run':<10} {'status':<10} {'wall s':>8} {'scripts/2 s':>11} {'overhead':>9} {'bare/2 s':>9} "
        f"{'× bare':>7} {'vs none':>8} {'used s':>8} {'saved s':>8} {'stopped':>8} {'best':>8}"
    )
    baseline = results["no policy"]["wall"]
    for run, r in results.items():
        ideal = r["script_sum"] / CONCURRENCY
        by_hand = bare * r["trials"] / CONCURRENCY if run == "no policy" else float("nan")
        print(
            f"{run:<10} {r['status']:<10} {r['wall']:>8.1f} {ideal:>11.1f} {r['wall'] / ideal:>8.2f}x "
            f"{by_hand:>9.1f} {r['wall'] / by_hand:>6.2f}x {r['wall'] / baseline:>7.2f}x {r['used']:>8.1f} "
            f"{r['saved']:>8.1f} {r['stopped']:>8} {r['best'] or float('nan'):>8.4f}"
        )
    print(f"\n{'where the time goes (s)':<28}" + "".join(f"{run + ' median/p90':>24}" for run in results))
    spans = {run: _spans(r["times"], r.get("submitted"), r.get("ended")) for run, r in results.items()}
    labels = list(dict.fromkeys(k for found in spans.values() for k in found))
    for span in labels:
        cells = []
        for run in results:
            values = spans[run].get(span)
            cells.append(
                f"{statistics.median(values):>12.3f} /{percentile(values, 90):>6.3f} ({len(values):>2})"
                if values
                else f"{'-':>24}"
            )
        print(f"{span:<28}" + "".join(f"{c:>24}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--intervals", type=int, default=10)
    parser.add_argument("--interval-s", type=float, default=0.1)
    parser.add_argument("--both", action="store_true", help="also run --long-trials trials of 5 s")
    parser.add_argument("--long-trials", type=int, default=12)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    configs = [(args.trials, args.intervals, args.interval_s)]
    if args.both:
        configs.append((args.long_trials, 10, 0.5))
    everything = {}
    with tempfile.TemporaryDirectory(prefix="studio-bench-sweep-") as tmp:
        home = Path(tmp) / "home"
        os.environ["STUDIO_HOME"] = str(home)
        proc = start_studio(home)
        try:
            (Path(tmp) / "src").mkdir()
            (Path(tmp) / "src" / "trial.py").write_text(TRIAL)
            # Untimed: a 2-trial sweep, so that neither timed run pays for the studio's first sweep
            # (the agent's first MLflow calls and imports, the tracking server's first writes).
            warm = run_sweep(Path(tmp), sweep_yaml(2, 1, 0.1, False))
            print(f"warm-up sweep (2 trials, untimed): {warm['wall']:.1f} s", flush=True)
            for trials, intervals, pause in configs:
                label = f"{trials} trials of {intervals * pause:g} s ({intervals} intervals of {pause:g} s)"
                everything[label] = {
                    run: run_sweep(Path(tmp), sweep_yaml(trials, intervals, pause, policy))
                    for run, policy in (("no policy", False), ("bandit", True))
                }
                everything[label]["bare"] = bare_trial_s(Path(tmp), intervals, pause)
        finally:
            stop_studio(proc)
    for label, results in everything.items():
        bare = results.pop("bare")
        print_results(label, results, bare)
        results["bare"] = bare
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1, default=str))


if __name__ == "__main__":
    main()
