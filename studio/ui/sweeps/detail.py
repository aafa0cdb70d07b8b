"""One sweep: its header, settings and live body (headline metrics and the tabs Trials, Charts, Parallel
coordinates, Scatter, Importance and, once it ended, Policy what-if)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from backend.services import sweeps
from backend.statuses import ACTIVE, TERMINAL, JobStatus
from studio.ui import run_widgets, shell, sweep_charts
from studio.ui.sweeps import best, go, policy_text, total, trials_done
from studio.ui.sweeps.analysis import charts_tab, importance_tab, parallel_tab, scatter_tab
from studio.ui.sweeps.what_if import what_if_tab

LIVE_REFRESH_S = 3


def job_link(name: str, label: str, icon: str = ":material/work:") -> None:
    """A link to a job on the Jobs page (``jobs?job=<name>``)."""
    run_widgets.link("jobs.py", label, icon=icon, job=name)


def _caption(view: sweeps.SweepView) -> str:
    job = view.job
    return (
        f"Sweep `{job.name}` · experiment **{job.experiment_name}**"
        + (f" · step of `{job.parent}`" if job.parent else "")
        + f" · created {job.created_at:%Y-%m-%d %H:%M:%S} UTC"
    )


def detail(name: str) -> None:
    view = run_widgets.run_view(
        "← All sweeps", key="sw_back", back=go, load=sweeps.get_sweep, caption=_caption, name=name
    )
    if view is None:
        return
    job = view.job
    actions = st.columns([3, 1, 3], vertical_alignment="center")
    with actions[0]:
        job_link(job.name, "Open as a job (logs, MLflow run)", icon=":material/open_in_new:")
    if job.is_active:
        run_widgets.cancel_button(
            actions[1], job.name, key="sw_cancel", disabled=job.status == JobStatus.CANCEL_REQUESTED
        )
    if job.failure_reason:
        st.warning(job.failure_reason, icon=":material/info:")
    _summary(view)
    _live(name, job.status)


def _summary(view: sweeps.SweepView) -> None:
    limits = view.limits
    seed = view.job.state.get("seed")
    sampling = view.algorithm + (f" (seed {seed})" if seed is not None and view.algorithm != "grid" else "")
    cols = st.columns(4)
    cols[0].markdown(f"**Sampling**  \n{sampling}")
    cols[1].markdown(f"**Objective**  \n{view.goal} `{view.primary_metric}`")
    cols[2].markdown(
        "**Limits**  \n"
        + " · ".join(
            f"{label} {value}"
            for label, value in (
                ("trials", total(view)),
                ("concurrent", limits.get("max_concurrent_trials")),
                ("timeout", f"{limits['timeout']}s" if limits.get("timeout") else None),
                ("per trial", f"{limits['trial_timeout']}s" if limits.get("trial_timeout") else None),
            )
            if value
        )
    )
    cols[3].markdown(f"**Early termination**  \n{policy_text(view.policy)}")
    with st.expander("Search space"):
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "parameter": p,
                        "type": e.get("type"),
                        "arguments": ", ".join(f"{k} {v}" for k, v in e.items() if k != "type"),
                    }
                    for p, e in view.search_space.items()
                ]
            ),
            hide_index=True,
            width="stretch",
            key="sw_space_table",
        )


def _live(name: str, shown_status: str) -> None:
    """Status, trials and charts; re-read every few seconds while the sweep runs."""
    active = shown_status in ACTIVE

    @st.fragment(run_every=LIVE_REFRESH_S if active else None)
    def _body() -> None:
        view = run_widgets.call(sweeps.get_sweep, name=name)
        if view is None:
            return
        if view.job.status != shown_status:  # the header (and the what-if) follow a status change
            st.rerun()
        _metrics(view)
        views = {
            "Trials": _trials_table,
            "Charts": charts_tab,
            "Parallel coordinates": parallel_tab,
            "Scatter": scatter_tab,
            "Importance": importance_tab,
        }
        if view.job.status in TERMINAL:
            views["Policy what-if"] = what_if_tab
        # Only the open tab is drawn (charts are heavy while the view refreshes); ?tab= opens one by link.
        tabs = st.tabs(list(views), key="tab", on_change="rerun", bind="query-params")
        for tab, draw in zip(tabs, views.values(), strict=True):
            if tab.open:
                with tab:
                    draw(view)

    _body()


def _metrics(view: sweeps.SweepView) -> None:
    top = best(view)
    running = sum(t.status in ACTIVE for t in view.trials)
    cols = st.columns(5)
    cols[0].metric("Trials done", f"{trials_done(view)} / {total(view)}", help=f"{running} running now")
    cols[1].metric(
        f"Best {view.primary_metric}",
        "–" if top is None else f"{top.metric:.6g}",
        help=f"{view.goal}; a trial that never logs the metric is not ranked",
    )
    cols[2].metric(
        "Canceled by policy", sum(bool(t.canceled_by) for t in view.trials), help=policy_text(view.policy)
    )
    cols[3].metric(
        "Compute used", shell.human_duration(view.compute_used_s), help="Sum of the trials' run times"
    )
    saved = view.compute_saved_s
    share = saved / (saved + view.compute_used_s) if saved + view.compute_used_s else 0.0
    cols[4].metric(
        "Compute saved (estimate)",
        shell.human_duration(saved),
        delta=f"{share:.0%} less compute" if saved else None,
        delta_color="normal",
        help="For each trial the policy canceled: the run time it would have needed to reach the median "
        "interval count of the completed trials, at its own pace.",
    )
    if top is not None:
        job_link(
            top.name, f"Best trial: {top.name} ({view.primary_metric} {top.metric:.6g})", ":material/star:"
        )


def _trials_table(view: sweeps.SweepView) -> None:
    if not view.trials:
        st.info(f"The sweep is {view.job.status}: trials appear as soon as the agent starts them.")
        return
    frame = sweep_charts.trials_frame(view)
    metric = sweep_charts.metric_column(view)
    for optional in ("canceled by policy", "note"):
        if not frame[optional].astype(bool).any():
            frame = frame.drop(columns=[optional])
    event = st.dataframe(
        frame,
        key="sw_trials",
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        column_config={
            "status": run_widgets.status_column(),
            "best": st.column_config.CheckboxColumn(
                "best", help=f"The best {view.primary_metric} ({view.goal})"
            ),
            metric: st.column_config.NumberColumn(
                metric, format="%.6g", help="The last value the trial logged"
            ),
            "canceled by policy": st.column_config.TextColumn("canceled by policy", width="large"),
        },
    )
    picked = shell.selected_row(event, frame)
    if picked:
        job_link(picked["trial"], f"Open trial {picked['trial']} (logs, metrics, outputs)")
    else:
        st.caption("Select a trial to open it on the Jobs page.")
