"""The list of insights (and the mitigations and scorecards made from them), filtered by ``?model=`` and
opened by a row (``?name=``); the "New insights" form above it."""

from __future__ import annotations

import streamlit as st

from backend.services import rai
from studio.ui import charts, shell, widgets
from studio.ui.rai import common
from studio.ui.rai.create import create_form


def listing() -> None:
    model = st.query_params.get("model")
    if model:
        left, right = st.columns([4, 1], vertical_alignment="center")
        left.markdown(f"Insights of model **{model}**")
        if right.button("Show all models", key="rai_clear_model"):
            shell.go(common.ROUTES)
    with st.expander("New insights", icon=":material/add:", expanded=bool(model)):
        create_form(model)
    found = widgets.load(rai.list_insights, workspace=shell.current_workspace(), model=model or None)
    if found is None:
        return
    if not found:
        st.info(
            "No Responsible AI insights yet: create them above, or with `studio rai create` "
            "(or the cloud's RAI pipeline components)."
        )
        return
    frame = widgets.frame_of(
        found,
        {
            "name": "name",
            "kind": "kind",
            "title": "title",
            "model": "model",
            "data": "data",
            "status": lambda r: charts.status_label(r.status),
            "created": "created",
        },
    )
    widgets.pick_and_open(frame, key="rai_table", dates=["created"])
    st.caption("Select a row to open it; click a header to sort.")
