"""Responsible AI insights at 10k and 100k rows: time per part, next to raw Fairlearn ``MetricFrame``.

    .venv/bin/python bench/rai_scale.py [--rows 10000 100000] [--repeats 3]

The table is synthetic and shaped like the loan fixture (``tests/fixtures/rai``): its test rows, resampled
with replacement and jittered (numeric columns by 2 % of their standard deviation), up to the row count; the
model is the fixture's logistic-regression MLflow model. Both sides run in this process on the same frame:

- baseline: ``fairlearn.metrics.MetricFrame`` with the five metrics the fairness view shows (accuracy,
  selection rate, FPR, FNR, count), by ``sex`` and by ``age_band``, on precomputed predictions;
- Studio: ``backend/runtime/rai`` parts as the insight job runs them (``insights.compute``), after one
  ``prepare`` (reading is not timed; predicting is part of ``prepare`` and printed apart):
  model_overview (overall + per group), fairness (MetricFrame + the four disparity metrics, two
  sensitive features), error_analysis (surrogate tree depth 3 + heat map), data_analysis, and
  feature_importance (permutation, 5 repeats; 5 local rows).

Printed: seconds per part (best of ``--repeats``), the sum of overview + fairness + error analysis
(the issue's target: under 60 s at 100k rows), and each part's ratio to the MetricFrame baseline.
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from backend.runtime.rai import insights  # noqa: E402

FIXTURE = REPO / "tests" / "fixtures" / "rai"
NUMERIC = ["income", "debt_ratio", "credit_history_years", "loan_amount", "age"]
PARTS = ["model_overview", "fairness", "error_analysis", "data_analysis", "feature_importance"]
TARGET_PARTS = ["model_overview", "fairness", "error_analysis"]


def synthetic(rows: int, seed: int = 0) -> pd.DataFrame:
    base = pd.read_csv(FIXTURE / "test.csv")
    rng = np.random.default_rng(seed)
    frame = base.iloc[rng.integers(0, len(base), rows)].reset_index(drop=True)
    for column in NUMERIC:
        noise = rng.normal(0, 0.02 * base[column].std(), rows)
        frame[column] = (frame[column] + noise).clip(lower=base[column].min()).astype(base[column].dtype)
    return frame


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def metric_frame_baseline(frame: pd.DataFrame, y_pred: np.ndarray) -> None:
    from fairlearn.metrics import (
        MetricFrame,
        count,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
    )
    from sklearn.metrics import accuracy_score

    metrics = {
        "accuracy": accuracy_score,
        "selection_rate": selection_rate,
        "false_positive_rate": false_positive_rate,
        "false_negative_rate": false_negative_rate,
        "count": count,
    }
    for sf in ("sex", "age_band"):
        mf = MetricFrame(
            metrics=metrics, y_true=frame["approved"], y_pred=y_pred, sensitive_features=frame[sf]
        )
        mf.by_group, mf.difference(), mf.ratio()


def run(rows: int, repeats: int) -> dict[str, float]:
    frame = synthetic(rows)
    config = {
        "target_column": "approved",
        "task_type": "classification",
        "sensitive_features": ["sex", "age_band"],
        "categorical_features": ["employment_type", "region", "education"],
        "feature_importance": {"local_rows": [0, 1, 2, 3, 4]},
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "test.parquet"
        frame.to_parquet(path, index=False)
        started = time.perf_counter()
        analysis = insights.prepare(config, str(FIXTURE / "model_logreg"), str(path))
        timings = {"prepare (load model, predict)": time.perf_counter() - started}
    y_pred = analysis.rows["_y_pred"].to_numpy()
    timings["baseline: MetricFrame x2"] = best(lambda: metric_frame_baseline(frame, y_pred), repeats)
    for part in PARTS:
        timings[part] = best(
            lambda part=part: insights.COMPUTE[part](analysis), 1 if part == "feature_importance" else repeats
        )
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for rows in args.rows:
        timings = run(rows, args.repeats)
        baseline = timings["baseline: MetricFrame x2"]
        print(f"\n{rows:,} rows")
        for name, seconds in timings.items():
            ratio = (
                "" if name.startswith(("baseline", "prepare")) else f"{seconds / baseline:8.1f}x MetricFrame"
            )
            print(f"  {name:34s} {seconds:8.3f} s  {ratio}")
        target = sum(timings[p] for p in TARGET_PARTS)
        print(f"  {'overview + fairness + error analysis':34s} {target:8.3f} s  (target: < 60 s)")


if __name__ == "__main__":
    main()
