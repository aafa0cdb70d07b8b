"""A datastore's files: folders by breadcrumbs and a table (``?path=``), one file (``?file=``) previewed,
downloaded or deleted, and uploads into the folder shown."""

from __future__ import annotations

import posixpath

import pandas as pd
import streamlit as st

from backend.services import datastores, open_session
from studio.ui import shell, widgets
from studio.ui.datastores import common

BROWSE_LIMIT = 500  # entries shown in one folder; more are counted and the page says so
PREVIEWED = (".csv", ".tsv", ".parquet", ".jsonl", ".ndjson", ".json")
UPLOAD_ROUND = "ds_upload_round"  # a new uploader (emptied) after each upload


def _clean(path: str) -> str:
    return posixpath.normpath("/" + path).lstrip("/") if path and path.strip("/") else ""


def _breadcrumbs(name: str, path: str) -> None:
    parts = path.split("/") if path else []
    shown = parts[-6:]  # deep folders: the last few levels, the rest through the root link
    offset = len(parts) - len(shown)
    cols = st.columns(len(shown) + 1, gap="small")
    if cols[0].button(f"{name}:/", key="crumb_root", type="tertiary", icon=":material/folder:"):
        common.go(path=None, file=None)
    for j, part in enumerate(shown):
        i = offset + j
        label = f"…/{part}/" if j == 0 and offset else f"{part}/"
        if cols[j + 1].button(label, key=f"crumb_{i}", type="tertiary"):
            common.go(path="/".join(parts[: i + 1]), file=None)


def _upload_files(name: str, folder: str) -> None:
    uploads = st.session_state.get(f"ds_upload_{st.session_state.get(UPLOAD_ROUND, 0)}") or []

    def _upload():
        done = []
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
        return done

    common.flashed(_upload, lambda done: f"Uploaded {len(done)} file{'s' if len(done) != 1 else ''}")
    st.session_state[UPLOAD_ROUND] = st.session_state.get(UPLOAD_ROUND, 0) + 1


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
        on_click=common.open_dialog,
        args=("delete_file", path),
    )
    if common.dialog_open("delete_file", path):
        _confirm_file_delete(store.name, path)
    if right.button("Close", key="ds_file_close"):
        common.go(file=None)
    if path.lower().endswith(PREVIEWED):
        frame = widgets.load(datastores.preview_file, workspace=ws, name=store.name, path=path)
        if frame is not None:
            st.caption(f"First {len(frame)} rows")
            st.dataframe(frame, hide_index=True, width="stretch", key="ds_preview")
    else:
        st.caption("Preview shows csv, tsv, parquet and json lines files.")


@st.dialog("Delete file", on_dismiss=common.close_dialog)
def _confirm_file_delete(name: str, path: str) -> None:
    st.write(f"Delete **{path}** from datastore **{name}**? This cannot be undone.")
    if st.button("Delete", type="primary", key="ds_file_delete_do") and widgets.done(
        datastores.delete_file,
        workspace=shell.current_workspace(),
        name=name,
        path=path,
        success=f"Deleted {path}",
    ):
        common.close_dialog()
        common.go(file=None)


def _files_table(store: datastores.DatastorePublic, path: str, chosen: str | None, entries) -> None:
    frame = pd.DataFrame(
        [
            {
                "name": e.name + ("/" if e.is_dir else ""),
                "kind": "folder" if e.is_dir else "file",
                "size": e.size,
                "modified": e.modified,
                "path": e.path,
            }
            for e in entries
        ],
        columns=["name", "kind", "size", "modified", "path"],
    )
    if frame.empty:
        st.info("This folder is empty.", icon="📂")
        return
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
            "modified": st.column_config.DatetimeColumn("modified", format=widgets.DATETIME_FORMAT),
        },
    )
    st.caption("Select a folder to open it, or a file to preview or download it.")
    picked = shell.selected_row(event, frame)
    if picked and picked["kind"] == "folder":
        common.go(path=picked["path"], file=None)
    elif picked and picked["path"] != chosen:
        common.go(file=picked["path"])


def browser(store: datastores.DatastorePublic) -> None:
    ws = shell.current_workspace()
    path = _clean(st.query_params.get("path", ""))
    chosen = st.query_params.get("file")
    _breadcrumbs(store.name, path)
    listing = widgets.load(
        datastores.list_files, workspace=ws, name=store.name, path=path, limit=BROWSE_LIMIT
    )
    if listing is None:
        if path and st.button("Go to the top folder", key="ds_browse_root"):
            common.go(path=None, file=None)
        return
    if listing.truncated:
        st.warning(
            f"This folder has {listing.total:,} entries; the first {len(listing.entries):,} are listed. "
            f"List them all with `studio datastore ls --name {store.name} --path '{path}' --limit "
            f"{listing.total}`.",
            icon="✂️",
        )
    _files_table(store, path, chosen, listing.entries)

    round_ = st.session_state.get(UPLOAD_ROUND, 0)
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
