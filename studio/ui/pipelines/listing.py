"""The list of pipeline jobs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from backend.services import pipeline_views
from studio.ui import charts, run_widgets, shell
from studio.ui.pipelines import go


def listing() -> None:
    top = st.columns([1.4, 1.2, 4])
    if top[0].button("Compose a pipeline", type="primary", icon=":material/add:", key="pl_compose"):
        go(compose="1")
    show_archived = top[1].toggle("Show archived", key="pl_show_archived")
    rows = run_widgets.call(pipeline_views.list_pipelines, include_archived=show_archived) or []
    if not rows:
        st.info(
            "No pipeline jobs in this workspace yet. Compose one from registered components, or submit a "
            "pipeline YAML with `studio job create --file pipeline.yml`."
        )
        return
    frame = pd.DataFrame(
        [
            {
                "name": p.name,
                "display name": p.display_name,
                "status": charts.status_label(p.status),
                "steps": f"{p.steps_done}/{p.steps_total}"
                + (f" ({p.steps_failed} failed)" if p.steps_failed else ""),
                "experiment": p.experiment_name,
                "created": p.created_at,
                "duration": shell.human_duration(p.duration_s),
            }
            for p in rows
        ]
    )
    frame["created"] = pd.to_datetime(frame["created"], utc=True)
    event, shown = shell.filtered_table(
        frame,
        key="pl_table",
        on_select="rerun",
        selection_mode="single-row",
        column_config={"created": run_widgets.created_column()},
    )
    picked = shell.selected_row(event, shown)
    if picked:
        go(pipeline=picked["name"])
    st.caption(f"{len(rows)} pipeline job(s); select a row to open its graph.")
