"""backend/services/endpoint_runtime.py: a request through a router started here (on the port the scoring
URIs name) to a real scoring server process; deployment log tails; the router's metrics route and its
10-second buckets."""

from __future__ import annotations

import json
import logging

import pytest

from backend.agent.router import BUCKET_S, DeploymentState
from backend.errors import NotFoundError, UnavailableError
from backend.services import endpoint_access, endpoint_runtime, open_session
from tests.conftest import reset_caches
from tests.endpoints.conftest import IRIS_REQUEST as IRIS
from tests.endpoints.conftest import managed_sample as _sample
from tests.endpoints.conftest import request

WS = "default"


def _call(fn, **kwargs):
    with open_session() as s:
        return fn(session=s, workspace=WS, **kwargs)


def test_invoke_sends_the_body_with_the_key_and_gets_the_predictions(served, caplog):
    caplog.set_level(logging.DEBUG)
    result = _call(endpoint_runtime.invoke_endpoint, name="my-endpoint", body=json.dumps(IRIS))
    assert result.ok and result.status == 200, result.body
    assert json.loads(result.body) == [0, 2]
    assert result.deployment == "blue" and result.latency_ms > 0
    targeted = _call(
        endpoint_runtime.invoke_endpoint, name="my-endpoint", body=json.dumps(IRIS), deployment="green"
    )
    assert (targeted.status, targeted.deployment) == (200, "green")
    bad = _call(endpoint_runtime.invoke_endpoint, name="my-endpoint", body="{not json")
    assert bad.status == 400 and not bad.ok
    keys = _call(endpoint_access.get_keys, name="my-endpoint")
    for text in (caplog.text, repr(result), result.model_dump_json()):
        assert keys.primaryKey not in text and keys.secondaryKey not in text
    with pytest.raises(NotFoundError):
        _call(endpoint_runtime.invoke_endpoint, name="my-endpoint", body="{}", deployment="purple")
    with pytest.raises(NotFoundError):
        _call(endpoint_runtime.invoke_endpoint, name="nope", body="{}")


def test_metrics_route_answers_totals_and_ten_second_buckets(served):
    for _ in range(3):
        _call(endpoint_runtime.invoke_endpoint, name="my-endpoint", body=json.dumps(IRIS))
    _call(endpoint_runtime.invoke_endpoint, name="my-endpoint", body="[", deployment="green")
    status, _, document = request(served.port, "GET", "/-/metrics")
    assert status == 200 and document["bucket_s"] == BUCKET_S
    assert document["totals"]["my-endpoint"]["blue"]["requests"] == 3
    blue = document["series"]["my-endpoint"]["blue"]
    assert sum(b["requests"] for b in blue) == 3 and all(b["t"] % BUCKET_S == 0 for b in blue)
    assert blue[-1]["p50_ms"] > 0 and blue[-1]["p99_ms"] >= blue[-1]["p50_ms"]
    assert request(served.port, "POST", "/-/metrics", "{}")[0] == 405
    assert request(served.port, "GET", "/-/other")[0] == 404

    metrics = endpoint_runtime.endpoint_metrics(name="my-endpoint")
    assert metrics["available"] and metrics["error"] is None
    assert metrics["totals"]["green"]["errors"] == 1 and metrics["totals"]["blue"]["errors"] == 0
    assert sum(b["errors"] for b in metrics["series"]["green"]) == 1
    assert endpoint_runtime.endpoint_metrics(name="other")["totals"] == {}


def test_buckets_are_ten_seconds_wide_and_cover_the_last_hour():
    state = DeploymentState()
    start = 1_700_000_000  # a multiple of 10
    for offset, error, latency in [
        (0, False, 0.010),
        (3, True, 0.030),
        (10, False, 0.020),
        (25, False, None),
    ]:
        state.record(error, latency, now=start + offset)
    series = state.series(now=start + 30)
    assert [(b["t"], b["requests"], b["errors"]) for b in series] == [
        (start, 2, 1),
        (start + 10, 1, 0),
        (start + 20, 1, 0),
    ]
    assert series[0]["p50_ms"] == pytest.approx(10) and series[0]["p99_ms"] == pytest.approx(30)
    assert series[2]["p50_ms"] is None  # a request without a latency (refused at once)
    assert state.series(now=start + 3600 + 15) == [
        {"t": start + 20, "requests": 1, "errors": 0, "p50_ms": None, "p99_ms": None}
    ]


def test_a_router_that_is_not_running_is_one_clear_error(monkeypatch):
    _sample()
    monkeypatch.setenv("STUDIO_ENDPOINT_PORT", "1")  # nothing listens there
    reset_caches()
    with pytest.raises(UnavailableError, match="not running: start Studio with `studio up`"):
        _call(endpoint_runtime.invoke_endpoint, name="my-endpoint", body="{}")
    metrics = endpoint_runtime.endpoint_metrics(name="my-endpoint")
    assert not metrics["available"] and "studio up" in metrics["error"]
    assert metrics["totals"] == {} and metrics["series"] == {}


def test_logs_are_the_tail_of_every_instance_labelled():
    _sample()
    assert "No logs yet" in _call(
        endpoint_runtime.read_deployment_logs, endpoint_name="my-endpoint", name="blue"
    )
    for index in (1, 0):
        path = endpoint_runtime.instance_log(endpoint="my-endpoint", deployment="blue", index=index)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"instance {index} line {i}\n" for i in range(500)))
    text = _call(endpoint_runtime.read_deployment_logs, endpoint_name="my-endpoint", name="blue", lines=3)
    assert text.splitlines() == [
        "== instance 0 (instance-0.log) ==",
        "instance 0 line 497",
        "instance 0 line 498",
        "instance 0 line 499",
        "== instance 1 (instance-1.log) ==",
        "instance 1 line 497",
        "instance 1 line 498",
        "instance 1 line 499",
    ]
    long = _call(
        endpoint_runtime.read_deployment_logs, endpoint_name="my-endpoint", name="blue", lines=100000 // 10
    )
    assert long.count("line") == 1000
    with pytest.raises(NotFoundError):
        _call(endpoint_runtime.read_deployment_logs, endpoint_name="my-endpoint", name="purple")


def test_metrics_are_refused_to_clients_off_this_machine():
    from backend.agent.router import Router
    from backend.runtime.scoring.http import Request

    router = Router()
    get = Request(method="GET", target="/-/metrics?endpoint=x", headers={}, body=b"", keep_alive=False)
    assert router._metrics_route(get, loopback=False)[0] == 403
    status, body, _, _ = router._metrics_route(get, loopback=True)
    assert status == 200 and json.loads(body)["totals"] == {}
