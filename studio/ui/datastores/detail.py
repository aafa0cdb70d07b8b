"""One datastore: its settings and tags, its credential (replaced, never shown), default, delete; its files."""

from __future__ import annotations

import functools

import pandas as pd
import streamlit as st

from backend.services import datastores, open_session
from studio.ui import shell, widgets
from studio.ui.datastores import common
from studio.ui.datastores.browser import browser


@st.dialog("Delete datastore", on_dismiss=common.close_dialog)
def _confirm_delete(name: str) -> None:
    ws = shell.current_workspace()
    refusal = shell.attempt(lambda: _refusal(ws, name))
    if refusal:
        st.error(refusal, icon="⛔")
        return
    st.write(f"This unregisters **{name}** from the workspace. The files it points to are not deleted.")
    if st.button("Delete", type="primary", key="ds_delete_do") and widgets.done(
        datastores.delete_datastore, workspace=ws, name=name, success=f"Deleted datastore {name}"
    ):
        common.close_dialog()
        widgets.close_object(clear=common.ROUTES)


def _refusal(ws: str, name: str) -> str:
    with open_session() as s:
        return datastores.delete_refusal(session=s, workspace=ws, name=name) or ""


def _replace_credential(name: str) -> None:
    kind = st.session_state.get("ds_cred_kind", "account_key")

    def _replace():
        credentials = datastores.parse_credentials(common.credentials_from_state("ds_cred", kind))
        with open_session() as s:
            datastores.update_datastore(
                session=s,
                workspace=shell.current_workspace(),
                name=name,
                data=datastores.DatastoreUpdate(credentials=credentials),
            )

    try:
        common.flashed(_replace, "Credential replaced")
    finally:
        common.clear_secrets("ds_cred")


def _set_default(name: str) -> None:
    def _set():
        with open_session() as s:
            datastores.set_default_datastore(session=s, workspace=shell.current_workspace(), name=name)

    common.flashed(_set, f"{name} is now the default datastore")


def credential_section(store: datastores.DatastorePublic) -> None:
    st.subheader("Credential")
    if store.type not in datastores.AZURE_TYPES:
        st.write("A local folder needs no credential.")
        return
    if store.secret_set:
        st.success(
            f"{common.CREDENTIAL_LABELS[store.credential_type]}: a secret is set. It is never shown.",
            icon="🔒",
        )
    else:
        st.info("No credential: the container is read with anonymous access.", icon="🔓")
    with st.expander("Replace credential"):
        kind = common.credential_kind("New credential", key="ds_cred_kind")
        ready = common.credential_inputs("ds_cred", kind)
        st.button(
            "Check and replace",
            key="ds_cred_save",
            disabled=not ready,
            on_click=_replace_credential,
            args=(store.name,),
            help="The connection is checked with the new credential before it replaces the old one.",
        )


def settings_section(store: datastores.DatastorePublic, ws: str) -> None:
    rows = [{"setting": "type", "value": common.TYPE_LABELS.get(store.type, store.type)}]
    rows += [{"setting": k, "value": str(v)} for k, v in store.config.items()]
    rows.append({"setting": "created", "value": f"{store.created_at:%Y-%m-%d %H:%M} UTC"})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="ds_config")
    widgets.details_form(
        store,
        form="ds_update",
        prefix="ds",
        update=functools.partial(datastores.update_datastore, workspace=ws, name=store.name),
        model=datastores.DatastoreUpdate,
        rerun=True,
        one_line=True,
        tags_height=68,
    )


def detail(name: str) -> None:
    ws = shell.current_workspace()
    widgets.back_button("← All datastores", key="ds_back", clear=common.ROUTES)
    common.show_flash()
    store = widgets.load(datastores.get_datastore, workspace=ws, name=name)
    if not store:
        return
    st.header(store.name)
    facts = [common.TYPE_LABELS.get(store.type, store.type)]
    if store.is_default:
        facts.append("**default datastore**")
    if store.built_in:
        facts.append("built in")
    st.markdown(" · ".join(facts) + (f"  \n{store.description}" if store.description else ""))

    left, mid, _ = st.columns([1, 1, 4])
    left.button(
        "Set as default",
        key="ds_set_default",
        disabled=store.is_default,
        on_click=_set_default,
        args=(store.name,),
        help="Uploads, data assets and job outputs go to the default datastore.",
    )
    mid.button("Delete…", key="ds_delete", on_click=common.open_dialog, args=("delete", store.name))
    if common.dialog_open("delete", store.name):
        _confirm_delete(store.name)

    files_tab, settings_tab = st.tabs(["Files", "Settings"])
    with files_tab:
        browser(store)
    with settings_tab:
        settings_section(store, ws)
        credential_section(store)
