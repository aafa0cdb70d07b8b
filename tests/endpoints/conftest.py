"""Real scoring server processes (Studio's venv interpreter) and a small HTTP client for the endpoint tests."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60
COLUMNS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]


class Scoring:
    def __init__(self, proc: subprocess.Popen, port: int) -> None:
        self.proc, self.port = proc, port

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


def request(
    port: int, method: str, path: str, body: bytes | str | None = None, headers: dict[str, str] | None = None,
    timeout: float = 15,
) -> tuple[int, dict[str, str], object]:  # fmt: skip
    """One request on a fresh connection: (status, lower-case headers, JSON body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return (
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            json.loads(data) if data else None,
        )
    finally:
        conn.close()


def start_scoring(*args: str, env: dict[str, str] | None = None) -> Scoring:
    """``python -m backend.runtime.scoring --port 0 ARGS`` with Studio's venv interpreter; waits for ready."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend.runtime.scoring", "--port", "0", *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    scoring = None
    try:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the scoring server ended: {proc.stderr.read()}")
        scoring = Scoring(proc, json.loads(line)["port"])
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the scoring server ended: {proc.stderr.read()}")
            try:
                if request(scoring.port, "GET", "/health", timeout=2)[0] == 200:
                    return scoring
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("the scoring server did not get ready")
    except BaseException:
        (scoring or Scoring(proc, 0)).stop()
        raise


@pytest.fixture
def scoring_server() -> Iterator[Callable[..., Scoring]]:
    """Start scoring servers; every one is stopped when the test ends."""
    started: list[Scoring] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Scoring:
        started.append(start_scoring(*args, env=env))
        return started[-1]

    yield start
    for scoring in started:
        scoring.stop()


# A real MLflow model (python_function flavor, a loader module, a column signature), written as text: no
# mlflow or scikit-learn import in the test process (bench/endpoint_throughput.py serves a scikit-learn one).
RULE_MODEL = """
class _Rule:
    def predict(self, model_input, params=None):
        return [0 if x < 2.5 else 1 if x < 4.9 else 2 for x in model_input["petal length (cm)"]]


def _load_pyfunc(path):
    return _Rule()
"""
MLMODEL = """flavors:
  python_function:
    code: code
    loader_module: iris_rule
    python_version: 3.11.7
signature:
  inputs: '[{"type": "double", "name": "sepal length (cm)", "required": true}, {"type": "double", "name":
    "sepal width (cm)", "required": true}, {"type": "double", "name": "petal length (cm)", "required":
    true}, {"type": "double", "name": "petal width (cm)", "required": true}]'
  outputs: '[{"type": "long", "required": true}]'
"""


@pytest.fixture(scope="session")
def iris_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow model laid out as the cloud does (``<root>/iris/1/model``) that predicts iris classes
    from the petal length: 0 for [5.1, 3.5, 1.4, 0.2], 2 for [6.7, 3.0, 5.2, 2.3]."""
    path = tmp_path_factory.mktemp("models") / "iris" / "1" / "model"
    (path / "code").mkdir(parents=True)
    (path / "code" / "iris_rule.py").write_text(RULE_MODEL)
    (path / "MLmodel").write_text(MLMODEL)
    return path


# --- an endpoint's rows and a router on the port its scoring URI names (endpoint_runtime, CLI, SDK) ---------

SAMPLE = REPO / "tests" / "fixtures" / "endpoints" / "managed" / "sample"
IRIS_REQUEST = {
    "input_data": {"columns": COLUMNS, "data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}
}  # the iris model answers [0, 2]


def managed_sample(workspace: str = "default") -> None:
    """The cloud's managed sample as rows: endpoint ``my-endpoint``, ``blue`` (all traffic) and ``green``."""
    from backend.services import endpoints, open_session

    with open_session() as s:
        endpoints.create_endpoint_from_file(session=s, workspace=workspace, path=SAMPLE / "endpoint.yml")
        for name, all_traffic in (("blue", True), ("green", False)):
            endpoints.create_deployment_from_file(
                session=s,
                workspace=workspace,
                path=SAMPLE / f"{name}-deployment.yml",
                all_traffic=all_traffic,
            )


@pytest.fixture
def served(scoring_server, iris_model, monkeypatch):
    """The managed sample's rows, and a router on STUDIO_ENDPOINT_PORT whose ``blue`` and ``green`` are a
    real scoring server of the iris MLflow model, opened by the endpoint's own keys."""
    from backend.agent.router import DeploymentConfig, EndpointConfig, RouterConfig, serve_in_thread
    from backend.services import endpoint_access, open_session
    from tests.conftest import reset_caches

    managed_sample()
    with open_session() as s:
        keys = endpoint_access.get_keys(session=s, workspace="default", name="my-endpoint")
    server = scoring_server("--model-dir", str(iris_model))
    instances = (("127.0.0.1", server.port),)
    config = RouterConfig(
        {
            "my-endpoint": EndpointConfig(
                name="my-endpoint",
                deployments={n: DeploymentConfig(name=n, instances=instances) for n in ("blue", "green")},
                primary_key=keys.primaryKey,
                secondary_key=keys.secondaryKey,
                traffic={"blue": 100},
            )
        }
    )
    running = serve_in_thread(config)
    monkeypatch.setenv("STUDIO_ENDPOINT_PORT", str(running.port))
    reset_caches()
    yield running
    running.stop()
