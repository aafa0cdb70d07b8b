"""What the Datastores views share: labels, messages kept across a rerun, dialogs, credential fields."""

from __future__ import annotations

import streamlit as st

from backend.services import datastores
from studio.ui.widgets import flash, flashed, show_flash  # noqa: F401  (the views call them from here)

TYPE_LABELS = {
    "local": "Local folder",
    "azure_blob": "Azure Blob Storage",
    "azure_data_lake_gen2": "Azure Data Lake Storage Gen2",
}
CREDENTIAL_LABELS = {
    "account_key": "Account key",
    "sas": "SAS token",
    "service_principal": "Service principal",
    "none": "None (anonymous access)",
}
# The open dialog, (kind, target): it stays open across full reruns until it is done or dismissed.
DIALOG = "ds_dialog"
ROUTES = ("path", "file")  # the query parameters below ``name``: a folder and a file in it


def go(**params: str | None) -> None:
    """Change the deep-link parameters (None removes one) and draw the page again."""
    for key, value in params.items():
        if value is None:
            st.query_params.pop(key, None)
        else:
            st.query_params[key] = value
    st.rerun()


def close_dialog() -> None:
    st.session_state.pop(DIALOG, None)


def open_dialog(kind: str, target: str) -> None:
    st.session_state[DIALOG] = (kind, target)


def dialog_open(kind: str, target: str) -> bool:
    return st.session_state.get(DIALOG) == (kind, target)


def location(store: datastores.DatastorePublic) -> str:
    return store.config.get("path") or store.config.get("url") or ""


def credential_summary(store: datastores.DatastorePublic) -> str:
    if store.type not in datastores.AZURE_TYPES:
        return ""
    label = CREDENTIAL_LABELS.get(store.credential_type, store.credential_type).split(" (")[0]
    return f"{label} (set)" if store.secret_set else label


def credential_kind(label: str, *, key: str, help: str | None = None) -> str:
    """A radio over the kinds of credential."""
    return st.radio(
        label, list(CREDENTIAL_LABELS), format_func=CREDENTIAL_LABELS.get, horizontal=True, key=key, help=help
    )


def credentials_from_state(prefix: str, kind: str) -> dict[str, str]:
    state = st.session_state
    if kind == "account_key":
        return {"account_key": state.get(f"{prefix}_account_key", "")}
    if kind == "sas":
        return {"sas_token": state.get(f"{prefix}_sas_token", "")}
    if kind == "service_principal":
        return {
            "tenant_id": state.get(f"{prefix}_tenant", ""),
            "client_id": state.get(f"{prefix}_client", ""),
            "client_secret": state.get(f"{prefix}_client_secret", ""),
        }
    return {}


def credential_inputs(prefix: str, kind: str) -> bool:
    """Inputs for one kind of credential; True when every field it needs is filled in."""
    if kind == "account_key":
        return bool(st.text_input("Account key", type="password", key=f"{prefix}_account_key"))
    if kind == "sas":
        return bool(st.text_input("SAS token", type="password", key=f"{prefix}_sas_token"))
    if kind == "service_principal":
        tenant = st.text_input("Tenant ID", key=f"{prefix}_tenant")
        client = st.text_input("Client ID", key=f"{prefix}_client")
        secret = st.text_input("Client secret", type="password", key=f"{prefix}_client_secret")
        return bool(tenant and client and secret)
    return True


def clear_secrets(prefix: str) -> None:
    """Empty the password fields of ``credential_inputs``: a typed secret is never drawn again."""
    for field in ("account_key", "sas_token", "client_secret"):
        st.session_state[f"{prefix}_{field}"] = ""
