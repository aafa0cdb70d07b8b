"""The chosen file: its actions, and for a notebook a read-only render with its outputs and **Run as job**
(its parameters cell prefilled, a compute picker; the job's page is linked once it is submitted)."""

from __future__ import annotations

import posixpath
from typing import Any

import streamlit as st

from backend.services import compute, notebooks, open_session
from studio.ui import shell, widgets
from studio.ui.notebooks import common, files

PARAM_PREFIX = "nb_param_"
JOB_FOR = "nb_job_for"  # the notebook the job form was filled for: another one starts it afresh
LAST_JOB = "nb_last_job"  # (notebook, job name) of the last submission, linked under the form
SCALARS = (bool, int, float, str)


def _size(size: int | None) -> str:
    if size is None:
        return ""
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def _param_input(name: str, value: Any, key: str) -> Any:
    label = f"`{name}`"
    if isinstance(value, bool):
        return st.checkbox(label, value=value, key=key)
    if isinstance(value, int):
        return int(st.number_input(label, value=value, step=1, key=key))
    if isinstance(value, float):
        return float(st.number_input(label, value=value, format="%g", key=key))
    return st.text_input(label, value=value, key=key)


def _fresh_form(path: str) -> None:
    """Values typed for another notebook are not this one's: start from its parameters cell."""
    if st.session_state.get(JOB_FOR) == path:
        return
    for key in [k for k in st.session_state if str(k).startswith(PARAM_PREFIX)]:
        del st.session_state[key]
    st.session_state.pop("nb_job_experiment", None)
    st.session_state[JOB_FOR] = path


def _compute_names(chosen_instance: str | None) -> tuple[list[str], int]:
    rows = widgets.load(compute.list_computes, workspace=common.workspace()) or []
    names = [c.name for c in rows] or [compute.SERVERLESS]
    if compute.SERVERLESS not in names:
        names.insert(0, compute.SERVERLESS)
    index = names.index(chosen_instance) if chosen_instance in names else names.index(compute.SERVERLESS)
    return names, index


def run_as_job(root: notebooks.NotebookRoot, path: str, notebook: dict, chosen_instance: str | None) -> None:
    """The Run as job form: parameters from the notebook's ``parameters`` cell, compute, experiment."""
    from backend.services import notebook_jobs

    _fresh_form(path)
    with st.expander("Run as job", icon=":material/play_circle:"):
        params = shell.attempt(lambda: notebook_jobs.notebook_parameters(notebook))
        if params is None:
            return
        passed = {n: v for n, v in params.items() if isinstance(v, SCALARS)}
        kept = {n: v for n, v in params.items() if n not in passed}
        names, index = _compute_names(chosen_instance)
        with st.form("nb_job_form", border=False):
            if passed:
                st.caption(
                    "Parameters (from the notebook's cell tagged `parameters`; papermill injects them)"
                )
                cols = st.columns(2)
                values = {}
                for i, (name, value) in enumerate(passed.items()):
                    with cols[i % 2]:
                        values[name] = _param_input(name, value, f"{PARAM_PREFIX}{name}")
            else:
                values = {}
                st.caption(
                    "No parameters: tag a code cell `parameters` in JupyterLab to set values for each run."
                )
            for name, value in kept.items():
                st.caption(f"`{name} = {value!r}` stays as the notebook sets it (only text, numbers and "
                           "booleans are passed).")  # fmt: skip
            left, right = st.columns(2)
            target = left.selectbox("Compute", names, index=index, key="nb_job_compute")
            experiment = right.text_input(
                "Experiment", value=posixpath.splitext(posixpath.basename(path))[0], key="nb_job_experiment"
            )
            submitted = st.form_submit_button("Run as job", type="primary", icon=":material/play_arrow:")
        if submitted:
            job = shell.attempt(
                lambda: _submit(root.share_path(path), values, target, experiment.strip() or None),
                success="Job submitted",
            )
            if job is not None:
                st.session_state[LAST_JOB] = (path, job.name)
        last = st.session_state.get(LAST_JOB)
        if last and last[0] == path:
            st.success(f"Submitted job **{last[1]}**: papermill runs the notebook; the job page shows it.")
            shell.page_link("jobs.py", f"Open job {last[1]}", icon=":material/work:", job=last[1])


def _submit(share_path: str, parameters: dict, target: str, experiment: str | None):
    from backend.services import notebook_jobs

    with open_session() as s:
        return notebook_jobs.submit_notebook_job(
            session=s,
            workspace=common.workspace(),
            path=share_path,
            parameters=parameters,
            compute=target,
            experiment_name=experiment,
        )


def render(notebook: dict, path: str) -> None:
    from studio.ui.notebook_view import render_notebook

    render_notebook(notebook, key=f"nb_view:{path}")


def file_view(root: notebooks.NotebookRoot, selected: notebooks.NotebookFile, chosen_instance: str | None):
    """The selected file or folder: its actions; a notebook's render and Run as job."""
    st.subheader(f"{files.MATERIAL[selected.kind]} {selected.path}")
    details = [selected.kind, _size(selected.size), f"modified {selected.modified:%Y-%m-%d %H:%M} UTC"]
    st.caption(" · ".join(d for d in details if d))
    files.item_actions(root, selected)
    if selected.is_dir:
        st.caption("A folder: new notebooks and uploads go into it. Select a notebook to see it here.")
        return
    if selected.kind != "notebook":
        st.caption("Notebooks (.ipynb) are shown here; download other files, or open them in JupyterLab.")
        return
    notebook = shell.attempt(lambda: common.call(notebooks.read_notebook, path=selected.path))
    if notebook is None:
        return
    run_as_job(root, selected.path, notebook, chosen_instance)
    runs_of(selected.path)
    st.divider()
    render(notebook, selected.path)


RUNS_CACHE_S = 5  # a rerun of the page (a click anywhere) does not search MLflow again


@st.cache_data(ttl=RUNS_CACHE_S, show_spinner=False, max_entries=32)
def _experiment_runs(experiment: str) -> list:
    from backend.services import runs

    return runs.experiment_runs(experiment=experiment)


def runs_of(path: str) -> None:
    """The MLflow runs of the notebook's experiment (named after it): what its kernel logged in JupyterLab,
    and its jobs unless they named another experiment."""
    from backend.errors import UnavailableError

    experiment = posixpath.splitext(posixpath.basename(path))[0]
    with st.expander(f"MLflow runs · experiment {experiment}", icon=":material/monitoring:"):
        try:
            found = _experiment_runs(experiment)
        except UnavailableError as exc:  # MLflow is not answering: the rest of the page still works
            st.caption(f"The runs cannot be read now: {exc}")
            return
        if not found:
            st.caption("No runs yet: `mlflow.log_metric` in this notebook's kernel starts one.")
            return
        rows = [{"run": r.run_name, "status": r.status, "started": r.start_time, **r.metrics} for r in found]
        st.dataframe(rows, hide_index=True, key=f"nb_runs:{path}")
