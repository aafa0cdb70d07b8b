"""Tabular benchmarks: registered classifiers or regressors scored on one test table, side by side.

Runs only inside a benchmark job, where the Responsible AI package is importable as ``rai`` (both live in
``backend/runtime``): models and tables are read as RAI reads them, metrics computed as RAI computes them.
Per model: accuracy, F1 and ROC AUC (classification) or RMSE, MAE and R² (regression), the time per 1,000
predictions (best of three passes over the table) and the cost per 1,000 predictions at the price given.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

METRIC_KEYS = {
    "accuracy": "accuracy",
    "f1": "f1",
    "roc_auc": "roc_auc",
    "rmse": "rmse",
    "mae": "mae",
    "r2": "r2",
}


def _metric(value: Any, source: str = "computed") -> dict[str, Any]:
    return {
        "value": None if value is None else float(value),
        "source": source if value is not None else "none",
    }


def _timed_predictions(predictor, frame) -> tuple[Any, float]:
    best, predictions = float("inf"), None
    for _ in range(3):
        started = time.perf_counter()
        predictions = predictor.predict(frame)
        best = min(best, time.perf_counter() - started)
    return predictions, best


def score_model(predictor, table, config: dict[str, Any], price: float | None) -> dict[str, Any]:
    from rai import metrics  # the job's sibling package

    target, task = config["target_column"], config["task"]
    frame = predictor.inputs(table.drop(columns=[target]))
    predictions, seconds = _timed_predictions(predictor, frame)
    proba = predictor.predict_proba(frame) if task == "classification" else None
    if proba is not None and proba.shape[1] == 2:
        proba = proba[:, 1]
    overall = metrics.model_overview(table[target].to_numpy(), predictions, proba, task=task)
    found = {m: _metric(overall.get(key)) for m, key in METRIC_KEYS.items() if m in config["metrics"]}
    per_1k = seconds / max(len(table), 1) * 1000
    found["latency_per_1k_s"] = _metric(per_1k)
    found["cost_per_1k"] = _metric(price) if price is not None else {"value": None, "source": "none"}
    found["rows"] = {"value": len(table), "source": "computed"}
    return found


def run(config: dict[str, Any], inputs: dict[str, str], out: Path) -> dict[str, Any]:
    from rai import frames

    table = frames.read_table(inputs["dataset"])
    if config["target_column"] not in table.columns:
        raise ValueError(f"target_column {config['target_column']!r} is not a column of the dataset")
    models: dict[str, Any] = {}
    for i, name in enumerate(config["models"]):
        predictor = frames.load_model(inputs[f"model_{i}"])
        prices = config.get("price_per_1k_predictions") or {}
        price = prices.get(name, prices.get(name.rsplit(":", 1)[0]))
        models[name] = score_model(predictor, table, config, price)
        print(f"[bench {i + 1}/{len(config['models'])}] {name} scored on {len(table)} rows", flush=True)
    results = {
        "format": 1,
        "kind": "tabular",
        "name": config.get("name"),
        "dataset": config.get("dataset"),
        "task": config["task"],
        "metrics": config["metrics"],
        "models": models,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmark.json").write_text(json.dumps(results, indent=1))
    return results
