"""Jobs: list, create (code, environment, compute, data), inspect (overview, metrics, live logs, outputs,
child jobs), cancel, clone and archive, and compare runs visually.

Deep links: ``?job=<name>`` (a job), ``?compare=a,b,c`` or ``?experiment=X`` (the comparison view),
``?create=1`` (the form; ``&clone=<name>`` prefills it from a job).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import PurePosixPath

import pandas as pd
import streamlit as st

from backend.services import ValidationError, datastores, job_forms, jobs, open_session, runs
from backend.services import compute as compute_service
from backend.statuses import TERMINAL, JobStatus
from studio.ui import charts, shell

workspace = shell.current_workspace()
ROUTES = ("job", "compare", "experiment", "create", "clone")
LIVE_REFRESH_S = 2
STANDARD_LOGS = ("user_logs/std_log.txt", "system_logs/agent.log")
METRICS_REFRESH_S = 5
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
MAX_DETAIL_CHARTS = 12
DIMENSIONS_DEFAULT = 8
STATUSES = [
    JobStatus.NOT_STARTED,
    JobStatus.QUEUED,
    JobStatus.PREPARING,
    JobStatus.RUNNING,
    JobStatus.FINALIZING,
    JobStatus.CANCEL_REQUESTED,
    JobStatus.COMPLETED,
    JobStatus.FAILED,
    JobStatus.CANCELED,
]
X_LABELS = {"step": "Step", "relative": "Relative time", "time": "Wall time"}
MINIMIZE_HINTS = ("loss", "error", "err", "rmse", "mse", "mae", "perplexity")


def _go(**params: str) -> None:
    shell.go(ROUTES, **params)


_duration = shell.human_duration


_size = shell.human_size


def _when(value) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S} UTC" if value else "–"


def _clear_form() -> None:
    """Forget the create form's fields (a new form, a clone, or after submitting)."""
    for key in [k for k in st.session_state if str(k).startswith("jf_")]:
        del st.session_state[key]


def _kv_lines(text: str) -> dict[str, str]:
    return {
        k.strip(): v.strip()
        for k, _, v in (line.partition("=") for line in text.splitlines() if line.strip())
    }


def _kv_text(values: dict[str, str]) -> str:
    return "\n".join(f"{k}={v}" for k, v in values.items())


# ============================================================================================== listing


def _status_column():
    """Statuses as coloured pills in a table."""
    return st.column_config.MultiselectColumn(
        "status", options=STATUSES, color=[charts.status_color(s) for s in STATUSES]
    )


def listing() -> None:
    top = st.columns([1.2, 2, 2.4, 1.2, 1.2])
    if top[0].button("Create job", type="primary", icon=":material/add:", key="jobs_new"):
        _clear_form()
        _go(create="1")

    def _experiments():
        with open_session() as s:
            return jobs.list_experiments(session=s, workspace=workspace)

    experiments = shell.attempt(_experiments) or []
    experiment = top[1].selectbox(
        "Experiment", ["All experiments", *experiments], key="jobs_experiment", label_visibility="collapsed"
    )
    statuses = top[2].multiselect(
        "Status", STATUSES, key="jobs_status", placeholder="All statuses", label_visibility="collapsed"
    )
    children = top[3].toggle("Child jobs", key="jobs_children", help="Also list trials and pipeline steps")
    archived = top[4].toggle("Archived", key="jobs_archived", help="Also list archived jobs")

    def _load():
        with open_session() as s:
            return jobs.list_jobs(
                session=s,
                workspace=workspace,
                experiment=None if experiment == "All experiments" else experiment,
                include_children=children,
                include_archived=archived,
            )

    rows = shell.attempt(_load) or []
    if statuses:
        rows = [j for j in rows if j.status in statuses]
    if not rows:
        st.info(
            "No jobs here yet: create one with **Create job**, or submit the cloud's YAML with "
            "`studio job create --file job.yml`."
        )
        return
    active = sum(j.is_active for j in rows)
    frame = pd.DataFrame(
        [
            {
                "name": j.name,
                "display name": j.display_name,
                "status": j.status,
                "experiment": j.experiment_name,
                "compute": j.compute,
                "type": j.type,
                "duration (s)": None if j.duration_s is None else round(j.duration_s, 1),
                "created": j.created_at,
                "archived": j.archived,
            }
            for j in rows
        ]
    )
    if not archived:
        frame = frame.drop(columns=["archived"])
    if (frame["display name"] == frame["name"]).all():
        frame = frame.drop(columns=["display name"])
    st.caption(
        f"{len(rows)} job{'s' if len(rows) != 1 else ''}"
        + (f", {active} active" if active else "")
        + " · select rows to open, compare, cancel or archive them"
    )
    event, shown = shell.filtered_table(
        frame,
        key="jobs_table",
        placeholder="Search jobs",
        on_select="rerun",
        selection_mode="multi-row",
        column_config={
            "status": _status_column(),
            "created": st.column_config.DatetimeColumn("created", format="YYYY-MM-DD HH:mm:ss"),
            "duration (s)": st.column_config.NumberColumn("duration (s)", format="%.1f"),
        },
    )
    picked_rows = getattr(getattr(event, "selection", None), "rows", None) or []
    picked = [shown.iloc[i]["name"] for i in picked_rows if i < len(shown)]
    by_name = {j.name: j for j in rows}
    chosen = [by_name[n] for n in picked if n in by_name]

    act = st.columns([1, 1.4, 1, 1, 3.2])
    if act[0].button("Open", key="jobs_open", disabled=len(chosen) != 1, icon=":material/open_in_new:"):
        _go(job=chosen[0].name)
    with_runs = [j for j in chosen if j.mlflow_run_id]
    if act[1].button(
        f"Compare ({len(with_runs)})",
        key="jobs_compare",
        disabled=len(with_runs) < 2,
        icon=":material/compare_arrows:",
        help="Compare the selected jobs' runs (two or more that have started)",
    ):
        _go(compare=",".join(j.name for j in with_runs))
    cancelable = [j for j in chosen if j.is_active and j.status != JobStatus.CANCEL_REQUESTED]
    if act[2].button("Cancel", key="jobs_cancel", disabled=not cancelable, icon=":material/cancel:"):
        _act_on(cancelable, "cancel")
    archivable = [j for j in chosen if not j.is_active and not j.archived]
    if act[3].button("Archive", key="jobs_archive", disabled=not archivable, icon=":material/archive:"):
        _act_on(archivable, "archive")
    with act[4]:
        exp_cols = st.columns([2, 1])
        target = exp_cols[0].selectbox(
            "Experiment to compare", experiments, key="jobs_compare_experiment", label_visibility="collapsed"
        )
        if exp_cols[1].button("Compare all", key="jobs_compare_all", disabled=not experiments):
            _go(experiment=target)


def _act_on(selected: list, action: str) -> None:
    def _do():
        with open_session() as s:
            for job in selected:
                if action == "cancel":
                    jobs.cancel_job(session=s, workspace=workspace, name=job.name)
                else:
                    jobs.archive_job(session=s, workspace=workspace, name=job.name)
        return True

    verb = "Cancel requested for" if action == "cancel" else "Archived"
    if shell.attempt(_do, success=f"{verb} {len(selected)} job{'s' if len(selected) != 1 else ''}"):
        st.rerun()


# =============================================================================================== detail


def _load_job(name: str):
    with open_session() as s:
        return jobs.get_job(session=s, workspace=workspace, name=name)


def detail(name: str) -> None:
    if st.button("← All jobs", key="job_back"):
        _go()
    job = shell.attempt(lambda: _load_job(name))
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

    def _children():
        with open_session() as s:
            return jobs.list_jobs(session=s, workspace=workspace, parent=job.name, include_archived=True)

    children = shell.attempt(_children) or []
    if children:
        tab_names.append(f"Child jobs ({len(children)})")
    tabs = st.tabs(tab_names)
    with tabs[0]:
        overview(job)
    with tabs[1]:
        metrics_view(job)
    with tabs[2]:
        logs_view(job)
    with tabs[3]:
        outputs_view(job)
    if children:
        with tabs[4]:
            child_jobs(children)


def _status_badge(name: str, shown: str, active: bool) -> None:
    """The status badge; while the job runs it is re-read every few seconds and the page follows a change."""

    @st.fragment(run_every=LIVE_REFRESH_S if active else None)
    def _badge() -> None:
        status = shown
        if active:
            try:
                status = _load_job(name).status
            except Exception:
                status = shown
            if status != shown:
                st.rerun()
        st.badge(status, color=charts.status_color(status))

    _badge()


def _actions(job) -> None:
    cols = st.columns([1, 1, 1, 1.6, 3])
    if job.is_active:
        if cols[0].button(
            "Cancel",
            key="job_cancel",
            icon=":material/cancel:",
            disabled=job.status == JobStatus.CANCEL_REQUESTED,
        ):

            def _cancel():
                with open_session() as s:
                    return jobs.cancel_job(session=s, workspace=workspace, name=job.name)

            if shell.attempt(_cancel, success=f"Cancel requested for {job.name}"):
                st.rerun()
    elif job.archived:
        if cols[0].button("Restore", key="job_restore", icon=":material/unarchive:"):

            def _restore():
                with open_session() as s:
                    return jobs.archive_job(session=s, workspace=workspace, name=job.name, archived=False)

            if shell.attempt(_restore, success=f"Restored {job.name}"):
                st.rerun()
    elif cols[0].button("Archive", key="job_archive", icon=":material/archive:"):

        def _archive():
            with open_session() as s:
                return jobs.archive_job(session=s, workspace=workspace, name=job.name)

        if shell.attempt(_archive, success=f"Archived {job.name}"):
            st.rerun()
    if cols[1].button(
        "Clone", key="job_clone", icon=":material/content_copy:", disabled=job.type != "command"
    ):
        _clear_form()
        _go(create="1", clone=job.name)
    if cols[2].button("Refresh", key="job_refresh", icon=":material/refresh:"):
        st.rerun()
    if cols[3].button("Compare experiment", key="job_compare_experiment", icon=":material/compare_arrows:"):
        _go(experiment=job.experiment_name)


# ---------------------------------------------------------------------------------------------- overview


def overview(job) -> None:
    cols = st.columns(4)
    cols[0].metric("Status", job.status)
    cols[1].metric("Compute", job.compute)
    cols[2].metric("Duration", _duration(job.duration_s))
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
        _go(job=job.parent)

    def _env():
        with open_session() as s:
            return job_forms.job_environment(session=s, workspace=workspace, name=job.name)

    env = shell.attempt(_env)
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

            def _yaml():
                with open_session() as s:
                    return job_forms.form_yaml(
                        job_forms.form_from_job(session=s, workspace=workspace, name=job.name)
                    )

            text = shell.attempt(_yaml)
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
            if out.get("asset_name"):
                shell.page_link(
                    "data.py",
                    f"Output {name}: data asset {out['asset_name']}",
                    icon=":material/dataset:",
                    name=out["asset_name"],
                )


# ----------------------------------------------------------------------------------------------- metrics


def _guess_goal(metric: str) -> str:
    return "minimize" if any(h in metric.lower() for h in MINIMIZE_HINTS) else "maximize"


def _chart_controls(prefix: str) -> tuple[str, float, bool]:
    cols = st.columns([2, 3, 1])
    x = cols[0].segmented_control(
        "X axis",
        list(X_LABELS),
        format_func=X_LABELS.get,
        default="step",
        key=f"{prefix}_x",
    )
    smoothing = cols[1].slider(
        "Smoothing (EMA)", 0.0, 0.99, 0.0, 0.01, key=f"{prefix}_smoothing", help="0 shows the raw values"
    )
    log_y = cols[2].toggle("Log scale", key=f"{prefix}_log")
    return x or "step", smoothing, log_y


def metrics_view(job) -> None:
    if not job.mlflow_run_id:
        st.info(f"The job is {job.status}: its MLflow run, params and metrics appear once it starts running.")
        return

    # Params, metrics and charts refresh together while the job runs.
    @st.fragment(run_every=METRICS_REFRESH_S if job.is_active else None)
    def _view() -> None:
        run = shell.attempt(lambda: runs.get_run(run_id=job.mlflow_run_id))
        if run is None:
            return
        left, right = st.columns([1, 2])
        with left:
            _name_value_table("Params", "param", run.params, key="job_params", active=job.is_active)
        with right:
            _name_value_table(
                "Metrics (latest)", "metric", run.metrics, key="job_metrics", active=job.is_active
            )
        if not run.metrics and not job.is_active:
            return
        st.subheader("Charts")
        x, smoothing, log_y = _chart_controls("job_chart")
        keys = sorted(run.metrics)
        shown = st.multiselect("Metrics", keys, key=_metric_picker(job.name, keys))
        grid = st.columns(2)
        for i, key in enumerate(shown):
            history = shell.attempt(lambda key=key: runs.metric_history(run_id=job.mlflow_run_id, key=key))
            if history is None:
                continue
            curve = charts.Curve(
                label=job.display_name,
                steps=history.steps,
                timestamps=history.timestamps,
                values=history.values,
            )
            with grid[i % 2]:
                st.plotly_chart(
                    charts.metric_curves(
                        [curve], title=key, x=x, smoothing=smoothing, log_y=log_y, height=320
                    ),
                    key=f"job_chart_{key}",
                )

    _view()


def _name_value_table(title: str, kind: str, values: dict, *, key: str, active: bool) -> None:
    st.subheader(title)
    if values:
        frame = pd.DataFrame(sorted(values.items()), columns=[kind, "value"])
        st.dataframe(frame, hide_index=True, width="stretch", key=key)
    else:
        st.caption(f"No {kind}s logged yet." if active else f"No {kind}s logged.")


def _metric_picker(job_name: str, keys: list[str]) -> str:
    """The metric picker's key, its choice kept: metrics that appear while the job runs are added (up to the
    chart limit), what the person unpicked stays unpicked."""
    widget, known = f"job_chart_metrics_{job_name}", f"job_chart_known_{job_name}"
    before = st.session_state.get(known)
    if before != keys:
        chosen = [k for k in st.session_state.get(widget, []) if k in keys]
        appeared = [k for k in keys if k not in (before or [])]
        st.session_state[widget] = (
            (chosen + appeared)[:MAX_DETAIL_CHARTS] if before else keys[:MAX_DETAIL_CHARTS]
        )
        st.session_state[known] = keys
    return widget


# -------------------------------------------------------------------------------------------------- logs


def logs_view(job) -> None:
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
        buffers = st.session_state.setdefault("job_log_buffers", {})
        buffer = buffers.setdefault((job.name, which), {"offset": 0, "text": ""})
        text, offset = jobs.read_log(workspace=workspace, name=job.name, offset=buffer["offset"], which=which)
        if text:
            buffer["text"] = (buffer["text"] + text)[-LOG_KEEP_CHARS:]
            buffer["offset"] = offset
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
            {"name": e.name + ("/" if e.is_dir else ""), "size": "" if e.is_dir else _size(e.size)}
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
                with open_session() as s:
                    return datastores.list_files(
                        session=s, workspace=workspace, name=store, path=path
                    ).entries

            def _read(path: str, store=store):
                with open_session() as s:
                    return datastores.read_bytes(session=s, workspace=workspace, name=store, path=path)

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
        column_config={
            "status": _status_column(),
            "created": st.column_config.DatetimeColumn("created", format="YYYY-MM-DD HH:mm:ss"),
        },
    )
    picked = shell.selected_row(event, frame)
    if picked:
        _go(job=picked["name"])
    with_runs = [c.name for c in children if c.mlflow_run_id]
    if len(with_runs) >= 2 and st.button("Compare child runs", key="job_children_compare"):
        _go(compare=",".join(with_runs))


# ========================================================================================== create form


def _prefill(form: job_forms.JobForm) -> None:
    """Put a form (from a cloned job) into the widgets' state, once."""
    state = st.session_state
    state["jf_name"] = ""
    state["jf_display"] = form.display_name
    state["jf_experiment"] = form.experiment_name
    state["jf_description"] = form.description
    state["jf_command"] = form.command
    state["jf_env"] = form.environment
    state["jf_compute"] = form.compute
    state["jf_code_source"] = "snapshot" if form.code else "none"
    state["jf_code_uri"] = form.code
    state["jf_envvars"] = _kv_text(form.environment_variables)
    state["jf_tags"] = _kv_text(form.tags)
    state["jf_timeout"] = int(form.timeout or 0)
    state["jf_inputs"] = list(range(len(form.inputs)))
    for i, item in enumerate(form.inputs):
        state[f"jf_in_name_{i}"] = item.name
        state[f"jf_in_kind_{i}"] = item.kind
        if item.kind == "literal":
            state[f"jf_in_value_{i}"] = item.value
        else:
            state[f"jf_in_data_{i}"] = item.value
            state[f"jf_in_type_{i}"] = item.type
            state[f"jf_in_mode_{i}"] = item.mode
    state["jf_outputs"] = list(range(len(form.outputs)))
    for i, item in enumerate(form.outputs):
        state[f"jf_out_name_{i}"] = item.name
        state[f"jf_out_type_{i}"] = item.type
        state[f"jf_out_mode_{i}"] = item.mode
        state[f"jf_out_asset_{i}"] = item.asset_name
        state[f"jf_out_version_{i}"] = item.asset_version
        state[f"jf_out_path_{i}"] = item.path
    state["jf_next_id"] = max(len(form.inputs), len(form.outputs))


def _next_id() -> int:
    value = st.session_state.get("jf_next_id", 0)
    st.session_state["jf_next_id"] = value + 1
    return value


CODE_SOURCES = {
    "files": "Upload files",
    "folder": "Upload a folder",
    "datastore": "Folder on workspaceworkingdirectory",
    "snapshot": "Code of the cloned job",
    "none": "No code",
}


def _code_section(form_choices: dict) -> tuple[str, list]:
    """The code fields; returns the code URI (or "") and the uploaded files."""
    sources = [k for k in CODE_SOURCES if k != "snapshot" or st.session_state.get("jf_code_uri")]
    if st.session_state.get("jf_code_source") not in sources:
        st.session_state["jf_code_source"] = "files"
    source = st.radio("Code", sources, format_func=CODE_SOURCES.get, key="jf_code_source", horizontal=True)
    if source == "files":
        files = st.file_uploader(
            "Code files", accept_multiple_files=True, key="jf_files", help="The job's working directory"
        )
        return "", list(files or [])
    if source == "folder":
        files = st.file_uploader("Code folder", accept_multiple_files="directory", key="jf_folder")
        return "", list(files or [])
    if source == "datastore":
        folders = form_choices["folders"]
        if not folders:
            st.caption(
                "The workspaceworkingdirectory datastore has no folders yet: upload one on the "
                "Datastores page, or upload files here."
            )
            return "", []
        folder = st.selectbox("Folder", folders, key="jf_code_folder")
        return job_forms.code_folder_uri(folder), []
    if source == "snapshot":
        st.caption(f"`{st.session_state['jf_code_uri']}`")
        return st.session_state["jf_code_uri"], []
    return "", []


def _input_rows(data_choices: list) -> list[job_forms.InputField]:
    st.markdown("**Inputs**")
    ids = st.session_state.setdefault("jf_inputs", [])
    data_refs = [c.reference for c in data_choices]
    data_types = {c.reference: c.type for c in data_choices}
    labels = {c.reference: c.label for c in data_choices}
    fields = []
    for row in list(ids):
        cols = st.columns([2, 1.7, 3.2, 1.5, 0.6], vertical_alignment="bottom")
        name = cols[0].text_input("Name", key=f"jf_in_name_{row}", placeholder="learning_rate")
        kind = cols[1].selectbox(
            "Kind",
            ["literal", "data"],
            key=f"jf_in_kind_{row}",
            format_func={"literal": "Value", "data": "Data asset"}.get,
        )
        if kind == "literal":
            value = cols[2].text_input("Value", key=f"jf_in_value_{row}", placeholder="0.01")
            field = job_forms.InputField(name=name.strip(), kind="literal", value=value)
        else:
            current = st.session_state.get(f"jf_in_data_{row}")
            options = data_refs + ([current] if current and current not in data_refs else [])
            value = ""
            if options:
                value = cols[2].selectbox(
                    "Data", options, key=f"jf_in_data_{row}", format_func=lambda r: labels.get(r, r)
                )
            else:
                cols[2].caption("No data assets registered yet: register one on the Data page.")
            mode = cols[3].selectbox("Mode", job_forms.INPUT_MODES, key=f"jf_in_mode_{row}")
            kind_of = data_types.get(value) or st.session_state.get(f"jf_in_type_{row}") or "uri_folder"
            field = job_forms.InputField(
                name=name.strip(), kind="data", value=value or "", type=kind_of, mode=mode
            )
        if cols[4].button("", icon=":material/close:", key=f"jf_in_remove_{row}", help="Remove this input"):
            ids.remove(row)
            st.rerun()
        fields.append(field)
    if st.button("Add input", key="jf_in_add", icon=":material/add:"):
        ids.append(_next_id())
        st.rerun()
    return fields


def _output_rows() -> list[job_forms.OutputField]:
    st.markdown("**Outputs**")
    ids = st.session_state.setdefault("jf_outputs", [])
    fields = []
    for row in list(ids):
        cols = st.columns([2, 1.5, 1.5, 2, 1.2, 0.6], vertical_alignment="bottom")
        name = cols[0].text_input("Name", key=f"jf_out_name_{row}", placeholder="model")
        kind = cols[1].selectbox("Type", job_forms.DATA_TYPES, key=f"jf_out_type_{row}")
        mode = cols[2].selectbox("Mode", job_forms.OUTPUT_MODES, key=f"jf_out_mode_{row}")
        asset = cols[3].text_input(
            "Register as (data asset)", key=f"jf_out_asset_{row}", placeholder="optional asset name"
        )
        version = cols[4].text_input("Version", key=f"jf_out_version_{row}", placeholder="next")
        if cols[5].button("", icon=":material/close:", key=f"jf_out_remove_{row}", help="Remove this output"):
            ids.remove(row)
            st.rerun()
        fields.append(
            job_forms.OutputField(
                name=name.strip(),
                type=kind,
                mode=mode,
                asset_name=asset,
                asset_version=version,
                path=st.session_state.get(f"jf_out_path_{row}", ""),
            )
        )
    if st.button("Add output", key="jf_out_add", icon=":material/add:"):
        ids.append(_next_id())
        st.rerun()
    return fields


def create_view(clone: str | None) -> None:
    if st.button("← All jobs", key="jf_back"):
        _go()
    st.header(f"Clone {clone}" if clone else "Create job")
    if clone and st.session_state.get("jf_prefilled") != clone:

        def _form():
            with open_session() as s:
                return job_forms.form_from_job(session=s, workspace=workspace, name=clone)

        form = shell.attempt(_form)
        if form is None:
            return
        _prefill(form)
        st.session_state["jf_prefilled"] = clone

    def _choices():
        with open_session() as s:
            return {
                "envs": job_forms.environment_choices(session=s, workspace=workspace),
                "computes": [c.name for c in compute_service.list_computes(session=s, workspace=workspace)],
                "data": job_forms.data_choices(session=s, workspace=workspace),
                "folders": job_forms.code_folders(session=s, workspace=workspace),
            }

    choices = shell.attempt(_choices)
    if choices is None:
        return
    left, right = st.columns([3, 2])
    with left:
        code_uri, files = _code_section(choices)
        command = st.text_area(
            "Command",
            key="jf_command",
            height=90,
            placeholder="python train.py --lr ${{inputs.learning_rate}} --out ${{outputs.model}}",
            help="${{inputs.<name>}} and ${{outputs.<name>}} become values and paths; $[[ ]] marks an optional part",
        )
        env_refs = [c.reference for c in choices["envs"]]
        current_env = st.session_state.get("jf_env")
        if current_env and current_env not in env_refs:
            env_refs.append(current_env)
        env_labels = {c.reference: c.label for c in choices["envs"]}
        env_notes = {c.reference: c.description for c in choices["envs"]}
        cols = st.columns(2)
        environment = cols[0].selectbox(
            "Environment", env_refs, key="jf_env", format_func=lambda r: env_labels.get(r, r)
        )
        if environment in env_notes:
            cols[0].caption(env_notes[environment])
        compute_names = choices["computes"]
        if st.session_state.get("jf_compute") not in compute_names:
            st.session_state["jf_compute"] = (
                "serverless" if "serverless" in compute_names else compute_names[0]
            )
        compute = cols[1].selectbox("Compute", compute_names, key="jf_compute")
        inputs = _input_rows(choices["data"])
        outputs = _output_rows()
        with st.expander("Name, experiment, description, tags, environment variables, timeout"):
            cols = st.columns(3)
            name = cols[0].text_input("Job name (empty: generated)", key="jf_name")
            display = cols[1].text_input("Display name", key="jf_display")
            experiment = cols[2].text_input(
                "Experiment", key="jf_experiment", placeholder="the code folder's name, else Default"
            )
            description = st.text_input("Description", key="jf_description")
            cols = st.columns(2)
            envvars = cols[0].text_area("Environment variables (KEY=value per line)", key="jf_envvars")
            tags = cols[1].text_area("Tags (key=value per line)", key="jf_tags")
            timeout = st.number_input("Timeout (seconds, 0: none)", min_value=0, step=60, key="jf_timeout")
    form = job_forms.JobForm(
        name=name,
        display_name=display,
        experiment_name=experiment,
        description=description,
        command=command,
        environment=environment or "",
        compute=compute,
        code=code_uri,
        inputs=inputs,
        outputs=outputs,
        environment_variables=_kv_lines(envvars),
        tags=_kv_lines(tags),
        timeout=int(timeout) or None,
    )
    uploaded = [f.name for f in files]
    with right:
        st.markdown("**The job YAML that will be submitted**")
        try:
            st.code(job_forms.form_yaml(form, uploaded=uploaded), language="yaml", wrap_lines=True)
        except ValidationError:  # an unusable upload name: the check below says which
            pass
        if uploaded:
            st.caption(
                f"code: {len(uploaded)} uploaded file{'s' if len(uploaded) != 1 else ''}, snapshot on submit"
            )
    submitted = st.button("Submit", type="primary", key="jf_submit", icon=":material/play_arrow:")
    problem = None
    try:
        job_forms.validate_form(form, uploaded=uploaded)
    except ValidationError as exc:
        problem = str(exc)
    if problem and (submitted or command.strip()):
        st.error(problem, icon="⚠️")
        return
    if submitted and not problem:

        def _submit():
            with open_session() as s:
                return job_forms.submit_job_form(
                    session=s,
                    workspace=workspace,
                    form=form,
                    files=[(f.name, f.getvalue()) for f in files],
                )

        job = shell.attempt(_submit, success="Job submitted")
        if job:
            _clear_form()
            _go(job=job.name)


# ============================================================================================= compare


def _column_names(all_runs: list) -> tuple[dict[str, str], dict[str, str]]:
    """Table/axis names for params and metrics; a name used by both gets a suffix."""
    params = sorted({k for r in all_runs for k in r.run.params})
    metrics = sorted({k for r in all_runs for k in r.run.metrics})
    both = set(params) & set(metrics)
    fixed = {"run", "job", "status", "experiment", "duration (s)"}
    param_cols = {p: (f"{p} (param)" if p in both or p in fixed else p) for p in params}
    metric_cols = {m: (f"{m} (metric)" if m in both or m in fixed else m) for m in metrics}
    return param_cols, metric_cols


def _runs_frame(selected: list, param_cols: dict, metric_cols: dict) -> pd.DataFrame:
    records = []
    for r in selected:
        record = {
            "run": r.display_name if r.display_name != r.job else r.job,
            "job": r.job,
            "status": r.status,
            "experiment": r.experiment,
            "duration (s)": None if r.duration_s is None else round(r.duration_s, 1),
        }
        record |= {col: r.run.params.get(p) for p, col in param_cols.items()}
        record |= {col: r.run.metrics.get(m) for m, col in metric_cols.items()}
        records.append(record)
    frame = pd.DataFrame(records)
    for col in param_cols.values():
        frame[col] = charts.numeric_or_text(frame[col])
    if frame["run"].duplicated().any():  # display names repeat (clones): keep the label unique
        frame["run"] = [
            f"{run} ({job})" if dup else run
            for run, job, dup in zip(
                frame["run"], frame["job"], frame["run"].duplicated(keep=False), strict=True
            )
        ]
    return frame


def compare_view(names: list[str] | None, experiment: str | None) -> None:
    if st.button("← All jobs", key="cmp_back"):
        _go()

    def _load():
        with open_session() as s:
            return runs.runs_for_jobs(session=s, workspace=workspace, names=names, experiment=experiment)

    loaded = shell.attempt(_load)
    if loaded is None:
        return
    st.header(f"Compare runs of {experiment}" if experiment else "Compare runs")
    if names:
        missing = [n for n in names if n not in {r.job for r in loaded}]
        if missing:
            st.warning(f"Not found in workspace {workspace!r}: {', '.join(missing)}")
    not_started = [r.job for r in loaded if r.run is None]
    all_runs = [r for r in loaded if r.run is not None]
    if not_started:
        st.caption(f"{len(not_started)} job(s) without an MLflow run yet (not started): left out.")
    if not all_runs:
        st.info("None of these jobs has an MLflow run yet; runs appear once jobs start.")
        return

    param_cols, metric_cols = _column_names(all_runs)
    metric_keys = list(metric_cols)

    # --- which runs: filters that keep 100 runs readable
    cols = st.columns([2, 2, 2, 1.4, 1.2])
    statuses = sorted({r.status for r in all_runs})
    keep_status = cols[0].multiselect(
        "Statuses", statuses, default=statuses, key="cmp_status", placeholder="All statuses"
    )
    text = cols[1].text_input("Filter runs", key="cmp_filter", placeholder="name contains…")
    metric = cols[2].selectbox("Metric", metric_keys, key="cmp_metric") if metric_keys else None
    goal = cols[3].selectbox(
        "Goal",
        ["minimize", "maximize"],
        index=0 if metric and _guess_goal(metric) == "minimize" else 1,
        key=f"cmp_goal_{metric}",
        disabled=metric is None,
    )
    best = cols[4].number_input("Best N (0: all)", min_value=0, value=0, step=1, key="cmp_best")
    selected = [
        r
        for r in all_runs
        if (not keep_status or r.status in keep_status)
        and (not text or text.lower() in f"{r.job} {r.display_name}".lower())
    ]
    if metric and best:
        ranked = [r for r in selected if metric in r.run.metrics]
        ranked.sort(key=lambda r: r.run.metrics[metric], reverse=goal == "maximize")
        selected = ranked[: int(best)]
    st.caption(
        f"{len(selected)} of {len(all_runs)} runs shown"
        + (f" · experiment {experiment}" if experiment else "")
    )
    if not selected:
        st.info("No run matches the filters.")
        return
    frame = _runs_frame(selected, param_cols, metric_cols)
    shown_params = [c for c in param_cols.values() if frame[c].notna().any()]
    shown_metrics = [c for c in metric_cols.values() if frame[c].notna().any()]
    varying_params = charts.differing_columns(frame, shown_params)
    numeric = [c for c in [*shown_params, *shown_metrics, "duration (s)"] if charts.is_numeric(frame[c])]
    axes = [*shown_params, *shown_metrics, "duration (s)"]
    metric_col = metric_cols.get(metric) if metric else None

    curves_tab, parallel_tab, scatter_tab, table_tab = st.tabs(
        ["Metric curves", "Parallel coordinates", "Scatter", "Table"]
    )
    with curves_tab:
        _compare_curves(selected, frame, metric, metric_col, goal, numeric, varying_params)
    with parallel_tab:
        _compare_parallel(frame, axes, varying_params, metric_col)
    with scatter_tab:
        _compare_scatter(frame, axes, varying_params, shown_metrics, metric_col)
    with table_tab:
        _compare_table(selected, frame, shown_params, metric_cols, shown_metrics, metric)


def _compare_curves(selected, frame, metric, metric_col, goal, numeric, varying_params) -> None:
    if not metric:
        st.info("These runs logged no metrics.")
        return
    x, smoothing, log_y = _chart_controls("cmp_chart")
    color_options = ["(one colour per run)", *numeric]
    default_color = next((p for p in varying_params if p in numeric), metric_col)
    color = st.selectbox(
        "Colour lines by",
        color_options,
        index=color_options.index(default_color) if default_color in color_options else 0,
        key="cmp_curve_color",
        help="A continuous colour scale stays readable with many runs",
    )
    histories = shell.attempt(lambda: runs.metric_histories(run_ids=[r.run_id for r in selected], key=metric))
    if histories is None:
        return
    by_job = dict(zip(frame["job"], frame.to_dict("records"), strict=True))
    ordered = sorted(
        [r for r in selected if r.run_id in histories],
        key=lambda r: (
            r.run.metrics.get(metric, math.inf if goal == "minimize" else -math.inf)
            * (1 if goal == "minimize" else -1)
        ),
    )
    use_scale = color != color_options[0]
    curves = []
    for r in ordered:
        history = histories[r.run_id]
        row = by_job[r.job]
        value = row.get(color) if use_scale else None
        curves.append(
            charts.Curve(
                label=row["run"],
                steps=history.steps,
                timestamps=history.timestamps,
                values=history.values,
                color_value=None if value is None or pd.isna(value) else float(value),
                extra={p: row.get(p) for p in varying_params[:4]},
            )
        )
    if not curves:
        st.info(f"None of the shown runs logged {metric!r}.")
        return
    st.plotly_chart(
        charts.metric_curves(
            curves,
            title=metric,
            x=x,
            smoothing=smoothing,
            log_y=log_y,
            color_title=color if use_scale else None,
            height=480,
        ),
        key="cmp_curves",
    )
    st.caption(f"Legend ordered best first ({goal}).")


def _compare_parallel(frame, axes, varying_params, metric_col) -> None:
    default = [*varying_params[:DIMENSIONS_DEFAULT]]
    if metric_col and metric_col not in default:
        default.append(metric_col)
    dims = st.multiselect("Axes", axes, default=[d for d in default if d in axes], key="cmp_par_axes")
    color_options = ["(none)", *axes]
    color = st.selectbox(
        "Colour by",
        color_options,
        index=color_options.index(metric_col) if metric_col in color_options else 0,
        key="cmp_par_color",
    )
    if len(dims) < 2:
        st.info("Pick at least two axes.")
        return
    fig, dropped = charts.parallel_coordinates(frame, dims, color=None if color == "(none)" else color)
    st.plotly_chart(fig, key="cmp_parallel")
    if dropped:
        st.caption(f"{dropped} run(s) without a value on every chosen axis are left out.")
    st.caption("Drag along an axis to highlight a range of runs.")


def _compare_scatter(frame, axes, varying_params, shown_metrics, metric_col) -> None:
    cols = st.columns([1.4, 2, 2, 2, 2])
    mode = cols[0].segmented_control("View", ["2-D", "3-D"], default="2-D", key="cmp_sc_mode") or "2-D"
    first = varying_params[0] if varying_params else axes[0]
    second = metric_col if metric_col in axes else (shown_metrics or axes[min(1, len(axes) - 1) :])[0]
    third = next((a for a in axes if a not in (first, second)), first)
    x = cols[1].selectbox("X", axes, index=axes.index(first), key="cmp_sc_x")
    y = cols[2].selectbox("Y", axes, index=axes.index(second), key="cmp_sc_y")
    z = cols[3].selectbox("Z", axes, index=axes.index(third), key="cmp_sc_z", disabled=mode == "2-D")
    color_options = ["(none)", *axes]
    color = cols[4].selectbox(
        "Colour",
        color_options,
        index=color_options.index(metric_col) if metric_col in color_options else 0,
        key="cmp_sc_color",
    )
    wanted = [x, y] + ([z] if mode == "3-D" else []) + ([color] if color != "(none)" else [])
    data = frame.dropna(subset=list(dict.fromkeys(wanted)))
    if data.empty:
        st.info("No run has a value on every chosen axis.")
        return
    st.plotly_chart(
        charts.scatter(
            data, x=x, y=y, z=z if mode == "3-D" else None, color=None if color == "(none)" else color
        ),
        key="cmp_scatter",
    )
    if len(data) < len(frame):
        st.caption(f"{len(frame) - len(data)} run(s) without a value on every chosen axis are left out.")


def _compare_table(selected, frame, shown_params, metric_cols, shown_metrics, metric) -> None:
    cols = st.columns([1, 3])
    differences = cols[0].toggle("Differences only", key="cmp_diff", help="Hide columns equal in every run")
    metric_names = [m for m, c in metric_cols.items() if c in shown_metrics]
    spread = cols[1].multiselect(
        "Also min and max of",
        metric_names,
        default=[metric] if metric in metric_names else [],
        key="cmp_minmax",
        help="Reads these metrics' full histories",
    )
    table = frame.rename(columns={metric_cols[m]: f"{metric_cols[m]} (last)" for m in metric_names})
    metric_table_cols = [f"{metric_cols[m]} (last)" for m in metric_names]
    for key in spread:
        histories = shell.attempt(
            lambda key=key: runs.metric_histories(run_ids=[r.run_id for r in selected], key=key)
        )
        if histories is None:
            continue
        by_job = {r.job: histories.get(r.run_id) for r in selected}
        table[f"{metric_cols[key]} (min)"] = [by_job[j].min if by_job.get(j) else None for j in table["job"]]
        table[f"{metric_cols[key]} (max)"] = [by_job[j].max if by_job.get(j) else None for j in table["job"]]
        metric_table_cols += [f"{metric_cols[key]} (min)", f"{metric_cols[key]} (max)"]
    order = {"last": 0, "min": 1, "max": 2}
    metric_table_cols = sorted(
        dict.fromkeys(metric_table_cols),
        key=lambda c: (c.rsplit(" (", 1)[0], order[c.rsplit("(", 1)[1][:-1]]),
    )
    columns = ["run", "status", "duration (s)", *shown_params, *metric_table_cols]
    if differences:
        columns = ["run", *charts.differing_columns(table, columns[1:])]
    st.dataframe(
        table[columns],
        hide_index=True,
        width="stretch",
        key="cmp_table",
        column_config={"status": _status_column()},
    )
    st.download_button(
        "Download CSV",
        data=table[columns].to_csv(index=False),
        file_name="runs.csv",
        mime="text/csv",
        key="cmp_csv",
        icon=":material/download:",
        on_click="ignore",
    )


# ================================================================================================ route

st.title("Jobs")
params = st.query_params
if params.get("job"):
    detail(params["job"])
elif params.get("compare"):
    compare_view([n.strip() for n in params["compare"].split(",") if n.strip()], None)
elif params.get("experiment"):
    compare_view(None, params["experiment"])
elif params.get("create"):
    create_view(params.get("clone"))
else:
    listing()
