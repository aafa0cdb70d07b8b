"""The Leaderboard tab: every model x metric from ``benchmark.json`` (``evaluators.aggregate``), each cell
saying where its value came from, and the table as CSV with the sources as columns of their own."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from backend.runtime.modelbench.evaluators import JUDGE_METRICS, QUALITY_METRICS
from studio.ui.benchmarks import numbers

PERFORMANCE = ("cost", "latency_p50_s", "tokens_per_s")


def shown_metrics(results: dict[str, Any]) -> list[str]:
    """The quality metrics the benchmark asked for (every one when it does not say), in the index's order."""
    wanted = results.get("metrics") or QUALITY_METRICS
    return [m for m in QUALITY_METRICS if m in wanted]


def cell(metric: dict[str, Any] | None) -> str:
    """One metric as a table cell: judge scores and fallbacks say so, an empty metric why it is empty."""
    metric = metric or {}
    value, source = metric.get("value"), metric.get("source")
    if not numbers.finite(value):
        return metric.get("note") or "–"
    text = numbers.number(value, 2 if source in ("judge", "fallback") else 3)
    if source in ("judge", "fallback"):
        text += f" ({source})"
    if metric.get("unparsable"):
        text += f" · {metric['unparsable']} unparsable"
    return text


def _value(metric: dict[str, Any] | None) -> float | None:
    value = (metric or {}).get("value")
    return value if numbers.finite(value) else None


def leaderboard_frame(results: dict[str, Any]) -> pd.DataFrame:
    """A row per model: judge metrics as marked text ("3.80 (judge)", "needs a judge"), computed ones as
    numbers (so they sort), the quality index with the metrics that went into it."""
    rows = []
    for model, metrics in (results.get("models") or {}).items():
        row: dict[str, Any] = {"model": model}
        for name in shown_metrics(results):
            m = metrics.get(name)
            row[numbers.label(name)] = cell(m) if name in JUDGE_METRICS else _value(m)
        quality = metrics.get("quality_index") or {}
        row["Quality index"] = _value(quality)
        row["Quality inputs"] = ", ".join(numbers.label(m) for m in quality.get("inputs") or []) or "–"
        for name in PERFORMANCE:
            row[numbers.label(name)] = _value(metrics.get(name))
        rows.append(row)
    frame = pd.DataFrame(rows)
    if not frame.empty and frame["Quality index"].notna().any():
        frame = frame.sort_values("Quality index", ascending=False, na_position="last")
    return frame.reset_index(drop=True)


def csv_frame(results: dict[str, Any]) -> pd.DataFrame:
    """The leaderboard for a download: every metric's value, source and count as columns of their own."""
    rows = []
    for model, metrics in (results.get("models") or {}).items():
        row: dict[str, Any] = {"model": model}
        for name, metric in metrics.items():
            row[name] = metric.get("value")
            row[f"{name}_source"] = metric.get("source")
            if "n" in metric:
                row[f"{name}_n"] = metric["n"]
            if metric.get("note"):
                row[f"{name}_note"] = metric["note"]
            if "unparsable" in metric:
                row[f"{name}_unparsable"] = metric["unparsable"]
            if "inputs" in metric:
                row[f"{name}_inputs"] = " ".join(metric["inputs"])
        rows.append(row)
    return pd.DataFrame(rows)


def leaderboard_tab(results: dict[str, Any]) -> None:
    frame = leaderboard_frame(results)
    if frame.empty:
        st.info("No model has results yet.")
        return
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        key="bench_leaderboard",
        column_config={
            "Accuracy": st.column_config.NumberColumn(format="%.3f"),
            "F1": st.column_config.NumberColumn(format="%.3f"),
            "Quality index": st.column_config.ProgressColumn(format="%.3f", min_value=0.0, max_value=1.0),
            "Cost": st.column_config.NumberColumn(format="%.6f", help="Total over the items, judge excluded"),
            "Latency p50 (s)": st.column_config.NumberColumn(format="%.2f"),
            "Tokens/s": st.column_config.NumberColumn(format="%.1f"),
        },
    )
    judge = results.get("judge")
    st.caption(
        "Click a header to sort. Judge metrics are means of 1-5 scores: “(judge)” from "
        + (f"the judge `{judge}`" if judge else "a judge")
        + ", “(fallback)” from an offline stand-in (embedding similarity, per-sentence support); "
        "“needs a judge” has no fallback. The quality index is the mean of the listed metrics on 0-1 "
        "(a score s as (s - 1) / 4); missing ones are left out, never counted as 0."
    )
    st.download_button(
        "Download the leaderboard (CSV)",
        csv_frame(results).to_csv(index=False).encode(),
        file_name=f"{results.get('name') or 'benchmark'}-leaderboard.csv",
        mime="text/csv",
        icon=":material/download:",
        key="bench_leaderboard_csv",
    )
