"""Notebooks: the workspace's share of notebooks and files (``workspaceworkingdirectory``; your own
``Users/<name>/`` folder in team mode), a notebook rendered with its outputs, Run as job, and JupyterLab on a
compute instance. The views live in ``studio.ui.notebooks``.

Deep links: ``?path=<file or folder>`` selects it, ``&compute=<instance>`` an instance, ``&share=1`` the
whole share (an Owner's view in team mode).
"""

from __future__ import annotations

import streamlit as st

from backend.services import notebooks
from studio.ui import shell
from studio.ui.notebooks import common, files, instances, viewer

st.title("Notebooks")
common.show_flash()
tree = shell.attempt(lambda: common.call(notebooks.list_tree))
if tree is None:
    if common.share_requested() and st.button("Show my own folder", key="nb_own_folder"):
        common.go(**{common.SHARE: None, common.PATH: None})
    st.stop()
root = tree.root
common.whole_share(root.may_see_share)
where = f"`{root.prefix}/`" if root.prefix else "the whole share"
st.caption(
    f"Files of datastore **{root.datastore}** ({where}): the folder JupyterLab opens on this workspace's "
    "compute instances."
)
chosen = common.chosen_path()
selected = shell.attempt(lambda: common.call(notebooks.get_file, path=chosen)) if chosen else None
compute_name = instances.panel(root, selected)

left, right = st.columns([5, 6], gap="large")
with left:
    files.tree_view(tree, selected.path if selected else "")
    files.create_and_upload(selected)
with right:
    if selected is not None:
        viewer.file_view(root, selected, compute_name)
    elif not chosen:
        st.caption("Select a notebook in the tree to see it here, run it as a job or open it in JupyterLab.")
