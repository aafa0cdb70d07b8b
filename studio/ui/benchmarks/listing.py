"""The list of benchmarks, opened by a row (``?name=``); the "New benchmark" form above it."""

from __future__ import annotations

import streamlit as st

from backend.services import benchmarks
from studio.ui import charts, shell, widgets
from studio.ui.benchmarks.create import create_form


def listing() -> None:
    with st.expander("New benchmark", icon=":material/add:"):
        create_form()
    found = widgets.load(benchmarks.list_benchmarks, workspace=shell.current_workspace())
    if found is None:
        return
    if not found:
        st.info(
            "No model benchmarks yet: create one above (the demo workspace has the datasets `qa-short` and "
            "`multiple-choice`), with connections to the models to compare."
        )
        return
    frame = widgets.frame_of(
        found,
        {
            "name": "name",
            "status": lambda r: charts.status_label(r.status),
            "dataset": "dataset",
            "models": lambda r: ", ".join(r.models),
            "judge": lambda r: r.judge or "–",
            "created": "created",
        },
    )
    widgets.pick_and_open(frame, key="bench_table", dates=["created"])
    st.caption("Select a row to open it; click a header to sort.")
