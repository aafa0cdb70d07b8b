"""An endpoint's Test tab (send a JSON body, see the answer, status and latency) and Consume tab (URL,
keys masked until revealed, curl and Python snippets)."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from backend.errors import StudioError
from backend.services import endpoint_access, endpoint_runtime, endpoints, model_cards, open_session
from studio.ui import widgets

BY_TRAFFIC = "(split by traffic)"
MASK = "•" * 24
KEY_PLACEHOLDER = "<your-key>"
MLFLOW_FORMATS = ("input_data", "dataframe_split", "dataframe_records", "instances", "inputs")


# ------------------------------------------------------------------------------------------------ Test


def request_from_example(example: Any, signature: dict | None = None) -> dict | None:
    """A request body in the cloud's format from an MLflow model's input example (split orientation
    becomes ``input_data``), or from its column signature (one row of zeros); None when neither helps."""
    if isinstance(example, dict) and any(k in example for k in MLFLOW_FORMATS):
        return example
    if isinstance(example, dict) and "columns" in example and "data" in example:
        return {"input_data": {k: example[k] for k in ("columns", "index", "data") if k in example}}
    if example is not None:
        return {"input_data": example}
    inputs = (signature or {}).get("inputs")
    if isinstance(inputs, list) and inputs and all(isinstance(c, dict) and c.get("name") for c in inputs):
        return {"input_data": {"columns": [c["name"] for c in inputs], "data": [[0] * len(inputs)]}}
    return None


def _model_reference(model: str | None) -> tuple[str, str] | None:
    """(name, version) of an ``azureml:<name>:<version>`` reference; None for paths and other forms."""
    if not model or not model.startswith("azureml:") or model.startswith("azureml://"):
        return None
    parts = model.removeprefix("azureml:").split(":")
    return (parts[0], parts[1]) if len(parts) == 2 and all(parts) else None


def _example_body(workspace: str, deployments: list[endpoints.DeploymentPublic]) -> str:
    """The first deployment's model input example as a request body (looked up once per session)."""
    cache = st.session_state.setdefault("ep_examples", {})
    for d in deployments:
        ref = _model_reference(d.model)
        if ref is None:
            continue
        if ref not in cache:
            try:
                with open_session() as s:
                    card = model_cards.model_card(session=s, workspace=workspace, name=ref[0], version=ref[1])
            except StudioError:  # no example then: the body starts empty
                card = None
            body = request_from_example(card.input_example, card.signature) if card else None
            cache[ref] = json.dumps(body, indent=2) if body is not None else None
        if cache[ref]:
            return cache[ref]
    return "{}"


def test_view(
    workspace: str, endpoint: endpoints.EndpointPublic, deployments: list[endpoints.DeploymentPublic]
) -> None:
    """Send the endpoint requests (``deployments``: one at least; ``detail`` speaks of none)."""
    key = f"ep_test_body_{endpoint.name}"
    if key not in st.session_state:
        st.session_state[key] = _example_body(workspace, deployments)
    left, right = st.columns([3, 2])
    with left:
        body = st.text_area(
            "Request body (JSON)", key=key, height=220, help="Sent as it is, with the endpoint's key."
        )
        options = [BY_TRAFFIC, *[d.name for d in deployments]]
        target = st.selectbox(
            "Deployment",
            options,
            key=f"ep_test_target_{endpoint.name}",
            help="A named deployment gets the request whatever its share (the azureml-model-deployment header).",
        )
        problem = _json_problem(body)
        if problem:
            st.warning(f"The body is not valid JSON: {problem}")
        if st.button("Send", key="ep_test_send", type="primary", icon=":material/send:", disabled=not body):
            result = widgets.load(
                endpoint_runtime.invoke_endpoint,
                workspace=workspace,
                name=endpoint.name,
                body=body,
                deployment=None if target == BY_TRAFFIC else target,
            )
            st.session_state[f"ep_test_result_{endpoint.name}"] = result
    with right:
        result = st.session_state.get(f"ep_test_result_{endpoint.name}")
        if result is None:
            st.caption("The answer shows here.")
        else:
            _show_result(result)


def _json_problem(text: str) -> str | None:
    if not text.strip():
        return None
    try:
        json.loads(text)
    except ValueError as exc:
        return str(exc)
    return None


def _show_result(result: endpoint_runtime.InvokeResult) -> None:
    cols = st.columns(3)
    cols[0].metric("Status", result.status)
    cols[1].metric("Latency", f"{result.latency_ms:.0f} ms")
    cols[2].metric("Deployment", result.deployment or "–")
    try:
        answer = json.loads(result.body)
    except ValueError:
        answer = None
    if not result.ok:
        st.error(f"The endpoint answered {result.status}", icon="⚠️")
    if answer is not None:
        st.code(json.dumps(answer, indent=2)[:20000], language="json")
    else:
        st.code(result.body[:20000] or "(empty)", language="text")


# --------------------------------------------------------------------------------------------- Consume


def _credentials(workspace: str, endpoint: endpoints.EndpointPublic) -> dict[str, str] | None:
    """Only called once the user reveals them: the two keys, or a fresh token."""
    if endpoint.auth_mode == "aml_token":
        token = widgets.load(endpoint_access.get_token, workspace=workspace, name=endpoint.name)
        return None if token is None else {"Token": token.accessToken}
    keys = widgets.load(endpoint_access.get_keys, workspace=workspace, name=endpoint.name)
    return None if keys is None else {"Primary key": keys.primaryKey, "Secondary key": keys.secondaryKey}


def snippets(uri: str, credential: str) -> tuple[str, str]:
    """A curl command and a Python program that send ``request.json`` to ``uri`` with ``credential``."""
    curl = (
        f'curl -X POST "{uri}" \\\n'
        f'  -H "Authorization: Bearer {credential}" \\\n'
        '  -H "Content-Type: application/json" \\\n'
        "  -d @request.json"
    )
    python = f'''import json
import urllib.request

url = "{uri}"
key = "{credential}"
with open("request.json") as f:
    body = f.read().encode()
request = urllib.request.Request(
    url, body, {{"Content-Type": "application/json", "Authorization": f"Bearer {{key}}"}}
)
# request.add_header("azureml-model-deployment", "blue")  # to target one deployment
with urllib.request.urlopen(request) as response:
    print(json.loads(response.read()))
'''
    return curl, python


def consume_view(workspace: str, endpoint: endpoints.EndpointPublic) -> None:
    st.markdown("**REST endpoint**")
    st.code(endpoint.scoring_uri, language="text")
    token = endpoint.auth_mode == "aml_token"
    reveal = st.toggle(
        "Show token" if token else "Show keys",
        key=f"ep_reveal_{endpoint.name}",
        help="Keys stay hidden (and are not even loaded) until you turn this on.",
    )
    revealed = _credentials(workspace, endpoint) if reveal else None
    labels = ["Token"] if token else ["Primary key", "Secondary key"]
    st.markdown("**Authentication**" + (" (aml_token: valid for an hour)" if token else " (key)"))
    for label in labels:
        st.caption(label)
        st.code(revealed[label] if revealed else MASK, language="text")
    if not token:
        with st.expander("Regenerate a key"):
            st.caption("The other key keeps working: rotate one at a time.")
            cols = st.columns(2)
            for col, kind in zip(cols, endpoints.KEY_TYPES, strict=True):
                if col.button(f"Regenerate {kind}", key=f"ep_regen_{kind}"):
                    widgets.done(
                        endpoint_access.regenerate_keys,
                        workspace=workspace,
                        name=endpoint.name,
                        key_type=kind,
                        success=f"Regenerated the {kind} key",
                    )
    credential = revealed[labels[0]] if revealed else KEY_PLACEHOLDER
    curl, python = snippets(endpoint.scoring_uri, credential)
    st.markdown("**curl**")
    st.code(curl, language="bash")
    st.markdown("**Python**")
    st.code(python, language="python")
    if not revealed:
        st.caption(f"Replace `{KEY_PLACEHOLDER}` with a key (turn on the toggle above to see them).")
    kubernetes_download(workspace, endpoint)


def kubernetes_download(workspace: str, endpoint: endpoints.EndpointPublic) -> None:
    """The endpoint as Kubernetes manifests, a zip to download (as ``studio online-endpoint export-k8s``)."""
    from backend.services import k8s_export

    with st.expander("Kubernetes manifests"):
        st.caption(
            "A Secret, and per deployment a ConfigMap with the scoring code, a Deployment and a Service; "
            "then the route that splits traffic. The model files are not included."
        )
        cols = st.columns(2)
        router = cols[0].selectbox(
            "Route",
            k8s_export.ROUTERS,
            key=f"ep_k8s_router_{endpoint.name}",
            help="ingress: ingress-nginx with a canary; gateway: a Gateway API HTTPRoute (any number of "
            "weighted deployments, mirrored traffic).",
        )
        with_keys = cols[1].toggle(
            "Keys in the Secret",
            key=f"ep_k8s_keys_{endpoint.name}",
            help="Off: the Secret holds placeholders that say how to get the keys.",
        )

        def archive() -> bytes:  # rendered when the button is clicked, not on every rerun
            with open_session() as s:
                manifests = k8s_export.render_endpoint(
                    session=s, workspace=workspace, name=endpoint.name, router=router, with_keys=with_keys
                )
            return k8s_export.manifests_zip(manifests)

        st.download_button(
            "Download the manifests (.zip)",
            archive,
            file_name=f"{endpoint.name}-k8s.zip",
            mime="application/zip",
            icon=":material/download:",
            on_click="ignore",
            key=f"ep_k8s_download_{endpoint.name}",
        )
