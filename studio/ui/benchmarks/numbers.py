"""Number and metric-name formatting of the benchmark views (no service import, so the pure tables and
figures built from it can be tested alone)."""

from __future__ import annotations

from studio.ui import charts

LABELS = {
    "f1": "F1",
    "quality_index": "Quality index",
    "latency_p50_s": "Latency p50 (s)",
    "tokens_per_s": "Tokens/s",
    "cost": "Cost",
}


finite, number = charts.finite, charts.number


def label(metric: str) -> str:
    return LABELS.get(metric) or metric.replace("_", " ").capitalize()
