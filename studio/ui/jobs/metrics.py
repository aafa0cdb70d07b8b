"""A job's Metrics tab: params, latest metrics and charts, live while the job runs; the chart controls
the comparison view shares."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from backend.services import runs
from studio.ui import charts, shell

LIVE_REFRESH_S = 2
METRICS_REFRESH_S = 5
MAX_DETAIL_CHARTS = 12
VALUES_PAGE_ROWS = 1000
X_LABELS = {"step": "Step", "relative": "Relative time", "time": "Wall time"}
MINIMIZE_HINTS = ("loss", "error", "err", "rmse", "mse", "mae", "perplexity")


def guess_goal(metric: str) -> str:
    return "minimize" if any(h in metric.lower() for h in MINIMIZE_HINTS) else "maximize"


def chart_controls(prefix: str) -> tuple[str, float, bool]:
    """X axis, smoothing and log scale of metric charts."""
    cols = st.columns([2, 3, 1])
    x = cols[0].segmented_control(
        "X axis",
        list(X_LABELS),
        format_func=X_LABELS.get,
        default="step",
        key=f"{prefix}_x",
    )
    smoothing = cols[1].slider(
        "Smoothing (EMA)", 0.0, 0.99, 0.0, 0.01, key=f"{prefix}_smoothing", help="0 shows the raw values"
    )
    log_y = cols[2].toggle("Log scale", key=f"{prefix}_log")
    return x or "step", smoothing, log_y


def metrics_view(job) -> None:
    if not job.mlflow_run_id:
        st.info(f"The job is {job.status}: its MLflow run, params and metrics appear once it starts running.")
        return

    # Params, metrics and charts refresh together while the job runs.
    @st.fragment(run_every=METRICS_REFRESH_S if job.is_active else None)
    def _view() -> None:
        run = shell.attempt(lambda: runs.get_run(run_id=job.mlflow_run_id))
        if run is None:
            return
        left, right = st.columns([1, 2])
        with left:
            _name_value_table("Params", "param", run.params, key="job_params", active=job.is_active)
        with right:
            _name_value_table(
                "Metrics (latest)", "metric", run.metrics, key="job_metrics", active=job.is_active
            )
        if not run.metrics and not job.is_active:
            return
        st.subheader("Charts")
        x, smoothing, log_y = chart_controls("job_chart")
        keys = sorted(run.metrics)
        shown = st.multiselect("Metrics", keys, key=_metric_picker(job.name, keys))
        grid = st.columns(2)
        totals: dict[str, int] = {}
        for i, key in enumerate(shown):
            # Long histories come downsampled (first, last, lowest and highest values exact).
            chart = shell.attempt(lambda key=key: runs.metric_chart(run_id=job.mlflow_run_id, key=key))
            if chart is None:
                continue
            totals[key] = chart.total
            curve = charts.Curve(
                label=job.display_name,
                steps=chart.steps,
                timestamps=chart.timestamps,
                values=chart.values,
            )
            with grid[i % 2]:
                st.plotly_chart(
                    charts.metric_curves(
                        [curve], title=key, x=x, smoothing=smoothing, log_y=log_y, height=320
                    ),
                    key=f"job_chart_{key}",
                )
                if chart.downsampled:
                    st.caption(
                        f"{len(chart.values):,} of {chart.total:,} points drawn (each stretch's lowest and "
                        "highest); every value is under Values."
                    )
        if keys:
            _values_view(job, keys, totals)

    _view()


def _values_view(job, keys: list[str], totals: dict[str, int]) -> None:
    """Every logged value of one metric: a page at a time, and the whole history as CSV."""
    with st.expander("Values"):
        cols = st.columns([2, 1, 1])
        key = cols[0].selectbox("Metric", keys, key=f"job_values_metric_{job.name}")
        total = totals.get(key)
        if total is None:  # not charted: ask for its count (and a 4-point sketch)
            chart = shell.attempt(lambda: runs.metric_chart(run_id=job.mlflow_run_id, key=key, points=4))
            if chart is None:
                return
            total = chart.total
        pages = max(1, -(-total // VALUES_PAGE_ROWS))
        page = cols[1].number_input(
            f"Page (of {pages:,})", 1, pages, 1, key=f"job_values_page_{job.name}_{key}"
        )
        rows = shell.attempt(
            lambda: runs.metric_history_page(
                run_id=job.mlflow_run_id,
                key=key,
                offset=(page - 1) * VALUES_PAGE_ROWS,
                limit=VALUES_PAGE_ROWS,
            )
        )
        if rows is None:
            return
        first = (page - 1) * VALUES_PAGE_ROWS
        st.caption(f"Points {first + 1:,}-{first + len(rows.values):,} of {total:,}, in step order.")
        st.dataframe(
            pd.DataFrame({"step": rows.steps, "timestamp (ms)": rows.timestamps, "value": rows.values}),
            hide_index=True,
            width="stretch",
            key=f"job_values_{job.name}_{key}_{page}",
        )
        with cols[2]:
            st.download_button(
                "Download CSV",
                data=lambda: runs.metric_history_csv(run_id=job.mlflow_run_id, key=key),
                file_name=f"{job.name}-{key}.csv",
                mime="text/csv",
                key=f"job_values_csv_{job.name}_{key}",
                on_click="ignore",
            )


def _name_value_table(title: str, kind: str, values: dict, *, key: str, active: bool) -> None:
    st.subheader(title)
    if values:
        frame = pd.DataFrame(sorted(values.items()), columns=[kind, "value"])
        st.dataframe(frame, hide_index=True, width="stretch", key=key)
    else:
        st.caption(f"No {kind}s logged yet." if active else f"No {kind}s logged.")


def _metric_picker(job_name: str, keys: list[str]) -> str:
    """The metric picker's key, its choice kept: metrics that appear while the job runs are added (up to the
    chart limit), what the person unpicked stays unpicked."""
    widget, known = f"job_chart_metrics_{job_name}", f"job_chart_known_{job_name}"
    before = st.session_state.get(known)
    if before != keys:
        chosen = [k for k in st.session_state.get(widget, []) if k in keys]
        appeared = [k for k in keys if k not in (before or [])]
        st.session_state[widget] = (
            (chosen + appeared)[:MAX_DETAIL_CHARTS] if before else keys[:MAX_DETAIL_CHARTS]
        )
        st.session_state[known] = keys
    return widget
