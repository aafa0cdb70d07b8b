"""The cloud's online endpoint and deployment YAML: the managed sample loads here and in azure-ai-ml, and
each mistake is one message naming the file, the field, what was wrong and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.errors import ValidationError
from backend.specs import load_spec, parse_spec
from backend.specs.online import OnlineDeploymentSpec, OnlineEndpointSpec

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "endpoints" / "managed" / "sample"


def test_the_managed_sample_loads_here_and_in_the_cloud_sdk_with_the_same_fields():
    from azure.ai.ml import load_online_deployment, load_online_endpoint

    endpoint = load_spec(OnlineEndpointSpec, SAMPLE / "endpoint.yml")
    cloud_endpoint = load_online_endpoint(str(SAMPLE / "endpoint.yml"))
    assert (endpoint.name, endpoint.auth_mode, endpoint.kind) == (
        cloud_endpoint.name,
        cloud_endpoint.auth_mode,
        "managed",
    )
    for color in ("blue", "green"):
        path = SAMPLE / f"{color}-deployment.yml"
        ours = load_spec(OnlineDeploymentSpec, path)
        cloud = load_online_deployment(str(path))
        assert ours.name == cloud.name == color
        assert ours.endpoint_name == cloud.endpoint_name
        assert ours.instance_type == cloud.instance_type and ours.instance_count == cloud.instance_count
        assert ours.code_configuration.scoring_script == cloud.code_configuration.scoring_script
        assert ours.environment.image == cloud.environment.image
        assert Path(ours.model.path).name == Path(cloud.model.path).name == "model"


def test_every_field_of_a_full_kubernetes_pair_loads_here_and_in_the_cloud_sdk(tmp_path):
    from azure.ai.ml import load_online_deployment, load_online_endpoint

    (tmp_path / "endpoint.yml").write_text(
        "name: k8s-endpoint\ncompute: azureml:k8s-compute\nauth_mode: AMLToken\ndescription: d\n"
        "tags: {team: ml}\ntraffic: {blue: 100}\nmirror_traffic: {green: 10}\n"
        "identity: {type: system_assigned}\n"
    )
    (tmp_path / "d.yml").write_text(
        "name: blue\nendpoint_name: k8s-endpoint\ntype: kubernetes\nmodel: azureml:sklearn-model:1\n"
        "code_configuration: {code: ./code, scoring_script: score.py}\nenvironment: azureml:sklearn-env:1\n"
        "instance_type: defaultinstancetype\ninstance_count: 2\n"
        "request_settings: {request_timeout_ms: 3000, max_concurrent_requests_per_instance: 4, max_queue_wait_ms: 100}\n"
        "liveness_probe: {initial_delay: 10, period: 10, timeout: 2, success_threshold: 1, failure_threshold: 3}\n"
        "readiness_probe: {period: 5}\nenvironment_variables: {WORKERS: 2}\napp_insights_enabled: true\n"
        "scale_settings: {type: default}\nresources: {requests: {cpu: '0.5', memory: 1Gi}, limits: {cpu: '1'}}\n"
    )
    endpoint = load_spec(OnlineEndpointSpec, tmp_path / "endpoint.yml")
    cloud_endpoint = load_online_endpoint(str(tmp_path / "endpoint.yml"))
    assert endpoint.kind == "kubernetes" and type(cloud_endpoint).__name__ == "KubernetesOnlineEndpoint"
    assert endpoint.auth_mode == cloud_endpoint.auth_mode == "aml_token"
    assert (
        endpoint.traffic == cloud_endpoint.traffic
        and endpoint.mirror_traffic == cloud_endpoint.mirror_traffic
    )
    deployment = load_spec(OnlineDeploymentSpec, tmp_path / "d.yml")
    cloud = load_online_deployment(str(tmp_path / "d.yml"))
    assert type(cloud).__name__ == "KubernetesOnlineDeployment" and deployment.kind == "kubernetes"
    assert deployment.request_settings.request_timeout_ms == cloud.request_settings.request_timeout_ms == 3000
    assert deployment.environment_variables == {"WORKERS": "2"}
    assert deployment.liveness_probe.failure_threshold == cloud.liveness_probe.failure_threshold == 3
    assert deployment.resources.requests.memory == "1Gi"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "e"}, "field 'name': must be 3 to 32 characters"),
        ({"name": "my-ep", "auth_mode": "none"}, "field 'auth_mode': must be 'key' or 'aml_token'"),
        ({"name": "my-ep", "auth_mode": "aad_token"}, "'aad_token' is for batch endpoints"),
        ({"name": "my-ep", "traffic": {"blue": 90, "green": 5}}, "must sum to 100 (or to 0 for no traffic)"),
        (
            {"name": "my-ep", "traffic": {"blue": 101}},
            "field 'traffic.blue': must be a whole percent from 0 to 100",
        ),
        (
            {"name": "my-ep", "mirror_traffic": {"green": 60}},
            "field 'mirror_traffic.green': must be a whole percent from 0 to 50",
        ),
        ({"name": "my-ep", "mirror_traffic": {"a-b": 5, "c-d": 5}}, "copies go to one deployment only"),
        (
            {"name": "my-ep", "traffic": {"blue": 100}, "mirror_traffic": {"blue": 5}},
            "either live or mirrored",
        ),
        ({"name": "my-ep", "public_network_access": "open"}, "field 'public_network_access'"),
        ({"name": "my-ep", "instance_count": 1}, "field 'instance_count' is not allowed here"),
    ],
)
def test_endpoint_mistakes_are_one_clear_line(data, message):
    with pytest.raises(ValidationError) as err:
        parse_spec(OnlineEndpointSpec, data, source="endpoint.yml")
    text = str(err.value)
    assert text.startswith("endpoint.yml: ") and message in text and "\n" not in text


BASE = {"name": "blue", "endpoint_name": "my-ep"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"model": "a b"}, "field 'model': must be a registered model (azureml:<name>:<version>"),
        ({"model": {"type": "mlflow_model"}}, "field 'model.path' is required"),
        ({"instance_count": 0}, "field 'instance_count': must be a whole number from 1 to 1000"),
        ({"request_settings": {"request_timeout_ms": 0}}, "field 'request_settings.request_timeout_ms'"),
        ({"request_settings": {"timeout": 5}}, "field 'request_settings.timeout' is not allowed here"),
        ({"code_configuration": {"code": "."}}, "field 'code_configuration.scoring_script' is required"),
        ({"code_configuration": {"code": ".", "scoring_script": "s.py"}}, "field 'environment': is required"),
        ({"environment": {"image": "x", "bogus": 1}}, "field 'environment.bogus' is not allowed here"),
        ({"resources": {"requests": {"cpu": 1}}}, "applies to Kubernetes deployments"),
        ({"type": "serverless"}, "field 'type'"),
        ({"name": "b_lue"}, "field 'name': must be 3 to 32 characters"),
    ],
)
def test_deployment_mistakes_are_one_clear_line(data, message):
    with pytest.raises(ValidationError) as err:
        parse_spec(OnlineDeploymentSpec, {**BASE, **data}, source="blue.yml")
    text = str(err.value)
    assert text.startswith("blue.yml: ") and message in text and "\n" not in text


def test_read_only_fields_of_an_exported_file_are_ignored():
    spec = parse_spec(
        OnlineEndpointSpec,
        {
            "name": "my-ep",
            "provisioning_state": "Succeeded",
            "scoring_uri": "https://x/score",
            "kind": "Managed",
        },
        source="e.yml",
    )
    assert spec.name == "my-ep"


def test_request_settings_default_to_the_clouds():
    spec = parse_spec(OnlineDeploymentSpec, {**BASE, "model": "azureml:m:1"}, source="d.yml")
    assert spec.request_settings.effective() == {
        "request_timeout_ms": 5000,
        "max_concurrent_requests_per_instance": 1,
        "max_queue_wait_ms": 500,
    }
