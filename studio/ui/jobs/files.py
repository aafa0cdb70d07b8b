"""A job's files: the Logs tab (followed while the job runs), the Outputs + artifacts tab (a folder
browser over its named outputs and its MLflow artifacts) and the Notebook tab (an executed notebook among
its artifacts, as a notebook job leaves it in ``outputs/``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath

import pandas as pd
import streamlit as st

from backend.errors import StudioError
from backend.services import datastores, job_forms, jobs, notebook_jobs, runs
from backend.statuses import TERMINAL
from studio.ui import run_widgets, shell
from studio.ui.jobs.metrics import LIVE_REFRESH_S
from studio.ui.notebook_view import render_notebook

STANDARD_LOGS = ("user_logs/std_log.txt", "system_logs/agent.log")
LOG_SHOW_LINES = 400
LOG_KEEP_CHARS = 400_000
PREVIEW_BYTES = 200_000
TEXT_SUFFIXES = {
    ".txt",
    ".log",
    ".csv",
    ".tsv",
    ".json",
    ".jsonl",
    ".yaml",
    ".yml",
    ".md",
    ".py",
    ".sh",
    ".toml",
}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"}
NOTEBOOK_CACHE_S = 30  # a run's notebooks are listed again after this, or at once when the status changes


# -------------------------------------------------------------------------------------------------- logs


def logs_view(job) -> None:
    workspace = shell.current_workspace()
    files = jobs.list_log_files(workspace=workspace, name=job.name)
    if not files and not job.is_active:
        st.info(f"The job is {job.status}: it wrote no logs.")
        return
    if job.is_active:  # the standard logs are offered before they exist, so the choice stays put
        files = list(dict.fromkeys([*STANDARD_LOGS, *files]))
    default = STANDARD_LOGS[0] if STANDARD_LOGS[0] in files else files[0]
    which = st.segmented_control(
        "Log file", files, default=default, key=f"job_log_file_{job.name}", label_visibility="collapsed"
    )
    which = which or default

    @st.fragment(run_every=LIVE_REFRESH_S if job.is_active else None)
    def _follow() -> None:
        buffer = run_widgets.log_tail("job_log_buffers", job.name, which=which, keep_chars=LOG_KEEP_CHARS)
        lines = buffer["text"].splitlines()
        cols = st.columns([4, 1])
        cols[0].caption(
            f"{which} · {buffer['offset']:,} bytes"
            + (f" · last {LOG_SHOW_LINES} lines" if len(lines) > LOG_SHOW_LINES else "")
            + (" · following while the job runs" if job.is_active else "")
        )
        cols[1].download_button(
            "Download",
            data=lambda: jobs.read_log(workspace=workspace, name=job.name, which=which)[0],
            file_name=f"{job.name}-{PurePosixPath(which).name}",
            mime="text/plain",
            key=f"job_log_download_{which}",
            icon=":material/download:",
            on_click="ignore",
        )
        if lines:
            st.code("\n".join(lines[-LOG_SHOW_LINES:]), language=None, height=480, wrap_lines=True)
        else:
            st.caption("Nothing written yet.")

    _follow()


# ----------------------------------------------------------------------------------- outputs, artifacts


def _parent(path: str) -> str:
    parent = str(PurePosixPath(path).parent)
    return "" if parent == "." else parent


def _browser(
    key: str, list_entries: Callable[[str], list], read_file: Callable[[str], bytes], root: str
) -> None:
    """Browse a folder tree: pick a folder to open it, a file to download (and preview) it."""
    path_key = f"{key}_path"
    path = st.session_state.get(path_key, root)
    if not path.startswith(root):
        path = root
    cols = st.columns([5, 1])
    cols[0].caption(f"Folder /{path}")
    if cols[1].button("Up", key=f"{key}_up", disabled=path == root, icon=":material/arrow_upward:"):
        parent = _parent(path)
        st.session_state[path_key] = parent if parent.startswith(root) and len(parent) >= len(root) else root
        st.rerun()
    entries = shell.attempt(lambda: list_entries(path))
    if entries is None:
        return
    if not entries:
        st.caption("Empty.")
        return
    frame = pd.DataFrame(
        [
            {"name": e.name + ("/" if e.is_dir else ""), "size": "" if e.is_dir else shell.human_size(e.size)}
            for e in entries
        ]
    )
    event = st.dataframe(
        frame,
        key=f"{key}_table_{path}",
        on_select="rerun",
        selection_mode="single-row",
        hide_index=True,
        width="stretch",
    )
    rows = getattr(getattr(event, "selection", None), "rows", None) or []
    if not rows:
        return
    entry = entries[rows[0]]
    if entry.is_dir:
        st.session_state[path_key] = entry.path
        st.rerun()
    data = shell.attempt(lambda: read_file(entry.path))
    if data is None:
        return
    st.download_button(
        f"Download {entry.name}",
        data=data,
        file_name=entry.name,
        key=f"{key}_download",
        icon=":material/download:",
        on_click="ignore",
    )
    suffix = PurePosixPath(entry.name).suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        st.image(data, caption=entry.name)
    elif suffix in TEXT_SUFFIXES and len(data) <= PREVIEW_BYTES:
        st.code(data.decode("utf-8", errors="replace"), language=None, height=300)


def outputs_view(job) -> None:
    st.subheader("Named outputs")
    if not job.outputs:
        st.caption("This job has no named outputs.")
    for name, out in job.outputs.items():
        with st.expander(f"{name} · {out.get('type')} · {out.get('uri')}", expanded=len(job.outputs) == 1):
            location = shell.attempt(lambda out=out: job_forms.output_location(out["uri"]))
            if location is None:
                continue
            store, rel = location
            rel = rel.strip("/")

            def _list(path: str, store=store):
                return run_widgets.in_session(datastores.list_files, name=store, path=path).entries

            def _read(path: str, store=store):
                return run_widgets.in_session(datastores.read_bytes, name=store, path=path)

            if out.get("type") == "uri_file":
                _browser(f"job_out_{name}", _list, _read, _parent(rel))
            elif job.status in TERMINAL or job.is_active:
                _browser(f"job_out_{name}", _list, _read, rel)
    st.subheader("MLflow artifacts")
    if not job.mlflow_run_id:
        st.caption(
            "Artifacts appear once the job runs; files it writes to ./outputs and ./logs are uploaded."
        )
        return
    _browser(
        "job_artifacts",
        lambda path: runs.list_artifacts(run_id=job.mlflow_run_id, path=path),
        lambda path: runs.read_artifact(run_id=job.mlflow_run_id, path=path),
        "",
    )


# --------------------------------------------------------------------------------------------- notebook


@st.cache_data(ttl=NOTEBOOK_CACHE_S, show_spinner=False, max_entries=64)
def _notebook_paths(run_id: str, status: str) -> list[str]:  # (``status`` is part of the cache key)
    return notebook_jobs.list_notebook_artifacts(run_id=run_id)


@st.cache_data(ttl=NOTEBOOK_CACHE_S, show_spinner=False, max_entries=8)
def _notebook(run_id: str, path: str, status: str) -> dict:
    return notebook_jobs.read_notebook_artifact(run_id=run_id, path=path)


def notebook_artifacts(job) -> list[str]:
    """The executed notebooks among the job's MLflow artifacts (none while MLflow cannot say: the Outputs
    tab shows why)."""
    if not job.mlflow_run_id:
        return []
    try:
        return _notebook_paths(job.mlflow_run_id, job.status)
    except StudioError:
        return []


def notebook_view(job, paths: list[str]) -> None:
    """The executed notebook, read-only, with its outputs (a choice when the run has several)."""
    path = paths[0]
    if len(paths) > 1:
        path = st.selectbox("Notebook", paths, key=f"job_notebook_{job.name}") or path
    st.caption(f"`{path}` · an artifact of MLflow run `{job.mlflow_run_id}`")
    notebook = shell.attempt(lambda: _notebook(job.mlflow_run_id, path, job.status))
    if notebook is not None:
        render_notebook(notebook, key=f"job_notebook_{job.name}")
