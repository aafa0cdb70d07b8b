"""The compute instance panel: the workspace's instances (``&compute=``), their state with Start and Stop, and
for a running one its JupyterLab server with **Open in JupyterLab** (a new tab, straight to the chosen file).
"""

from __future__ import annotations

import streamlit as st

from backend.services import compute, notebooks
from studio.ui import shell, widgets
from studio.ui.notebooks import common

PICK_KEY = "nb_compute"
SERVER_POLL_S = 3  # while a server starts or stops, its state is read again this often
TRANSITIONAL = ("Starting", "Stopping")
STATE_ICONS = {
    "Running": ":material/check_circle:",
    "Starting": ":material/hourglass_top:",
    "Stopping": ":material/hourglass_bottom:",
    "Failed": ":material/error:",
}


def _picked() -> None:
    common.set_params(**{common.COMPUTE: st.session_state.get(PICK_KEY)})


def _pick(instances: list[compute.ComputePublic]) -> compute.ComputePublic:
    names = [c.name for c in instances]
    wanted = st.query_params.get(common.COMPUTE) or st.session_state.get(PICK_KEY)
    if wanted not in names:
        if st.query_params.get(common.COMPUTE):
            st.warning(
                f"Compute instance {wanted!r} does not exist in this workspace; showing {names[0]!r}.",
                icon="⚠️",
            )
        running = [c.name for c in instances if c.state == compute.RUNNING]
        wanted = (running or names)[0]
    st.session_state[PICK_KEY] = wanted
    st.query_params[common.COMPUTE] = wanted
    picked = st.selectbox(
        "Compute instance",
        names,
        key=PICK_KEY,
        on_change=_picked,
        format_func=lambda n: f"{n} · {next(c.state for c in instances if c.name == n)}",
    )
    return next(c for c in instances if c.name == picked)


def _start_stop(where, instance: compute.ComputePublic) -> None:
    running = instance.state == compute.RUNNING
    left, right = where.columns(2)
    for col, label, key, icon, off, action, did in (
        (
            left,
            "Start",
            "nb_compute_start",
            ":material/play_arrow:",
            running,
            compute.start_compute,
            "Started",
        ),
        (right, "Stop", "nb_compute_stop", ":material/stop:", not running, compute.stop_compute, "Stopped"),
    ):
        if col.button(label, key=key, icon=icon, disabled=off, width="stretch"):
            ws = common.workspace()
            widgets.rerun_if(
                widgets.load(action, workspace=ws, name=instance.name, success=f"{did} {instance.name}")
            )


def _server(instance: compute.ComputePublic):
    from backend.services import notebook_servers

    return widgets.load(notebook_servers.server_for, workspace=common.workspace(), compute=instance.name)


def _open_url(instance: compute.ComputePublic, share_path: str | None) -> str | None:
    from backend.services import notebook_servers

    return widgets.load(
        notebook_servers.open_url, workspace=common.workspace(), compute=instance.name, path=share_path
    )


def _may_open(instance: compute.ComputePublic) -> bool:
    from backend.services import notebook_servers

    return bool(widgets.load(notebook_servers.may_open, workspace=common.workspace(), compute=instance.name))


def _watch(instance: compute.ComputePublic, shown: str | None) -> None:
    """While the server starts or stops: read its state again, and draw the page again once it changed."""
    server = _server(instance)
    if (server.state if server else None) != shown:
        st.rerun()


def _jupyter(where, instance: compute.ComputePublic, share_path: str | None, file_label: str | None) -> None:
    server = _server(instance)
    state = server.state if server else None
    if server is None:
        where.caption(
            "JupyterLab starts with the instance."
            if instance.state != compute.RUNNING
            else "JupyterLab is not running: the agent starts it (is `studio up` running?)."
        )
        return
    text = f"JupyterLab: **{server.state}**" + (f" · {server.message}" if server.message else "")
    if state == "Failed":
        where.error(text, icon="⚠️")
    else:
        where.caption(f"{STATE_ICONS.get(state, '')} {text}")
    if state in TRANSITIONAL:
        with where:
            st.fragment(_watch, run_every=SERVER_POLL_S)(instance, state)
    if state != "Running":
        return
    url = _open_url(instance, share_path)
    if not url:
        if not _may_open(instance):
            where.caption("Only the instance's user (who created it) and Owners open its JupyterLab.")
        return
    where.link_button(
        f"Open {file_label} in JupyterLab" if file_label else "Open in JupyterLab",
        url,
        key="nb_open_jupyter",
        type="primary",
        icon=":material/open_in_new:",
        help="Opens in a new tab; the link carries the server's token, so keep it to yourself.",
    )
    if share_path and "/lab/tree/" not in url:
        where.caption(f"This instance's JupyterLab opens {server.root}, which does not hold this file.")


def panel(root: notebooks.NotebookRoot, selected: notebooks.NotebookFile | None) -> str | None:
    """The instance panel; the name of the chosen instance (None when the workspace has none)."""
    rows = widgets.load(compute.list_computes, workspace=common.workspace()) or []
    instances = [c for c in rows if c.type == compute.INSTANCE]
    with st.container(border=True):
        if not instances:
            st.caption(
                "No compute instance in this workspace: create one on the Compute page to open these files "
                "in JupyterLab."
            )
            shell.page_link("compute.py", "Compute", icon=":material/memory:")
            return None
        pick, actions, jupyter = st.columns([2, 2, 3], vertical_alignment="bottom")
        with pick:
            instance = _pick(instances)
        _start_stop(actions, instance)
        opened = selected if selected is not None and not selected.is_dir else None
        _jupyter(
            jupyter,
            instance,
            root.share_path(opened.path) if opened else None,
            opened.name if opened else None,
        )
    return instance.name
