"""The list of online endpoints with their state and scoring URL."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from backend.services import endpoints
from studio.ui import shell, widgets

BUSY = ("Creating", "Updating", "Deleting")


def endpoint_state(endpoint: endpoints.EndpointPublic, deployments: list[endpoints.DeploymentPublic]) -> str:
    """What a reader wants to know first: Failed when a deployment failed, Creating/Updating while one is
    on its way, Succeeded when all run; "No deployments" for an empty endpoint."""
    if not deployments:
        return "No deployments"
    states = [d.provisioning_state for d in deployments]
    if "Failed" in states:
        return "Failed"
    busy = next((s for s in BUSY if s in states), None)
    return busy or endpoint.provisioning_state


def _split(traffic: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}%" for k, v in traffic.items() if v)


def listing() -> None:
    workspace = shell.current_workspace()
    loaded = widgets.load_together(
        lambda s: endpoints.list_endpoints(session=s, workspace=workspace),
        lambda s: endpoints.list_all_deployments(session=s),
    )
    if loaded is None:
        return
    rows, deployments = loaded
    if not rows:
        st.info(
            "No online endpoints yet: open a registered model on **Models** and press **Deploy**, or create "
            "one from the cloud's YAML: `studio online-endpoint create --file endpoint.yml`."
        )
        shell.page_link("models.py", "Models", icon=":material/model_training:")
        return
    by_endpoint: dict[str, list[endpoints.DeploymentPublic]] = {}
    for d in deployments:
        if d.workspace == workspace:
            by_endpoint.setdefault(d.endpoint_name, []).append(d)
    frame = pd.DataFrame(
        [
            {
                "name": e.name,
                "state": endpoint_state(e, by_endpoint.get(e.name, [])),
                "deployments": len(by_endpoint.get(e.name, [])),
                "traffic": _split(e.traffic),
                "mirror": _split(e.mirror_traffic),
                "auth": e.auth_mode,
                "kind": e.kind,
                "scoring URI": e.scoring_uri,
                "updated": e.updated_at,
            }
            for e in rows
        ]
    )
    widgets.pick_and_open(frame, key="endpoints_table", dates=["updated"])
    st.caption("Select a row to open an endpoint; click a header to sort.")
