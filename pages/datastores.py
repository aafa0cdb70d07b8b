"""Datastores: list, create, inspect (settings, credential, default, delete) and browse their files.

Deep links: ``?name=DS`` opens a datastore, ``&path=sub/dir`` a folder in it, ``&file=sub/dir/a.csv``
a file (preview and download). A credential is typed into a password field, sent to the service and
cleared from the form at once: the page never shows it again, only that one is set.
"""

from __future__ import annotations

import posixpath

import pandas as pd
import streamlit as st

from backend.errors import StudioError
from backend.services import datastores, open_session
from studio.ui import shell

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
BROWSE_LIMIT = 500  # entries shown in one folder; more are counted and the page says so
FLASH = "ds_flash"
# The open dialog, (kind, target): it stays open across full reruns until it is done or dismissed.
DIALOG = "ds_dialog"
# Password fields: emptied by the callback that uses them, before the page draws again.
NEW_SECRET_KEYS = ("new_ds_account_key", "new_ds_sas_token", "new_ds_client_secret")
REPLACE_SECRET_KEYS = ("ds_cred_account_key", "ds_cred_sas_token", "ds_cred_client_secret")


def _parse_tags(text: str) -> dict[str, str]:
    tags = {}
    for line in (text or "").splitlines():
        if line.strip():
            key, _, value = line.partition("=")
            tags[key.strip()] = value.strip()
    return tags


def _tags_text(tags: dict[str, str]) -> str:
    return "\n".join(f"{k}={v}" for k, v in tags.items())


def _flash(kind: str, message: str) -> None:
    st.session_state[FLASH] = (kind, message)


def _show_flash() -> None:
    kind, message = st.session_state.pop(FLASH, (None, None))
    if kind == "error":
        st.error(message, icon="⚠️")
    elif kind == "success":
        st.toast(message, icon="✅")


def _go(**params: str | None) -> None:
    """Change the deep-link parameters (None removes one) and draw the page again."""
    for key, value in params.items():
        if value is None:
            st.query_params.pop(key, None)
        else:
            st.query_params[key] = value
    st.rerun()


def _location(store: datastores.DatastorePublic) -> str:
    return store.config.get("path") or store.config.get("url") or ""


def _credential_summary(store: datastores.DatastorePublic) -> str:
    if store.type not in datastores.AZURE_TYPES:
        return ""
    label = CREDENTIAL_LABELS.get(store.credential_type, store.credential_type).split(" (")[0]
    return f"{label} (set)" if store.secret_set else label


def _credentials_from_state(prefix: str, kind: str) -> dict[str, str]:
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


def _credential_inputs(prefix: str, kind: str) -> bool:
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


# ---------------------------------------------------------------------------------------------- create


def _form_data() -> dict:
    state = st.session_state
    kind = state.get("new_ds_type", "local")
    data: dict = {
        "name": state.get("new_ds_name", "").strip(),
        "type": kind,
        "description": state.get("new_ds_description", ""),
        "tags": _parse_tags(state.get("new_ds_tags", "")),
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
    data["credentials"] = _credentials_from_state("new_ds", state.get("new_ds_cred", "account_key"))
    return data


def _create_from_form() -> None:
    """Button callback: runs before the page draws, so the password fields can be emptied."""
    try:
        spec = datastores.parse_datastore(_form_data(), source="new datastore")
        with open_session() as s:
            created = datastores.create_datastore(session=s, workspace=shell.current_workspace(), spec=spec)
    except StudioError as exc:
        _flash("error", str(exc))
    else:
        _flash("success", f"Created datastore {created.name}")
        st.query_params["name"] = created.name
    finally:
        for key in NEW_SECRET_KEYS:
            st.session_state[key] = ""


def _create_from_yaml() -> None:
    upload = st.session_state.get("new_ds_yaml")
    if upload is None:
        return
    try:
        spec = datastores.parse_datastore_text(
            upload.getvalue().decode("utf-8", "replace"), source=upload.name
        )
        with open_session() as s:
            created = datastores.create_datastore(session=s, workspace=shell.current_workspace(), spec=spec)
    except StudioError as exc:
        _flash("error", str(exc))
    else:
        _flash("success", f"Created datastore {created.name}")
        st.query_params["name"] = created.name


def _problem(value: str, check) -> bool:
    """Show what is wrong with a typed value; True when something is."""
    problem = check(value) if value else None
    if problem:
        st.error(problem)
    return bool(problem)


def create_section(expanded: bool) -> None:
    with st.expander("Create datastore", expanded=expanded, icon=":material/add:"):
        kind = st.selectbox(
            "Type",
            list(TYPE_LABELS),
            format_func=TYPE_LABELS.get,
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
            left, right = st.columns(2)
            with left:
                account = st.text_input("Storage account", key="new_ds_account")
                bad |= _problem(account, datastores.account_problem)
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
            cred = st.radio(
                "Credential",
                list(CREDENTIAL_LABELS),
                format_func=CREDENTIAL_LABELS.get,
                horizontal=True,
                key="new_ds_cred",
                help="Stored encrypted; never shown again once saved.",
            )
            ready = ready and bool(account and container) and _credential_inputs("new_ds", cred)
        st.text_input("Description", key="new_ds_description")
        st.text_area("Tags (one key=value per line)", key="new_ds_tags", height=68)
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


# ------------------------------------------------------------------------------------------- listing


def listing() -> None:
    def _load():
        with open_session() as s:
            return datastores.list_datastores(session=s, workspace=shell.current_workspace())

    stores = shell.attempt(_load) or []
    frame = pd.DataFrame(
        [
            {
                "name": d.name,
                "type": d.type,
                "default": d.is_default,
                "built-in": d.built_in,
                "location": _location(d),
                "credential": _credential_summary(d),
                "description": d.description,
                "created": d.created_at,
            }
            for d in stores
        ],
        columns=["name", "type", "default", "built-in", "location", "credential", "description", "created"],
    )
    event, shown = shell.filtered_table(
        frame,
        key="ds_table",
        on_select="rerun",
        selection_mode="single-row",
        column_config={
            "default": st.column_config.CheckboxColumn("default", help="Uploads and job outputs go here"),
            "created": st.column_config.DatetimeColumn("created", format="YYYY-MM-DD HH:mm"),
        },
    )
    st.caption("Select a row to open a datastore and browse its files.")
    picked = shell.selected_row(event, shown)
    if picked:
        _go(name=picked["name"], path=None, file=None)
    create_section(expanded=len(stores) <= len(datastores.BUILTIN_DATASTORES))


# -------------------------------------------------------------------------------------------- detail


def _close_dialog() -> None:
    st.session_state.pop(DIALOG, None)


def _open_dialog(kind: str, target: str) -> None:
    st.session_state[DIALOG] = (kind, target)


@st.dialog("Delete datastore", on_dismiss=_close_dialog)
def _confirm_delete(name: str) -> None:
    def _refusal():
        with open_session() as s:
            return datastores.delete_refusal(session=s, workspace=shell.current_workspace(), name=name) or ""

    refusal = shell.attempt(_refusal)
    if refusal:
        st.error(refusal, icon="⛔")
        return
    st.write(f"This unregisters **{name}** from the workspace. The files it points to are not deleted.")
    if st.button("Delete", type="primary", key="ds_delete_do"):

        def _delete():
            with open_session() as s:
                datastores.delete_datastore(session=s, workspace=shell.current_workspace(), name=name)
            return True

        if shell.attempt(_delete, success=f"Deleted datastore {name}"):
            _close_dialog()
            _go(name=None, path=None, file=None)


def _replace_credential(name: str) -> None:
    kind = st.session_state.get("ds_cred_kind", "account_key")
    try:
        credentials = datastores.parse_credentials(_credentials_from_state("ds_cred", kind))
        with open_session() as s:
            datastores.update_datastore(
                session=s,
                workspace=shell.current_workspace(),
                name=name,
                data=datastores.DatastoreUpdate(credentials=credentials),
            )
    except StudioError as exc:
        _flash("error", str(exc))
    else:
        _flash("success", "Credential replaced")
    finally:
        for key in REPLACE_SECRET_KEYS:
            st.session_state[key] = ""


def _set_default(name: str) -> None:
    try:
        with open_session() as s:
            datastores.set_default_datastore(session=s, workspace=shell.current_workspace(), name=name)
    except StudioError as exc:
        _flash("error", str(exc))
    else:
        _flash("success", f"{name} is now the default datastore")


def credential_section(store: datastores.DatastorePublic) -> None:
    st.subheader("Credential")
    if store.type not in datastores.AZURE_TYPES:
        st.write("A local folder needs no credential.")
        return
    if store.secret_set:
        st.success(
            f"{CREDENTIAL_LABELS[store.credential_type]}: a secret is set. It is never shown.", icon="🔒"
        )
    else:
        st.info("No credential: the container is read with anonymous access.", icon="🔓")
    with st.expander("Replace credential"):
        kind = st.radio(
            "New credential",
            list(CREDENTIAL_LABELS),
            format_func=CREDENTIAL_LABELS.get,
            horizontal=True,
            key="ds_cred_kind",
        )
        ready = _credential_inputs("ds_cred", kind)
        st.button(
            "Check and replace",
            key="ds_cred_save",
            disabled=not ready,
            on_click=_replace_credential,
            args=(store.name,),
            help="The connection is checked with the new credential before it replaces the old one.",
        )


def settings_section(store: datastores.DatastorePublic, ws: str) -> None:
    rows = [{"setting": "type", "value": TYPE_LABELS.get(store.type, store.type)}]
    rows += [{"setting": k, "value": str(v)} for k, v in store.config.items()]
    rows.append({"setting": "created", "value": f"{store.created_at:%Y-%m-%d %H:%M} UTC"})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="ds_config")
    with st.form("ds_update"):
        description = st.text_input("Description", store.description, key="ds_description")
        tags = st.text_area("Tags (one key=value per line)", _tags_text(store.tags), key="ds_tags", height=68)
        if st.form_submit_button("Save"):

            def _save():
                with open_session() as s:
                    datastores.update_datastore(
                        session=s,
                        workspace=ws,
                        name=store.name,
                        data=datastores.DatastoreUpdate(description=description, tags=_parse_tags(tags)),
                    )
                return True

            if shell.attempt(_save, success="Saved"):
                st.rerun()


def detail(name: str) -> None:
    ws = shell.current_workspace()

    def _load():
        with open_session() as s:
            return datastores.get_datastore(session=s, workspace=ws, name=name)

    if st.button("← All datastores", key="ds_back"):
        _go(name=None, path=None, file=None)
    _show_flash()
    store = shell.attempt(_load)
    if not store:
        return
    st.header(store.name)
    facts = [TYPE_LABELS.get(store.type, store.type)]
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
    mid.button("Delete…", key="ds_delete", on_click=_open_dialog, args=("delete", store.name))
    if st.session_state.get(DIALOG) == ("delete", store.name):
        _confirm_delete(store.name)

    files_tab, settings_tab = st.tabs(["Files", "Settings"])
    with files_tab:
        browser(store)
    with settings_tab:
        settings_section(store, ws)
        credential_section(store)


# ------------------------------------------------------------------------------------------- browser


def _clean(path: str) -> str:
    return posixpath.normpath("/" + path).lstrip("/") if path and path.strip("/") else ""


def _breadcrumbs(name: str, path: str) -> None:
    parts = path.split("/") if path else []
    shown = parts[-6:]  # deep folders: the last few levels, the rest through the root link
    offset = len(parts) - len(shown)
    cols = st.columns(len(shown) + 1, gap="small")
    if cols[0].button(f"{name}:/", key="crumb_root", type="tertiary", icon=":material/folder:"):
        _go(path=None, file=None)
    for j, part in enumerate(shown):
        i = offset + j
        label = f"…/{part}/" if j == 0 and offset else f"{part}/"
        if cols[j + 1].button(label, key=f"crumb_{i}", type="tertiary"):
            _go(path="/".join(parts[: i + 1]), file=None)


def _upload_files(name: str, folder: str) -> None:
    uploads = st.session_state.get(f"ds_upload_{st.session_state.get('ds_upload_round', 0)}") or []
    done = []
    try:
        with open_session() as s:
            for item in uploads:
                target = f"{folder}/{item.name}" if folder else item.name
                datastores.upload_bytes(
                    session=s,
                    workspace=shell.current_workspace(),
                    name=name,
                    path=target,
                    data=item.getvalue(),
                )
                done.append(item.name)
    except StudioError as exc:
        _flash("error", str(exc))
    else:
        _flash("success", f"Uploaded {len(done)} file{'s' if len(done) != 1 else ''}")
    st.session_state["ds_upload_round"] = st.session_state.get("ds_upload_round", 0) + 1


def file_panel(store: datastores.DatastorePublic, path: str) -> None:
    ws = shell.current_workspace()
    st.subheader(posixpath.basename(path))
    st.caption(f"`azureml://datastores/{store.name}/paths/{path}`")

    def _content() -> bytes:
        with open_session() as s:
            return datastores.read_bytes(session=s, workspace=ws, name=store.name, path=path)

    left, mid, right = st.columns([1, 1, 4])
    left.download_button(
        "Download",
        data=_content,
        file_name=posixpath.basename(path),
        key="ds_download",
        icon=":material/download:",
    )
    mid.button(
        "Delete file",
        key="ds_file_delete",
        icon=":material/delete:",
        on_click=_open_dialog,
        args=("delete_file", path),
    )
    if st.session_state.get(DIALOG) == ("delete_file", path):
        _confirm_file_delete(store.name, path)
    if right.button("Close", key="ds_file_close"):
        _go(file=None)
    if path.lower().endswith((".csv", ".tsv", ".parquet", ".jsonl", ".ndjson", ".json")):

        def _preview():
            with open_session() as s:
                return datastores.preview_file(session=s, workspace=ws, name=store.name, path=path)

        frame = shell.attempt(_preview)
        if frame is not None:
            st.caption(f"First {len(frame)} rows")
            st.dataframe(frame, hide_index=True, width="stretch", key="ds_preview")
    else:
        st.caption("Preview shows csv, tsv, parquet and json lines files.")


@st.dialog("Delete file", on_dismiss=_close_dialog)
def _confirm_file_delete(name: str, path: str) -> None:
    st.write(f"Delete **{path}** from datastore **{name}**? This cannot be undone.")
    if st.button("Delete", type="primary", key="ds_file_delete_do"):

        def _delete():
            with open_session() as s:
                datastores.delete_file(session=s, workspace=shell.current_workspace(), name=name, path=path)
            return True

        if shell.attempt(_delete, success=f"Deleted {path}"):
            _close_dialog()
            _go(file=None)


def browser(store: datastores.DatastorePublic) -> None:
    ws = shell.current_workspace()
    path = _clean(st.query_params.get("path", ""))
    chosen = st.query_params.get("file")
    _breadcrumbs(store.name, path)

    def _list():
        with open_session() as s:
            return datastores.list_files(
                session=s, workspace=ws, name=store.name, path=path, limit=BROWSE_LIMIT
            )

    listing = shell.attempt(_list)
    if listing is None:
        if path and st.button("Go to the top folder", key="ds_browse_root"):
            _go(path=None, file=None)
        return
    if listing.truncated:
        st.warning(
            f"This folder has {listing.total:,} entries; the first {len(listing.entries):,} are listed. "
            f"List them all with `studio datastore ls --name {store.name} --path '{path}' --limit "
            f"{listing.total}`.",
            icon="✂️",
        )
    frame = pd.DataFrame(
        [
            {
                "name": e.name + ("/" if e.is_dir else ""),
                "kind": "folder" if e.is_dir else "file",
                "size": e.size,
                "modified": e.modified,
                "path": e.path,
            }
            for e in listing.entries
        ],
        columns=["name", "kind", "size", "modified", "path"],
    )
    if frame.empty:
        st.info("This folder is empty.", icon="📂")
    else:
        event = st.dataframe(
            frame,
            # A new table (no selection left over) for each folder and opened file, so that closing a
            # file or going up does not reopen what the old selection pointed at.
            key=f"ds_files:{path}:{chosen or ''}",
            hide_index=True,
            width="stretch",
            on_select="rerun",
            selection_mode="single-row",
            column_order=["name", "kind", "size", "modified"],
            column_config={
                "size": st.column_config.NumberColumn("size", format="bytes"),
                "modified": st.column_config.DatetimeColumn("modified", format="YYYY-MM-DD HH:mm"),
            },
        )
        st.caption("Select a folder to open it, or a file to preview or download it.")
        picked = shell.selected_row(event, frame)
        if picked and picked["kind"] == "folder":
            _go(path=picked["path"], file=None)
        elif picked and picked["path"] != chosen:
            _go(file=picked["path"])

    round_ = st.session_state.get("ds_upload_round", 0)
    with st.expander("Upload files to this folder", icon=":material/upload:"):
        uploads = st.file_uploader(
            f"Files for {store.name}:/{path}", accept_multiple_files=True, key=f"ds_upload_{round_}"
        )
        st.button(
            "Upload",
            key="ds_upload_do",
            disabled=not uploads,
            on_click=_upload_files,
            args=(store.name, path),
        )
    if chosen:
        st.divider()
        file_panel(store, _clean(chosen))


st.title("Datastores")
selected = st.query_params.get("name")
if selected:
    detail(selected)
else:
    _show_flash()
    listing()
