"""One model version: its card, lineage and files; versions, archive, restore and edits."""

from __future__ import annotations

import functools
import json

import pandas as pd
import streamlit as st

from backend.services import model_cards, models
from studio.ui import shell, widgets
from studio.ui.models.deploy import deploy_button, deploy_form
from studio.ui.models.responsible_ai import responsible_ai


def detail(name: str, version: str | None) -> None:
    workspace = shell.current_workspace()
    widgets.back_button("← All models", key="model_back")
    versions = widgets.load(models.list_model_versions, workspace=workspace, name=name)
    if not versions:
        return
    live = [v for v in versions if not v.archived]
    current = version if version in {v.version for v in versions} else (live or versions)[0].version
    model = next(v for v in versions if v.version == current)
    st.subheader(f"{model.name} : {model.version}")
    top = st.columns([2, 1, 1, 1])
    widgets.version_picker(name, versions, current, key="model_version_pick", where=top[0])
    top[1].markdown(f"**Type**  \n`{model.type}`")
    with top[2]:
        widgets.archive_toggle(
            model.archived,
            archive=lambda: widgets.load(
                models.archive_model, workspace=workspace, name=name, version=current
            ),
            restore=lambda: widgets.load(
                models.restore_model, workspace=workspace, name=name, version=current
            ),
            keys=("model_archive", "model_restore"),
        )
    deploy_button(top[3])
    widgets.tags_caption(model.tags)
    deploy_form(model)
    st.caption(
        f"Reference: `{model.reference}` · registered from {model.source} · MLflow source `{model.path}`"
    )
    card_tab, lineage_tab, rai_tab, versions_tab, edit_tab = st.tabs(
        ["Model card", "Lineage", "Responsible AI", "Versions", "Edit"]
    )
    with card_tab:
        card(workspace, name, current)
    with lineage_tab:
        lineage(workspace, name, current)
    with rai_tab:
        responsible_ai(model)
    with versions_tab:
        frame = widgets.frame_of(
            versions,
            {
                "name": "name",
                "version": "version",
                "type": "type",
                "created": "created_at",
                "archived": "archived",
                "job": lambda v: v.job or "",
                "source": "source",
            },
        )
        widgets.pick_and_open(frame, key="model_versions_table", version="version", dates=["created"])
    with edit_tab:
        widgets.details_form(
            model,
            form="model_edit",
            prefix="model_edit",
            update=functools.partial(models.update_model, workspace=workspace, name=name, version=current),
            rerun=True,
        )


def card(workspace: str, name: str, version: str) -> None:
    found = widgets.load(model_cards.model_card, workspace=workspace, name=name, version=version)
    if found is None:
        return
    st.markdown(found.model.description or "_No description._")
    if found.model.stage:
        st.caption(f"Stage: {found.model.stage}")
    if found.metrics:
        st.markdown("**Metrics of the run that produced it**")
        cols = st.columns(min(4, len(found.metrics)))
        for i, (key, value) in enumerate(sorted(found.metrics.items())):
            cols[i % len(cols)].metric(key, f"{value:.4g}")
    if found.flavors:
        st.markdown("**Flavors**: " + ", ".join(f"`{f}`" for f in found.flavors))
        with st.expander("Flavor settings"):
            st.json(found.flavors)
    if found.signature:
        st.markdown("**Signature**")
        for part, columns in found.signature.items():
            st.caption(part)
            if isinstance(columns, list) and columns and isinstance(columns[0], dict):
                st.dataframe(pd.DataFrame(columns), hide_index=True, key=f"model_sig_{part}")
            else:
                st.code(json.dumps(columns, indent=2), language="json")
    if found.input_example is not None:
        st.markdown("**Input example**")
        st.code(json.dumps(found.input_example, indent=2)[:5000], language="json")
    if found.model.properties:
        st.markdown("**Properties**")
        st.json(found.model.properties)
    st.markdown(f"**Files** ({len(found.files)})")
    st.dataframe(
        pd.DataFrame([{"path": f.path, "size": shell.human_size(f.size)} for f in found.files]),
        hide_index=True,
        width="stretch",
        key="model_files_table",
    )


def lineage(workspace: str, name: str, version: str) -> None:
    found = widgets.load(model_cards.model_lineage, workspace=workspace, name=name, version=version)
    if found is None:
        return
    if found.job:
        job = found.job
        st.markdown(
            f"Produced by job **{job['display_name'] or job['name']}** ({job['status']}, experiment "
            f"{job['experiment']})" + (f", output `{job['output']}`" if job.get("output") else "")
        )
        shell.page_link("jobs.py", f"Job {job['name']}", icon=":material/work:", job=job["name"])
    elif found.run_id:
        st.markdown(f"Produced by MLflow run `{found.run_id}` (not a Studio job).")
    else:
        st.info("No job or run is recorded for this version (it was registered from files).")
    if found.inputs:
        st.markdown("**The job's input data**")
        st.dataframe(pd.DataFrame(found.inputs), hide_index=True, width="stretch", key="model_lineage_inputs")
    tables = (
        ("Parameters", "parameter", found.params, "params"),
        ("Metrics", "metric", found.metrics, "metrics"),
    )
    for title, column, values, key in tables:
        if values:
            st.markdown(f"**{title}**")
            st.dataframe(
                pd.DataFrame(sorted(values.items()), columns=[column, "value"]),
                hide_index=True,
                key=f"model_lineage_{key}",
            )
