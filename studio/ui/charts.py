"""Plotly helpers for jobs and run comparison: metric curves, parallel coordinates, scatter plots.

They stay readable with many runs: one continuous colour scale instead of a colour per run, a capped
legend (hover names every line), long curves thinned for drawing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from backend.statuses import JobStatus

COLOR_SCALE = "Viridis"
LEGEND_CAP = 12  # legend entries; the other lines are still drawn and named on hover
MAX_POINTS_PER_LINE = 2000  # points drawn per curve (smoothing uses every point)
MAX_CATEGORY_TICKS = 25
CHART_MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}

STATUS_COLORS = {
    JobStatus.COMPLETED: "green",
    JobStatus.FAILED: "red",
    JobStatus.CANCELED: "gray",
    JobStatus.CANCEL_REQUESTED: "orange",
    JobStatus.RUNNING: "blue",
    JobStatus.PREPARING: "violet",
    JobStatus.FINALIZING: "violet",
    JobStatus.QUEUED: "gray",
    JobStatus.NOT_STARTED: "gray",
}
STATUS_DOTS = {"green": "🟢", "red": "🔴", "gray": "⚪", "orange": "🟠", "blue": "🔵", "violet": "🟣"}
X_AXES = {"step": "Step", "relative": "Relative time (s)", "time": "Wall time"}


def status_color(status: str) -> str:
    """The colour of a status badge (``st.badge(status, color=...)``)."""
    return STATUS_COLORS.get(status, "gray")


def finite(value: object) -> bool:
    """A real number (not a bool, not NaN or infinite): what a table or chart can show."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def number(value: object, digits: int = 3) -> str:
    """A metric as text: "–" when missing, thousands separated, else ``digits`` decimals."""
    if isinstance(value, bool) or value is None:
        return "–"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.{digits}f}"
    return str(value)


def status_label(status: str) -> str:
    """A status with a coloured dot, for table cells (which cannot hold badges)."""
    return f"{STATUS_DOTS[status_color(status)]} {status}"


def ema(values: Sequence[float], weight: float) -> list[float]:
    """Exponential moving average, debiased at the start (as TensorBoard smooths); weight 0 keeps values."""
    if weight <= 0 or not values:
        return list(values)
    smoothed, last, count = [], 0.0, 0
    for value in values:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            smoothed.append(value)
            continue
        last = last * weight + (1 - weight) * value
        count += 1
        smoothed.append(last / (1 - weight**count))
    return smoothed


def _thin(x: list, y: list) -> tuple[list, list]:
    if len(x) <= MAX_POINTS_PER_LINE:
        return x, y
    stride = math.ceil(len(x) / MAX_POINTS_PER_LINE)
    keep = list(range(0, len(x), stride))
    if keep[-1] != len(x) - 1:
        keep.append(len(x) - 1)
    return [x[i] for i in keep], [y[i] for i in keep]


@dataclass
class Curve:
    """One line: a run's metric over steps or time."""

    label: str
    steps: list[int]
    timestamps: list[int]  # milliseconds since the epoch
    values: list[float]
    color_value: float | None = None  # where on the colour scale the line sits
    extra: dict[str, str] = field(default_factory=dict)  # shown on hover

    def xs(self, kind: str) -> list:
        if kind == "time":
            return [datetime.fromtimestamp(t / 1000, tz=UTC) for t in self.timestamps]
        if kind == "relative":
            start = self.timestamps[0] if self.timestamps else 0
            return [(t - start) / 1000 for t in self.timestamps]
        return list(self.steps)


def scale_positions(values: Sequence[float | None]) -> list[float] | None:
    """Where each value sits on a colour scale, from 0 (lowest) to 1 (highest), 0.5 for a missing one;
    None when no value is known."""
    known = [v for v in values if v is not None and math.isfinite(v)]
    if not known:
        return None
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    return [0.5 if v is None or not math.isfinite(v) else (v - low) / span for v in values]


def _colors(values: list[float | None]) -> list[str]:
    return sample_colorscale(COLOR_SCALE, scale_positions(values) or [0.5] * len(values))


def metric_curves(
    curves: list[Curve],
    *,
    title: str,
    x: str = "step",
    smoothing: float = 0.0,
    log_y: bool = False,
    color_title: str | None = None,
    legend_cap: int = LEGEND_CAP,
    height: int = 380,
) -> go.Figure:
    """Curves of one metric (one run or many), smoothed with an EMA, on a linear or log axis."""
    fig = go.Figure()
    colored = color_title is not None and any(c.color_value is not None for c in curves)
    colors = _colors([c.color_value for c in curves]) if colored else None
    palette = None if colored else _default_palette(len(curves))
    faint_raw = smoothing > 0 and len(curves) <= 10
    for i, curve in enumerate(curves):
        color = colors[i] if colors else palette[i]
        xs = curve.xs(x)
        ys = ema(curve.values, smoothing)
        hover = "".join(f"<br>{k}: {v}" for k, v in curve.extra.items())
        if faint_raw:
            raw_x, raw_y = _thin(xs, list(curve.values))
            fig.add_trace(
                go.Scatter(
                    x=raw_x,
                    y=raw_y,
                    mode="lines",
                    line={"color": color, "width": 1},
                    opacity=0.3,
                    showlegend=False,
                    hoverinfo="skip",
                    legendgroup=curve.label,
                )
            )
        tx, ty = _thin(xs, ys)
        fig.add_trace(
            go.Scatter(
                x=tx,
                y=ty,
                mode="lines+markers" if len(tx) == 1 else "lines",
                name=curve.label,
                legendgroup=curve.label,
                showlegend=i < legend_cap and len(curves) > 1,
                line={"color": color, "width": 2 if len(curves) <= 20 else 1.5},
                hovertemplate=f"<b>{curve.label}</b>{hover}<br>%{{x}}<br>{title}: %{{y:.6g}}<extra></extra>",
            )
        )
    if colored:
        known = [c.color_value for c in curves if c.color_value is not None]
        fig.add_trace(colorbar_trace(min(known), max(known), color_title))
    if len(curves) > legend_cap:
        fig.add_annotation(
            text=f"legend lists {legend_cap} of {len(curves)} runs; hover a line to name it",
            xref="paper",
            yref="paper",
            x=0,
            y=1.08,
            showarrow=False,
            font={"size": 11, "color": "gray"},
            xanchor="left",
        )
    legend: dict = {"font": {"size": 11}}
    if colored:  # the colour bar takes the right side: the legend goes below the chart
        legend |= {"orientation": "h", "yanchor": "top", "y": -0.22, "xanchor": "left", "x": 0}
    fig.update_layout(
        title=title,
        height=height + (60 if colored and len(curves) > 1 else 0),
        margin=CHART_MARGIN,
        xaxis_title=X_AXES.get(x, x),
        yaxis_type="log" if log_y else "linear",
        hovermode="closest",
        legend=legend,
    )
    return fig


def _default_palette(n: int) -> list[str]:
    from plotly.colors import qualitative

    if n <= len(qualitative.Plotly):
        return list(qualitative.Plotly[:n])
    return sample_colorscale(COLOR_SCALE, [i / max(1, n - 1) for i in range(n)])


def colorbar_trace(low: float, high: float, title: str, scale: str = COLOR_SCALE) -> go.Scatter:
    """An invisible trace that only draws the colour bar for lines coloured on the scale."""
    return go.Scatter(
        x=[None],
        y=[None],
        mode="markers",
        showlegend=False,
        hoverinfo="skip",
        marker={
            "colorscale": scale,
            "cmin": low,
            "cmax": high if high > low else low + 1,
            "color": [low],
            "showscale": True,
            "colorbar": {"title": {"text": title}, "thickness": 12},
        },
    )


def is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def numeric_or_text(series: pd.Series) -> pd.Series:
    """Params come from MLflow as text: numbers where every present value parses, else text."""
    if is_numeric(series):
        return series
    converted = pd.to_numeric(series, errors="coerce")
    present = series.notna() & (series.astype(str) != "")
    if present.any() and converted[present].notna().all():
        return converted
    return series


def category_dimension(label: str, text: pd.Series, categories: list[str]) -> dict:
    """A parallel-coordinates axis of text values, one tick per category (every n-th when there are many)."""
    step = max(1, math.ceil(len(categories) / MAX_CATEGORY_TICKS))
    return {
        "label": label,
        "values": text.map({c: i for i, c in enumerate(categories)}).tolist(),
        "tickvals": list(range(0, len(categories), step)),
        "ticktext": [c[:24] for c in categories[::step]],
        "range": [-0.5, max(0.5, len(categories) - 0.5)],
    }


def parallel_coordinates(
    frame: pd.DataFrame, dimensions: list[str], *, color: str | None = None, height: int = 460
) -> tuple[go.Figure, int]:
    """A ``go.Parcoords`` of the chosen columns; text columns become labelled axes.

    Returns the figure and how many rows were left out for missing a value of a chosen column.
    """
    data = frame[[*dict.fromkeys([*dimensions, *([color] if color else [])])]].copy()
    complete = data.dropna()
    dropped = len(data) - len(complete)
    dims = []
    for name in dimensions:
        series = complete[name]
        if is_numeric(series):
            dims.append({"label": name, "values": series.astype(float).tolist()})
            continue
        text = series.astype(str)
        dims.append(category_dimension(name, text, sorted(text.unique())))
    line: dict = {"color": "#636efa"}
    if color and len(complete):
        series = complete[color]
        values = (
            series.astype(float)
            if is_numeric(series)
            else series.astype(str).map({c: i for i, c in enumerate(sorted(series.astype(str).unique()))})
        )
        line = {
            "color": values.tolist(),
            "colorscale": COLOR_SCALE,
            "showscale": True,
            "colorbar": {"title": {"text": color}, "thickness": 12, "x": 1.06},
        }
    fig = go.Figure(go.Parcoords(line=line, dimensions=dims, labelangle=-20, labelside="top"))
    fig.update_layout(height=height, margin={"l": 60, "r": 110, "t": 90, "b": 30})
    return fig, dropped


def scatter(
    frame: pd.DataFrame,
    *,
    x: str,
    y: str,
    z: str | None = None,
    color: str | None = None,
    label: str = "run",
    height: int = 520,
) -> go.Figure:
    """A 2-D (or, with ``z``, 3-D) scatter of runs, coloured on the continuous scale when numeric."""
    hover = frame[label].astype(str).tolist() if label in frame else None
    marker: dict = {"size": 9 if z is None else 5, "opacity": 0.85, "line": {"width": 0}}
    if color:
        series = frame[color]
        if is_numeric(series):
            values = series.astype(float).tolist()
            ticks = None
        else:
            categories = sorted(series.astype(str).unique())
            values = series.astype(str).map({c: i for i, c in enumerate(categories)}).tolist()
            ticks = categories
        marker |= {
            "color": values,
            "colorscale": COLOR_SCALE,
            "showscale": True,
            "colorbar": {"title": {"text": color}, "thickness": 12}
            | (
                {
                    "tickvals": list(range(len(ticks)))[:MAX_CATEGORY_TICKS],
                    "ticktext": [t[:20] for t in ticks][:MAX_CATEGORY_TICKS],
                }
                if ticks
                else {}
            ),
        }
    template = f"<b>%{{hovertext}}</b><br>{x}: %{{x}}<br>{y}: %{{y}}"
    if z is not None:
        template += f"<br>{z}: %{{z}}"
        trace = go.Scatter3d(
            x=frame[x], y=frame[y], z=frame[z], mode="markers", marker=marker, hovertext=hover
        )
    else:
        trace = go.Scatter(x=frame[x], y=frame[y], mode="markers", marker=marker, hovertext=hover)
    trace.hovertemplate = template + "<extra></extra>"
    fig = go.Figure(trace)
    fig.update_layout(height=height, margin=CHART_MARGIN)
    if z is not None:
        fig.update_layout(scene={"xaxis_title": x, "yaxis_title": y, "zaxis_title": z})
    else:
        fig.update_layout(xaxis_title=x, yaxis_title=y)
    return fig


def differing_columns(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    """The columns whose values are not the same in every row (missing counts as a value)."""
    keep = []
    for name in columns:
        values = frame[name].astype(str).where(frame[name].notna(), "<missing>")
        if values.nunique(dropna=False) > 1:
            keep.append(name)
    return keep


__all__ = [
    "COLOR_SCALE",
    "LEGEND_CAP",
    "Curve",
    "category_dimension",
    "colorbar_trace",
    "differing_columns",
    "ema",
    "finite",
    "metric_curves",
    "number",
    "numeric_or_text",
    "parallel_coordinates",
    "scale_positions",
    "scatter",
    "status_color",
    "status_label",
]
