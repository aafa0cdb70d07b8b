"""The deploy wizard on a model version's page: to a new or an existing online endpoint; an
``mlflow_model`` needs nothing more, any other type a scoring script and an environment."""

from __future__ import annotations

import re

import streamlit as st

from backend.services import endpoint_runtime, endpoints, environments
from studio.ui import shell, widgets

OPEN_KEY = "model_deploy_open"
TARGETS = ["New endpoint", "Existing endpoint"]
DEPLOYMENT_NAMES = ("blue", "green", "red", "yellow")
INSTANCE_TYPE = "Standard_DS3_v2"


def deploy_button(where=st) -> None:
    if where.button("Deploy", key="model_deploy", icon=":material/rocket_launch:", type="primary"):
        st.session_state[OPEN_KEY] = not st.session_state.get(OPEN_KEY, False)
        st.session_state.pop("model_deployed", None)


def default_endpoint_name(model: str) -> str:
    """``<model>-endpoint`` in the characters an endpoint name allows (letters, digits, dashes)."""
    base = re.sub(r"[^a-z0-9-]+", "-", model.lower()).strip("-") or "model"
    if not base[0].isalpha():
        base = f"m-{base}"
    return f"{base[:20].rstrip('-')}-endpoint"


def _environment_choices(workspace: str) -> list[str]:
    curated = [e.name for e in environments.list_builtin_environments() if e.kind == "curated"]
    registered = widgets.load(environments.list_environments, workspace=workspace) or []
    return [*curated, *(f"azureml:{e.name}:{e.version}" for e in registered)]


def deploy_form(model) -> None:
    """The wizard, shown once Deploy was pressed."""
    if not st.session_state.get(OPEN_KEY):
        return
    workspace = shell.current_workspace()
    with st.container(border=True):
        st.markdown(f"**Deploy {model.name}:{model.version}** to an online endpoint")
        existing = widgets.load(endpoints.list_endpoints, workspace=workspace) or []
        target = st.radio(
            "Endpoint", TARGETS if existing else TARGETS[:1], key="deploy_target", horizontal=True
        )
        left, right = st.columns(2)
        taken: set[str] = set()
        if target == TARGETS[0]:
            endpoint_name = left.text_input(
                "Endpoint name", value=default_endpoint_name(model.name), key="deploy_endpoint_name"
            )
            auth_mode = right.selectbox("Authentication", ["key", "aml_token"], key="deploy_auth")
            problem = widgets.problem_shown(endpoint_name, endpoints.endpoint_name_problem)
        else:
            endpoint_name = left.selectbox("Endpoint", [e.name for e in existing], key="deploy_endpoint_pick")
            auth_mode, problem = "key", None
            taken = {
                d.name
                for d in widgets.load(
                    endpoints.list_deployments, workspace=workspace, endpoint_name=endpoint_name
                )
                or []
            }
            right.caption(
                "Its first deployment gets all the traffic; later ones get none until you split it on the "
                "endpoint's page."
            )
        suggested = next((n for n in DEPLOYMENT_NAMES if n not in taken), "")
        deployment_name = left.text_input(
            "Deployment name",
            value=suggested,
            key="deploy_name_new" if target == TARGETS[0] else f"deploy_name_{endpoint_name}_{len(taken)}",
        )
        instance_count = right.number_input(
            "Instance count", min_value=1, max_value=16, value=1, step=1, key="deploy_instances"
        )
        instance_type = left.text_input(
            "Instance type (recorded)", value=INSTANCE_TYPE, key="deploy_instance_type"
        )
        script, environment = None, None
        if model.type != "mlflow_model":
            st.caption(
                f"A {model.type} needs a scoring script: `init()` once per instance (the model's files are "
                "under `AZUREML_MODEL_DIR`) and `run(raw_data)` per request."
            )
            script = st.file_uploader("Scoring script", type=["py"], key="deploy_script")
            environment = st.selectbox("Environment", _environment_choices(workspace), key="deploy_env")
        ready = (
            bool(endpoint_name and deployment_name)
            and not problem
            and (model.type == "mlflow_model" or script is not None)
        )
        cols = st.columns([1, 1, 4])
        if cols[1].button("Cancel", key="deploy_cancel"):
            st.session_state[OPEN_KEY] = False
            st.rerun()
        if cols[0].button("Deploy", key="deploy_submit", type="primary", disabled=not ready):
            created = widgets.load(
                endpoint_runtime.deploy_model,
                workspace=workspace,
                model=model.name,
                version=model.version,
                endpoint_name=endpoint_name,
                deployment_name=deployment_name.strip(),
                new_endpoint=target == TARGETS[0],
                auth_mode=auth_mode,
                instance_count=int(instance_count),
                instance_type=instance_type.strip() or None,
                scoring_script=(script.name, script.getvalue()) if script is not None else None,
                environment=environment,
                success=f"Deploying {model.name}:{model.version}",
            )
            if created is not None:
                st.session_state["model_deployed"] = (created.endpoint_name, created.name)
                st.rerun()  # the endpoint lists again with the new one
        deployed = st.session_state.get("model_deployed")
        if deployed:
            st.success(
                f"Deployment **{deployed[1]}** of endpoint **{deployed[0]}** is being created: its scoring "
                "processes start in the background."
            )
            shell.page_link(
                "endpoints.py", f"Open endpoint {deployed[0]}", icon=":material/api:", name=deployed[0]
            )
