"""Plotly figures and tables of a sweep: pure functions of a ``SweepView`` (no Streamlit), so tests can
check what each chart shows.

Colours follow the primary metric on one continuous scale, reversed for ``minimize`` so that the better
trials are always the bright ones.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from backend.services.sweeps import SweepView
from studio.ui.charts import (
    CHART_MARGIN,
    COLOR_SCALE,
    LEGEND_CAP,
    category_dimension,
    colorbar_trace,
    is_numeric,
    scale_positions,
    scatter,
)

TRIAL = "trial"
FIXED_COLUMNS = ("trial", "#", "status", "best", "intervals", "run time (s)", "canceled by policy", "note")
SCORED = ("Completed", "Canceled", "Running")  # statuses whose last value counts for the best (as get_sweep)
STATUS_MARKERS = {"Completed": "circle", "Canceled": "x", "Running": "diamond", "Failed": "square"}

__all__ = [
    "axis_columns",
    "importance_bar",
    "learning_curves",
    "metric_column",
    "metric_over_trials",
    "parallel_coordinates",
    "param_columns",
    "running_best",
    "scatter_figure",
    "trials_frame",
]


def _scale(goal: str) -> str:
    return COLOR_SCALE if goal == "maximize" else f"{COLOR_SCALE}_r"


def param_columns(view: SweepView) -> dict[str, str]:
    """Table/axis column of each hyperparameter (a name that clashes with a fixed column gets a suffix)."""
    names = list(dict.fromkeys([*view.search_space, *(k for t in view.trials for k in t.params)]))
    taken = {*FIXED_COLUMNS, view.primary_metric}
    return {n: f"{n} (param)" if n in taken else n for n in names}


def metric_column(view: SweepView) -> str:
    return (
        view.primary_metric if view.primary_metric not in FIXED_COLUMNS else f"{view.primary_metric} (metric)"
    )


def _cell(value: Any) -> Any:
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def _note(trial, metric: str) -> str:
    """Why a trial ended as it did, when the policy column does not say it."""
    if trial.canceled_by:
        return ""
    if trial.failure_reason:
        return trial.failure_reason.split("\n")[0]
    if trial.status == "Completed" and trial.metric is None:
        return f"never logged {metric!r}: not ranked"
    return ""


def trials_frame(view: SweepView) -> pd.DataFrame:
    """One row per trial: status, sampled values as columns, last primary-metric value, best marked, and
    the policy's reason for a trial it canceled."""
    params = param_columns(view)
    metric = metric_column(view)
    records = []
    for t in view.trials:
        record: dict[str, Any] = {"trial": t.name, "#": t.index, "status": t.status}
        record |= {col: _cell(t.params.get(p)) for p, col in params.items()}
        record[metric] = t.metric
        record |= {
            "best": t.is_best,
            "intervals": t.intervals,
            "run time (s)": None if t.runtime_s is None else round(t.runtime_s, 1),
            "canceled by policy": (t.canceled_by or {}).get("reason", ""),
            "note": _note(t, view.primary_metric),
        }
        records.append(record)
    columns = ["trial", "#", "status", *params.values(), metric, *FIXED_COLUMNS[3:]]
    frame = pd.DataFrame(records, columns=columns)
    for col in params.values():
        if frame[col].notna().any():
            converted = pd.to_numeric(frame[col], errors="coerce")
            if converted[frame[col].notna()].notna().all() and not frame[col].map(type).eq(bool).any():
                frame[col] = converted
            else:
                frame[col] = frame[col].astype(object).where(frame[col].isna(), frame[col].astype(str))
    frame[metric] = pd.to_numeric(frame[metric], errors="coerce")
    return frame


def axis_columns(view: SweepView) -> list[str]:
    """What a scatter plot can put on an axis: the parameters, the metric, run time and trial order."""
    return [*param_columns(view).values(), metric_column(view), "run time (s)", "intervals", "#"]


def running_best(view: SweepView) -> list[tuple[int, float | None]]:
    """(trial index, best value so far) in trial order, over the trials whose value counts."""
    better = max if view.goal == "maximize" else min
    best: float | None = None
    out = []
    for t in sorted(view.trials, key=lambda t: t.index):
        if t.metric is not None and t.status in SCORED and math.isfinite(t.metric):
            best = t.metric if best is None else better(best, t.metric)
        out.append((t.index, best))
    return out


def metric_over_trials(view: SweepView, *, height: int = 380) -> go.Figure:
    """The primary metric of each trial in the order trials started, with the running best as a step line."""
    fig = go.Figure()
    with_metric = [t for t in view.trials if t.metric is not None]
    for status in dict.fromkeys(t.status for t in with_metric):
        shown = [t for t in with_metric if t.status == status]
        fig.add_trace(
            go.Scatter(
                x=[t.index for t in shown],
                y=[t.metric for t in shown],
                mode="markers",
                name=status,
                marker={"symbol": STATUS_MARKERS.get(status, "circle"), "size": 10},
                customdata=[t.name for t in shown],
                hovertemplate=f"<b>%{{customdata}}</b><br>trial #%{{x}}<br>{view.primary_metric}: "
                f"%{{y:.6g}}<extra>{status}</extra>",
            )
        )
    best = [(i, v) for i, v in running_best(view) if v is not None]
    if best:
        fig.add_trace(
            go.Scatter(
                x=[i for i, _ in best],
                y=[v for _, v in best],
                mode="lines",
                name="best so far",
                line={"shape": "hv", "color": "black", "width": 2},
                hovertemplate=f"best after trial #%{{x}}: %{{y:.6g}}<extra>{view.goal}</extra>",
            )
        )
    return _layout(
        fig, f"{view.primary_metric} by trial ({view.goal})", "trial (in order of sampling)", view, height
    ).update_layout(
        xaxis={"dtick": 1} if len(view.trials) <= 30 else {}, legend={"orientation": "h", "y": -0.2}
    )


def _layout(fig: go.Figure, title: str, x_title: str, view: SweepView, height: int) -> go.Figure:
    """A chart of the primary metric (on the y axis) of a sweep's trials."""
    return fig.update_layout(
        title=title, height=height, margin=CHART_MARGIN, xaxis_title=x_title, yaxis_title=view.primary_metric
    )


def _colors(values: list[float | None], goal: str) -> list[str]:
    positions = scale_positions(values)
    return sample_colorscale(_scale(goal), positions) if positions else ["#636efa"] * len(values)


def learning_curves(
    view: SweepView, *, stopped: dict[str, dict[str, Any]] | None = None, height: int = 460
) -> go.Figure:
    """Every trial's primary metric over its intervals on one chart, coloured by its final value; trials a
    policy canceled are dashed. ``stopped`` (a what-if's trial -> {interval, reason}) marks where another
    policy would have stopped each trial, and fades the part of the curve it would not have run."""
    stopped = stopped or {}
    trials = [t for t in view.trials if view.curves.get(t.name)]
    fig = go.Figure()
    colors = _colors([t.metric for t in trials], view.goal)
    for i, (t, color) in enumerate(zip(trials, colors, strict=True)):
        values = view.curves[t.name]
        xs = list(range(1, len(values) + 1))
        cut = stopped.get(t.name, {}).get("interval")
        dash = "dash" if t.canceled_by else "solid"
        label = t.name + (" (canceled by policy)" if t.canceled_by else "")
        common = {"legendgroup": t.name, "line": {"color": color, "width": 2, "dash": dash}}
        hover = f"<b>{t.name}</b><br>interval %{{x}}<br>{view.primary_metric}: %{{y:.6g}}<extra>{t.status}</extra>"
        kept = len(values) if cut is None else min(cut, len(values))
        fig.add_trace(
            go.Scatter(
                x=xs[:kept],
                y=values[:kept],
                mode="lines+markers" if kept == 1 else "lines",
                name=label,
                showlegend=i < LEGEND_CAP,
                hovertemplate=hover,
                **common,
            )
        )
        if cut is not None and cut < len(values):
            fig.add_trace(
                go.Scatter(
                    x=xs[cut - 1 :],
                    y=values[cut - 1 :],
                    mode="lines",
                    opacity=0.25,
                    showlegend=False,
                    hovertemplate=hover,
                    **common,
                )
            )
    marks = [t for t in trials if stopped.get(t.name, {}).get("interval")]
    if marks:
        points = [(t, min(stopped[t.name]["interval"], len(view.curves[t.name]))) for t in marks]
        fig.add_trace(
            go.Scatter(
                x=[n for _, n in points],
                y=[view.curves[t.name][n - 1] for t, n in points],
                mode="markers",
                name="would stop here",
                marker={"symbol": "x", "size": 13, "color": "crimson", "line": {"width": 2}},
                customdata=[[t.name, stopped[t.name].get("reason", "")] for t, _ in points],
                hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]}<extra>what-if</extra>",
            )
        )
    known = [t.metric for t in trials if t.metric is not None and math.isfinite(t.metric)]
    if known:
        fig.add_trace(
            colorbar_trace(min(known), max(known), f"final {view.primary_metric}", scale=_scale(view.goal))
        )
    title = f"Learning curves: {view.primary_metric} per interval"
    # The colour bar takes the right side: the legend goes below.
    legend = {"orientation": "h", "y": -0.18, "font": {"size": 11}}
    return _layout(fig, title, "interval (n-th logged value)", view, height).update_layout(
        hovermode="closest", legend=legend
    )


def _category_order(view: SweepView, name: str, present: list[str]) -> list[str]:
    declared = [str(v) for v in (view.search_space.get(name) or {}).get("values", [])]
    return list(dict.fromkeys([*(d for d in declared if d in present), *sorted(present)]))


def parallel_coordinates(view: SweepView, *, height: int = 460) -> go.Figure:
    """A ``go.Parcoords`` of every trial with a metric: one axis per parameter (a categorical one shows its
    values as tick labels, in the search space's order) and the primary metric last, lines coloured by it."""
    frame = trials_frame(view)
    metric = metric_column(view)
    params = param_columns(view)
    frame = frame[frame[metric].notna()]
    dims = []
    for name, col in params.items():
        series = frame[col]
        if series.isna().all():
            continue
        if is_numeric(series):
            dims.append({"label": name, "values": series.astype(float).tolist()})
            continue
        text = series.astype(str)
        dims.append(category_dimension(name, text, _category_order(view, name, sorted(text.unique()))))
    values = frame[metric].astype(float).tolist()
    dims.append({"label": view.primary_metric, "values": values})
    line: dict[str, Any] = {"color": "#636efa"}
    if values:
        line = {
            "color": values,
            "colorscale": _scale(view.goal),
            "showscale": True,
            "colorbar": {"title": {"text": view.primary_metric}, "thickness": 12},
        }
    left_out = len(view.trials) - len(frame)
    title = f"{len(frame)} trials" + (
        f" ({left_out} without {view.primary_metric} left out)" if left_out else ""
    )
    fig = go.Figure(
        go.Parcoords(
            line=line,
            dimensions=dims,
            labelangle=0 if len(dims) <= 6 else -20,
            labelside="top",
            labelfont={"size": 13},
            tickfont={"size": 11},
        )
    )
    fig.update_layout(
        height=height,
        margin={"l": 60, "r": 60, "t": 110, "b": 30},
        title={"text": title, "font": {"size": 13}},
    )
    return fig


def scatter_figure(
    view: SweepView, *, x: str, y: str, z: str | None = None, color: str | None = None, height: int = 520
) -> go.Figure:
    """A 2-D (or, with ``z``, 3-D) scatter of the trials on any of ``axis_columns(view)``."""
    frame = trials_frame(view)
    wanted = list(dict.fromkeys([x, y, *([z] if z else []), *([color] if color else [])]))
    data = frame.dropna(subset=wanted)
    fig = scatter(data, x=x, y=y, z=z, color=color, label=TRIAL, height=height)
    if color and is_numeric(data[color]) and color == metric_column(view):
        fig.update_traces(marker={"colorscale": _scale(view.goal)})
    left_out = len(frame) - len(data)
    if left_out:
        fig.update_layout(title=f"{left_out} trial(s) without a value on every chosen axis left out")
    return fig


def importance_bar(
    importances: dict[str, float], *, evaluator: str = "", height: int | None = None
) -> go.Figure:
    """Horizontal bars, the most important parameter on top."""
    ranked = sorted(importances.items(), key=lambda kv: kv[1])
    fig = go.Figure(
        go.Bar(
            x=[v for _, v in ranked],
            y=[k for k, _ in ranked],
            orientation="h",
            text=[f"{v:.0%}" for _, v in ranked],
            textposition="auto",
            marker={"color": "#636efa"},
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"Hyperparameter importance ({evaluator})" if evaluator else "Hyperparameter importance",
        height=height or max(220, 70 + 40 * len(ranked)),
        margin=CHART_MARGIN,
        xaxis={"title": "share of the explained variation", "tickformat": ".0%", "range": [0, 1]},
    )
    return fig
