"""One online endpoint: its deployments and traffic, then the Test, Consume, Logs and Monitoring tabs
(``?tab=``: the tab's label)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from backend.services import endpoints
from studio.ui import shell, widgets
from studio.ui.endpoints import consume, observe
from studio.ui.endpoints.listing import endpoint_state

TABS = ["Deployments", "Test", "Consume", "Logs", "Monitoring"]
MAX_MIRROR = 50


def detail(name: str) -> None:
    workspace = shell.current_workspace()
    widgets.back_button("← All endpoints", key="endpoint_back")
    loaded = widgets.load_together(
        lambda s: endpoints.get_endpoint(session=s, workspace=workspace, name=name),
        lambda s: endpoints.list_deployments(session=s, workspace=workspace, endpoint_name=name),
    )
    if loaded is None:
        return
    endpoint, deployments = loaded
    st.subheader(endpoint.name)
    top = st.columns([1, 1, 1, 3])
    top[0].markdown(f"**State**  \n{endpoint_state(endpoint, deployments)}")
    top[1].markdown(f"**Auth**  \n`{endpoint.auth_mode}`")
    top[2].markdown(f"**Kind**  \n`{endpoint.kind}`")
    top[3].markdown(f"**Scoring URI**  \n`{endpoint.scoring_uri}`")
    if endpoint.description:
        st.caption(endpoint.description)
    widgets.tags_caption(endpoint.tags)
    tabs = st.tabs(TABS, key="tab", bind="query-params")
    views = {
        "Deployments": lambda: deployments_view(workspace, endpoint, deployments),
        "Test": lambda: consume.test_view(workspace, endpoint, deployments),
        "Consume": lambda: consume.consume_view(workspace, endpoint),
        "Logs": lambda: observe.logs_view(workspace, endpoint, deployments),
        "Monitoring": lambda: observe.monitoring_view(endpoint),
    }
    without_deployments = {  # what the tabs about deployments say on an endpoint with none
        "Deployments": "No deployments yet: deploy a registered model from **Models** (Deploy), or "
        f"`studio online-deployment create --file blue.yml --endpoint-name {endpoint.name} --all-traffic`.",
        "Test": "Deploy a model to this endpoint first; then send it requests here.",
        "Logs": "No deployments: nothing has written logs.",
    }
    for label, tab in zip(TABS, tabs, strict=True):
        if tab.open is not False:  # only the open tab's view runs
            with tab:
                if label in without_deployments and not deployments:
                    st.info(without_deployments[label])
                else:
                    views[label]()


def deployments_view(
    workspace: str, endpoint: endpoints.EndpointPublic, deployments: list[endpoints.DeploymentPublic]
) -> None:
    """The deployments and their traffic (one at least; ``detail`` speaks of none)."""
    frame = pd.DataFrame(
        [
            {
                "name": d.name,
                "state": d.provisioning_state,
                "instances": d.instance_count,
                "model": d.model or "",
                "traffic": endpoint.traffic.get(d.name, 0),
                "mirror": endpoint.mirror_traffic.get(d.name, 0),
                "instance type": d.instance_type or "",
                "updated": d.updated_at,
                "error": d.error or "",
            }
            for d in deployments
        ]
    )
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        key="endpoint_deployments_table",
        column_config=widgets.datetime_columns("updated")
        | {
            "traffic": st.column_config.NumberColumn("traffic", format="%d%%"),
            "mirror": st.column_config.NumberColumn("mirror", format="%d%%"),
        },
    )
    for d in deployments:
        if d.provisioning_state == "Failed":
            st.error(f"Deployment **{d.name}** failed: {d.error or 'no reason was recorded'}", icon="⚠️")
    traffic_editor(workspace, endpoint, deployments)


def traffic_editor(
    workspace: str, endpoint: endpoints.EndpointPublic, deployments: list[endpoints.DeploymentPublic]
) -> None:
    """A slider per deployment for its share of the traffic and one for its mirrored share; Save checks
    both through the service (a split sums to 100, or 0; at most one mirror, at most 50%)."""
    st.markdown("**Traffic**")
    stamp = endpoint.updated_at.timestamp()  # a change elsewhere (CLI, SDK) resets the sliders
    traffic, mirror = {}, {}
    for d in deployments:
        left, right = st.columns(2)
        traffic[d.name] = left.slider(
            f"{d.name}: share of the traffic (%)",
            0,
            100,
            int(endpoint.traffic.get(d.name, 0)),
            key=f"ep_traffic_{endpoint.name}_{d.name}_{stamp}",
        )
        mirror[d.name] = right.slider(
            f"{d.name}: mirrored copy (%)",
            0,
            MAX_MIRROR,
            int(endpoint.mirror_traffic.get(d.name, 0)),
            key=f"ep_mirror_{endpoint.name}_{d.name}_{stamp}",
            help="A copy of this share of the requests goes to this deployment; its answers are discarded.",
        )
    total = sum(traffic.values())
    changed = traffic != {d.name: endpoint.traffic.get(d.name, 0) for d in deployments} or mirror != {
        d.name: endpoint.mirror_traffic.get(d.name, 0) for d in deployments
    }
    note = "" if total in (0, 100) else " — it must be 100 (or 0 to stop serving)"
    st.caption(f"Total: {total}%{note}")
    if st.button("Save traffic", key="ep_traffic_save", type="primary", disabled=not changed):
        saved = widgets.load(
            endpoints.update_traffic,
            workspace=workspace,
            name=endpoint.name,
            traffic=traffic,
            mirror_traffic={k: v for k, v in mirror.items() if v},
            success="Traffic saved",
        )
        widgets.rerun_if(saved)
