"""The step shown below a pipeline's graph: its status, why it was reused, skipped or failed, links to its
job (or inner sweep or pipeline), its inputs and outputs, and the tail of its log."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from backend.services.system import mlflow_tracking_uri
from studio.ui import charts, run_widgets, shell

LOG_TAIL_LINES = 60
LOG_KEEP_CHARS = 100_000
STD_LOG = "user_logs/std_log.txt"


# A ports table's columns: the attribute each shows -> its title.
STEP_COLUMNS = (
    {"name": "name", "type": "type", "binding": "from", "value": "value"},
    {"name": "name", "type": "type", "value": "location", "binding": "published as"},
)


def ports_tables(
    owner, prefix: str, columns: tuple[dict, dict], empty: tuple[str, str], title: str = ""
) -> None:
    """``owner``'s inputs (left) and outputs (right) as tables keyed ``<prefix>inputs`` and ``<prefix>outputs``;
    ``empty`` says what stands in for an empty one."""
    for where, attr, names, none in zip(st.columns(2), ("inputs", "outputs"), columns, empty, strict=True):
        with where:
            st.markdown(f"**{f'{title} {attr}' if title else attr.capitalize()}**")
            ports = getattr(owner, attr)
            if not ports:
                st.caption(none)
                continue
            frame = pd.DataFrame([{label: getattr(p, a) or "" for a, label in names.items()} for p in ports])
            st.dataframe(frame, hide_index=True, width="stretch", key=f"{prefix}{attr}")


def step_detail(step) -> None:
    with st.container(border=True):
        _head(step)
        _links(step)
        ports_tables(step, "pl_step_", STEP_COLUMNS, ("No inputs.", "No named outputs."))
        log_job = step.reused_from or step.job
        if log_job and step.kind == "command":
            _log_tail(log_job, reused=bool(step.reused_from))
        elif step.job and step.kind == "sweep":
            run_widgets.link(
                "sweeps.py", f"Sweep {step.job}: trials and charts", icon=":material/tune:", sweep=step.job
            )
        elif step.job and step.kind == "pipeline":
            run_widgets.link(
                "pipelines.py",
                f"Inner pipeline {step.job}: its graph",
                icon=":material/account_tree:",
                pipeline=step.job,
            )


def _head(step) -> None:
    """Name, kind, compute, dependencies and duration; the status badge; why it was reused, skipped or failed."""
    cols = st.columns([5, 1])
    cols[0].markdown(f"#### {step.display_name}")
    cols[0].caption(
        f"step `{step.name}` · {step.kind} · "
        + (f"component `{step.component}`" if step.component else "inline command")
        + f" · compute `{step.compute}` · depends on {', '.join(step.deps) or 'nothing'}"
        + f" · duration {shell.human_duration(step.duration_s)}"
    )
    cols[1].badge(
        "Reused" if step.reused_from else step.status,
        color=charts.status_color(step.status) if step.status in charts.STATUS_COLORS else "orange",
        icon=":material/recycling:" if step.reused_from else None,
        width="stretch",
    )
    if step.reused_from:
        st.info(
            f"Reused: the component, its input data and its parameter values equal those of job "
            f"`{step.reused_from}`, so this step took that job's outputs instead of running again "
            "(set force_rerun to run every step).",
            icon=":material/recycling:",
        )
        run_widgets.link(
            "jobs.py", f"Original job {step.reused_from}", icon=":material/history:", job=step.reused_from
        )
    if step.skipped_reason:
        st.warning(f"Not run: {step.skipped_reason}", icon=":material/block:")
    if step.failure_reason:
        st.error(step.failure_reason, icon=":material/error:")


def _links(step) -> None:
    """To the step's job on the Jobs page and its run in MLflow."""
    if step.job:
        links = st.columns([3, 1.4])
        with links[0]:
            run_widgets.link("jobs.py", f"Job {step.job}: full view", icon=":material/work:", job=step.job)
        uri = mlflow_tracking_uri()
        if uri and step.mlflow_run_id and step.mlflow_experiment_id:
            links[1].link_button(
                "Metrics in MLflow",
                f"{uri.rstrip('/')}/#/experiments/{step.mlflow_experiment_id}/runs/{step.mlflow_run_id}",
                icon=":material/monitoring:",
            )
    elif not step.skipped_reason:
        st.caption("This step has not started: it waits for " + (", ".join(step.deps) or "the agent") + ".")


def _log_tail(name: str, *, reused: bool) -> None:
    buffer = run_widgets.log_tail("pl_log_buffers", name, which=STD_LOG, keep_chars=LOG_KEEP_CHARS)
    lines = buffer["text"].splitlines()
    st.markdown(
        f"**Log** (`{STD_LOG}`{', of the original job' if reused else ''}, last {LOG_TAIL_LINES} lines)"
    )
    if lines:
        st.code("\n".join(lines[-LOG_TAIL_LINES:]), language="text")
    else:
        st.caption("Nothing logged yet.")
