"""Home: the current workspace at a glance."""

import pandas as pd
import streamlit as st

from backend.services import open_session, overview
from studio.ui import shell

workspace = shell.current_workspace()
st.title(f"Workspace · {workspace}")


def _load():
    with open_session() as s:
        return overview.workspace_overview(session=s, workspace=workspace)


info = shell.attempt(_load)
if info:
    cols = st.columns(max(1, len(info.counts)))
    for col, (label, count) in zip(cols, info.counts.items(), strict=False):
        col.metric(label.capitalize(), count)

    left, right = st.columns([2, 1])
    with left:
        st.subheader("Recent activity")
        if info.recent:
            frame = pd.DataFrame([a.model_dump() for a in info.recent])
            st.dataframe(
                frame,
                hide_index=True,
                width="stretch",
                column_config={"when": st.column_config.DatetimeColumn("When", format="distance")},
            )
        else:
            st.caption("Nothing has happened in this workspace yet.")
    with right:
        st.subheader("Quick links")
        for page, label, icon in (
            ("data.py", "Register or browse data", ":material/dataset:"),
            ("jobs.py", "Create a job or compare runs", ":material/work:"),
            ("sweeps.py", "Sweep hyperparameters", ":material/tune:"),
            ("pipelines.py", "Compose a pipeline", ":material/account_tree:"),
            ("environments.py", "Environments", ":material/deployed_code:"),
            ("compute.py", "Compute", ":material/memory:"),
            ("workspaces.py", "Manage workspaces", ":material/workspaces:"),
        ):
            if (shell.PAGES / page).exists():
                shell.page_link(page, label, icon)
