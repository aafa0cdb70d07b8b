"""A pipeline's steps as a Plotly DAG: columns by topological depth, arrows along the bindings, each
node coloured by its step's status; clicking a node selects the step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go
import streamlit as st

# Status -> (legend group, colour). Steps that never ran because of a failure upstream are "Skipped".
STATUS_STYLE = {
    "NotStarted": ("Not started", "#9e9e9e"),
    "Queued": ("Queued", "#90caf9"),
    "Preparing": ("Preparing", "#90caf9"),
    "Running": ("Running", "#1e88e5"),
    "Finalizing": ("Running", "#1e88e5"),
    "CancelRequested": ("Canceled", "#fb8c00"),
    "Completed": ("Completed", "#43a047"),
    "Reused": ("Reused", "#43a047"),
    "Failed": ("Failed", "#e53935"),
    "Canceled": ("Canceled", "#fb8c00"),
    "Skipped": ("Skipped", "#fb8c00"),
}
NODE_SIZE = 34  # marker diameter, px
ROW_HEIGHT = 100  # px per node in the tallest column
MIN_HEIGHT = 200
COLUMN_LABEL_CHARS = 22  # a node's label is cut to this many characters (hover shows all)


@dataclass(frozen=True)
class DagNode:
    name: str
    label: str
    status: str
    depth: int
    reused: bool = False
    detail: str = ""  # extra hover text (kind, child job)


def node_style(node: DagNode) -> tuple[str, str, str]:
    """(legend group, colour, marker symbol) of a node."""
    if node.reused and node.status == "Completed":
        group, colour = STATUS_STYLE["Reused"]
        return group, colour, "star"
    group, colour = STATUS_STYLE.get(node.status, ("Not started", "#9e9e9e"))
    return group, colour, "circle"


def layout(nodes: Sequence[DagNode]) -> dict[str, tuple[float, float]]:
    """Node positions: x = topological depth, y spread evenly within a column, centred on 0."""
    columns: dict[int, list[DagNode]] = {}
    for node in nodes:
        columns.setdefault(node.depth, []).append(node)
    positions = {}
    for depth, members in columns.items():
        count = len(members)
        for index, node in enumerate(members):
            positions[node.name] = (float(depth), (count - 1) / 2 - index)
    return positions


def _short(text: str) -> str:
    return text if len(text) <= COLUMN_LABEL_CHARS else text[: COLUMN_LABEL_CHARS - 1] + "…"


def dag_figure(
    nodes: Sequence[DagNode], edges: Sequence[tuple[str, str]], selected: str | None = None
) -> go.Figure:
    """The DAG figure; each point's ``customdata`` is its step name (what a click selects)."""
    positions = layout(nodes)
    fig = go.Figure()
    for source, target in edges:
        if source not in positions or target not in positions:
            continue
        (x0, y0), (x1, y1) = positions[source], positions[target]
        fig.add_annotation(
            x=x1,
            y=y1,
            ax=x0,
            ay=y0,
            xref="x",
            yref="y",
            axref="x",
            ayref="y",
            showarrow=True,
            arrowhead=2,
            arrowsize=1.2,
            arrowwidth=1.6,
            arrowcolor="#78909c",
            standoff=NODE_SIZE / 2 + 2,
            startstandoff=NODE_SIZE / 2 + 2,
            text="",
        )
    groups: dict[str, list[DagNode]] = {}
    for node in nodes:
        groups.setdefault(node_style(node)[0], []).append(node)
    for group, members in groups.items():
        _, colour, _ = node_style(members[0])
        fig.add_trace(
            go.Scatter(
                x=[positions[n.name][0] for n in members],
                y=[positions[n.name][1] for n in members],
                mode="markers+text",
                name=group,
                text=[_short(n.label) for n in members],
                textposition="bottom center",
                customdata=[n.name for n in members],
                hovertext=[
                    f"<b>{n.label}</b><br>{'reused · ' if n.reused else ''}{n.status}"
                    + (f"<br>{n.detail}" if n.detail else "")
                    for n in members
                ],
                hoverinfo="text",
                marker={
                    "size": NODE_SIZE,
                    "color": colour,
                    "symbol": [node_style(n)[2] for n in members],
                    "line": {"width": 1.5, "color": "white"},
                },
            )
        )
    if selected in positions:  # a ring around the selected step (a shape, so it is no clickable point)
        x, y = positions[selected]
        ring = NODE_SIZE + 10
        fig.add_shape(
            type="circle",
            xref="x",
            yref="y",
            xsizemode="pixel",
            ysizemode="pixel",
            xanchor=x,
            yanchor=y,
            x0=-ring / 2,
            x1=ring / 2,
            y0=-ring / 2,
            y1=ring / 2,
            line={"color": "#212121", "width": 3},
            layer="below",
        )
    depth = max((n.depth for n in nodes), default=0)
    tallest = max((sum(1 for n in nodes if n.depth == d) for d in range(depth + 1)), default=1)
    fig.update_layout(
        height=max(MIN_HEIGHT, ROW_HEIGHT * tallest + 80),
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        showlegend=True,
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        clickmode="event+select",
        dragmode=False,
        plot_bgcolor="rgba(0,0,0,0)",
        xaxis={"visible": False, "range": [-0.5, depth + 0.5], "fixedrange": True},
        yaxis={"visible": False, "range": [-(tallest / 2) - 0.2, tallest / 2], "fixedrange": True},
    )
    return fig


def clicked_step(state) -> str | None:
    """The step name of the first point in a chart's selection state (None when nothing is selected)."""
    selection = state.get("selection") if isinstance(state, dict) else getattr(state, "selection", None)
    points = (
        selection.get("points") if isinstance(selection, dict) else getattr(selection, "points", None)
    ) or []
    for point in points:
        data = point.get("customdata")
        if isinstance(data, list | tuple):
            data = data[0] if data else None
        if data:
            return str(data)
    return None


def draw_dag(
    nodes: Sequence[DagNode],
    edges: Sequence[tuple[str, str]],
    *,
    key: str,
    selected: str | None = None,
    target_key: str | None = None,
) -> None:
    """Draw the DAG; a click on a node puts its step name in ``st.session_state[target_key]``.

    The click is handled in the chart's callback, so it only fires for a new click (not on every rerun,
    and not over a choice made elsewhere, e.g. in a step picker bound to the same key).
    """

    def _clicked() -> None:
        step = clicked_step(st.session_state.get(key))
        if step and target_key:
            st.session_state[target_key] = step

    st.plotly_chart(
        dag_figure(nodes, edges, selected),
        key=key,
        on_select=_clicked,
        selection_mode="points",
        config={"displayModeBar": False},
        width="stretch",
    )
