"""Workspaces: list, create, inspect (with datastores), update and delete."""

import pandas as pd
import streamlit as st

from backend.services import datastores, open_session, workspaces
from studio.ui import shell


def _parse_tags(text: str) -> dict[str, str]:
    tags = {}
    for line in text.splitlines():
        if line.strip():
            key, _, value = line.partition("=")
            tags[key.strip()] = value.strip()
    return tags


def _tags_text(tags: dict[str, str]) -> str:
    return "\n".join(f"{k}={v}" for k, v in tags.items())


def _open(name: str) -> None:
    st.query_params["name"] = name
    st.rerun()


@st.dialog("Delete workspace")
def _confirm_delete(name: str) -> None:
    st.write(f"This deletes **{name}** and every file stored in it. Type its name to confirm.")
    typed = st.text_input("Workspace name", key="delete_confirm")
    if st.button("Delete", type="primary", key="delete_do", disabled=typed != name):

        def _delete():
            with open_session() as s:
                workspaces.delete_workspace(session=s, name=name, confirm=typed)
            return True

        if shell.attempt(_delete, success=f"Deleted workspace {name}"):
            st.query_params.pop("name", None)
            if shell.current_workspace() == name:
                st.query_params["ws"] = workspaces.DEFAULT_WORKSPACE
                st.session_state.pop(shell.WORKSPACE_KEY, None)
            st.rerun()


def detail(name: str) -> None:
    def _load():
        with open_session() as s:
            return workspaces.get_workspace(session=s, name=name), datastores.list_datastores(
                session=s, workspace=name
            )

    loaded = shell.attempt(_load)
    if st.button("← All workspaces", key="back"):
        del st.query_params["name"]
        st.rerun()
    if not loaded:
        return
    ws, stores = loaded
    st.header(ws.name)
    st.caption(f"Created {ws.created_at:%Y-%m-%d %H:%M} UTC · storage root `{ws.storage_root}`")

    with st.form("ws_update"):
        description = st.text_area("Description", ws.description, key="ws_description")
        tags = st.text_area("Tags (one key=value per line)", _tags_text(ws.tags), key="ws_tags")
        if st.form_submit_button("Save"):

            def _save():
                with open_session() as s:
                    workspaces.update_workspace(
                        session=s,
                        name=name,
                        data=workspaces.WorkspaceUpdate(description=description, tags=_parse_tags(tags)),
                    )

            shell.attempt(_save, success="Saved")

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
    def _load():
        with open_session() as s:
            return workspaces.list_workspaces(session=s)

    rows = shell.attempt(_load) or []
    frame = pd.DataFrame(
        [
            {
                "name": w.name,
                "description": w.description,
                "tags": _tags_text(w.tags).replace("\n", ", "),
                "created": w.created_at,
            }
            for w in rows
        ]
    )
    event, shown = shell.filtered_table(
        frame,
        key="ws_table",
        on_select="rerun",
        selection_mode="single-row",
        column_config={"created": st.column_config.DatetimeColumn("created", format="YYYY-MM-DD HH:mm")},
    )
    picked = shell.selected_row(event, shown)
    if picked:
        _open(picked["name"])

    with st.expander("Create workspace", expanded=not rows or len(rows) < 2):
        name = st.text_input("Name", key="new_ws_name", help=workspaces.NAME_RULE)
        problem = None
        if name:
            try:
                workspaces.validate_name(name)
            except workspaces.ValidationError as exc:
                problem = str(exc)
            if problem:
                st.error(problem)
        description = st.text_area("Description", key="new_ws_description")
        tags = st.text_area("Tags (one key=value per line)", key="new_ws_tags")
        if st.button("Create", type="primary", key="new_ws_create", disabled=not name or bool(problem)):

            def _create():
                with open_session() as s:
                    return workspaces.create_workspace(
                        session=s,
                        data=workspaces.WorkspaceCreate(
                            name=name, description=description, tags=_parse_tags(tags)
                        ),
                    )

            created = shell.attempt(_create, success=f"Created workspace {name}")
            if created:
                _open(created.name)


st.title("Workspaces")
selected = st.query_params.get("name")
if selected:
    detail(selected)
else:
    listing()
