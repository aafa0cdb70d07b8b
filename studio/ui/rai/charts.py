"""Plotly figures of the Responsible AI views, built from the insight parts' JSON (see
``backend/runtime/rai``): every function takes the plain dicts a part returns and tolerates missing keys,
so a part written by a newer job (or a cloud pipeline) draws what it can instead of failing."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from studio.ui import charts as studio_charts

MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}
ERROR_SCALE = "Reds"
GAP_COLOR = "#d62728"
FAIRNESS_METRICS = {
    "selection_rate": "Selection rate",
    "accuracy": "Accuracy",
    "false_positive_rate": "False positive rate",
    "false_negative_rate": "False negative rate",
    "mae": "Mean absolute error",
    "rmse": "RMSE",
    "r2": "R²",
    "mean_prediction": "Mean prediction",
}


def _layout(fig: go.Figure, title: str | None = None, height: int = 380) -> go.Figure:
    fig.update_layout(title=title, height=height, margin=MARGIN)
    return fig


def confusion_matrix(matrix: dict) -> go.Figure:
    """The confusion matrix as a heat map: rows the true labels, columns the predicted ones."""
    labels = [str(v) for v in matrix.get("labels") or []]
    z = matrix.get("matrix") or []
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"predicted {v}" for v in labels],
            y=[f"true {v}" for v in labels],
            text=z,
            texttemplate="%{text}",
            colorscale="Blues",
            showscale=False,
            hovertemplate="%{y}, %{x}: %{z}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, "Confusion matrix", height=320)


def metrics_by_group(by_group: dict[str, dict], metrics: list[str], feature: str) -> go.Figure:
    """Grouped bars: one bar per group for each metric (the overview's per-group metrics)."""
    fig = go.Figure()
    for group, values in by_group.items():
        shown = [m for m in metrics if studio_charts.finite(values.get(m))]
        fig.add_trace(
            go.Bar(
                name=str(group),
                x=shown,
                y=[values[m] for m in shown],
                hovertemplate="%{x}: %{y:.4f}<extra>" + str(group) + "</extra>",
            )
        )
    fig.update_layout(barmode="group", legend_title_text=feature, yaxis_title="value")
    return _layout(fig, f"Metrics by {feature}")


def fairness_bars(part: dict, metrics: list[str]) -> go.Figure:
    """One panel per metric: a bar per group, dashed lines at the lowest and highest group and the gap
    between them (the difference Fairlearn reports) written on the panel."""
    by_group = part.get("by_group") or {}
    groups = list(by_group)
    shown = [m for m in metrics if any(studio_charts.finite((by_group[g] or {}).get(m)) for g in groups)]
    cols = 2 if len(shown) > 1 else 1
    rows = max(1, math.ceil(len(shown) / cols))
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[FAIRNESS_METRICS.get(m, m) for m in shown],
        vertical_spacing=0.18,
        horizontal_spacing=0.08,
    )
    for i, metric in enumerate(shown):
        row, col = i // cols + 1, i % cols + 1
        values = [(by_group[g] or {}).get(metric) for g in groups]
        counts = [(by_group[g] or {}).get("count") for g in groups]
        fig.add_trace(
            go.Bar(
                x=groups,
                y=values,
                text=[f"{v:.3f}" if studio_charts.finite(v) else "" for v in values],
                textposition="outside",
                customdata=counts,
                hovertemplate="%{x}: %{y:.4f}<br>rows: %{customdata}<extra></extra>",
                marker_color="#4c78a8",
                showlegend=False,
            ),
            row=row,
            col=col,
        )
        known = [v for v in values if studio_charts.finite(v)]
        if len(known) < 2:
            continue
        low, high = min(known), max(known)
        for level in (low, high):
            fig.add_hline(y=level, line_dash="dash", line_color=GAP_COLOR, line_width=1, row=row, col=col)
        gap = (part.get("difference") or {}).get(metric, high - low)
        fig.add_annotation(
            text=f"gap {gap:.3f}" if studio_charts.finite(gap) else "gap",
            x=1,
            xref="x domain" if i == 0 else f"x{i + 1} domain",
            y=high,
            yref="y" if i == 0 else f"y{i + 1}",
            xanchor="right",
            yanchor="bottom",
            showarrow=False,
            font={"color": GAP_COLOR},
        )
        fig.update_yaxes(range=[0, max(1.0, high * 1.2)] if low >= 0 else None, row=row, col=col)
    return _layout(fig, None, height=330 * rows)


def error_tree(nodes: list[dict], *, kind: str = "treemap", metric: str = "error_rate") -> go.Figure:
    """The error tree's nodes, area = rows, colour = error rate (red is worse); hover says the node's
    cohort, its size, errors and error rate."""
    ids = [str(n["id"]) for n in nodes]
    parents = ["" if n.get("parent") is None else str(n["parent"]) for n in nodes]
    labels = [n.get("condition") or "All data" for n in nodes]
    rates = [n.get(metric) if studio_charts.finite(n.get(metric)) else 0.0 for n in nodes]
    custom = [
        [
            cohort_text(n),
            n.get("size"),
            n.get("errors"),
            n.get(metric) if studio_charts.finite(n.get(metric)) else float("nan"),
        ]
        for n in nodes
    ]
    trace = go.Treemap if kind == "treemap" else go.Sunburst
    common = {
        "ids": ids,
        "labels": labels,
        "parents": parents,
        "values": [n.get("size") or 0 for n in nodes],
        "branchvalues": "total",
        "marker": {
            "colors": rates,
            "colorscale": ERROR_SCALE,
            "cmin": 0,
            "cmax": max(rates or [1]) or 1,
            "colorbar": {"title": metric.replace("_", " ")},
        },
        "customdata": custom,
        "texttemplate": "%{label}<br>" + metric.replace("_", " ") + " %{customdata[3]:.3f}",
        "hovertemplate": (
            "<b>%{customdata[0]}</b><br>rows: %{customdata[1]}<br>errors: %{customdata[2]}"
            "<br>" + metric.replace("_", " ") + ": %{customdata[3]:.3f}<extra></extra>"
        ),
    }
    fig = go.Figure(trace(**common, **({"maxdepth": -1} if kind == "treemap" else {})))
    return _layout(fig, None, height=520)


def cohort_text(node: dict) -> str:
    filters = node.get("filters") or []
    if not filters:
        return "all rows"
    return " and ".join(_filter_text(f) for f in filters)


def _filter_text(f: dict) -> str:
    value = f.get("value")
    if isinstance(value, float):
        value = f"{value:.4g}"
    elif isinstance(value, list):
        value = "[" + ", ".join(str(v) for v in value) + "]"
    return f"{f.get('column')} {f.get('op')} {value}"


def error_heatmap(heatmap: dict) -> go.Figure:
    """Error rate over one or two columns' bins; each cell says its rate and its rows."""
    columns = heatmap.get("columns") or []
    rates = heatmap.get("error_rate") or []
    counts = heatmap.get("count") or []
    text = [
        [f"{r:.2f}<br>n={c}" if studio_charts.finite(r) else f"n={c}" for r, c in zip(rr, cc, strict=False)]
        for rr, cc in zip(rates, counts, strict=False)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=rates,
            x=heatmap.get("x"),
            y=heatmap.get("y") or [""],
            text=text,
            texttemplate="%{text}",
            colorscale=ERROR_SCALE,
            zmin=0,
            colorbar={"title": "error rate"},
            hovertemplate="%{y} / %{x}<br>%{text}<extra></extra>",
        )
    )
    fig.update_xaxes(title=columns[0] if columns else None)
    fig.update_yaxes(title=columns[1] if len(columns) > 1 else None)
    return _layout(fig, "Error rate by " + " and ".join(columns), height=420)


def importance_bars(global_part: dict, top: int = 20) -> go.Figure:
    """Mean permutation importance with one standard deviation as error bars, largest on top."""
    features = global_part.get("features") or {}
    ranking = global_part.get("ranking") or sorted(features, key=lambda f: -(features[f].get("mean") or 0))
    shown = list(reversed(ranking[:top]))
    fig = go.Figure(
        go.Bar(
            x=[features[f].get("mean") for f in shown],
            y=shown,
            orientation="h",
            error_x={"type": "data", "array": [features[f].get("std") or 0 for f in shown]},
            marker_color="#4c78a8",
            hovertemplate="%{y}: %{x:.4f}<extra></extra>",
        )
    )
    fig.update_xaxes(title=f"drop in {global_part.get('scoring', 'score')} when shuffled")
    return _layout(fig, "Global importance", height=max(300, 28 * len(shown) + 120))


def local_waterfall(row: dict, output: str = "prediction") -> go.Figure:
    """One row's contributions from the base value to its prediction, largest changes first."""
    contributions = row.get("contributions") or {}
    values = row.get("values") or {}
    order = sorted(contributions, key=lambda f: -abs(contributions[f] or 0))
    fig = go.Figure(
        go.Waterfall(
            orientation="h",
            measure=["absolute", *["relative"] * len(order), "total"],
            y=["base value", *[f"{f} = {values.get(f, '')}" for f in order], "prediction"],
            x=[row.get("base_value") or 0, *[contributions[f] or 0 for f in order], 0],
            increasing={"marker": {"color": "#2ca02c"}},
            decreasing={"marker": {"color": GAP_COLOR}},
            totals={"marker": {"color": "#4c78a8"}},
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title=output)
    return _layout(fig, f"Row {row.get('index')}: {output}", height=max(300, 30 * len(order) + 140))


def causal_effects(effects: list[dict]) -> go.Figure:
    """Each treatment's effect as a point with its confidence interval; the zero line is no effect."""
    names = [f"{e.get('feature')} ({e.get('unit') or e.get('level') or ''})" for e in effects]
    points = [e.get("point") for e in effects]
    upper = [
        (e["ci_upper"] - e["point"])
        if studio_charts.finite(e.get("ci_upper")) and studio_charts.finite(e.get("point"))
        else 0
        for e in effects
    ]
    lower = [
        (e["point"] - e["ci_lower"])
        if studio_charts.finite(e.get("ci_lower")) and studio_charts.finite(e.get("point"))
        else 0
        for e in effects
    ]
    fig = go.Figure(
        go.Scatter(
            x=points,
            y=names,
            mode="markers",
            marker={"size": 11, "color": "#4c78a8"},
            error_x={"type": "data", "symmetric": False, "array": upper, "arrayminus": lower},
            customdata=[[e.get("p_value"), e.get("stderr")] for e in effects],
            hovertemplate="%{y}: %{x:.4f}<br>p = %{customdata[0]:.3g}<br>stderr %{customdata[1]:.3g}"
            "<extra></extra>",
        )
    )
    fig.add_vline(x=0, line_dash="dash", line_color="gray")
    fig.update_xaxes(title="effect on the outcome")
    return _layout(fig, "Causal effects with confidence intervals", height=max(260, 50 * len(names) + 140))


def tradeoff(candidates: list[dict], metric: str | None) -> go.Figure:
    """Accuracy against disparity of each candidate; the original model (index 0) as a star."""
    original = [c for c in candidates if c.get("index") == 0]
    others = [c for c in candidates if c.get("index") != 0]
    fig = go.Figure()
    for group, name, marker in (
        (others, "candidates", {"size": 10, "color": "#4c78a8"}),
        (original, "original", {"size": 18, "color": GAP_COLOR, "symbol": "star"}),
    ):
        if group:
            fig.add_trace(
                go.Scatter(
                    x=[c.get("disparity") for c in group],
                    y=[c.get("accuracy") for c in group],
                    mode="markers+text",
                    text=[str(c.get("index")) for c in group],
                    textposition="top center",
                    name=name,
                    marker=marker,
                    customdata=[c.get("name") for c in group],
                    hovertemplate="%{customdata}<br>disparity %{x:.4f}<br>accuracy %{y:.4f}<extra></extra>",
                )
            )
    fig.update_xaxes(title=(metric or "disparity").replace("_", " ") + " (lower is fairer)")
    fig.update_yaxes(title="accuracy")
    return _layout(fig, "Accuracy / disparity trade-off", height=420)


def distribution(frame: pd.DataFrame, column: str, by: str, *, categorical: bool) -> go.Figure:
    """``column``'s distribution split by ``by`` (the target or the prediction): overlaid histograms
    for numbers, grouped bars of counts for categories."""
    fig = go.Figure()
    for value, part in frame.groupby(by, sort=True):
        if categorical:
            counts = part[column].astype(str).value_counts().sort_index()
            fig.add_trace(go.Bar(x=counts.index, y=counts.values, name=f"{by} = {value}"))
        else:
            fig.add_trace(go.Histogram(x=part[column], name=f"{by} = {value}", opacity=0.6, nbinsx=30))
    fig.update_layout(barmode="group" if categorical else "overlay", legend_title_text=by)
    fig.update_xaxes(title=column)
    fig.update_yaxes(title="rows")
    return _layout(fig, f"{column} by {by}", height=360)
