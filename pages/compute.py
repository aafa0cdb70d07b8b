"""Compute: instances and clusters (state, nodes, capacity next to this machine), serverless, create, manage."""

from datetime import UTC, datetime

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from backend.services import compute, notebook_servers, open_session, system
from studio.ui import shell, widgets

workspace = shell.current_workspace()
TYPE_LABELS = {
    compute.CLUSTER: "Compute cluster (amlcompute)",
    compute.INSTANCE: "Compute instance",
    compute.RAY: "Ray cluster (attached)",
}


def _size_label(size: str) -> str:
    cores, memory, gpus = compute.VM_SIZES[size]
    gpu = f", {gpus} GPU" if gpus else ""
    return f"{size} · {cores} cores, {memory:g} GB{gpu}"


def _machine_header() -> compute.MachineResources:
    machine = compute.machine_resources()
    cols = st.columns(3)
    cols[0].metric("This machine's cores", machine.cores)
    cols[1].metric("Memory", f"{machine.memory_gb:g} GB")
    cols[2].metric("Memory free", f"{machine.memory_available_gb:g} GB")
    isolation = system.isolation()
    if isolation.sandboxed:
        st.caption(
            f":material/shield: Jobs run isolated: {isolation.detail}. They see their own folder, inputs and "
            "outputs, never Studio's database, secrets or other jobs."
        )
    else:
        st.warning(isolation.detail, icon=":material/gpp_bad:")
    return machine


# ---------------------------------------------------------------------------------------------- listing


def _table(rows: list[compute.ComputePublic], *, key: str, cluster: bool, ray: bool = False) -> None:
    records = []
    for c in rows:
        record = (
            {"name": c.name, "state": c.state, "address": c.address}
            if ray
            else {
                "name": c.name,
                "state": c.state,
                "size": c.size,
                "cores": c.cores,
                "memory (GB)": c.memory_gb,
            }
        )
        if cluster:
            record |= {
                "nodes": c.current_nodes,
                "min": c.min_instances,
                "max": c.max_instances,
                "idle scale-down (s)": c.idle_time_before_scale_down,
            }
        record["created"] = c.created_at
        records.append(record)
    if not records:
        st.caption("None yet: create one below.")
        return
    widgets.pick_and_open(pd.DataFrame(records), key=key, dates=["created"])


def listing() -> None:
    machine = _machine_header()
    rows = widgets.load(compute.list_computes, workspace=workspace) or []
    instances = [c for c in rows if c.type == compute.INSTANCE]
    clusters = [c for c in rows if c.type == compute.CLUSTER]
    rays = [c for c in rows if c.type == compute.RAY]
    tab_i, tab_c, tab_r, tab_s = st.tabs(
        [
            f"Compute instances ({len(instances)})",
            f"Compute clusters ({len(clusters)})",
            f"Ray clusters ({len(rays)})",
            "Serverless",
        ]
    )
    with tab_i:
        st.caption("One node each. A stopped instance still accepts jobs; they wait until it starts.")
        _table(instances, key="ci_table", cluster=False)
    with tab_c:
        st.caption("Nodes are slots on this machine; a cluster scales between its min and max nodes.")
        _table(clusters, key="cc_table", cluster=True)
    with tab_r:
        st.caption(
            "Attached Ray clusters: jobs, trials and steps on them go through the Ray Jobs API; their "
            "capacity is the cluster's CPUs."
        )
        _table(rays, key="cr_table", cluster=False, ray=True)
    with tab_s:
        st.write(
            f"Jobs that name no compute run on serverless compute: on this machine, up to one job per CPU core "
            f"({machine.cores} at once). It needs no setup and cannot be stopped or deleted."
        )
        if st.button("Serverless details", key="serverless_open"):
            widgets.open_object(compute.SERVERLESS)
    _create_form(expanded=not instances and not clusters)


def _create_form(*, expanded: bool) -> None:
    with st.expander("Create compute", expanded=expanded):
        kind = st.selectbox("Type", list(TYPE_LABELS), format_func=TYPE_LABELS.get, key="new_compute_type")
        name = st.text_input("Name", key="new_compute_name", help=compute.NAME_RULE)
        problem = widgets.problem_shown(
            name, widgets.raised_problem(compute.validate_name, compute.ValidationError)
        )
        size, address = None, None
        if kind == compute.RAY:
            address = st.text_input(
                "Address",
                key="new_compute_address",
                placeholder="http://head:8265",
                help="The Ray Jobs dashboard URL (http://head:8265) or a Ray Client address (ray://head:10001)",
            )
        else:
            sizes = list(compute.VM_SIZES)
            size = st.selectbox(
                "Virtual machine size",
                sizes,
                index=sizes.index(compute.DEFAULT_SIZE),
                format_func=_size_label,
                key="new_compute_size",
            )
        scale = {}
        if kind == compute.CLUSTER:
            cols = st.columns(3)
            scale["min_instances"] = cols[0].number_input(
                "Minimum nodes", min_value=0, value=0, step=1, key="new_compute_min"
            )
            scale["max_instances"] = cols[1].number_input(
                "Maximum nodes", min_value=1, value=1, step=1, key="new_compute_max"
            )
            scale["idle_time_before_scale_down"] = cols[2].number_input(
                "Idle seconds before scale down", min_value=0, value=120, step=30, key="new_compute_idle"
            )
            address = st.text_input(
                "Run the nodes on a Ray cluster (optional)",
                key="new_compute_cluster_address",
                placeholder="http://head:8265",
                help="Its jobs then go through the Ray Jobs API, each node asking the Ray cluster for the "
                "VM size's cores. Leave empty to run the nodes on this machine.",
            )
        if kind == compute.INSTANCE:
            idle = st.number_input(
                "Stop when idle for (minutes; 0: never)",
                min_value=0,
                max_value=20160,
                value=0,
                step=15,
                key="new_compute_idle_shutdown",
                help="No kernel or JupyterLab activity for this long stops the instance (15 minutes or more).",
            )
            if idle:
                scale["idle_time_before_shutdown_minutes"] = idle
        description = st.text_input("Description", key="new_compute_description")
        if st.button("Create", type="primary", key="new_compute_create", disabled=not name or bool(problem)):

            def _create():
                form = compute.ComputeForm(
                    name=name,
                    type=kind,
                    size=size,
                    address=address or None,
                    description=description,
                    **{k: int(v) for k, v in scale.items()},
                )
                with open_session() as s:
                    return compute.create_compute_from_form(session=s, workspace=workspace, form=form)

            created = shell.attempt(_create, success=f"Created compute {name}")
            if created:
                widgets.open_object(created.name)


# ---------------------------------------------------------------------------------------------- detail


CONFIRM_KEY = "compute_confirm_delete"


def _dismiss_delete() -> None:
    st.session_state.pop(CONFIRM_KEY, None)


@st.dialog("Delete compute", on_dismiss=_dismiss_delete)
def _confirm_delete(name: str) -> None:
    st.write(f"Delete **{name}**? Jobs that name it will no longer find it.")
    left, right = st.columns(2)
    if right.button("Cancel", key="compute_delete_cancel"):
        _dismiss_delete()
        st.rerun()
    if left.button("Delete", type="primary", key="compute_delete_do") and widgets.done(
        compute.delete_compute, workspace=workspace, name=name, success=f"Deleted compute {name}"
    ):
        _dismiss_delete()
        widgets.close_object()


def _capacity_chart(cap: compute.ComputeCapacity) -> go.Figure:
    labels = ["cores", "memory (GB)"]
    figure = go.Figure(
        [
            go.Bar(
                name=f"{cap.name} at {cap.nodes_max} node(s)",
                x=labels,
                y=[cap.total_cores, cap.total_memory_gb],
            ),
            go.Bar(name="this machine", x=labels, y=[cap.machine_cores, cap.machine_memory_gb]),
        ]
    )
    figure.update_layout(barmode="group", height=300, margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return figure


def _node_history(name: str) -> None:
    """Nodes allocated and busy over time: cluster scale-up and idle scale-down as the agent did them."""
    events = widgets.load(compute.node_history, workspace=workspace, name=name) or []
    st.subheader("Nodes over time")
    if not events:
        st.caption("No job has run here yet.")
        return
    times = [e.at for e in events] + [datetime.now(UTC)]
    fig = go.Figure()
    for label, counts, fill in (
        ("nodes allocated", [e.nodes for e in events], None),
        ("nodes busy", [e.busy for e in events], "tozeroy"),
    ):  # each count holds until now
        fig.add_trace(
            go.Scatter(x=times, y=[*counts, counts[-1]], name=label, line_shape="hv", mode="lines", fill=fill)
        )
    fig.update_layout(
        height=260,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        yaxis_title="nodes",
        legend={"orientation": "h"},
    )
    st.plotly_chart(fig, key="compute_nodes_chart")


def _jupyterlab(target: compute.ComputePublic) -> None:
    """The instance's application: its JupyterLab server's state and a link that opens it."""
    found = widgets.load_together(
        lambda s: notebook_servers.server_for(session=s, workspace=workspace, compute=target.name),
        lambda s: notebook_servers.open_url(session=s, workspace=workspace, compute=target.name),
    )
    if not found:
        return
    server, url = found
    idle = target.idle_time_before_shutdown_minutes
    note = f" · stops after {idle} minutes idle" if idle else ""
    cols = st.columns([3, 1])
    if server is None:
        cols[0].caption(f"JupyterLab: stopped (starts with the instance){note}")
    elif server.state == notebook_servers.RUNNING and url:
        cols[0].caption(f"JupyterLab: running on {server.url} · {server.kernels} kernel(s){note}")
        cols[1].link_button("Open JupyterLab", url, icon=":material/open_in_new:")
    else:
        (cols[0].error if server.state == notebook_servers.FAILED else cols[0].caption)(
            f"JupyterLab: {server.state.lower()}: {server.message}"
        )


def detail(name: str) -> None:
    widgets.back_button("← All compute", key="compute_back")

    loaded = widgets.load_together(
        lambda s: compute.get_compute(session=s, workspace=workspace, name=name),
        lambda s: compute.compute_capacity(session=s, workspace=workspace, name=name),
    )
    if not loaded:
        return
    target, cap = loaded
    st.header(target.name)
    kind = TYPE_LABELS.get(target.type, "Serverless")
    size = f" · {target.size}" if target.size else ""
    size += f" · {target.address}" if target.address else ""
    st.caption(kind + size + (f" · {target.description}" if target.description else ""))
    cols = st.columns(4)
    cols[0].metric("State", target.state)
    cols[1].metric("Nodes (current / min / max)", f"{cap.nodes_current} / {cap.nodes_min} / {cap.nodes_max}")
    cores = f"{target.cores:g} core{'' if target.cores == 1 else 's'}"
    if target.type == compute.RAY:
        cols[2].metric("Per job", "1 CPU per node")
    else:
        cols[2].metric("Per job" if target.implicit else "Per node", f"{cores} · {target.memory_gb:g} GB")
    cols[3].metric("Jobs at once", cap.slots)
    (st.warning if cap.oversubscribed else st.info)(cap.note, icon=":material/memory:")
    if target.type == compute.INSTANCE and target.state == compute.STOPPED:
        st.caption("Stopped: jobs sent here wait until it starts.")
    if target.type == compute.INSTANCE:
        _jupyterlab(target)
    st.plotly_chart(_capacity_chart(cap), key="compute_capacity_chart")
    if not target.implicit:
        _node_history(name)

    if target.implicit:
        return
    actions = st.columns([1, 1, 1, 4])
    if target.type == compute.INSTANCE:
        running = target.state == compute.RUNNING
        for where, label, key, icon, off, action, did in (
            (
                actions[0],
                "Start",
                "compute_start",
                ":material/play_arrow:",
                running,
                compute.start_compute,
                "Started",
            ),
            (
                actions[1],
                "Stop",
                "compute_stop",
                ":material/stop:",
                not running,
                compute.stop_compute,
                "Stopped",
            ),
        ):
            if where.button(label, key=key, disabled=off, icon=icon):
                widgets.rerun_if(
                    widgets.load(action, workspace=workspace, name=name, success=f"{did} {name}")
                )
    if actions[2].button("Delete…", key="compute_delete", icon=":material/delete:"):
        st.session_state[CONFIRM_KEY] = name
    if st.session_state.get(CONFIRM_KEY) == name:  # kept across reruns until done or dismissed
        _confirm_delete(name)
    with st.expander("YAML"):
        st.code(compute.compute_spec_yaml(target), language="yaml")


widgets.list_or_detail("Compute", listing, detail)
