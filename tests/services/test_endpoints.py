"""Online endpoint and deployment services on both databases: the cloud's managed sample, traffic rules,
keys (encrypted, never logged), deletion rules, and the Kubernetes export (checked by kubernetes-validate)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from backend.errors import ConflictError, NotFoundError, ValidationError
from backend.services import endpoint_access, endpoints, k8s_export, open_session
from backend.settings import get_settings

WS = "default"
SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "endpoints" / "managed" / "sample"


def _call(fn, **kwargs):
    with open_session() as s:
        return fn(session=s, workspace=WS, **kwargs)


def _sample(*, green: bool = True):
    _call(endpoints.create_endpoint_from_file, path=SAMPLE / "endpoint.yml")
    _call(endpoints.create_deployment_from_file, path=SAMPLE / "blue-deployment.yml", all_traffic=True)
    if green:
        _call(endpoints.create_deployment_from_file, path=SAMPLE / "green-deployment.yml")


@pytest.mark.usefixtures("database")
def test_the_managed_sample_creates_an_endpoint_and_two_deployments():
    _sample()
    endpoint = _call(endpoints.get_endpoint, name="my-endpoint")
    assert endpoint.auth_mode == "key" and endpoint.kind == "managed"
    assert endpoint.traffic == {"blue": 100}
    assert (
        endpoint.scoring_uri == f"http://127.0.0.1:{get_settings().endpoint_port}/endpoints/my-endpoint/score"
    )
    blue, green = _call(endpoints.list_deployments, endpoint_name="my-endpoint")
    assert (blue.name, green.name) == ("blue", "green")
    assert blue.provisioning_state == "Creating" and blue.generation == 1
    assert blue.code_uri.startswith("azureml://datastores/workspaceartifactstore/paths/LocalUpload/")
    assert blue.model.startswith("azureml://datastores/workspaceartifactstore/paths/LocalUpload/")
    assert blue.scoring_script == "score.py" and blue.instance_count == 1
    assert blue.environment["spec_hash"] and "3.12" in blue.environment["reason"]
    assert blue.request_settings["request_timeout_ms"] == 5000
    assert blue.code_uri != green.code_uri or blue.model != green.model


@pytest.mark.usefixtures("database")
def test_updating_a_deployment_bumps_its_generation_and_says_updating():
    _sample(green=False)
    again = _call(
        endpoints.create_deployment_from_file,
        path=SAMPLE / "blue-deployment.yml",
        overrides=["instance_count=3"],
    )
    assert again.provisioning_state == "Updating" and again.generation == 2 and again.instance_count == 3
    with open_session() as s:
        assert not endpoints.set_deployment_state(
            session=s, endpoint_name="my-endpoint", name="blue", state="Succeeded", generation=1
        )
        assert endpoints.set_deployment_state(
            session=s, endpoint_name="my-endpoint", name="blue", state="Succeeded", generation=2
        )
    assert (
        _call(endpoints.get_deployment, endpoint_name="my-endpoint", name="blue").provisioning_state
        == "Succeeded"
    )


@pytest.mark.usefixtures("database")
def test_traffic_must_sum_to_100_and_name_existing_deployments():
    _sample()
    shifted = _call(
        endpoints.update_traffic, name="my-endpoint", traffic=endpoints.parse_traffic("blue=90 green=10")
    )
    assert shifted.traffic == {"blue": 90, "green": 10}
    with pytest.raises(ValidationError, match=r"sums to 95"):
        _call(endpoints.update_traffic, name="my-endpoint", traffic={"blue": 90, "green": 5})
    with pytest.raises(ValidationError, match=r"has no deployment 'red' \(deployments: blue, green\)"):
        _call(endpoints.update_traffic, name="my-endpoint", traffic={"blue": 50, "red": 50})
    with pytest.raises(ValidationError, match="either live or mirrored"):
        _call(endpoints.update_traffic, name="my-endpoint", mirror_traffic={"green": 10})
    mirrored = _call(
        endpoints.update_traffic,
        name="my-endpoint",
        traffic={"blue": 100, "green": 0},
        mirror_traffic={"green": 10},
    )
    assert mirrored.mirror_traffic == {"green": 10}
    with pytest.raises(ValidationError, match="--traffic: expected deployment=percent"):
        endpoints.parse_traffic("blue:90")


@pytest.mark.usefixtures("database")
def test_an_endpoint_file_naming_unknown_deployments_is_refused(tmp_path):
    (tmp_path / "e.yml").write_text("name: my-endpoint\ntraffic: {blue: 100}\n")
    with pytest.raises(
        ValidationError, match=r"e.yml: field 'traffic': endpoint 'my-endpoint' has no deployment 'blue'"
    ):
        _call(endpoints.create_endpoint_from_file, path=tmp_path / "e.yml")


@pytest.mark.usefixtures("database")
def test_a_deployment_with_traffic_cannot_be_deleted_until_it_has_none():
    _sample()
    with pytest.raises(ConflictError, match="gets 100% of the traffic"):
        _call(endpoints.delete_deployment, endpoint_name="my-endpoint", name="blue")
    _call(endpoints.delete_deployment, endpoint_name="my-endpoint", name="green")
    assert [d.name for d in _call(endpoints.list_deployments, endpoint_name="my-endpoint")] == ["blue"]
    _call(endpoints.delete_endpoint, name="my-endpoint")
    with pytest.raises(NotFoundError, match="endpoints: none"):
        _call(endpoints.get_endpoint, name="my-endpoint")
    with open_session() as s:
        assert endpoints.list_all_deployments(session=s) == []


@pytest.mark.usefixtures("database")
def test_a_deployment_needs_its_endpoint_and_its_kind(tmp_path):
    with pytest.raises(NotFoundError, match="online endpoint 'my-endpoint' does not exist"):
        _call(endpoints.create_deployment_from_file, path=SAMPLE / "blue-deployment.yml")
    _call(endpoints.create_endpoint_from_file, path=SAMPLE / "endpoint.yml")
    with pytest.raises(ValidationError, match="a kubernetes deployment cannot join managed endpoint"):
        _call(
            endpoints.create_deployment_from_file,
            path=SAMPLE / "blue-deployment.yml",
            overrides=["type=kubernetes"],
        )
    with pytest.raises(
        ValidationError, match=r"'code_configuration\.scoring_script': 'missing\.py' is not a file"
    ):
        _call(
            endpoints.create_deployment_from_file,
            path=SAMPLE / "blue-deployment.yml",
            overrides=["code_configuration.scoring_script=missing.py"],
        )


@pytest.mark.usefixtures("database")
def test_endpoint_names_are_unique_in_the_studio():
    from backend.services import workspaces

    _call(endpoints.create_endpoint_from_file, path=SAMPLE / "endpoint.yml")
    with open_session() as s:
        workspaces.create_workspace(session=s, data=workspaces.WorkspaceCreate(name="other"))
    with open_session() as s, pytest.raises(ConflictError, match="taken by workspace 'default'"):
        endpoints.create_endpoint_from_file(session=s, workspace="other", path=SAMPLE / "endpoint.yml")


@pytest.mark.usefixtures("database")
def test_keys_are_encrypted_verified_regenerated_and_never_logged(caplog):
    from sqlmodel import select

    from backend.db.models import OnlineEndpoint

    caplog.set_level(logging.DEBUG)
    _sample()
    keys = _call(endpoint_access.get_keys, name="my-endpoint")
    assert keys.primaryKey != keys.secondaryKey and len(keys.primaryKey) >= 40
    assert keys.primaryKey not in repr(keys)
    with open_session() as s:
        row = s.exec(select(OnlineEndpoint)).one()
        assert keys.primaryKey not in row.primary_key and keys.secondaryKey not in row.secondary_key
        assert endpoint_access.verify_key(session=s, name="my-endpoint", credential=keys.secondaryKey)
        assert not endpoint_access.verify_key(session=s, name="my-endpoint", credential="wrong")
    _call(endpoint_access.regenerate_keys, name="my-endpoint", key_type="primary")
    new = _call(endpoint_access.get_keys, name="my-endpoint")
    assert new.primaryKey != keys.primaryKey and new.secondaryKey == keys.secondaryKey
    with open_session() as s:
        assert not endpoint_access.verify_key(session=s, name="my-endpoint", credential=keys.primaryKey)
    with pytest.raises(ValidationError, match="not one of 'primary', 'secondary'"):
        _call(endpoint_access.regenerate_keys, name="my-endpoint", key_type="tertiary")
    public = _call(endpoints.get_endpoint, name="my-endpoint").model_dump_json()
    for secret in (keys.primaryKey, keys.secondaryKey, new.primaryKey):
        assert secret not in caplog.text and secret not in public


@pytest.mark.usefixtures("database")
def test_aml_token_endpoints_issue_short_lived_tokens(tmp_path):
    (tmp_path / "e.yml").write_text("name: token-endpoint\nauth_mode: AMLToken\n")
    _call(endpoints.create_endpoint_from_file, path=tmp_path / "e.yml")
    token = _call(endpoint_access.get_token, name="token-endpoint", now=1000)
    assert token.expiryTimeUtc == 1000 + endpoints.TOKEN_TTL_S
    with open_session() as s:
        assert endpoint_access.verify_key(
            session=s, name="token-endpoint", credential=token.accessToken, now=1001
        )
        assert not endpoint_access.verify_key(
            session=s, name="token-endpoint", credential=token.accessToken, now=10**10
        )
        assert not endpoint_access.verify_key(
            session=s, name="token-endpoint", credential=token.accessToken + "0", now=1001
        )


def _validate(manifests, *, skip=("HTTPRoute",)):
    import kubernetes_validate

    for manifest in manifests:
        if manifest["kind"] in skip:
            continue
        kubernetes_validate.validate(manifest, "1.37.0", strict=True)


@pytest.mark.usefixtures("database")
def test_the_kubernetes_export_passes_kubernetes_validate():
    _sample()
    _call(endpoints.update_traffic, name="my-endpoint", traffic={"blue": 90, "green": 10})
    manifests = _call(k8s_export.render_endpoint, name="my-endpoint")
    _validate(manifests, skip=())
    kinds = [(m["kind"], m["metadata"]["name"]) for m in manifests]
    assert ("Secret", "my-endpoint-keys") in kinds and ("Ingress", "my-endpoint-canary-green") in kinds
    deployments = [m for m in manifests if m["kind"] == "Deployment"]
    assert [d["spec"]["replicas"] for d in deployments] == [1, 1]
    code = next(m for m in manifests if m["kind"] == "ConfigMap")
    assert "def init():" in code["data"]["score.py"]
    canary = next(m for m in manifests if m["metadata"]["name"] == "my-endpoint-canary-green")
    assert canary["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"] == "10"


@pytest.mark.usefixtures("database")
def test_the_pages_download_is_a_zip_of_the_same_manifests_with_the_keys_only_when_asked():
    import io
    import zipfile

    import yaml

    _sample()
    keys = _call(endpoint_access.get_keys, name="my-endpoint")
    without = _call(k8s_export.render_endpoint, name="my-endpoint", with_keys=False)
    _validate(without, skip=())
    secret = next(m for m in without if m["kind"] == "Secret")["stringData"]
    assert keys.primaryKey not in str(without) and keys.secondaryKey not in str(without)
    assert "studio online-endpoint get-credentials --name my-endpoint" in secret["primaryKey"]
    archive = zipfile.ZipFile(io.BytesIO(k8s_export.manifests_zip(without)))
    assert sorted(archive.namelist()) == sorted(k8s_export.manifest_files(without))
    assert yaml.safe_load(archive.read(sorted(archive.namelist())[0]))["kind"] == "Secret"
    with_keys = _call(k8s_export.render_endpoint, name="my-endpoint")
    assert next(m for m in with_keys if m["kind"] == "Secret")["stringData"]["primaryKey"] == keys.primaryKey


@pytest.mark.usefixtures("database")
def test_the_gateway_export_weights_every_deployment_and_mirrors():
    _sample()
    _call(
        endpoints.update_traffic,
        name="my-endpoint",
        traffic={"blue": 100, "green": 0},
        mirror_traffic={"green": 20},
    )
    manifests = _call(k8s_export.render_endpoint, name="my-endpoint", router="gateway")
    _validate(manifests)  # HTTPRoute is a CRD kubernetes-validate has no schema for: checked below
    route = manifests[-1]
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1" and route["kind"] == "HTTPRoute"
    default = route["spec"]["rules"][-1]
    assert default["backendRefs"] == [{"name": "my-endpoint-blue", "port": 80, "weight": 100}]
    mirror = next(f for f in default["filters"] if f["type"] == "RequestMirror")
    assert mirror["requestMirror"] == {"backendRef": {"name": "my-endpoint-green", "port": 80}, "percent": 20}
    assert "&id" not in k8s_export.manifests_yaml(manifests)


@pytest.mark.usefixtures("database")
def test_a_kubernetes_endpoint_exports_its_resources_and_probes(tmp_path):
    (tmp_path / "e.yml").write_text("name: k8s-endpoint\ncompute: azureml:k8s-compute\n")
    _call(endpoints.create_endpoint_from_file, path=tmp_path / "e.yml")
    (tmp_path / "d.yml").write_text(
        (SAMPLE / "blue-deployment.yml")
        .read_text()
        .replace("endpoint_name: my-endpoint", "endpoint_name: k8s-endpoint")
        .replace(
            "instance_count: 1",
            "instance_count: 3\ntype: kubernetes\n"
            "resources: {requests: {cpu: '0.5', memory: 1Gi}}\nliveness_probe: {period: 7}",
        )
        .replace("../../", str(SAMPLE.parents[1]) + "/")
    )
    _call(endpoints.create_deployment_from_file, path=tmp_path / "d.yml", all_traffic=True)
    manifests = _call(k8s_export.render_endpoint, name="k8s-endpoint")
    _validate(manifests, skip=())
    deployment = next(m for m in manifests if m["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert deployment["spec"]["replicas"] == 3
    assert container["resources"] == {"requests": {"cpu": "0.5", "memory": "1Gi"}}
    assert container["livenessProbe"]["periodSeconds"] == 7
