"""Deployments served for real: the cloud's managed sample from its YAML, and an MLflow model with no
script, through a real agent (endpoint supervisor + router), scoring processes in sandboxed venvs."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from backend.services import endpoint_access, endpoints, open_session
from tests.conftest import REPO

SAMPLE = REPO / "tests" / "fixtures" / "endpoints" / "managed" / "sample"
REQUEST = REPO / "tests" / "fixtures" / "endpoints" / "sample-request.json"
READY_TIMEOUT_S = 600  # the sample's environment (Python 3.12, exact packages) is built with uv first


def _deployment(endpoint: str, name: str):
    with open_session() as s:
        return endpoints.get_deployment(session=s, workspace="default", endpoint_name=endpoint, name=name)


def wait_state(endpoint: str, name: str, generation: int = 1, timeout_s: float = READY_TIMEOUT_S):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = _deployment(endpoint, name)
        if found.generation == generation and found.provisioning_state in ("Succeeded", "Failed"):
            return found
        time.sleep(0.5)
    raise AssertionError(f"{endpoint}/{name} still {found.provisioning_state} after {timeout_s}s")


def score(endpoint: str, body: bytes, key: str | None, deployment: str | None = None) -> tuple[int, str]:
    with open_session() as s:
        uri = endpoints.get_endpoint(session=s, workspace="default", name=endpoint).scoring_uri
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    if deployment:
        headers["azureml-model-deployment"] = deployment
    request = urllib.request.Request(uri, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError as exc:  # nothing listens (the agent, and its router, are stopped)
        return -1, str(exc)


def keys(endpoint: str):
    with open_session() as s:
        return endpoint_access.get_keys(session=s, workspace="default", name=endpoint)


def _expected(model: str) -> list[float]:
    import joblib
    import numpy

    found = joblib.load(
        REPO / "tests" / "fixtures" / "endpoints" / model / "model" / "sklearn_regression_model.pkl"
    )
    return found.predict(numpy.array(json.loads(REQUEST.read_text())["data"])).tolist()


def test_the_clouds_managed_sample_deploys_unchanged_and_answers_its_sample_request(agent):
    with open_session() as s:
        endpoints.create_endpoint_from_file(session=s, workspace="default", path=SAMPLE / "endpoint.yml")
        endpoints.create_deployment_from_file(
            session=s, workspace="default", path=SAMPLE / "blue-deployment.yml", all_traffic=True
        )
    blue = wait_state("my-endpoint", "blue")
    assert blue.provisioning_state == "Succeeded", blue.error
    body = REQUEST.read_bytes()
    status, answer = score("my-endpoint", body, keys("my-endpoint").primaryKey)
    assert status == 200, answer
    assert json.loads(answer) == pytest.approx(_expected("model-1"))
    assert score("my-endpoint", body, None)[0] == 401
    assert score("my-endpoint", body, "not-a-key")[0] == 401
    assert score("my-endpoint", body, keys("my-endpoint").secondaryKey)[0] == 200

    # The scoring script ran under Python 3.12, as the conda file pins it, in its own sandboxed venv.
    log = (Path(agent.home) / "endpoints" / "my-endpoint" / "blue" / "instance-0.log").read_text()
    assert "generation 1, instance 0" in log
    ready = [json.loads(line) for line in log.splitlines() if line.startswith('{"event": "ready"')]
    assert ready and ready[-1]["python"].startswith("3.12."), log[-2000:]

    # Green next to blue, then all traffic to green: the answers follow the traffic.
    with open_session() as s:
        endpoints.create_deployment_from_file(
            session=s, workspace="default", path=SAMPLE / "green-deployment.yml"
        )
    green = wait_state("my-endpoint", "green")
    assert green.provisioning_state == "Succeeded", green.error
    key = keys("my-endpoint").primaryKey
    status, answer = score("my-endpoint", body, key, deployment="green")
    assert status == 200 and json.loads(answer) == pytest.approx(_expected("model-2"))
    with open_session() as s:
        endpoints.update_traffic(
            session=s, workspace="default", name="my-endpoint", traffic={"blue": 0, "green": 100}
        )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if json.loads(score("my-endpoint", body, key)[1]) == pytest.approx(_expected("model-2")):
            break
        time.sleep(0.2)
    else:
        raise AssertionError("traffic never moved to green")


def test_an_mlflow_model_with_no_script_answers_the_clouds_request_format(agent, tmp_path):
    import mlflow.sklearn
    import numpy
    from sklearn.linear_model import LinearRegression

    features = numpy.array([[0.0, 1.0], [1.0, 0.0], [2.0, 3.0], [3.0, 1.0]])
    model = LinearRegression().fit(features, features @ numpy.array([2.0, -1.0]) + 0.5)
    mlflow.sklearn.save_model(model, tmp_path / "model")
    (tmp_path / "endpoint.yml").write_text("name: mlflow-ep\nauth_mode: key\n")
    (tmp_path / "deployment.yml").write_text(
        "name: only\nendpoint_name: mlflow-ep\nmodel:\n  path: model\n  type: mlflow_model\ninstance_count: 1\n"
    )
    with open_session() as s:
        endpoints.create_endpoint_from_file(session=s, workspace="default", path=tmp_path / "endpoint.yml")
        endpoints.create_deployment_from_file(
            session=s, workspace="default", path=tmp_path / "deployment.yml", all_traffic=True
        )
    only = wait_state("mlflow-ep", "only")
    assert only.provisioning_state == "Succeeded", only.error
    rows = [[4.0, 2.0], [0.5, 0.5]]
    body = json.dumps({"input_data": {"columns": [0, 1], "index": [0, 1], "data": rows}}).encode()
    status, answer = score("mlflow-ep", body, keys("mlflow-ep").primaryKey)
    assert status == 200, answer
    assert json.loads(answer) == pytest.approx(model.predict(numpy.array(rows)).tolist())

    # The agent stops (its scoring processes with it) and starts again: the endpoint answers again, at the
    # same URL with the same keys.
    agent.stop()
    assert score("mlflow-ep", body, keys("mlflow-ep").primaryKey)[0] in (502, 503, -1)
    agent.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status, answer = score("mlflow-ep", body, keys("mlflow-ep").primaryKey)
        if status == 200:
            break
        time.sleep(0.5)
    assert status == 200, answer


def test_a_script_whose_init_fails_leaves_the_deployment_failed_with_its_error(agent, tmp_path):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "score.py").write_text(
        "def init():\n    raise RuntimeError('no model here')\n\ndef run(raw_data):\n    return raw_data\n"
    )
    (tmp_path / "endpoint.yml").write_text("name: broken-ep\n")
    (tmp_path / "deployment.yml").write_text(
        "name: bad\nendpoint_name: broken-ep\nenvironment: azureml:AzureML-sklearn-1.5@latest\n"
        "code_configuration:\n  code: code\n  scoring_script: score.py\n"
    )
    with open_session() as s:
        endpoints.create_endpoint_from_file(session=s, workspace="default", path=tmp_path / "endpoint.yml")
        endpoints.create_deployment_from_file(
            session=s, workspace="default", path=tmp_path / "deployment.yml"
        )
    bad = wait_state("broken-ep", "bad", timeout_s=120)
    assert bad.provisioning_state == "Failed"
    assert "no model here" in bad.error


def _mlflow_deployment(tmp_path: Path, endpoint: str, name: str, instances: int = 1) -> Path:
    """A deployment YAML of a small scikit-learn MLflow model (saved once per folder)."""
    import mlflow.sklearn
    import numpy
    from sklearn.linear_model import LinearRegression

    if not (tmp_path / "model").exists():
        features = numpy.array([[0.0, 1.0], [1.0, 0.0], [2.0, 3.0]])
        mlflow.sklearn.save_model(LinearRegression().fit(features, features.sum(axis=1)), tmp_path / "model")
    path = tmp_path / f"{name}-{instances}.yml"
    path.write_text(
        f"name: {name}\nendpoint_name: {endpoint}\nmodel:\n  path: model\n  type: mlflow_model\n"
        f"instance_count: {instances}\nrequest_settings:\n  max_concurrent_requests_per_instance: 32\n"
    )
    return path


def test_shifting_traffic_and_updating_a_deployment_under_load_lose_no_request(agent, tmp_path):
    import http.client
    import threading
    from urllib.parse import urlsplit

    (tmp_path / "endpoint.yml").write_text("name: load-ep\n")
    with open_session() as s:
        endpoints.create_endpoint_from_file(session=s, workspace="default", path=tmp_path / "endpoint.yml")
        for name in ("blue", "green"):
            endpoints.create_deployment_from_file(
                session=s,
                workspace="default",
                path=_mlflow_deployment(tmp_path, "load-ep", name),
                all_traffic=name == "blue",
            )
    for name in ("blue", "green"):
        assert wait_state("load-ep", name, timeout_s=180).provisioning_state == "Succeeded"
    with open_session() as s:
        uri = urlsplit(endpoints.get_endpoint(session=s, workspace="default", name="load-ep").scoring_uri)
    key = keys("load-ep").primaryKey
    body = json.dumps({"input_data": [[1.0, 2.0]]}).encode()
    statuses: list[int] = []
    errors: list[str] = []
    stop = threading.Event()

    def client() -> None:
        conn = http.client.HTTPConnection(uri.hostname, uri.port, timeout=30)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        while not stop.is_set():
            try:
                conn.request("POST", uri.path, body=body, headers=headers)
                answer = conn.getresponse()
                answer.read()
                statuses.append(answer.status)
            except (OSError, http.client.HTTPException) as exc:
                errors.append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection(uri.hostname, uri.port, timeout=30)
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(32)]
    for thread in threads:
        thread.start()
    try:
        for traffic in ({"blue": 50, "green": 50}, {"blue": 0, "green": 100}, {"blue": 100, "green": 0}):
            with open_session() as s:
                endpoints.update_traffic(session=s, workspace="default", name="load-ep", traffic=traffic)
            time.sleep(1.5)
        # An update of the deployment that has all the traffic: new processes first, then the old ones stop.
        with open_session() as s:
            endpoints.create_deployment_from_file(
                session=s,
                workspace="default",
                path=_mlflow_deployment(tmp_path, "load-ep", "blue", instances=2),
            )
        assert wait_state("load-ep", "blue", generation=2, timeout_s=180).provisioning_state == "Succeeded"
        time.sleep(1.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert len(statuses) > 100
    assert errors == []
    assert set(statuses) == {200}, {code: statuses.count(code) for code in set(statuses)}
    assert score("load-ep", body, "wrong")[0] == 401
