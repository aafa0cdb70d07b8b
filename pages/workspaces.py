"""Workspaces: list, create, inspect (with datastores), update and delete."""

import functools

import pandas as pd
import streamlit as st

from backend.services import datastores, workspaces
from studio.ui import shell, widgets


@st.dialog("Delete workspace")
def _confirm_delete(name: str) -> None:
    st.write(f"This deletes **{name}** and every file stored in it. Type its name to confirm.")
    typed = st.text_input("Workspace name", key="delete_confirm")
    if not st.button("Delete", type="primary", key="delete_do", disabled=typed != name):
        return
    if widgets.done(
        workspaces.delete_workspace, name=name, confirm=typed, success=f"Deleted workspace {name}"
    ):
        st.query_params.pop("name", None)
        if shell.current_workspace() == name:
            st.query_params["ws"] = workspaces.DEFAULT_WORKSPACE
            st.session_state.pop(shell.WORKSPACE_KEY, None)
        st.rerun()


def detail(name: str) -> None:
    loaded = widgets.load_together(
        lambda s: workspaces.get_workspace(session=s, name=name),
        lambda s: datastores.list_datastores(session=s, workspace=name),
    )
    widgets.back_button("← All workspaces", key="back")
    if not loaded:
        return
    ws, stores = loaded
    st.header(ws.name)
    st.caption(f"Created {ws.created_at:%Y-%m-%d %H:%M} UTC · storage root `{ws.storage_root}`")

    update = functools.partial(workspaces.update_workspace, name=name)
    widgets.details_form(ws, form="ws_update", prefix="ws", update=update, model=workspaces.WorkspaceUpdate)

    st.subheader("Datastores")
    frame = pd.DataFrame(
        [
            {
                "name": d.name,
                "type": d.type,
                "default": d.is_default,
                "built-in": d.built_in,
                "description": d.description,
            }
            for d in stores
        ]
    )
    st.dataframe(frame, hide_index=True, width="stretch", key="ws_datastores")

    left, right = st.columns(2)
    if left.button("Use this workspace", key="ws_use", disabled=shell.current_workspace() == name):
        st.query_params["ws"] = name
        st.session_state.pop(shell.WORKSPACE_KEY, None)
        st.rerun()
    if right.button("Delete workspace…", key="ws_delete", disabled=name == workspaces.DEFAULT_WORKSPACE):
        _confirm_delete(name)


def listing() -> None:
    rows = widgets.load(workspaces.list_workspaces) or []
    frame = pd.DataFrame(
        [
            {
                "name": w.name,
                "description": w.description,
                "tags": widgets.tags_text(w.tags).replace("\n", ", "),
                "created": w.created_at,
            }
            for w in rows
        ]
    )
    widgets.pick_and_open(frame, key="ws_table", dates=["created"])

    with st.expander("Create workspace", expanded=not rows or len(rows) < 2):
        name = st.text_input("Name", key="new_ws_name", help=workspaces.NAME_RULE)
        problem = widgets.problem_shown(
            name, widgets.raised_problem(workspaces.validate_name, workspaces.ValidationError)
        )
        description = st.text_area("Description", key="new_ws_description")
        tags = widgets.tags_input("new_ws_tags")
        if st.button("Create", type="primary", key="new_ws_create", disabled=not name or bool(problem)):
            created = widgets.load(
                workspaces.create_workspace,
                data=workspaces.WorkspaceCreate(name=name, description=description, tags=tags),
                success=f"Created workspace {name}",
            )
            if created:
                widgets.open_object(created.name)


widgets.list_or_detail("Workspaces", listing, detail)
