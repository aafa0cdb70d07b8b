"""The datastores of the workspace, and the form that creates one (typed in, or from the cloud's YAML)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from backend.services import datastores, open_session
from studio.ui import shell, widgets
from studio.ui.datastores import common


def _form_data() -> dict:
    state = st.session_state
    kind = state.get("new_ds_type", "local")
    data: dict = {
        "name": state.get("new_ds_name", "").strip(),
        "type": kind,
        "description": state.get("new_ds_description", ""),
        "tags": widgets.parse_tags(state.get("new_ds_tags", "")),
    }
    if kind == "local":
        data["path"] = state.get("new_ds_path", "").strip()
        return data
    data["account_name"] = state.get("new_ds_account", "").strip()
    data["container_name" if kind == "azure_blob" else "filesystem"] = state.get(
        "new_ds_container", ""
    ).strip()
    data["endpoint"] = state.get("new_ds_endpoint", "").strip() or "core.windows.net"
    data["protocol"] = state.get("new_ds_protocol", "https")
    data["credentials"] = common.credentials_from_state("new_ds", state.get("new_ds_cred", "account_key"))
    return data


def _create(spec) -> None:
    """Create the datastore ``spec()`` describes and open it (a callback: the page draws after it)."""

    def _save():
        parsed = spec()
        with open_session() as s:
            return datastores.create_datastore(session=s, workspace=shell.current_workspace(), spec=parsed)

    created = common.flashed(_save, lambda c: f"Created datastore {c.name}")
    if created:
        st.query_params["name"] = created.name


def _create_from_form() -> None:
    """Button callback: runs before the page draws, so the password fields can be emptied."""
    try:
        _create(lambda: datastores.parse_datastore(_form_data(), source="new datastore"))
    finally:
        common.clear_secrets("new_ds")


def _create_from_yaml() -> None:
    upload = st.session_state.get("new_ds_yaml")
    if upload is None:
        return
    _create(
        lambda: datastores.parse_datastore_text(
            upload.getvalue().decode("utf-8", "replace"), source=upload.name
        )
    )


def _problem(value: str, check) -> bool:
    """Show what is wrong with a typed value; True when something is."""
    return bool(widgets.problem_shown(value, check))


def _azure_fields(kind: str) -> tuple[bool, bool]:
    """The storage account, container, endpoint and credential of an Azure datastore: (ready, bad)."""
    left, right = st.columns(2)
    with left:
        account = st.text_input("Storage account", key="new_ds_account")
        bad = _problem(account, datastores.account_problem)
    with right:
        label = "Container" if kind == "azure_blob" else "File system"
        container = st.text_input(label, key="new_ds_container")
        bad |= _problem(container, datastores.container_problem)
    left, right = st.columns(2)
    with left:
        endpoint = st.text_input(
            "Endpoint",
            value="core.windows.net",
            key="new_ds_endpoint",
            help="core.windows.net for Azure; host:port (127.0.0.1:10000) for the Azurite emulator.",
        )
        bad |= _problem(endpoint, datastores.endpoint_problem)
    with right:
        st.selectbox("Protocol", ["https", "http"], key="new_ds_protocol")
    cred = common.credential_kind(
        "Credential", key="new_ds_cred", help="Stored encrypted; never shown again once saved."
    )
    return bool(account and container) and common.credential_inputs("new_ds", cred), bad


def create_section(expanded: bool) -> None:
    with st.expander("Create datastore", expanded=expanded, icon=":material/add:"):
        kind = st.selectbox(
            "Type",
            list(common.TYPE_LABELS),
            format_func=common.TYPE_LABELS.get,
            key="new_ds_type",
            help="A folder on this machine, or a container in an Azure storage account.",
        )
        name = st.text_input("Name", key="new_ds_name", help=datastores.NAME_RULE)
        bad = _problem(name, datastores.name_problem)
        ready = bool(name)
        if kind == "local":
            path = st.text_input("Folder", key="new_ds_path", help="An existing folder on this machine.")
            if path and not path.startswith(("/", "~")):
                st.error("give the folder as an absolute path (/data/shared or ~/data)")
                bad = True
            ready = ready and bool(path)
        else:
            azure_ready, azure_bad = _azure_fields(kind)
            ready = ready and azure_ready
            bad |= azure_bad
        st.text_input("Description", key="new_ds_description")
        widgets.tags_input("new_ds_tags", height=68)
        st.button(
            "Create",
            type="primary",
            key="new_ds_create",
            disabled=not ready or bad,
            on_click=_create_from_form,
            help="The connection is checked before the datastore is saved.",
        )
        st.divider()
        st.file_uploader(
            "Or create from a datastore YAML file (the cloud's format)",
            type=["yml", "yaml"],
            key="new_ds_yaml",
        )
        st.button(
            "Create from YAML",
            key="new_ds_yaml_create",
            disabled=st.session_state.get("new_ds_yaml") is None,
            on_click=_create_from_yaml,
        )


def listing() -> None:
    common.show_flash()
    stores = widgets.load(datastores.list_datastores, workspace=shell.current_workspace()) or []
    frame = pd.DataFrame(
        [
            {
                "name": d.name,
                "type": d.type,
                "default": d.is_default,
                "built-in": d.built_in,
                "location": common.location(d),
                "credential": common.credential_summary(d),
                "description": d.description,
                "created": d.created_at,
            }
            for d in stores
        ],
        columns=["name", "type", "default", "built-in", "location", "credential", "description", "created"],
    )
    picked = widgets.picked_row(
        frame,
        key="ds_table",
        column_config={
            "default": st.column_config.CheckboxColumn("default", help="Uploads and job outputs go here"),
        }
        | widgets.datetime_columns("created"),
    )
    st.caption("Select a row to open a datastore and browse its files.")
    if picked:
        widgets.open_object(picked["name"], clear=common.ROUTES)
    create_section(expanded=len(stores) <= len(datastores.BUILTIN_DATASTORES))
