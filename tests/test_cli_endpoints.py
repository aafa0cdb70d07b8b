"""``studio online-endpoint`` and ``studio online-deployment``: the cloud's managed sample end to end
through the CLI, and the SDK's ``ml_client.online_endpoints`` / ``online_deployments``; keys appear only in
``get-credentials``."""

from __future__ import annotations

import json
import stat

from backend.settings import get_settings
from studio.cli import main
from tests.conftest import REPO

SAMPLE = REPO / "tests" / "fixtures" / "endpoints" / "managed" / "sample"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_managed_sample_through_the_cli_with_keys_only_in_get_credentials(capsys, tmp_path):
    outputs: list[str] = []

    def ok(*argv: str) -> str:
        code, out, err = run(capsys, *argv)
        assert code == 0, err
        outputs.append(out + err)
        return out

    ok("online-endpoint", "create", "--file", str(SAMPLE / "endpoint.yml"))
    ok("online-deployment", "create", "--file", str(SAMPLE / "blue-deployment.yml"), "--all-traffic")
    ok("online-deployment", "create", "--file", str(SAMPLE / "green-deployment.yml"))
    ok("online-endpoint", "update", "--name", "my-endpoint", "--traffic", "blue=90 green=10")
    shown = json.loads(ok("online-endpoint", "show", "--name", "my-endpoint", "--output", "json"))
    assert shown["traffic"] == {"blue": 90, "green": 10}
    assert (
        shown["scoring_uri"] == f"http://127.0.0.1:{get_settings().endpoint_port}/endpoints/my-endpoint/score"
    )
    assert shown["provisioning_state"] == "Succeeded"
    listed = json.loads(ok("online-deployment", "list", "--endpoint-name", "my-endpoint", "-o", "json"))
    assert [d["name"] for d in listed] == ["blue", "green"]
    green = json.loads(
        ok("online-deployment", "show", "--name", "green", "--endpoint-name", "my-endpoint", "-o", "json")
    )
    assert green["provisioning_state"] == "Creating"
    ok(
        "online-deployment",
        "update",
        "--file",
        str(SAMPLE / "green-deployment.yml"),
        "--set",
        "instance_count=2",
    )
    ok("online-endpoint", "list")
    ok("online-endpoint", "regenerate-keys", "--name", "my-endpoint", "--key-type", "secondary")
    ok("online-endpoint", "export-k8s", "--name", "my-endpoint", "--output-dir", str(tmp_path / "k8s"))
    files = sorted((tmp_path / "k8s").iterdir())
    assert any("secret" in f.name for f in files)
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)

    keys = json.loads(ok("online-endpoint", "get-credentials", "--name", "my-endpoint", "-o", "json"))
    assert set(keys) == {"primaryKey", "secondaryKey"}
    for text in outputs[:-1]:
        assert keys["primaryKey"] not in text and keys["secondaryKey"] not in text


def test_mistakes_are_one_line_and_deleting_asks_for_no_traffic(capsys):
    assert run(capsys, "online-endpoint", "create", "--file", str(SAMPLE / "endpoint.yml"))[0] == 0
    assert (
        run(
            capsys,
            "online-deployment",
            "create",
            "--file",
            str(SAMPLE / "blue-deployment.yml"),
            "--all-traffic",
        )[0]
        == 0
    )
    code, _, err = run(capsys, "online-endpoint", "update", "--name", "my-endpoint", "--traffic", "blue=90")
    assert code == 1 and err.strip().endswith("blue=90 sums to 90") and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "online-deployment", "update", "--file", str(SAMPLE / "green-deployment.yml"))
    assert code == 1 and "deployment 'green' does not exist" in err
    code, _, err = run(
        capsys, "online-deployment", "delete", "--name", "blue", "--endpoint-name", "my-endpoint", "--yes"
    )
    assert code == 1 and "gets 100% of the traffic" in err
    code, out, _ = run(capsys, "online-endpoint", "delete", "--name", "my-endpoint", "--yes")
    assert code == 0 and "deleted online endpoint my-endpoint" in out


def test_the_sdk_creates_reads_and_deletes_endpoints_and_deployments(monkeypatch):
    from studio.ml import (
        CodeConfiguration,
        ManagedOnlineDeployment,
        ManagedOnlineEndpoint,
        MLClient,
        OnlineRequestSettings,
    )
    from studio.ml.entities import Environment

    monkeypatch.chdir(SAMPLE)
    ml_client = MLClient()
    endpoint = ManagedOnlineEndpoint(name="sdk-endpoint", auth_mode="key", tags={"team": "ml"})
    created = ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    assert created.provisioning_state == "Succeeded" and created.scoring_uri.endswith("/sdk-endpoint/score")
    blue = ManagedOnlineDeployment(
        name="blue",
        endpoint_name="sdk-endpoint",
        model="../../model-1/model/",
        code_configuration=CodeConfiguration(code="../../model-1/onlinescoring/", scoring_script="score.py"),
        environment=Environment(
            conda_file="../../model-1/environment/conda.yaml",
            image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04",
        ),
        instance_type="Standard_DS3_v2",
        instance_count=2,
        request_settings=OnlineRequestSettings(request_timeout_ms=3000),
    )
    saved = ml_client.online_deployments.begin_create_or_update(blue).result()
    assert saved.instance_count == 2 and saved.request_settings.request_timeout_ms == 3000
    created.traffic = {"blue": 100}
    ml_client.online_endpoints.begin_create_or_update(created).result()
    assert ml_client.online_endpoints.get("sdk-endpoint").traffic == {"blue": 100}
    assert [d.name for d in ml_client.online_deployments.list("sdk-endpoint")] == ["blue"]
    keys = ml_client.online_endpoints.get_keys("sdk-endpoint")
    ml_client.online_endpoints.begin_regenerate_keys("sdk-endpoint", key_type="primary").result()
    assert ml_client.online_endpoints.get_keys("sdk-endpoint").primary_key != keys.primary_key
    assert keys.primary_key not in repr(keys)
    ml_client.online_endpoints.begin_delete("sdk-endpoint").result()
    assert ml_client.online_endpoints.list() == []
