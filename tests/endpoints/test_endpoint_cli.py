"""``studio online-endpoint invoke`` and ``studio online-deployment get-logs``, and the SDK's
``online_endpoints.invoke`` / ``online_deployments.get_logs``, against a router started in the test."""

from __future__ import annotations

import json

import pytest

from backend.services import endpoint_runtime
from studio.cli import main
from tests.conftest import reset_caches
from tests.endpoints.conftest import IRIS_REQUEST, managed_sample


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def request_file(tmp_path):
    path = tmp_path / "request.json"
    path.write_text(json.dumps(IRIS_REQUEST))
    return path


def test_invoke_prints_the_answer_and_fails_in_one_line(served, capsys, request_file, tmp_path):
    code, out, err = run(
        capsys, "online-endpoint", "invoke", "--name", "my-endpoint", "--request-file", str(request_file)
    )
    assert code == 0, err
    assert json.loads(out) == [0, 2]
    code, out, _ = run(
        capsys, "online-endpoint", "invoke", "-n", "my-endpoint", "-r", str(request_file), "--deployment-name", "green"
    )  # fmt: skip
    assert code == 0 and json.loads(out) == [0, 2]
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, out, err = run(capsys, "online-endpoint", "invoke", "-n", "my-endpoint", "-r", str(bad))
    assert code == 1 and out == ""
    assert (
        err.startswith("error: online endpoint 'my-endpoint' answered 400")
        and len(err.strip().splitlines()) == 1
    )
    code, _, err = run(
        capsys, "online-endpoint", "invoke", "-n", "my-endpoint", "-r", str(tmp_path / "missing.json")
    )
    assert code == 1 and "cannot read --request-file" in err
    code, _, err = run(
        capsys, "online-endpoint", "invoke", "-n", "my-endpoint", "-r", str(request_file), "-d", "purple"
    )
    assert code == 1 and "purple" in err and len(err.strip().splitlines()) == 1


def test_invoke_without_a_router_says_to_start_studio(capsys, request_file, monkeypatch):
    managed_sample()
    monkeypatch.setenv("STUDIO_ENDPOINT_PORT", "1")
    reset_caches()
    code, _, err = run(capsys, "online-endpoint", "invoke", "-n", "my-endpoint", "-r", str(request_file))
    assert code == 1 and "start Studio with `studio up`" in err and len(err.strip().splitlines()) == 1


def test_get_logs_prints_each_instance_tail(capsys):
    managed_sample()
    code, out, _ = run(
        capsys, "online-deployment", "get-logs", "--name", "blue", "--endpoint-name", "my-endpoint"
    )
    assert code == 0 and out.startswith("No logs yet")
    for index in (0, 1):
        log = endpoint_runtime.instance_log(endpoint="my-endpoint", deployment="blue", index=index)
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("".join(f"{index}: line {i}\n" for i in range(50)))
    code, out, _ = run(
        capsys, "online-deployment", "get-logs", "-n", "blue", "-e", "my-endpoint", "--lines", "2"
    )
    assert code == 0
    assert out.splitlines() == [
        "== instance 0 (instance-0.log) ==", "0: line 48", "0: line 49",
        "== instance 1 (instance-1.log) ==", "1: line 48", "1: line 49",
    ]  # fmt: skip
    code, _, err = run(capsys, "online-deployment", "get-logs", "-n", "purple", "-e", "my-endpoint")
    assert code == 1 and "purple" in err


def test_the_sdk_invokes_and_reads_logs(served, request_file):
    from studio.ml import MLClient
    from studio.ml.exceptions import HttpResponseError

    ml_client = MLClient()
    answer = ml_client.online_endpoints.invoke(endpoint_name="my-endpoint", request_file=str(request_file))
    assert isinstance(answer, str) and json.loads(answer) == [0, 2]
    assert json.loads(
        ml_client.online_endpoints.invoke("my-endpoint", request_file, deployment_name="green")
    ) == [0, 2]
    request_file.write_text("[")
    with pytest.raises(HttpResponseError) as raised:
        ml_client.online_endpoints.invoke("my-endpoint", request_file)
    assert raised.value.status_code == 400
    logs = ml_client.online_deployments.get_logs(name="blue", endpoint_name="my-endpoint", lines=10)
    assert "No logs yet" in logs
