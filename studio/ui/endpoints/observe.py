"""An endpoint's Logs tab (the end of each instance's log, per deployment) and Monitoring tab (requests,
p50/p99 latency and errors over the last hour, per deployment, from the router's metrics; refreshed)."""

from __future__ import annotations

import time
from datetime import datetime

import plotly.graph_objects as go
import streamlit as st

from backend.services import endpoint_runtime, endpoints
from studio.ui import widgets

REFRESH_S = 10
WINDOW_S = 3600
MIN_SPAN_S = 300


def logs_view(
    workspace: str, endpoint: endpoints.EndpointPublic, deployments: list[endpoints.DeploymentPublic]
) -> None:
    """A deployment's logs (``deployments``: one at least; ``detail`` speaks of none)."""
    left, middle, right = st.columns([2, 1, 1], vertical_alignment="bottom")
    name = left.selectbox(
        "Deployment", [d.name for d in deployments], key=f"ep_logs_deployment_{endpoint.name}"
    )
    lines = middle.number_input(
        "Lines per instance", min_value=10, max_value=10_000, value=100, step=50, key="ep_logs_lines"
    )
    right.button("Refresh", key="ep_logs_refresh", icon=":material/refresh:")
    text = widgets.load(
        endpoint_runtime.read_deployment_logs,
        workspace=workspace,
        endpoint_name=endpoint.name,
        name=name,
        lines=int(lines),
    )
    if text is not None:
        st.code(text, language="log", height=480)


def _chart(title: str, y_title: str, traces: list[go.Scatter]) -> go.Figure:
    figure = go.Figure(traces)
    figure.update_layout(
        title=title,
        height=280,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        yaxis_title=y_title,
        legend={"orientation": "h", "y": -0.2},
        hovermode="x unified",
    )
    return figure


def charts(series: dict[str, list[dict]], bucket_s: int, now: float) -> list[go.Figure]:
    """Requests, latency (p50 solid, p99 dotted) and errors per bucket, one line per deployment; buckets
    without requests count 0 requests and errors and leave a gap in latency."""
    end = int(now) // bucket_s * bucket_s
    requests, latency, errors = [], [], []
    for deployment, buckets in sorted(series.items()):
        if not buckets:
            continue
        by_t = {b["t"]: b for b in buckets}
        # at least the last MIN_SPAN_S, so a single bucket is a point on a time axis, not the whole axis
        start = min(max(min(by_t), end - WINDOW_S + bucket_s), end - MIN_SPAN_S)
        ts = list(range(start, end + 1, bucket_s))
        x = [datetime.fromtimestamp(t) for t in ts]
        empty: dict = {}
        for traces, field in ((requests, "requests"), (errors, "errors")):
            traces.append(
                go.Scatter(
                    x=x,
                    y=[by_t.get(t, empty).get(field, 0) for t in ts],
                    name=deployment,
                    mode="lines+markers",
                    marker={"size": 4},
                )
            )
        for q, dash in (("p50", "solid"), ("p99", "dot")):
            latency.append(
                go.Scatter(
                    x=x,
                    y=[by_t.get(t, empty).get(f"{q}_ms") for t in ts],
                    name=f"{deployment} {q}",
                    mode="lines+markers",
                    line={"dash": dash},
                    connectgaps=False,
                )
            )
    return [
        _chart(f"Requests per {bucket_s} s", "requests", requests),
        _chart("Latency (ms)", "ms", latency),
        _chart(f"Errors per {bucket_s} s", "errors", errors),
    ]


def monitoring_view(endpoint: endpoints.EndpointPublic) -> None:
    st.caption(f"From the endpoint router, per 10 seconds over the last hour; refreshed every {REFRESH_S} s.")
    _live(endpoint.name)


@st.fragment(run_every=REFRESH_S)
def _live(name: str) -> None:
    metrics = endpoint_runtime.endpoint_metrics(name=name)
    if not metrics["available"]:
        st.info(f"No metrics: {metrics['error']}")
        return
    totals = metrics["totals"]
    if not totals:
        st.info("The router serves no deployment of this endpoint yet.")
        return
    for deployment, values in sorted(totals.items()):
        cols = st.columns(5)
        cols[0].metric(f"{deployment}: requests", values.get("requests", 0))
        cols[1].metric("errors", values.get("errors", 0))
        cols[2].metric("p50", _ms(values.get("p50_ms")))
        cols[3].metric("p99", _ms(values.get("p99_ms")))
        cols[4].metric("in flight", values.get("in_flight", 0))
    if not any(metrics["series"].values()):
        st.info("No requests in the last hour: send some from the Test tab.")
        return
    for i, figure in enumerate(charts(metrics["series"], metrics["bucket_s"], time.time())):
        st.plotly_chart(figure, key=f"ep_monitor_chart_{i}", width="stretch")


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} ms"
