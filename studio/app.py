"""Streamlit entry point: navigation, the sidebar workspace picker, then the chosen page."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from backend.errors import StudioError
from studio.ui import auth, shell

ROOT = Path(__file__).resolve().parents[1]
PAGES = shell.PAGES

st.set_page_config(page_title="Studio", page_icon=str(ROOT / "assets" / "logo.svg"), layout="wide")
st.logo(str(ROOT / "assets" / "logo.svg"))

try:
    auth.signed_in()  # team mode: the sign-in form until someone signs in
except StudioError as exc:
    st.error(str(exc), icon="⚠️")
    st.stop()
navigation = st.navigation(
    {
        section: [
            st.Page(PAGES / file, title=title, icon=icon, default=file == "home.py")
            for file, title, icon in entries
            if (PAGES / file).exists()
        ]
        for section, entries in shell.SECTIONS.items()
        if any((PAGES / file).exists() for file, _, _ in entries)
    },
    expanded=True,  # every page in the sidebar, none behind "View more"
)
try:
    shell.workspace_picker()
    shell.mlflow_link()
except StudioError as exc:  # e.g. the database is unreachable: say so instead of a traceback
    st.error(str(exc), icon="⚠️")
    st.stop()
navigation.run()
