"""Pipelines: the list of pipeline jobs, a pipeline as a live DAG (click a step to see it), and a
point-and-click composer that wires registered components into the cloud's pipeline YAML.

Deep links: ``?pipeline=<name>`` (``&step=<step>`` opens a step), ``?compose=1`` (the composer;
``&component=name:version`` starts it with that component as the first step).
"""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from backend.services import NotFoundError, job_forms, jobs, open_session, pipeline_views
from backend.services import compute as compute_service
from backend.services.pipeline_views import ComposedInput, ComposedPipeline, ComposedStep, PipelineInputField
from backend.services.system import mlflow_tracking_uri
from backend.statuses import JobStatus
from studio.ui import charts, dag, shell

workspace = shell.current_workspace()
ROUTES = ("pipeline", "step", "compose", "component")
LIVE_REFRESH_S = 2
LOG_TAIL_LINES = 60
LOG_KEEP_CHARS = 100_000
PRIMITIVES = pipeline_views.PRIMITIVES
DATA_TYPES = pipeline_views.DATA_TYPES
KIND_LABELS = {
    "default": "Default",
    "literal": "Value",
    "data": "Data asset",
    "pipeline_input": "Pipeline input",
    "step_output": "Upstream output",
}


def _go(**params: str) -> None:
    shell.go(ROUTES, **params)


def _link(page: str, label: str, icon: str | None = None, **params: str) -> None:
    """A link to another page; a plain link when that page is not in the navigation."""
    try:
        shell.page_link(page, label, icon=icon, **params)
    except StreamlitPageNotFoundError:
        query = "&".join(f"{k}={v}" for k, v in {"ws": workspace, **params}.items())
        st.markdown(f"[{label}]({page.removesuffix('.py')}?{query})")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {(seconds % 3600) // 60:02d}m"


def _ports_frame(ports, columns: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame([{label: getattr(p, attr) or "" for attr, label in columns.items()} for p in ports])


# ============================================================================================== listing


def listing() -> None:
    top = st.columns([1.4, 1.2, 4])
    if top[0].button("Compose a pipeline", type="primary", icon=":material/add:", key="pl_compose"):
        _go(compose="1")
    show_archived = top[1].toggle("Show archived", key="pl_show_archived")

    def _load():
        with open_session() as s:
            return pipeline_views.list_pipelines(
                session=s, workspace=workspace, include_archived=show_archived
            )

    rows = shell.attempt(_load) or []
    if not rows:
        st.info(
            "No pipeline jobs in this workspace yet. Compose one from registered components, or submit a "
            "pipeline YAML with `studio job create --file pipeline.yml`."
        )
        return
    frame = pd.DataFrame(
        [
            {
                "name": p.name,
                "display name": p.display_name,
                "status": charts.status_label(p.status),
                "steps": f"{p.steps_done}/{p.steps_total}"
                + (f" ({p.steps_failed} failed)" if p.steps_failed else ""),
                "experiment": p.experiment_name,
                "created": p.created_at,
                "duration": _duration(p.duration_s),
            }
            for p in rows
        ]
    )
    frame["created"] = pd.to_datetime(frame["created"], utc=True)
    event, shown = shell.filtered_table(
        frame,
        key="pl_table",
        on_select="rerun",
        selection_mode="single-row",
        column_config={"created": st.column_config.DatetimeColumn("created", format="YYYY-MM-DD HH:mm:ss")},
    )
    picked = shell.selected_row(event, shown)
    if picked:
        _go(pipeline=picked["name"])
    st.caption(f"{len(rows)} pipeline job(s); select a row to open its graph.")


# ========================================================================================= pipeline view


def _load_view(name: str):
    with open_session() as s:
        return pipeline_views.get_pipeline_view(session=s, workspace=workspace, name=name)


def _nodes(view) -> list[dag.DagNode]:
    return [
        dag.DagNode(
            name=s.name,
            label=s.display_name,
            status=s.status,
            depth=s.depth,
            reused=bool(s.reused_from),
            detail=" · ".join(x for x in (s.kind, s.component or "", s.job or "") if x),
        )
        for s in view.steps
    ]


def _pick_step(steps: list[str]) -> str | None:
    """The step shown below the graph: a click on a node, the picker, or ``?step=`` from a link."""
    if not steps:
        return None
    linked = st.query_params.get("step")
    if linked in steps and linked != st.session_state.get("pl_step_in_url"):
        wanted = linked  # a link (or an edited URL) names the step
    else:
        wanted = st.session_state.get("pl_step")
    if wanted not in steps:
        wanted = steps[0]
    st.session_state["pl_step"] = wanted
    st.session_state["pl_step_in_url"] = wanted
    if linked != wanted:  # the URL names the open step, so it can be shared
        st.query_params["step"] = wanted
    return wanted


def pipeline_view(name: str) -> None:
    if st.button("← All pipelines", key="pl_back"):
        for key in ("pl_step", "pl_step_in_url"):
            st.session_state.pop(key, None)
        _go()
    view = shell.attempt(lambda: _load_view(name))
    if view is None:
        return
    job = view.job
    head = st.columns([5, 1])
    head[0].header(job.display_name)
    head[0].caption(
        f"Pipeline job `{job.name}` · experiment **{job.experiment_name}** · created "
        f"{job.created_at:%Y-%m-%d %H:%M:%S} UTC · default compute `{view.settings.get('default_compute')}`"
    )
    actions = st.columns([1.6, 1, 4])
    with actions[0]:
        _link("jobs.py", "Open in Jobs", icon=":material/work:", job=name)
    cancelable = view.is_active and job.status != JobStatus.CANCEL_REQUESTED
    if cancelable and actions[1].button("Cancel", key="pl_cancel", icon=":material/cancel:"):

        def _cancel():
            with open_session() as s:
                return jobs.cancel_job(session=s, workspace=workspace, name=name)

        if shell.attempt(_cancel, success=f"Cancel requested for {name}"):
            st.rerun()

    loaded = {"view": view}  # the full run's view; the fragment's own reruns read it afresh

    @st.fragment(run_every=LIVE_REFRESH_S if view.is_active else None)
    def _live() -> None:
        current = loaded.pop("view", None)
        if current is None:
            current = shell.attempt(lambda: _load_view(name))
            if current is None:
                return
            if current.job.status != job.status:  # redraw the whole page (status badge, cancel button)
                st.rerun()
        _graph_and_step(current)

    with head[1]:
        st.badge(job.status, color=charts.status_color(job.status), width="stretch")
    _live()


def _graph_and_step(view) -> None:
    job = view.job
    names = [s.name for s in view.steps]
    selected = _pick_step(names)
    st.caption(
        f"{view.steps_done} of {view.steps_total} steps completed"
        + (f" · {job.failure_reason}" if job.failure_reason else "")
        + (" · refreshing every 2 s while it runs" if view.is_active else "")
    )
    dag.draw_dag(_nodes(view), view.edges, key=f"pl_dag_{job.name}", selected=selected, target_key="pl_step")
    frame = pd.DataFrame(
        [
            {
                "step": s.name,
                "status": charts.status_label(s.status)
                if s.status in charts.STATUS_COLORS
                else f"🟠 {s.status}",
                "kind": s.kind,
                "component": s.component or "inline command",
                "job": s.job or "",
                "reused from": s.reused_from or "",
                "note": s.skipped_reason or s.failure_reason or "",
                "duration": _duration(s.duration_s),
            }
            for s in view.steps
        ]
    )
    if selected:
        st.columns([2, 3])[0].selectbox("Step (or click a node)", names, key="pl_step")
        _step_detail(view, view.step(st.session_state["pl_step"]))
    with st.expander("Steps as a table", expanded=False):
        st.dataframe(frame, hide_index=True, width="stretch", key="pl_steps_table")
    left, right = st.columns(2)
    with left:
        st.markdown("**Pipeline inputs**")
        if view.inputs:
            st.dataframe(
                _ports_frame(
                    view.inputs, {"name": "name", "type": "type", "binding": "kind", "value": "value"}
                ),
                hide_index=True,
                width="stretch",
                key="pl_inputs",
            )
        else:
            st.caption("This pipeline declares no inputs.")
    with right:
        st.markdown("**Pipeline outputs**")
        if view.outputs:
            st.dataframe(
                _ports_frame(
                    view.outputs, {"name": "name", "type": "type", "binding": "from", "value": "location"}
                ),
                hide_index=True,
                width="stretch",
                key="pl_outputs",
            )
        else:
            st.caption("This pipeline publishes no outputs (each step's outputs are listed with the step).")


def _step_detail(view, step) -> None:
    with st.container(border=True):
        cols = st.columns([5, 1])
        cols[0].markdown(f"#### {step.display_name}")
        cols[0].caption(
            f"step `{step.name}` · {step.kind} · "
            + (f"component `{step.component}`" if step.component else "inline command")
            + f" · compute `{step.compute}` · depends on {', '.join(step.deps) or 'nothing'}"
            + f" · duration {_duration(step.duration_s)}"
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
            _link(
                "jobs.py", f"Original job {step.reused_from}", icon=":material/history:", job=step.reused_from
            )
        if step.skipped_reason:
            st.warning(f"Not run: {step.skipped_reason}", icon=":material/block:")
        if step.failure_reason:
            st.error(step.failure_reason, icon=":material/error:")
        if step.job:
            links = st.columns([3, 1.4])
            with links[0]:
                _link("jobs.py", f"Job {step.job}: full view", icon=":material/work:", job=step.job)
            uri = mlflow_tracking_uri()
            if uri and step.mlflow_run_id and step.mlflow_experiment_id:
                links[1].link_button(
                    "Metrics in MLflow",
                    f"{uri.rstrip('/')}/#/experiments/{step.mlflow_experiment_id}/runs/{step.mlflow_run_id}",
                    icon=":material/monitoring:",
                )
        elif not step.skipped_reason:
            st.caption(
                "This step has not started: it waits for " + (", ".join(step.deps) or "the agent") + "."
            )
        left, right = st.columns(2)
        with left:
            st.markdown("**Inputs**")
            if step.inputs:
                st.dataframe(
                    _ports_frame(
                        step.inputs, {"name": "name", "type": "type", "binding": "from", "value": "value"}
                    ),
                    hide_index=True,
                    width="stretch",
                    key="pl_step_inputs",
                )
            else:
                st.caption("No inputs.")
        with right:
            st.markdown("**Outputs**")
            if step.outputs:
                st.dataframe(
                    _ports_frame(
                        step.outputs,
                        {"name": "name", "type": "type", "value": "location", "binding": "published as"},
                    ),
                    hide_index=True,
                    width="stretch",
                    key="pl_step_outputs",
                )
            else:
                st.caption("No named outputs.")
        log_job = step.reused_from or step.job
        if log_job and step.kind == "command":
            _log_tail(log_job, reused=bool(step.reused_from))
        elif step.job and step.kind == "sweep":
            _link("sweeps.py", f"Sweep {step.job}: trials and charts", icon=":material/tune:", sweep=step.job)
        elif step.job and step.kind == "pipeline":
            _link(
                "pipelines.py",
                f"Inner pipeline {step.job}: its graph",
                icon=":material/account_tree:",
                pipeline=step.job,
            )


def _log_tail(name: str, *, reused: bool) -> None:
    buffers = st.session_state.setdefault("pl_log_buffers", {})
    buffer = buffers.setdefault(name, {"offset": 0, "text": ""})
    text, offset = jobs.read_log(workspace=workspace, name=name, offset=buffer["offset"])
    if text:
        buffer["text"] = (buffer["text"] + text)[-LOG_KEEP_CHARS:]
        buffer["offset"] = offset
    lines = buffer["text"].splitlines()
    st.markdown(
        f"**Log** (`user_logs/std_log.txt`{', of the original job' if reused else ''}, last {LOG_TAIL_LINES} lines)"
    )
    if lines:
        st.code("\n".join(lines[-LOG_TAIL_LINES:]), language="text")
    else:
        st.caption("Nothing logged yet.")


# ============================================================================================== composer


def _state():
    return st.session_state


def _next_id() -> int:
    value = _state().get("pc_next_id", 0)
    _state()["pc_next_id"] = value + 1
    return value


def _step_name_for(component: str, taken: set[str]) -> str:
    base = re.sub(r"\W", "_", component.split(":")[0]).strip("_") or "step"
    if base[0].isdigit():
        base = f"step_{base}"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def _add_step(component: str) -> None:
    steps = _state().setdefault("pc_steps", [])
    taken = {_state().get(f"pc_name_{s['id']}", "") for s in steps}
    sid = _next_id()
    steps.append({"id": sid, "component": component})
    _state()[f"pc_name_{sid}"] = _step_name_for(component, taken)


def _clear_composer() -> None:
    for key in [k for k in _state() if str(k).startswith("pc_")]:
        del _state()[key]


def _literal_widget(label: str, port: dict, key: str, where=st):
    """A typed value widget for a component input: number/integer/boolean/string (an enum as a select)."""
    kind, default = port.get("type"), port.get("default")
    low, high = port.get("min"), port.get("max")
    if kind == "integer":
        start = int(default) if default is not None else int(low) if low is not None else 0
        return where.number_input(
            label,
            value=start,
            step=1,
            key=key,
            min_value=int(low) if low is not None else None,
            max_value=int(high) if high is not None else None,
        )
    if kind == "number":
        start = float(default) if default is not None else float(low) if low is not None else 0.0
        return where.number_input(
            label,
            value=start,
            key=key,
            format="%g",
            min_value=float(low) if low is not None else None,
            max_value=float(high) if high is not None else None,
        )
    if kind == "boolean":
        options = [True, False]
        return where.selectbox(label, options, index=0 if default in (True, "true", None) else 1, key=key)
    if port.get("enum"):
        options = list(port["enum"])
        return where.selectbox(
            label, options, index=options.index(default) if default in options else 0, key=key
        )
    return where.text_input(label, value="" if default is None else str(default), key=key)


def _short(value, limit: int = 18) -> str:
    text = pipeline_views.literal_text(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _keep_valid(key: str, options: list) -> None:
    if key in _state() and _state()[key] not in options:
        del _state()[key]


def _pipeline_inputs(data_refs: list[str], data_labels: dict[str, str]) -> list[PipelineInputField]:
    st.markdown("**Pipeline inputs** (optional: values several steps can share)")
    ids = _state().setdefault("pc_pins", [])
    fields = []
    for pid in list(ids):
        cols = st.columns([2, 1.5, 3, 0.5])
        name = cols[0].text_input("Name", key=f"pc_pin_name_{pid}", placeholder="learning_rate")
        kind = cols[1].selectbox("Type", [*PRIMITIVES, *DATA_TYPES[:3]], key=f"pc_pin_type_{pid}")
        if kind in DATA_TYPES:
            if data_refs:
                value = cols[2].selectbox(
                    "Data", data_refs, key=f"pc_pin_data_{pid}", format_func=lambda r: data_labels.get(r, r)
                )
            else:
                value = cols[2].text_input(
                    "Data URI", key=f"pc_pin_uri_{pid}", placeholder="azureml://datastores/<ds>/paths/<path>"
                )
        else:
            value = _literal_widget("Value", {"type": kind}, f"pc_pin_val_{pid}_{kind}", where=cols[2])
        if cols[3].button("✕", key=f"pc_pin_remove_{pid}", help="Remove this pipeline input"):
            ids.remove(pid)
            st.rerun()
        fields.append(PipelineInputField(name=name.strip(), type=kind, value=value))
    if st.button("Add pipeline input", key="pc_pin_add", icon=":material/add:"):
        ids.append(_next_id())
        st.rerun()
    return fields


def _input_binding(
    sid: int,
    port_name: str,
    port: dict,
    earlier: list[tuple[str, str]],
    names: dict[int, str],
    pipeline_inputs: list[PipelineInputField],
    data_refs: list[str],
    data_labels: dict[str, str],
) -> ComposedInput:
    is_data = port.get("type") in DATA_TYPES
    has_default = port.get("default") is not None
    declared = [p.name for p in pipeline_inputs if p.name and ((p.type in DATA_TYPES) == is_data)]
    kinds = []
    if has_default or port.get("optional"):
        kinds.append("default")
    if is_data:
        if earlier:
            kinds.append("step_output")
        kinds.append("data")
    else:
        kinds.append("literal")
    if declared:
        kinds.append("pipeline_input")
    kind_key = f"pc_kind_{sid}_{port_name}"
    _keep_valid(kind_key, kinds)
    preferred = "step_output" if "step_output" in kinds else ("default" if has_default else kinds[0])

    def _kind_label(k: str) -> str:
        if k == "default":
            return f"Default: {_short(port['default'])}" if has_default else "Not set (optional)"
        return KIND_LABELS[k]

    cols = st.columns([1.5, 1.9, 2.6])
    cols[0].markdown(
        f"`{port_name}` · {port.get('type')}" + (" · optional" if port.get("optional") else ""),
        help=port.get("description") or None,
    )
    kind = cols[1].selectbox(
        "Source",
        kinds,
        index=kinds.index(preferred),
        key=kind_key,
        format_func=_kind_label,
        label_visibility="collapsed",
    )
    if kind == "literal":
        value = _literal_widget("Value", port, f"pc_val_{sid}_{port_name}", where=cols[2])
        return ComposedInput(kind="literal", value=value)
    if kind == "data":
        if not data_refs:
            cols[2].caption("No data assets yet: register one on the Data page.")
            return ComposedInput(kind="data", value="", type=port.get("type"))
        key = f"pc_data_{sid}_{port_name}"
        _keep_valid(key, data_refs)
        value = cols[2].selectbox(
            "Data asset",
            data_refs,
            key=key,
            format_func=lambda r: data_labels.get(r, r),
            label_visibility="collapsed",
        )
        return ComposedInput(kind="data", value=value, type=port.get("type"))
    if kind == "pipeline_input":
        key = f"pc_pin_{sid}_{port_name}"
        _keep_valid(key, declared)
        value = cols[2].selectbox("Pipeline input", declared, key=key, label_visibility="collapsed")
        return ComposedInput(kind="pipeline_input", value=value)
    if kind == "step_output":
        options = [f"{step_id}:{out}" for step_id, out in earlier]
        key = f"pc_src_{sid}_{port_name}"
        _keep_valid(key, options)

        def _label(option: str) -> str:
            step_id, _, out = option.partition(":")
            return f"{names.get(int(step_id), '?')}.outputs.{out}"

        value = cols[2].selectbox(
            "Output",
            options,
            index=len(options) - 1,
            key=key,
            format_func=_label,
            label_visibility="collapsed",
        )
        step_id, _, out = value.partition(":")
        return ComposedInput(kind="step_output", value=f"{names.get(int(step_id), '')}.{out}")
    return ComposedInput(kind="default")


def _steps_section(components: dict, pipeline_inputs, data_refs, data_labels) -> list[ComposedStep]:
    st.markdown("**Steps**")
    steps = _state().setdefault("pc_steps", [])
    names = {s["id"]: _state().get(f"pc_name_{s['id']}", "").strip() for s in steps}
    composed, earlier = [], []
    for index, entry in enumerate(list(steps)):
        sid, reference = entry["id"], entry["component"]
        component = components.get(reference)
        with st.container(border=True):
            cols = st.columns([2.4, 3, 0.6])
            cols[0].text_input("Step name", key=f"pc_name_{sid}")
            cols[1].markdown(f"**{index + 1}.** component `{reference}`")
            if component is not None and component.description:
                cols[1].caption(component.description)
            if cols[2].button("✕", key=f"pc_remove_{sid}", help="Remove this step"):
                steps.remove(entry)
                st.rerun()
            if component is None:
                st.error(f"Component {reference} is not registered (or was archived); remove this step.")
                continue
            inputs = {
                port_name: _input_binding(
                    sid, port_name, port, earlier, names, pipeline_inputs, data_refs, data_labels
                )
                for port_name, port in (component.spec.get("inputs") or {}).items()
            }
            outputs = list(component.spec.get("outputs") or {})
            promote = {}
            if outputs:
                published = st.multiselect(
                    "Publish as pipeline outputs",
                    outputs,
                    key=f"pc_pub_{sid}",
                    help="Each chosen output becomes a pipeline output named <step>_<output>.",
                )
                promote = {out: f"{names[sid]}_{out}" for out in published}
            else:
                st.caption("This component has no outputs.")
        composed.append(ComposedStep(name=names[sid], component=reference, inputs=inputs, promote=promote))
        earlier += [(sid, out) for out in outputs]
    return composed


def composer(seed: str | None) -> None:
    if st.button("← All pipelines", key="pc_back"):
        _go()
    st.header("Compose a pipeline")

    def _choices():
        with open_session() as s:
            refs = pipeline_views.component_references(session=s, workspace=workspace)
            wanted = (
                set(refs)
                | {e["component"] for e in _state().get("pc_steps", [])}
                | ({seed} if seed else set())
            )
            found = {}
            for ref in wanted:
                try:
                    found[ref] = pipeline_views.get_component_ref(
                        session=s, workspace=workspace, reference=ref
                    )
                except NotFoundError:
                    continue
            return {
                "refs": refs,
                "components": found,
                "computes": [c.name for c in compute_service.list_computes(session=s, workspace=workspace)],
                "data": job_forms.data_choices(session=s, workspace=workspace),
            }

    choices = shell.attempt(_choices)
    if choices is None:
        return
    if seed and _state().get("pc_seeded") != seed:
        _state()["pc_seeded"] = seed
        if seed in choices["components"]:
            _add_step(seed)
        else:
            st.warning(f"Component {seed} is not registered in workspace {workspace}.")
    if not choices["refs"] and not _state().get("pc_steps"):
        st.info("No components are registered in this workspace yet: register one on the Components page.")
        _link("components.py", "Components", icon=":material/widgets:")
        return
    data_refs = [c.reference for c in choices["data"]]
    data_labels = {c.reference: c.label for c in choices["data"]}
    left, right = st.columns([3, 2])
    with left:
        with st.expander("Settings: name, experiment, compute, failure handling, reuse", expanded=False):
            cols = st.columns(2)
            display = cols[0].text_input("Display name", key="pc_display")
            experiment = cols[1].text_input("Experiment", key="pc_experiment", placeholder="Default")
            description = st.text_input("Description", key="pc_description")
            computes = choices["computes"]
            _keep_valid("pc_compute", computes)
            compute = st.selectbox(
                "Default compute",
                computes,
                key="pc_compute",
                index=computes.index("serverless") if "serverless" in computes else 0,
            )
            keep_going = st.checkbox(
                "Continue on step failure",
                key="pc_continue",
                help="Independent branches keep running when a step fails.",
            )
            force = st.checkbox(
                "Force rerun",
                key="pc_force",
                help="Run every step even when an identical earlier step could be reused.",
            )
        pipeline_inputs = _pipeline_inputs(data_refs, data_labels)
        steps = _steps_section(choices["components"], pipeline_inputs, data_refs, data_labels)
        cols = st.columns([3, 1])
        refs = choices["refs"]
        if refs:
            pick = cols[0].selectbox("Component to add", refs, key="pc_add_component")
            cols[1].markdown("&nbsp;")
            if cols[1].button("Add step", key="pc_add", icon=":material/add:", type="secondary"):
                _add_step(pick)
                st.rerun()
    pipeline = ComposedPipeline(
        display_name=display,
        experiment_name=experiment,
        description=description,
        default_compute=compute or "serverless",
        continue_on_step_failure=keep_going,
        force_rerun=force,
        inputs=pipeline_inputs,
        steps=steps,
    )
    problems = pipeline_views.check_composed(pipeline)
    with right:
        st.markdown("**The pipeline YAML that will be submitted**")
        st.code(pipeline_views.compose_pipeline_yaml(pipeline), language="yaml", wrap_lines=True)
        for problem in problems:
            st.caption(f"⚠️ {problem}")
        submitted = st.button(
            "Submit", type="primary", key="pc_submit", icon=":material/play_arrow:", disabled=bool(problems)
        )
    if submitted:

        def _submit():
            with open_session() as s:
                return pipeline_views.submit_composed(session=s, workspace=workspace, pipeline=pipeline)

        job = shell.attempt(_submit, success="Pipeline submitted")
        if job:
            _clear_composer()
            _go(pipeline=job.name)


# ================================================================================================= route

st.title("Pipelines")
params = st.query_params
if params.get("pipeline"):
    pipeline_view(params["pipeline"])
elif params.get("compose"):
    composer(params.get("component"))
else:
    listing()
