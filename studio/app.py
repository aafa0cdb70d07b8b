"""Streamlit entry point: navigation, the sidebar workspace picker, then the chosen page."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from backend.errors import StudioError
from studio.ui import shell

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "pages"

# Sections in the order of the cloud studio's left rail. A page is listed once it works.
SECTIONS: dict[str, list[tuple[str, str, str]]] = {
    "": [("home.py", "Home", ":material/home:")],
    "Assets": [
        ("data.py", "Data", ":material/dataset:"),
        ("datastores.py", "Datastores", ":material/database:"),
        ("environments.py", "Environments", ":material/deployed_code:"),
        ("components.py", "Components", ":material/widgets:"),
    ],
    "Compute and jobs": [
        ("compute.py", "Compute", ":material/memory:"),
        ("jobs.py", "Jobs", ":material/work:"),
        ("sweeps.py", "Sweeps", ":material/tune:"),
        ("pipelines.py", "Pipelines", ":material/account_tree:"),
    ],
    "Manage": [("workspaces.py", "Workspaces", ":material/workspaces:")],
}

st.set_page_config(page_title="Studio", page_icon=str(ROOT / "assets" / "logo.svg"), layout="wide")
st.logo(str(ROOT / "assets" / "logo.svg"))

navigation = st.navigation(
    {
        section: [
            st.Page(PAGES / file, title=title, icon=icon, default=file == "home.py")
            for file, title, icon in entries
            if (PAGES / file).exists()
        ]
        for section, entries in SECTIONS.items()
        if any((PAGES / file).exists() for file, _, _ in entries)
    }
)
try:
    shell.workspace_picker()
    shell.mlflow_link()
except StudioError as exc:  # e.g. the database is unreachable: say so instead of a traceback
    st.error(str(exc), icon="⚠️")
    st.stop()
navigation.run()
