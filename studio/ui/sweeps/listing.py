"""Every sweep of the workspace (top-level ones and pipeline steps) in a searchable table."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from backend.services import jobs, sweeps
from backend.statuses import JobStatus
from studio.ui import run_widgets, shell
from studio.ui.sweeps import best, go, total, trials_done

STATUSES = [
    JobStatus.QUEUED,
    JobStatus.RUNNING,
    JobStatus.CANCEL_REQUESTED,
    JobStatus.COMPLETED,
    JobStatus.FAILED,
    JobStatus.CANCELED,
]


def _sweep_views(session, workspace: str) -> list[sweeps.SweepView]:
    """Every sweep of the workspace, newest first: top-level ones and steps of pipelines."""
    found, pipelines = [], []
    level = jobs.list_jobs(session=session, workspace=workspace)
    while level:
        found += [j for j in level if j.type == "sweep"]
        pipelines = [j.name for j in level if j.type == "pipeline"]
        level = [c for p in pipelines for c in jobs.list_jobs(session=session, workspace=workspace, parent=p)]
    found.sort(key=lambda j: j.created_at, reverse=True)
    return [sweeps.get_sweep(session=session, workspace=workspace, name=j.name) for j in found]


def _record(view: sweeps.SweepView) -> dict:
    top = best(view)
    return {
        "name": view.job.name,
        "display name": view.job.display_name,
        "status": view.job.status,
        "created": view.job.created_at,
        "trials done": trials_done(view),
        "max trials": total(view),
        "objective": f"{view.goal} {view.primary_metric}",
        "best value": top.metric if top else None,
        "best trial": view.best_trial or "",
        "algorithm": view.algorithm,
        "policy": (view.policy or {}).get("type", "none"),
        "experiment": view.job.experiment_name,
    }


def listing() -> None:
    top = st.columns([1.3, 3, 3])
    if top[0].button("Create sweep", type="primary", icon=":material/add:", key="sw_new"):
        go(create="1")
    statuses = top[1].multiselect(
        "Status", STATUSES, key="sw_status", placeholder="All statuses", label_visibility="collapsed"
    )
    views = run_widgets.call(_sweep_views) or []
    if statuses:
        views = [v for v in views if v.job.status in statuses]
    if not views:
        st.info(
            "No sweeps here yet: build one with **Create sweep**, or submit the cloud's sweep YAML with "
            "`studio job create --file sweep.yml`."
        )
        return
    active = sum(v.job.is_active for v in views)
    note = (f", {active} running" if active else "") + " · click a header to sort"
    frame = pd.DataFrame([_record(v) for v in views])
    event, shown = run_widgets.runs_table(
        frame, "sw_table", "sweep", note + " · select a row to open the sweep"
    )
    picked = shell.selected_row(event, shown)
    if picked:
        go(sweep=picked["name"])
