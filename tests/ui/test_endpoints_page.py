"""The Endpoints page (AppTest): list, an endpoint's view, traffic, Test through a router started here,
Consume with masked keys, Logs, Monitoring; and the deploy wizard on a model's page."""

from __future__ import annotations

import json
import shutil
import uuid

import pytest

from backend.services import endpoint_access, endpoint_runtime, endpoints, models, open_session
from tests.conftest import reset_caches
from tests.endpoints.conftest import (  # noqa: F401 (fixtures)
    iris_model,
    managed_sample,
    scoring_server,
    served,
)

WS = "default"


def _call(fn, **kwargs):
    with open_session() as s:
        return fn(session=s, workspace=WS, **kwargs)


def _texts(at) -> str:
    """Everything the page shows as text (markdown, code, captions, metrics, messages, inputs)."""
    parts = []
    for kind in ("markdown", "code", "caption", "info", "error", "warning", "success", "subheader"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [str(m.value) for m in at.metric]
    parts += [str(t.value) for t in at.text_area] + [str(t.value) for t in at.text_input]
    return "\n".join(parts)


@pytest.fixture
def no_router(monkeypatch):
    monkeypatch.setenv("STUDIO_ENDPOINT_PORT", "1")  # nothing listens there
    reset_caches()


def test_the_list_shows_state_and_url_and_opens_an_endpoint(app):
    at = app("endpoints.py")
    assert any("No online endpoints yet" in i.value for i in at.info)
    managed_sample()
    at = app("endpoints.py")
    table = at.dataframe[0].value
    row = table[table["name"] == "my-endpoint"].iloc[0]
    assert row["state"] == "Creating" and row["deployments"] == 2 and row["traffic"] == "blue=100%"
    assert row["scoring URI"].endswith("/endpoints/my-endpoint/score")
    at.text_input(key="endpoints_table_filter").input("nothing-like-it").run()
    assert at.dataframe[0].value.empty


def test_an_endpoint_shows_its_deployments_and_saves_traffic_with_clear_errors(app):
    managed_sample()
    with open_session() as s:
        endpoints.set_deployment_state(
            session=s,
            endpoint_name="my-endpoint",
            name="green",
            state="Failed",
            error="init() raised KeyError",
        )
    at = app("endpoints.py", name="my-endpoint")
    assert at.subheader[0].value == "my-endpoint"
    deployments = at.dataframe[0].value
    assert list(deployments["name"]) == ["blue", "green"]
    assert list(deployments["state"]) == ["Creating", "Failed"] and list(deployments["traffic"]) == [100, 0]
    assert any("green" in e.value and "init() raised KeyError" in e.value for e in at.error)
    assert at.button(key="ep_traffic_save").disabled  # nothing changed yet

    def slider(label: str):
        return next(s for s in at.slider if s.label.startswith(label))

    slider("green: share").set_value(10).run()
    assert any("110%" in c.value and "must be 100" in c.value for c in at.caption)
    at.button(key="ep_traffic_save").click().run()
    assert any("sums to 110" in e.value for e in at.error)  # the service's message, on the page
    assert _call(endpoints.get_endpoint, name="my-endpoint").traffic == {"blue": 100}

    slider("blue: share").set_value(90).run()
    slider("green: mirrored").set_value(20).run()
    at.button(key="ep_traffic_save").click().run()
    assert any("either live or mirrored traffic, not both" in e.value for e in at.error)

    slider("green: share").set_value(0).run()
    slider("blue: share").set_value(100).run()
    at.button(key="ep_traffic_save").click().run()
    assert not at.exception
    saved = _call(endpoints.get_endpoint, name="my-endpoint")
    assert saved.traffic.get("blue") == 100 and not saved.traffic.get("green")
    assert saved.mirror_traffic == {"green": 20}
    assert list(at.dataframe[0].value["mirror"]) == [0, 20]


def test_consume_masks_keys_until_revealed(app):
    managed_sample()
    keys = _call(endpoint_access.get_keys, name="my-endpoint")
    at = app("endpoints.py", name="my-endpoint", tab="Consume")
    text = _texts(at)
    assert "/endpoints/my-endpoint/score" in text and "<your-key>" in text and "curl -X POST" in text
    assert keys.primaryKey not in text and keys.secondaryKey not in text
    at.toggle(key="ep_reveal_my-endpoint").set_value(True).run()
    revealed = [c.value for c in at.code]
    assert keys.primaryKey in revealed and keys.secondaryKey in revealed
    assert any(f"Bearer {keys.primaryKey}" in c for c in revealed)  # the snippets with the key
    at.toggle(key="ep_reveal_my-endpoint").set_value(False).run()
    assert keys.primaryKey not in _texts(at)
    # The Kubernetes download is offered (rendered when clicked), with its options.
    at.selectbox(key="ep_k8s_router_my-endpoint").set_value("gateway").run()
    at.toggle(key="ep_k8s_keys_my-endpoint").set_value(True).run()
    assert not at.exception and keys.primaryKey not in _texts(at)


def test_a_missing_endpoint_and_a_stopped_router_are_clear_messages(app, no_router):
    at = app("endpoints.py", name="nope")
    assert any("'nope' does not exist" in e.value for e in at.error)
    managed_sample()
    at = app("endpoints.py", name="my-endpoint", tab="Test")
    at.button(key="ep_test_send").click().run()
    assert any("start Studio with `studio up`" in e.value for e in at.error)
    at = app("endpoints.py", name="my-endpoint", tab="Monitoring")
    assert any("No metrics" in i.value and "studio up" in i.value for i in at.info)


def test_the_test_tab_sends_a_request_and_shows_answer_status_and_latency(app, served):  # noqa: F811
    at = app("endpoints.py", name="my-endpoint", tab="Test")
    body = {"input_data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}
    at.text_area(key="ep_test_body_my-endpoint").input(json.dumps(body)).run()
    at.selectbox(key="ep_test_target_my-endpoint").set_value("green").run()
    at.button(key="ep_test_send").click().run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert (
        metrics["Status"] == "200" and metrics["Deployment"] == "green" and metrics["Latency"].endswith("ms")
    )
    assert any(json.loads(c.value) == [0, 2] for c in at.code if c.language == "json")

    at.text_area(key="ep_test_body_my-endpoint").input("{not json").run()
    assert any("not valid JSON" in w.value for w in at.warning)
    at.button(key="ep_test_send").click().run()
    assert {m.label: m.value for m in at.metric}["Status"] == "400"
    assert any("answered 400" in e.value for e in at.error)

    at = app("endpoints.py", name="my-endpoint", tab="Monitoring")
    assert not at.exception
    labels = {m.label: m.value for m in at.metric}
    assert labels["green: requests"] == "2" and labels["errors"] in ("1", "0")
    assert len(at.get("plotly_chart")) == 3


def test_the_logs_tab_shows_each_instance(app):
    managed_sample()
    log = endpoint_runtime.instance_log(endpoint="my-endpoint", deployment="green", index=0)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("scoring server listening\n")
    at = app("endpoints.py", name="my-endpoint", tab="Logs")
    assert any("No logs yet" in c.value for c in at.code)
    at.selectbox(key="ep_logs_deployment_my-endpoint").set_value("green").run()
    assert any("== instance 0" in c.value and "scoring server listening" in c.value for c in at.code)


@pytest.mark.usefixtures("tracking")
def test_the_deploy_wizard_creates_an_endpoint_with_all_traffic(app, iris_model, tmp_path):  # noqa: F811
    name = f"iris-{uuid.uuid4().hex[:6]}"
    folder = tmp_path / "model"
    shutil.copytree(iris_model, folder)
    with open_session() as s:
        models.create_model(
            session=s, workspace=WS, data=models.ModelCreate(name=name, path=str(folder), type="mlflow_model")
        )
    at = app("models.py", name=name, version="1")
    at.button(key="model_deploy").click().run()
    assert at.radio(key="deploy_target").options == ["New endpoint"]  # no endpoint exists yet
    at.text_input(key="deploy_endpoint_name").input("Bad Name").run()
    assert at.button(key="deploy_submit").disabled and at.error
    at.text_input(key="deploy_endpoint_name").input(f"{name}-ep").run()
    at.button(key="deploy_submit").click().run()
    assert not at.exception
    endpoint = _call(endpoints.get_endpoint, name=f"{name}-ep")
    assert endpoint.traffic == {"blue": 100}
    blue = _call(endpoints.get_deployment, endpoint_name=f"{name}-ep", name="blue")
    assert blue.model == f"azureml:{name}:1" and blue.instance_count == 1
    assert any("being created" in s.value for s in at.success)

    at.radio(key="deploy_target").set_value("Existing endpoint").run()
    assert at.text_input(key=f"deploy_name_{name}-ep_1").value == "green"
    at.button(key="deploy_submit").click().run()
    assert _call(endpoints.get_endpoint, name=f"{name}-ep").traffic == {"blue": 100}  # the 2nd gets none
    assert [d.name for d in _call(endpoints.list_deployments, endpoint_name=f"{name}-ep")] == [
        "blue",
        "green",
    ]


def test_monitoring_charts_fill_empty_buckets_and_span_minutes():
    from studio.ui.endpoints.observe import charts

    now = 1_700_000_005
    series = {"blue": [{"t": 1_700_000_000, "requests": 3, "errors": 1, "p50_ms": 2.0, "p99_ms": 9.0}]}
    requests, latency, errors = charts(series, 10, now)
    assert len(requests.data[0].x) == 31  # five minutes of 10-second buckets, the last one holding the data
    assert list(requests.data[0].y[-2:]) == [0, 3] and list(errors.data[0].y[-1:]) == [1]
    assert [t.name for t in latency.data] == ["blue p50", "blue p99"] and latency.data[1].y[-1] == 9.0
