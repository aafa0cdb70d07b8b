"""The frame around every page: workspace picker, MLflow link, error display, tables."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from backend.errors import StudioError

T = TypeVar("T")
PAGES = Path(__file__).resolve().parents[2] / "pages"
WORKSPACE_KEY = "workspace"

# The navigation, for the entry point and the quick links: sections in the order of the cloud studio's
# left rail, each entry (page file, title, icon). A page is listed once it works.
SECTIONS: dict[str, list[tuple[str, str, str]]] = {
    "": [("home.py", "Home", ":material/home:")],
    "Authoring": [("notebooks.py", "Notebooks", ":material/edit_note:")],
    "Assets": [
        ("data.py", "Data", ":material/dataset:"),
        ("datastores.py", "Datastores", ":material/database:"),
        ("environments.py", "Environments", ":material/deployed_code:"),
        ("components.py", "Components", ":material/widgets:"),
        ("models.py", "Models", ":material/model_training:"),
        ("responsible_ai.py", "Responsible AI", ":material/balance:"),
        ("model_benchmarks.py", "Model benchmarks", ":material/leaderboard:"),
        ("endpoints.py", "Endpoints", ":material/api:"),
    ],
    "Compute and jobs": [
        ("compute.py", "Compute", ":material/memory:"),
        ("jobs.py", "Jobs", ":material/work:"),
        ("sweeps.py", "Sweeps", ":material/tune:"),
        ("pipelines.py", "Pipelines", ":material/account_tree:"),
    ],
    "Manage": [
        ("workspaces.py", "Workspaces", ":material/workspaces:"),
        ("audit.py", "Audit log", ":material/history:"),
        ("profile.py", "Profile", ":material/person:"),
    ],
}
ICONS = {file: icon for entries in SECTIONS.values() for file, _, icon in entries}


def current_workspace() -> str:
    return st.session_state.get(WORKSPACE_KEY) or "default"


def _sync_workspace_param() -> None:
    st.query_params["ws"] = st.session_state[WORKSPACE_KEY]


def first_workspace(names: list[str]) -> str:
    """The workspace a fresh visit shows: ``STUDIO_WORKSPACE`` when set, else the demo workspace when it
    exists (``make run`` prepares it, so a newcomer lands on sample data), else ``default``."""
    from backend.services.demo import DEMO_WORKSPACE
    from backend.settings import get_settings

    settings = get_settings()
    for name in (
        settings.workspace if "workspace" in settings.model_fields_set else None,
        DEMO_WORKSPACE,
        "default",
    ):
        if name in names:
            return name
    return names[0]


def workspace_picker() -> str:
    """Sidebar picker; ``?ws=NAME`` selects a workspace from a link, and the choice stays in the URL."""
    from backend.services import open_session, workspaces

    with open_session() as s:
        names = [w.name for w in workspaces.list_workspaces(session=s)]
    wanted = st.query_params.get("ws") or st.session_state.get(WORKSPACE_KEY) or first_workspace(names)
    if wanted not in names:
        fallback = first_workspace(names)
        if "ws" in st.query_params:
            st.sidebar.warning(f"Workspace {wanted!r} does not exist; showing {fallback!r}.")
        wanted = fallback
    st.session_state[WORKSPACE_KEY] = wanted
    st.sidebar.selectbox("Workspace", names, key=WORKSPACE_KEY, on_change=_sync_workspace_param)
    st.query_params["ws"] = st.session_state[WORKSPACE_KEY]
    return st.session_state[WORKSPACE_KEY]


def mlflow_link() -> None:
    from backend.services.system import mlflow_tracking_uri

    uri = mlflow_tracking_uri()
    if uri:
        st.sidebar.link_button("Open MLflow UI", uri, icon=":material/open_in_new:", width="stretch")
    else:
        st.sidebar.caption("MLflow server not running (start Studio with `studio up`).")


def attempt(action: Callable[[], T], *, success: str | None = None) -> T | None:
    """Run a service call; a StudioError becomes one clear message on the page, not a traceback."""
    try:
        result = action()
    except StudioError as exc:
        st.error(str(exc), icon="⚠️")
        return None
    if success:
        st.toast(success, icon="✅")
    return result


def filtered_table(frame: pd.DataFrame, *, key: str, placeholder: str = "Filter", **dataframe_kwargs: Any):
    """A table that sorts (click a header) and filters (a text box matching any column).

    Returns the dataframe event and the rows shown, so a selection maps to the right row.
    """
    query = st.text_input(
        placeholder, key=f"{key}_filter", placeholder="type to filter rows", label_visibility="collapsed"
    )
    if query and not frame.empty:
        mask = (
            frame.astype(str).apply(lambda col: col.str.contains(query, case=False, regex=False)).any(axis=1)
        )
        frame = frame[mask]
    event = st.dataframe(frame, key=key, hide_index=True, width="stretch", **dataframe_kwargs)
    return event, frame


def selected_row(event, frame: pd.DataFrame) -> dict | None:
    rows = getattr(getattr(event, "selection", None), "rows", None) or []
    if not rows:
        return None
    return frame.iloc[rows[0]].to_dict()


def page_link(page: str, label: str, icon: str | None = None, **params: str) -> None:
    """A link to another page that keeps the workspace (and names an object with ``params``)."""
    st.page_link(PAGES / page, label=label, icon=icon, query_params={"ws": current_workspace(), **params})


def page_links(links: Iterable[tuple[str, str]]) -> None:
    """Links (page file, label) to the pages that exist, each with the page's icon in the navigation."""
    for page, label in links:
        if (PAGES / page).exists():
            page_link(page, label, ICONS[page])


def go(routes: tuple[str, ...] | list[str], **params: str) -> None:
    """Show another view of the current page: clear the page's own query parameters (``routes``), set
    ``params`` and rerun; the workspace stays in the URL."""
    for key in routes:
        st.query_params.pop(key, None)
    for key, value in params.items():
        st.query_params[key] = value
    st.rerun()


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {(seconds % 3600) // 60:02d}m"


def human_size(size: float | None, unknown: str = "") -> str:
    if size is None:
        return unknown
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024:
            return f"{size:.0f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"
