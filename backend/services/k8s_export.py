"""An online endpoint as Kubernetes manifests, for a cluster the user manages (SPEC section 12).

Per deployment: a ConfigMap with the scoring code, a Deployment of ``instance_count`` replicas running the
cloud's inference server (``azmlinfsrv``) on the deployment's image, and a Service. Per endpoint: a Secret
with the two keys and the route that splits requests by ``traffic``:

- ``router="ingress"`` (``networking.k8s.io/v1`` Ingress for ingress-nginx): the deployment with the most
  traffic behind the main Ingress, a second one as a canary Ingress with its weight; the
  ``azureml-model-deployment`` header picks a deployment (``canary-by-header``). ingress-nginx honours one
  canary per path, so a split over three or more deployments needs the gateway route.
- ``router="gateway"`` (Gateway API ``HTTPRoute``): weighted backends for any number of deployments, a
  header match per deployment, and ``mirror_traffic`` as a ``RequestMirror`` filter with its percent.

Not exported: the model files (they live in this studio's datastores): each Deployment mounts an
``emptyDir`` at ``AZUREML_MODEL_DIR`` and names the model in an annotation, for the user to fill. Keys are
in the Secret only; neither ingress-nginx nor a gateway checks them without a policy of the user's.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import yaml
from sqlmodel import Session

from backend.errors import ValidationError
from backend.services import endpoint_access, endpoints
from backend.services.endpoints import DeploymentPublic, EndpointPublic

ROUTERS = ("ingress", "gateway")
DEFAULT_IMAGE = "mcr.microsoft.com/azureml/minimal-py312-inference:latest"
SERVER_PORT = 5001  # azmlinfsrv's default port
CODE_DIR = "/var/azureml-app/code"
MODEL_DIR = "/var/azureml-app/azureml-models"
MAX_CONFIGMAP_BYTES = 1_000_000  # Kubernetes refuses a ConfigMap over 1 MiB
PART_OF = {"app.kubernetes.io/part-of": "studio"}


def k8s_name(*parts: str) -> str:
    """A DNS-1123 name (lower case, digits, '-', at most 63 characters) made of ``parts``."""
    name = re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")
    return name[:63].rstrip("-") or "studio"


def _labels(endpoint: str, deployment: str | None = None) -> dict[str, str]:
    labels = {**PART_OF, "studio/endpoint": k8s_name(endpoint)}
    if deployment:
        labels["studio/deployment"] = k8s_name(deployment)
    return labels


def _code_files(
    session: Session, workspace: str, code_uri: str | None
) -> tuple[dict[str, str], dict[str, str]]:
    """(text files, binary files as base64) of a code snapshot, keyed by a ConfigMap-safe name."""
    from backend.services.datastores import get_filesystem
    from backend.storage import uris

    if not code_uri:
        return {}, {}
    ref = uris.parse_reference(code_uri, field="code_configuration.code")
    if not isinstance(ref, uris.DatastorePath):
        raise ValidationError(f"code {code_uri!r} is not a datastore path; it cannot be exported")
    store = get_filesystem(session=session, workspace=workspace, name=ref.datastore)
    try:
        root = store.local_path(ref.path)
    except ValidationError:  # not a local folder
        root = None
    text: dict[str, str] = {}
    binary: dict[str, str] = {}
    total = 0
    if root is None or not root.exists():
        raise ValidationError(f"code snapshot {code_uri!r} cannot be read")
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    for path in files:
        if "__pycache__" in path.parts:
            continue
        relative = path.name if root.is_file() else path.relative_to(root).as_posix()
        # A ConfigMap is flat: a nested file's key stands for its path, restored by the volume's items.
        key = relative.replace("/", "__")
        data = path.read_bytes()
        total += len(data)
        if total > MAX_CONFIGMAP_BYTES:
            raise ValidationError(
                f"the scoring code {code_uri!r} is over {MAX_CONFIGMAP_BYTES // 1000} kB, more than a ConfigMap "
                "holds; ship it in the image instead"
            )
        try:
            text[key] = data.decode("utf-8")
        except UnicodeDecodeError:
            binary[key] = base64.b64encode(data).decode("ascii")
    return text, binary


def _probe(settings: dict[str, Any] | None, path: str) -> dict[str, Any]:
    probe: dict[str, Any] = {"httpGet": {"path": path, "port": SERVER_PORT}}
    names = {
        "initial_delay": "initialDelaySeconds",
        "period": "periodSeconds",
        "timeout": "timeoutSeconds",
        "success_threshold": "successThreshold",
        "failure_threshold": "failureThreshold",
    }
    for key, value in (settings or {}).items():
        if key in names and value is not None:
            probe[names[key]] = value
    return probe


def _resources(spec: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in ("requests", "limits"):
        given = (spec.get("resources") or {}).get(part) or {}
        values = {k: str(v) for k, v in given.items() if k in ("cpu", "memory") and v is not None}
        gpu = given.get("nvidia.com/gpu") or given.get("gpu")
        if gpu is not None:
            values["nvidia.com/gpu"] = str(gpu)
        if values:
            out[part] = values
    return out


def _deployment_manifests(
    session: Session, workspace: str, endpoint: EndpointPublic, deployment: DeploymentPublic
) -> list[dict[str, Any]]:
    name = k8s_name(endpoint.name, deployment.name)
    labels = _labels(endpoint.name, deployment.name)
    text, binary = _code_files(session, workspace, deployment.code_uri)
    manifests: list[dict[str, Any]] = []
    volumes: list[dict[str, Any]] = [{"name": "model", "emptyDir": {}}]
    mounts: list[dict[str, Any]] = [{"name": "model", "mountPath": MODEL_DIR}]
    env = [
        {"name": "AZUREML_MODEL_DIR", "value": MODEL_DIR},
        *({"name": k, "value": v} for k, v in deployment.environment_variables.items()),
    ]
    command: list[str] | None = None
    if text or binary:
        config_map: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"{name}-code"[:63], "labels": labels},
        }
        if text:
            config_map["data"] = text
        if binary:
            config_map["binaryData"] = binary
        manifests.append(config_map)
        items = [{"key": key, "path": key.replace("__", "/")} for key in sorted({*text, *binary})]
        volumes.append(
            {"name": "code", "configMap": {"name": config_map["metadata"]["name"], "items": items}}
        )
        mounts.append({"name": "code", "mountPath": CODE_DIR, "readOnly": True})
        script = f"{CODE_DIR}/{deployment.scoring_script}"
        env.append({"name": "AZUREML_ENTRY_SCRIPT", "value": script})
        command = ["azmlinfsrv", "--entry_script", script, "--port", str(SERVER_PORT)]
    container: dict[str, Any] = {
        "name": "scoring",
        "image": deployment.environment.get("image") or DEFAULT_IMAGE,
        "ports": [{"name": "http", "containerPort": SERVER_PORT}],
        "env": env,
        "volumeMounts": mounts,
        "livenessProbe": _probe(deployment.spec.get("liveness_probe"), "/"),
        "readinessProbe": _probe(deployment.spec.get("readiness_probe"), "/"),
    }
    if command:
        container["command"] = command
    resources = _resources(deployment.spec)
    if resources:
        container["resources"] = resources
    annotations = {
        "studio/model": deployment.model or "",
        "studio/environment": deployment.environment.get("reference", ""),
    }
    manifests.append(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "labels": labels, "annotations": annotations},
            "spec": {
                "replicas": deployment.instance_count,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels, "annotations": annotations},
                    "spec": {"containers": [container], "volumes": volumes},
                },
            },
        }
    )
    manifests.append(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "selector": labels,
                "ports": [{"name": "http", "port": 80, "targetPort": SERVER_PORT}],
            },
        }
    )
    return manifests


def _score_path(endpoint: str) -> str:
    return f"/endpoints/{endpoint}/score"


def _ingresses(
    endpoint: EndpointPublic, deployments: list[DeploymentPublic], host: str | None
) -> list[dict[str, Any]]:
    weighted = sorted(((p, n) for n, p in endpoint.traffic.items() if p > 0), reverse=True)
    if not weighted:
        return []
    if len(weighted) > 2:
        raise ValidationError(
            f"endpoint {endpoint.name!r} splits traffic over {len(weighted)} deployments; ingress-nginx "
            "honours one canary per path: export with the gateway route (--router gateway)"
        )
    rule_path = f"/endpoints/{endpoint.name}/(score)"

    def ingress(suffix: str, deployment: str, annotations: dict[str, str]) -> dict[str, Any]:
        rule: dict[str, Any] = {
            "http": {
                "paths": [
                    {
                        "path": rule_path,
                        "pathType": "ImplementationSpecific",
                        "backend": {
                            "service": {"name": k8s_name(endpoint.name, deployment), "port": {"number": 80}}
                        },
                    }
                ]
            }
        }
        if host:
            rule["host"] = host
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {
                "name": k8s_name(endpoint.name, suffix),
                "labels": _labels(endpoint.name),
                "annotations": {
                    "nginx.ingress.kubernetes.io/use-regex": "true",
                    "nginx.ingress.kubernetes.io/rewrite-target": "/$1",
                    **annotations,
                },
            },
            "spec": {"ingressClassName": "nginx", "rules": [rule]},
        }

    manifests = [ingress("main", weighted[0][1], {})]
    if len(weighted) == 2:
        percent, name = weighted[1]
        manifests.append(
            ingress(
                f"canary-{name}",
                name,
                {
                    "nginx.ingress.kubernetes.io/canary": "true",
                    "nginx.ingress.kubernetes.io/canary-weight": str(percent),
                    "nginx.ingress.kubernetes.io/canary-by-header": "azureml-model-deployment",
                    "nginx.ingress.kubernetes.io/canary-by-header-value": name,
                },
            )
        )
    return manifests


def _http_route(
    endpoint: EndpointPublic, deployments: list[DeploymentPublic], gateway: str, host: str | None
) -> dict[str, Any]:
    def backend(deployment: str, weight: int | None = None) -> dict[str, Any]:
        ref: dict[str, Any] = {"name": k8s_name(endpoint.name, deployment), "port": 80}
        if weight is not None:
            ref["weight"] = weight
        return ref

    path = {"type": "PathPrefix", "value": _score_path(endpoint.name)}
    rewrite = {
        "type": "URLRewrite",
        "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/score"}},
    }
    rules: list[dict[str, Any]] = [
        {
            "matches": [{"path": path, "headers": [{"name": "azureml-model-deployment", "value": d.name}]}],
            "filters": [rewrite],
            "backendRefs": [backend(d.name)],
        }
        for d in deployments
    ]
    weighted = [(n, p) for n, p in endpoint.traffic.items() if p > 0]
    if weighted:
        filters: list[dict[str, Any]] = [rewrite]
        for name, percent in endpoint.mirror_traffic.items():
            if percent:
                filters.append(
                    {
                        "type": "RequestMirror",
                        "requestMirror": {"backendRef": backend(name), "percent": percent},
                    }
                )
        rules.append(
            {
                "matches": [{"path": path}],
                "filters": filters,
                "backendRefs": [backend(n, p) for n, p in weighted],
            }
        )
    spec: dict[str, Any] = {"parentRefs": [{"name": gateway}], "rules": rules}
    if host:
        spec["hostnames"] = [host]
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": k8s_name(endpoint.name), "labels": _labels(endpoint.name)},
        "spec": spec,
    }


def render_endpoint(
    *,
    session: Session,
    workspace: str,
    name: str,
    router: str = "ingress",
    gateway: str = "studio-gateway",
    host: str | None = None,
    with_keys: bool = True,
) -> list[dict[str, Any]]:
    """The manifests of endpoint ``name`` and its deployments. The Secret holds the keys, or with
    ``with_keys=False`` placeholders that say where to get them (a download from the page)."""
    if router not in ROUTERS:
        raise ValidationError(f"router {router!r} is not one of {', '.join(ROUTERS)}")
    endpoint = endpoints.get_endpoint(session=session, workspace=workspace, name=name)
    deployments = endpoints.list_deployments(session=session, workspace=workspace, endpoint_name=name)
    if with_keys:
        keys = endpoint_access.get_keys(session=session, workspace=workspace, name=name)
        primary, secondary = keys.primaryKey, keys.secondaryKey
    else:
        where = f"studio online-endpoint get-credentials --name {name}"
        primary, secondary = f"<primaryKey: {where}>", f"<secondaryKey: {where}>"
    manifests: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": k8s_name(name, "keys"), "labels": _labels(name)},
            "type": "Opaque",
            "stringData": {"primaryKey": primary, "secondaryKey": secondary},
        }
    ]
    for deployment in deployments:
        manifests += _deployment_manifests(session, workspace, endpoint, deployment)
    if router == "ingress":
        manifests += _ingresses(endpoint, deployments, host)
    elif deployments:
        manifests.append(_http_route(endpoint, deployments, gateway, host))
    return manifests


class _Dumper(yaml.SafeDumper):
    """Plain YAML: no ``&id001`` anchors for the labels and paths that manifests repeat."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def manifests_yaml(manifests: list[dict[str, Any]]) -> str:
    """The manifests as one multi-document YAML text (``kubectl apply -f``)."""
    return yaml.dump_all(manifests, Dumper=_Dumper, sort_keys=False)


def manifest_files(manifests: list[dict[str, Any]]) -> dict[str, str]:
    """One file per manifest: ``<nn>-<kind>-<name>.yaml`` to its YAML text."""
    return {
        f"{i:02d}-{m['kind'].lower()}-{m['metadata']['name']}.yaml": yaml.dump(
            m, Dumper=_Dumper, sort_keys=False
        )
        for i, m in enumerate(manifests, 1)
    }


def manifests_zip(manifests: list[dict[str, Any]]) -> bytes:
    """The files of ``manifest_files`` in one zip archive (the page's download)."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file_name, text in manifest_files(manifests).items():
            archive.writestr(file_name, text)
    return buffer.getvalue()


__all__ = ["ROUTERS", "k8s_name", "manifest_files", "manifests_yaml", "manifests_zip", "render_endpoint"]
