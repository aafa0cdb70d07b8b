"""A sweep's chart tabs: the metric by trial and learning curves, parallel coordinates, a scatter of any
two (or three) axes, and hyperparameter importance."""

from __future__ import annotations

import streamlit as st

from backend.services import sweeps
from backend.services.importance import EVALUATORS, hyperparameter_importance
from studio.ui import shell, sweep_charts

FEW_TRIALS = 10  # below this many completed trials, importance is only a hint


def _nothing_logged(view: sweeps.SweepView) -> bool:
    """Says so when no trial has logged the primary metric yet (the charts of it would be empty)."""
    if any(t.metric is not None for t in view.trials):
        return False
    st.info(f"No trial has logged {view.primary_metric!r} yet.")
    return True


def charts_tab(view: sweeps.SweepView) -> None:
    if _nothing_logged(view):
        return
    st.plotly_chart(sweep_charts.metric_over_trials(view), key="sw_chart_trials")
    st.plotly_chart(sweep_charts.learning_curves(view), key="sw_chart_curves")
    st.caption("Dashed: canceled by the early-termination policy. Colour: each trial's last value.")


def parallel_tab(view: sweeps.SweepView) -> None:
    if _nothing_logged(view):
        return
    st.plotly_chart(sweep_charts.parallel_coordinates(view), key="sw_parallel")
    st.caption("Drag along an axis to highlight the trials in a range.")


def scatter_tab(view: sweeps.SweepView) -> None:
    if not view.trials:
        st.info("No trials yet.")
        return
    axes = sweep_charts.axis_columns(view)
    params = list(sweep_charts.param_columns(view).values())
    metric = sweep_charts.metric_column(view)
    cols = st.columns([1, 2, 2, 2, 2])
    mode = cols[0].segmented_control("View", ["2-D", "3-D"], default="2-D", key="sw_sc_mode") or "2-D"
    x = cols[1].selectbox("X", axes, index=0, key="sw_sc_x")
    y = cols[2].selectbox("Y", axes, index=axes.index(metric), key="sw_sc_y")
    z_default = axes.index(params[1]) if len(params) > 1 else axes.index("run time (s)")
    z = cols[3].selectbox("Z", axes, index=z_default, key="sw_sc_z", disabled=mode == "2-D")
    color_options = ["(none)", *axes]
    color = cols[4].selectbox("Colour", color_options, index=color_options.index(metric), key="sw_sc_color")
    figure = sweep_charts.scatter_figure(
        view, x=x, y=y, z=z if mode == "3-D" else None, color=None if color == "(none)" else color
    )
    st.plotly_chart(figure, key="sw_scatter")


@st.cache_data(show_spinner=False, max_entries=64)
def _cached_importance(key: tuple, _view: sweeps.SweepView, evaluator: str):
    return hyperparameter_importance(_view, evaluator=evaluator)


def importance_tab(view: sweeps.SweepView) -> None:
    evaluator = (
        st.segmented_control(
            "Evaluator",
            list(EVALUATORS),
            format_func=EVALUATORS.get,
            default="fanova",
            key="sw_imp_evaluator",
        )
        or "fanova"
    )
    key = (
        shell.current_workspace(),
        view.job.name,
        tuple((t.name, t.status, t.metric) for t in view.trials),
    )
    result = _cached_importance(key, view, evaluator)
    if not result.importances:
        st.info(result.note)
        return
    if result.note:
        st.caption(result.note)
    st.plotly_chart(
        sweep_charts.importance_bar(result.importances, evaluator=EVALUATORS[result.evaluator]),
        key="sw_importance",
    )
    st.caption(
        f"From {result.trials} completed trials' final {view.primary_metric} (Optuna's "
        f"{EVALUATORS[result.evaluator]} evaluator): the share of the metric's variation each parameter explains."
        + (" With this few trials, read it as a rough hint." if result.trials < FEW_TRIALS else "")
    )
