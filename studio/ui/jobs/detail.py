"""One job: its header and actions, and the tabs Overview, Metrics, Logs, Outputs + artifacts, Notebook
(when its run has executed notebooks) and Child jobs (the middle ones in ``metrics`` and ``files``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from backend.services import job_forms, jobs
from backend.specs.job import MODEL_TYPES
from backend.statuses import JobStatus
from studio.ui import charts, run_widgets, shell
from studio.ui.jobs import go
from studio.ui.jobs.files import logs_view, notebook_artifacts, notebook_view, outputs_view
from studio.ui.jobs.metrics import LIVE_REFRESH_S, metrics_view
from studio.ui.models.register import register_job_output_form


def _when(value) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S} UTC" if value else "–"


def detail(name: str) -> None:
    job = run_widgets.run_view("← All jobs", key="job_back", back=go, load=jobs.get_job, name=name)
    if job is None:
        return
    st.header(job.display_name)
    head = st.columns([1, 7], vertical_alignment="center")
    with head[0]:
        _status_badge(job.name, job.status, job.is_active)
    head[1].caption(
        f"Job `{job.name}` · experiment **{job.experiment_name}** · {job.type}"
        + (f" · child of `{job.parent}`" if job.parent else "")
        + (" · archived" if job.archived else "")
    )
    _actions(job)

    tab_names = ["Overview", "Metrics", "Logs", "Outputs + artifacts"]
    notebooks = notebook_artifacts(job)
    if notebooks:
        tab_names.append("Notebook")
    children = run_widgets.call(jobs.list_jobs, parent=job.name, include_archived=True) or []
    if children:
        tab_names.append(f"Child jobs ({len(children)})")
    tabs = iter(st.tabs(tab_names))
    with next(tabs):
        overview(job)
    with next(tabs):
        metrics_view(job)
    with next(tabs):
        logs_view(job)
    with next(tabs):
        outputs_view(job)
    if notebooks:
        with next(tabs):
            notebook_view(job, notebooks)
    if children:
        with next(tabs):
            child_jobs(children)


def _status_badge(name: str, shown: str, active: bool) -> None:
    """The status badge; while the job runs it is re-read every few seconds and the page follows a change."""

    @st.fragment(run_every=LIVE_REFRESH_S if active else None)
    def _badge() -> None:
        status = shown
        if active:
            try:
                status = run_widgets.in_session(jobs.get_job, name=name).status
            except Exception:
                status = shown
            if status != shown:
                st.rerun()
        st.badge(status, color=charts.status_color(status))

    _badge()


def _actions(job) -> None:
    cols = st.columns([1, 1, 1, 1.6, 3])
    if job.is_active:
        run_widgets.cancel_button(
            cols[0], job.name, key="job_cancel", disabled=job.status == JobStatus.CANCEL_REQUESTED
        )
    elif job.archived:
        if cols[0].button("Restore", key="job_restore", icon=":material/unarchive:"):
            run_widgets.act(jobs.restore_job, name=job.name, success=f"Restored {job.name}")
    elif cols[0].button("Archive", key="job_archive", icon=":material/archive:"):
        run_widgets.act(jobs.archive_job, name=job.name, success=f"Archived {job.name}")
    if cols[1].button(
        "Clone", key="job_clone", icon=":material/content_copy:", disabled=job.type != "command"
    ):
        run_widgets.clear_state("jf_")
        go(create="1", clone=job.name)
    if cols[2].button("Refresh", key="job_refresh", icon=":material/refresh:"):
        st.rerun()
    if cols[3].button("Compare experiment", key="job_compare_experiment", icon=":material/compare_arrows:"):
        go(experiment=job.experiment_name)


# ---------------------------------------------------------------------------------------------- overview


def overview(job) -> None:
    cols = st.columns(4)
    cols[0].metric("Status", job.status)
    cols[1].metric("Compute", job.compute)
    cols[2].metric("Duration", shell.human_duration(job.duration_s))
    cols[3].metric("Instances", job.instance_count)
    st.markdown(
        f"**Created** {_when(job.created_at)}  \n**Started** {_when(job.start_time)}  \n"
        f"**Ended** {_when(job.end_time)}"
        + (f"  \n**Exit code** {job.exit_code}" if job.exit_code is not None else "")
    )
    if job.failure_reason:
        first, _, rest = job.failure_reason.partition("\n")
        st.error(first, icon=":material/error:")
        if rest.strip():
            st.code(rest, language=None)
    if job.description:
        st.write(job.description)
    if job.tags:
        st.caption(" · ".join(f"{k}={v}" for k, v in job.tags.items()))
    if job.parent and st.button(
        f"Parent job: {job.parent}", key="job_parent", icon=":material/arrow_upward:"
    ):
        go(job=job.parent)
    env = run_widgets.call(job_forms.job_environment, name=job.name)
    st.subheader("Environment")
    if env:
        st.markdown(f"`{env['reference'] or 'built-in'}`")
        if env["reason"]:
            st.caption(env["reason"])
    if job.command:
        st.subheader("Command")
        st.code(job.command, language="bash")
    st.subheader("Inputs")
    _inputs_table(job)
    st.subheader("Outputs")
    _outputs_table(job)
    with st.expander("Status history"):
        st.dataframe(
            pd.DataFrame(job.history, columns=["status", "at"]),
            hide_index=True,
            width="stretch",
            key="job_history",
        )
    if job.type == "command":
        with st.expander("YAML (resubmit with `studio job create --file`)"):
            text = run_widgets.call(
                lambda session, workspace: job_forms.form_yaml(
                    job_forms.form_from_job(session=session, workspace=workspace, name=job.name)
                )
            )
            if text:
                st.code(text, language="yaml")


def _inputs_table(job) -> None:
    if not job.inputs:
        st.caption("This job has no inputs.")
        return
    records = []
    for name, value in job.inputs.items():
        if value is None:
            records.append({"name": name, "kind": "optional (not given)", "value": "", "data asset": ""})
        elif value.get("kind") == "literal":
            records.append({"name": name, "kind": "literal", "value": str(value["value"]), "data asset": ""})
        else:
            records.append(
                {
                    "name": name,
                    "kind": f"{value.get('type')} · {value.get('mode')}",
                    "value": value.get("uri", ""),
                    "data asset": value.get("asset") or "",
                }
            )
    st.dataframe(pd.DataFrame(records), hide_index=True, width="stretch", key="job_inputs")
    for record in records:
        if record["data asset"]:
            asset_name, _, version = record["data asset"].partition(":")
            shell.page_link(
                "data.py",
                f"Input {record['name']}: data asset {asset_name}:{version}",
                icon=":material/dataset:",
                name=asset_name,
                version=version,
            )


def _outputs_table(job) -> None:
    if not job.outputs:
        st.caption("This job has no named outputs (files it writes to ./outputs become artifacts).")
        return
    records = [
        {
            "name": name,
            "type": out.get("type"),
            "mode": out.get("mode"),
            "location": out.get("uri"),
            "registers as": (
                f"{out['asset_name']}" + (f":{out['asset_version']}" if out.get("asset_version") else "")
                if out.get("asset_name")
                else ""
            ),
        }
        for name, out in job.outputs.items()
    ]
    st.dataframe(pd.DataFrame(records), hide_index=True, width="stretch", key="job_outputs")
    if job.status == JobStatus.COMPLETED:
        for name, out in job.outputs.items():
            if out.get("asset_name") and out.get("type") in MODEL_TYPES:
                shell.page_link(
                    "models.py",
                    f"Output {name}: model {out['asset_name']}",
                    icon=":material/model_training:",
                    name=out["asset_name"],
                )
            elif out.get("asset_name"):
                shell.page_link(
                    "data.py",
                    f"Output {name}: data asset {out['asset_name']}",
                    icon=":material/dataset:",
                    name=out["asset_name"],
                )
        register_job_output_form(job)


# -------------------------------------------------------------------------------------------- children


def child_jobs(children: list) -> None:
    frame = pd.DataFrame(
        [
            {
                "name": c.name,
                "display name": c.display_name,
                "status": c.status,
                "duration (s)": None if c.duration_s is None else round(c.duration_s, 1),
                "created": c.created_at,
            }
            for c in children
        ]
    )
    event = st.dataframe(
        frame,
        key="job_children",
        on_select="rerun",
        selection_mode="single-row",
        hide_index=True,
        width="stretch",
        column_config={"status": run_widgets.status_column(), "created": run_widgets.created_column()},
    )
    picked = shell.selected_row(event, frame)
    if picked:
        go(job=picked["name"])
    with_runs = [c.name for c in children if c.mlflow_run_id]
    if len(with_runs) >= 2 and st.button("Compare child runs", key="job_children_compare"):
        go(compare=",".join(with_runs))
