"""The share's file tree (a table that sorts and filters; a selected row is ``?path=``) and what can be done
to its files: new notebook or folder, upload, rename, delete (confirmed) and download."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from backend.identity import acting_as, current
from backend.services import notebooks, open_session
from studio.ui import shell, widgets
from studio.ui.notebooks import common

ICONS = {"folder": "📁", "notebook": "📓", "file": "📄"}  # in table cells, where Material icons are not drawn
MATERIAL = {"folder": ":material/folder:", "notebook": ":material/menu_book:", "file": ":material/draft:"}
INDENT = "\u2003"  # an em space a level: the tree's shape in the table's first column
UPLOAD_ROUND = "nb_upload_round"  # a new (emptied) uploader after each upload
NEW_NAME = "nb_new_name"
RENAME_NAME, RENAME_FOR = "nb_rename_name", "nb_rename_for"
TREE_HEIGHT = 460  # pixels


def target_folder(selected: notebooks.NotebookFile | None) -> str:
    """Where new files go: the selected folder, the selected file's folder, else the top folder."""
    if selected is None:
        return ""
    return selected.path if selected.is_dir else common.parent(selected.path)


def _where(folder: str) -> str:
    return f"`{folder}/`" if folder else "the top folder"


# ------------------------------------------------------------------------------------------------ tree


def _frame(tree: notebooks.NotebookTree, query: str) -> pd.DataFrame:
    rows = []
    for e in tree.entries:
        if query and query.lower() not in e.path.lower():
            continue
        # Filtered rows lose their folders, so they show their whole path; the full tree shows its shape.
        label = e.path if query else INDENT * e.depth + e.name
        rows.append(
            {
                "name": f"{ICONS[e.kind]} {label}{'/' if e.is_dir else ''}",
                "kind": e.kind,
                "size": e.size,
                "modified": e.modified,
                "path": e.path,
            }
        )
    return pd.DataFrame(rows, columns=["name", "kind", "size", "modified", "path"])


def tree_view(tree: notebooks.NotebookTree, chosen: str) -> None:
    """The tree as a table; selecting a row opens that file or folder (``?path=``)."""
    if tree.truncated:
        st.warning(
            f"This folder holds {tree.total:,}{'+' if tree.total >= notebooks.COUNT_LIMIT else ''} files and "
            f"folders; the first {len(tree.entries):,} are listed.",
            icon="✂️",
        )
    if not tree.entries:
        st.info("No files yet: make a notebook or upload files below.", icon="📂")
        return
    query = st.text_input(
        "Filter files", key="nb_filter", placeholder="type to filter files", label_visibility="collapsed"
    )
    frame = _frame(tree, query.strip())
    if frame.empty:
        st.caption(f"No file or folder matches {query!r}.")
        return
    at = frame.index[frame["path"] == chosen].tolist()
    event = st.dataframe(
        frame,
        # A new table for each opened path and filter: a selection left over from another one would point
        # at another row.
        key=f"nb_tree:{chosen}:{query}",
        hide_index=True,
        width="stretch",
        height=min(TREE_HEIGHT, 38 + 35 * len(frame)),
        on_select="rerun",
        selection_mode="single-row",
        selection_default={"selection": {"rows": at}} if at else None,
        placeholder="",
        column_order=["name", "kind", "size", "modified"],
        column_config={
            "name": st.column_config.TextColumn("name", width="medium"),
            "kind": st.column_config.TextColumn("kind", width="small"),
            "size": st.column_config.NumberColumn("size", format="bytes"),
            "modified": st.column_config.DatetimeColumn("modified", format=widgets.DATETIME_FORMAT),
        },
    )
    picked = shell.selected_row(event, frame)
    if picked and picked["path"] != chosen:
        common.go(path=picked["path"])


# ------------------------------------------------------------------------------------- new and upload


def _opened(made: notebooks.NotebookFile) -> None:
    common.set_params(path=made.path)


def _new(fn, folder: str) -> None:
    name = st.session_state.get(NEW_NAME) or ""

    def _make(*, session, workspace, whole_share):
        path = notebooks.child_path(folder, name)  # a name typed here, never a path
        return fn(session=session, workspace=workspace, whole_share=whole_share, path=path)

    made = common.flashed(_make, success=lambda m: f"Created {m.path}", then=_opened)
    if made is not None:
        st.session_state[NEW_NAME] = ""


def _upload(folder: str) -> None:
    files = st.session_state.get(f"nb_upload_{st.session_state.get(UPLOAD_ROUND, 0)}") or []
    replace = bool(st.session_state.get("nb_upload_replace"))

    done = common.flashed(
        notebooks.upload_files,
        folder=folder,
        files={item.name: item.getvalue() for item in files},
        overwrite=replace,
        success=lambda up: f"Uploaded {len(up)} file{'s' if len(up) != 1 else ''}",
    )
    if done is not None:
        st.session_state[UPLOAD_ROUND] = st.session_state.get(UPLOAD_ROUND, 0) + 1


def create_and_upload(selected: notebooks.NotebookFile | None) -> None:
    """New notebook, new folder and upload, into the folder of what is selected."""
    folder = target_folder(selected)
    with st.expander("New notebook or folder", icon=":material/add:", expanded=selected is None):
        st.caption(f"In {_where(folder)}")
        st.text_input("Name", key=NEW_NAME, placeholder="analysis (.ipynb is added for a notebook)")
        bar = st.container(horizontal=True)
        bar.button(
            "New notebook",
            key="nb_new_notebook",
            icon=":material/note_add:",
            on_click=_new,
            args=(notebooks.new_notebook, folder),
        )
        bar.button(
            "New folder",
            key="nb_new_folder",
            icon=":material/create_new_folder:",
            on_click=_new,
            args=(notebooks.new_folder, folder),
        )
    round_ = st.session_state.get(UPLOAD_ROUND, 0)
    with st.expander("Upload files", icon=":material/upload:"):
        st.caption(f"Into {_where(folder)}")
        uploads = st.file_uploader(
            "Files (notebooks, scripts, data)", accept_multiple_files=True, key=f"nb_upload_{round_}"
        )
        st.checkbox("Replace files that exist", key="nb_upload_replace")
        st.button("Upload", key="nb_upload_do", disabled=not uploads, on_click=_upload, args=(folder,))


# ------------------------------------------------------------------------------------ the chosen path


def _rename(path: str) -> None:
    common.flashed(
        notebooks.rename,
        path=path,
        new_name=st.session_state.get(RENAME_NAME) or "",
        success=lambda m: f"Renamed to {m.path}",
        then=_opened,
    )


@st.dialog("Delete", on_dismiss=common.close_dialog)
def _confirm_delete(selected: notebooks.NotebookFile) -> None:
    what = "the folder" if selected.is_dir else "the file"
    extra = " and everything in it" if selected.is_dir else ""
    st.write(f"Delete {what} **{selected.path}**{extra}? This cannot be undone.")
    left, right = st.columns(2)
    if right.button("Cancel", key="nb_delete_cancel"):
        common.close_dialog()
        st.rerun()
    if left.button("Delete", type="primary", key="nb_delete_do"):
        gone = shell.attempt(lambda: common.call(notebooks.delete, path=selected.path) or True)
        if gone:
            common.close_dialog()
            common.flash("success", f"Deleted {selected.path}")
            common.go(path=common.parent(selected.path) or None)


def downloader(root: notebooks.NotebookRoot, path: str, *, whole_share: bool):
    """The file's content, read when the button is clicked: on a thread of its own, where no page run says
    who acts or which workspace is shown, so both are taken now."""
    user, workspace = current(), root.workspace

    def _content() -> bytes:
        with acting_as(user), open_session() as s:
            return notebooks.read_bytes(session=s, workspace=workspace, path=path, whole_share=whole_share)

    return _content


def item_actions(root: notebooks.NotebookRoot, selected: notebooks.NotebookFile) -> None:
    """Download, rename and delete the selected file or folder."""
    if st.session_state.get(RENAME_FOR) != selected.path:  # prefilled with the name of what is selected
        st.session_state[RENAME_NAME] = selected.name
        st.session_state[RENAME_FOR] = selected.path
    bar = st.container(horizontal=True)
    if not selected.is_dir:
        too_big = (selected.size or 0) > notebooks.READ_LIMIT_BYTES
        bar.download_button(
            "Download",
            data=downloader(root, selected.path, whole_share=common.share_requested()),
            file_name=selected.name,
            key="nb_download",
            icon=":material/download:",
            disabled=too_big,
            help="Larger than a page downloads: use `studio datastore download`" if too_big else None,
        )
    with bar.popover("Rename", icon=":material/edit:"):
        st.text_input("New name", key=RENAME_NAME)
        st.button("Rename", key="nb_rename_do", type="primary", on_click=_rename, args=(selected.path,))
    bar.button(
        "Delete…",
        key="nb_delete",
        icon=":material/delete:",
        on_click=common.open_dialog,
        args=("delete", selected.path),
    )
    if common.dialog_open("delete", selected.path):
        _confirm_delete(selected)
    if bar.button("Close", key="nb_close", type="tertiary", icon=":material/close:"):
        common.go(path=None)
