"""One pipeline job: its header, the live DAG of its steps (click a node to see the step below), the steps
as a table, and the pipeline's inputs and outputs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from backend.services import pipeline_views
from backend.statuses import JobStatus
from studio.ui import charts, dag, run_widgets, shell
from studio.ui.pipelines import go
from studio.ui.pipelines.step import ports_tables, step_detail

LIVE_REFRESH_S = 2
PIPELINE_COLUMNS = (  # see step.STEP_COLUMNS
    {"name": "name", "type": "type", "binding": "kind", "value": "value"},
    {"name": "name", "type": "type", "binding": "from", "value": "location"},
)


def _nodes(view) -> list[dag.DagNode]:
    return [
        dag.DagNode(
            name=s.name,
            label=s.display_name,
            status=s.status,
            depth=s.depth,
            reused=bool(s.reused_from),
            detail=" · ".join(x for x in (s.kind, s.component or "", s.job or "") if x),
        )
        for s in view.steps
    ]


def _pick_step(steps: list[str]) -> str | None:
    """The step shown below the graph: a click on a node, the picker, or ``?step=`` from a link."""
    if not steps:
        return None
    linked = st.query_params.get("step")
    if linked in steps and linked != st.session_state.get("pl_step_in_url"):
        wanted = linked  # a link (or an edited URL) names the step
    else:
        wanted = st.session_state.get("pl_step")
    if wanted not in steps:
        wanted = steps[0]
    st.session_state["pl_step"] = wanted
    st.session_state["pl_step_in_url"] = wanted
    if linked != wanted:  # the URL names the open step, so it can be shared
        st.query_params["step"] = wanted
    return wanted


def _back() -> None:
    for key in ("pl_step", "pl_step_in_url"):
        st.session_state.pop(key, None)
    go()


def _caption(view) -> str:
    job = view.job
    return (
        f"Pipeline job `{job.name}` · experiment **{job.experiment_name}** · created "
        f"{job.created_at:%Y-%m-%d %H:%M:%S} UTC · default compute `{view.settings.get('default_compute')}`"
    )


def pipeline_view(name: str) -> None:
    load = pipeline_views.get_pipeline_view
    view = run_widgets.run_view(
        "← All pipelines", key="pl_back", back=_back, load=load, caption=_caption, name=name
    )
    if view is None:
        return
    job = view.job
    actions = st.columns([1.6, 1, 4])
    with actions[0]:
        run_widgets.link("jobs.py", "Open in Jobs", icon=":material/work:", job=name)
    if view.is_active and job.status != JobStatus.CANCEL_REQUESTED:
        run_widgets.cancel_button(actions[1], name, key="pl_cancel")

    loaded = {"view": view}  # the full run's view; the fragment's own reruns read it afresh

    @st.fragment(run_every=LIVE_REFRESH_S if view.is_active else None)
    def _live() -> None:
        current = loaded.pop("view", None)
        if current is None:
            current = run_widgets.call(pipeline_views.get_pipeline_view, name=name)
            if current is None:
                return
            if current.job.status != job.status:  # redraw the whole page (status badge, cancel button)
                st.rerun()
        _graph_and_step(current)

    _live()


def _status_cell(status: str) -> str:
    return charts.status_label(status) if status in charts.STATUS_COLORS else f"🟠 {status}"


def _graph_and_step(view) -> None:
    job = view.job
    names = [s.name for s in view.steps]
    selected = _pick_step(names)
    st.caption(
        f"{view.steps_done} of {view.steps_total} steps completed"
        + (f" · {job.failure_reason}" if job.failure_reason else "")
        + (" · refreshing every 2 s while it runs" if view.is_active else "")
    )
    dag.draw_dag(_nodes(view), view.edges, key=f"pl_dag_{job.name}", selected=selected, target_key="pl_step")
    frame = pd.DataFrame(
        [
            {
                "step": s.name,
                "status": _status_cell(s.status),
                "kind": s.kind,
                "component": s.component or "inline command",
                "job": s.job or "",
                "reused from": s.reused_from or "",
                "note": s.skipped_reason or s.failure_reason or "",
                "duration": shell.human_duration(s.duration_s),
            }
            for s in view.steps
        ]
    )
    if selected:
        st.columns([2, 3])[0].selectbox("Step (or click a node)", names, key="pl_step")
        step_detail(view.step(st.session_state["pl_step"]))
    with st.expander("Steps as a table", expanded=False):
        st.dataframe(frame, hide_index=True, width="stretch", key="pl_steps_table")
    ports_tables(
        view,
        "pl_",
        PIPELINE_COLUMNS,
        (
            "This pipeline declares no inputs.",
            "This pipeline publishes no outputs (each step's outputs are listed with the step).",
        ),
        title="Pipeline",
    )
