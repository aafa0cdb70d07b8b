"""Plotly figures of a benchmark's results (``benchmark.json``'s ``models``) and the Pareto front of
quality against cost. Every function takes the plain dicts of the artifact and skips what is missing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from backend.runtime.modelbench.evaluators import JUDGE_METRICS
from studio.ui.benchmarks import numbers
from studio.ui.benchmarks.leaderboard import shown_metrics

MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}
SOURCE_COLORS = {"computed": "#1f77b4", "judge": "#2ca02c", "fallback": "#ff7f0e"}
FRONT_COLOR = "#d62728"


def pareto_front(points: Mapping[str, tuple[float | None, float | None]]) -> list[str]:
    """The models no other model dominates, by cost ascending: ``points`` maps a model to (cost, quality);
    lower cost and higher quality are better, and a model is dominated by one at least as good on both and
    better on one. Models without both values are left out."""
    known = {m: (c, q) for m, (c, q) in points.items() if numbers.finite(c) and numbers.finite(q)}
    front = [
        m
        for m, (c, q) in known.items()
        if not any(oc <= c and oq >= q and (oc < c or oq > q) for o, (oc, oq) in known.items() if o != m)
    ]
    return sorted(front, key=lambda m: (known[m][0], -known[m][1]))


def _metric(results: dict[str, Any], model: str, metric: str) -> dict[str, Any]:
    return ((results.get("models") or {}).get(model) or {}).get(metric) or {}


def _layout(fig: go.Figure, title: str, height: int = 340) -> go.Figure:
    fig.update_layout(title=title, height=height, margin=MARGIN, showlegend=False)
    return fig


def metric_bars(results: dict[str, Any], metric: str) -> go.Figure | None:
    """A bar per model for one metric, coloured by where the value came from (None when no model has it)."""
    models = [
        m for m in results.get("models") or {} if numbers.finite(_metric(results, m, metric).get("value"))
    ]
    if not models:
        return None
    values = [_metric(results, m, metric) for m in models]
    fig = go.Figure(
        go.Bar(
            x=models,
            y=[v["value"] for v in values],
            marker_color=[SOURCE_COLORS.get(v.get("source"), "#7f7f7f") for v in values],
            customdata=[v.get("source") for v in values],
            hovertemplate="%{x}: %{y:.3f} (%{customdata})<extra></extra>",
        )
    )
    if metric in JUDGE_METRICS:
        fig.update_yaxes(range=[0, 5.2])
    elif metric in ("accuracy", "f1", "quality_index"):
        fig.update_yaxes(range=[0, 1.05])
    return _layout(fig, numbers.label(metric))


def quality_cost_scatter(results: dict[str, Any]) -> go.Figure | None:
    """Quality index against cost, a point per model, the Pareto front drawn as a line through its models."""
    points = {
        m: (_metric(results, m, "cost").get("value"), _metric(results, m, "quality_index").get("value"))
        for m in results.get("models") or {}
    }
    shown = {m: p for m, p in points.items() if numbers.finite(p[0]) and numbers.finite(p[1])}
    if not shown:
        return None
    front = pareto_front(shown)
    fig = go.Figure(
        go.Scatter(
            x=[p[0] for p in shown.values()],
            y=[p[1] for p in shown.values()],
            mode="markers+text",
            text=list(shown),
            textposition="top center",
            marker={"size": 12, "color": ["#d62728" if m in front else "#1f77b4" for m in shown]},
            hovertemplate="%{text}<br>cost %{x:.6f}<br>quality %{y:.3f}<extra></extra>",
            name="models",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[shown[m][0] for m in front],
            y=[shown[m][1] for m in front],
            mode="lines",
            line={"color": FRONT_COLOR, "dash": "dash"},
            name="Pareto front",
            hoverinfo="skip",
        )
    )
    fig.update_layout(xaxis_title="Cost (total over the items)", yaxis_title="Quality index (0-1)")
    return _layout(fig, "Quality against cost", height=420)


def charts_tab(results: dict[str, Any]) -> None:
    metrics = [*shown_metrics(results), "quality_index"]
    columns = st.columns(2)
    drawn = 0
    for metric in metrics:
        fig = metric_bars(results, metric)
        if fig is not None:
            columns[drawn % 2].plotly_chart(fig, key=f"bench_bar_{metric}")
            drawn += 1
    st.caption(
        "Bars: blue computed, green the judge's scores, orange a fallback's (a quality index too, when a "
        "fallback's score is among its inputs)."
    )
    scatter = quality_cost_scatter(results)
    if scatter is None:
        st.info("No model has both a quality index and a cost: the scatter needs both.")
    else:
        st.plotly_chart(scatter, key="bench_pareto")
        points = {
            m: (_metric(results, m, "cost").get("value"), _metric(results, m, "quality_index").get("value"))
            for m in results.get("models") or {}
        }
        st.caption(
            "The Pareto front (red): models no other model beats on both lower cost and higher quality: "
            + ", ".join(pareto_front(points))
        )
    left, right = st.columns(2)
    for where, metric in ((left, "latency_p50_s"), (right, "tokens_per_s")):
        fig = metric_bars(results, metric)
        if fig is not None:
            where.plotly_chart(fig, key=f"bench_bar_{metric}")
