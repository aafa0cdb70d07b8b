"""What early termination saves, and what the sweep controller costs.

    .venv/bin/python bench/sweep_policy.py [--trials 40] [--intervals 10] [--interval-s 0.1]

Starts its own ``studio up --headless`` (free ports, temporary STUDIO_HOME) and runs the same random
sweep twice: ``--trials`` trials, ``max_concurrent_trials: 2``, of a script that logs a learning curve
that depends only on its parameters (through MLflow's REST API, so no trial pays for ``import mlflow``):
once without a policy, once with a bandit policy (slack_factor 0.2, delay 3). For each run it prints the
sweep's wall time next to the sum of the trial scripts' own run times divided by the concurrency (the
time the trials alone would need), the ratio of the two (the controller's overhead), the compute used
and the compute saved as the sweep reports it, how many trials the policy stopped, and the best metric.
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from job_launch import start_studio, stop_studio  # noqa: E402

from backend.statuses import TERMINAL  # noqa: E402

TRIAL = """
import json, os, sys, time, urllib.request
lr, depth, steps, pause = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
started = time.monotonic()
url = os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/runs/log-metric"
for step in range(steps):
    # A curve that rises to a ceiling set by the parameters (deterministic: no randomness).
    value = (1 - abs(lr - 0.3)) * (0.5 + depth / 20) * (1 - 0.8 ** (step + 1))
    body = json.dumps({"run_id": os.environ["MLFLOW_RUN_ID"], "key": "accuracy", "value": value,
                       "timestamp": int(time.time() * 1000), "step": step}).encode()
    urllib.request.urlopen(urllib.request.Request(url, body, {"Content-Type": "application/json"})).read()
    time.sleep(pause)
print(f"script_seconds={time.monotonic() - started:.4f}")
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
        limits: {{max_total_trials: {trials}, max_concurrent_trials: 2}}
    """
    if policy:
        text += "    early_termination: {type: bandit, slack_factor: 0.2, delay_evaluation: 3}\n"
    return textwrap.dedent(text)


def run_sweep(folder: Path, text: str) -> dict:
    from backend.services import jobs, open_session, sweeps

    (folder / "sweep.yml").write_text(text)
    started = time.monotonic()
    with open_session() as s:
        job = jobs.create_job_from_file(session=s, workspace="default", file=folder / "sweep.yml")
    while True:
        with open_session() as s:
            current = jobs.get_job(session=s, workspace="default", name=job.name)
        if current.status in TERMINAL:
            break
        time.sleep(0.2)
    wall = time.monotonic() - started
    with open_session() as s:
        view = sweeps.get_sweep(session=s, workspace="default", name=job.name)
    scripts = []
    for trial in view.trials:
        text, _ = jobs.read_log(workspace="default", name=trial.name)
        scripts += [
            float(line.split("=")[1]) for line in text.splitlines() if line.startswith("script_seconds=")
        ]
    best = next((t for t in view.trials if t.is_best), None)
    return {
        "status": current.status,
        "wall": wall,
        "script_sum": sum(scripts),
        "trials": len(view.trials),
        "stopped": sum(1 for t in view.trials if t.canceled_by),
        "used": view.compute_used_s,
        "saved": view.compute_saved_s,
        "best": best.metric if best else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--intervals", type=int, default=10)
    parser.add_argument("--interval-s", type=float, default=0.1)
    args = parser.parse_args()
    import os

    with tempfile.TemporaryDirectory(prefix="studio-bench-sweep-") as tmp:
        home = Path(tmp) / "home"
        os.environ["STUDIO_HOME"] = str(home)
        proc = start_studio(home)
        try:
            (Path(tmp) / "src").mkdir()
            (Path(tmp) / "src" / "trial.py").write_text(TRIAL)
            results = {}
            for label, policy in (("no policy", False), ("bandit", True)):
                results[label] = run_sweep(
                    Path(tmp), sweep_yaml(args.trials, args.intervals, args.interval_s, policy)
                )
        finally:
            stop_studio(proc)
    print(f"\n{args.trials} trials x {args.intervals} intervals of {args.interval_s}s, 2 at a time\n")
    print(
        f"{'run':<10} {'status':<10} {'wall s':>8} {'scripts/2 s':>11} {'overhead':>9} "
        f"{'used s':>8} {'saved s':>8} {'stopped':>8} {'best':>8}"
    )
    for label, r in results.items():
        ideal = r["script_sum"] / 2
        print(
            f"{label:<10} {r['status']:<10} {r['wall']:>8.1f} {ideal:>11.1f} {r['wall'] / ideal:>8.2f}x "
            f"{r['used']:>8.1f} {r['saved']:>8.1f} {r['stopped']:>8} {r['best'] or float('nan'):>8.4f}"
        )


if __name__ == "__main__":
    main()
