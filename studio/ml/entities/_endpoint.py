"""Online endpoints and deployments, shaped like ``azure.ai.ml.entities``: ``ManagedOnlineEndpoint``,
``KubernetesOnlineEndpoint``, ``ManagedOnlineDeployment``, ``KubernetesOnlineDeployment``,
``CodeConfiguration``, ``OnlineRequestSettings``.

Each renders the cloud's YAML mapping (``_to_dict()``), which the service layer validates exactly like a
file; relative paths are relative to the folder the entity was made in.
"""

from __future__ import annotations

from pathlib import Path, PurePath
from typing import Any

from studio.ml.entities._base import _Entity


class OnlineRequestSettings(
    _Entity, fields="request_timeout_ms max_concurrent_requests_per_instance max_queue_wait_ms"
):
    def __init__(
        self,
        *,
        request_timeout_ms: int | None = None,
        max_concurrent_requests_per_instance: int | None = None,
        max_queue_wait_ms: int | None = None,
    ):
        self._fields = {
            "request_timeout_ms": request_timeout_ms,
            "max_concurrent_requests_per_instance": max_concurrent_requests_per_instance,
            "max_queue_wait_ms": max_queue_wait_ms,
        }


class CodeConfiguration(_Entity, fields="code scoring_script"):
    def __init__(self, code: str | PurePath | None = None, scoring_script: str | PurePath | None = None):
        self._fields = {"code": code, "scoring_script": scoring_script}


class OnlineEndpoint(_Entity, fields="name auth_mode description tags traffic mirror_traffic identity"):
    """What both endpoint kinds share; ``scoring_uri`` and ``provisioning_state`` come back from the studio."""

    def __init__(
        self,
        *,
        name: str | None = None,
        auth_mode: str = "key",
        description: str | None = None,
        tags: dict[str, str] | None = None,
        traffic: dict[str, int] | None = None,
        mirror_traffic: dict[str, int] | None = None,
        identity: dict[str, Any] | None = None,
        **fields: Any,
    ):
        self._fields = {
            "name": name,
            "auth_mode": auth_mode,
            "description": description,
            "tags": dict(tags or {}),
            "traffic": dict(traffic or {}),
            "mirror_traffic": dict(mirror_traffic or {}),
            "identity": identity,
            **fields,
        }
        self.scoring_uri: str | None = None
        self.provisioning_state: str | None = None

    def _to_dict(self) -> dict[str, Any]:
        data = super()._to_dict()
        return {k: v for k, v in data.items() if v != {} or k in ("traffic",)}


class ManagedOnlineEndpoint(OnlineEndpoint, fields="public_network_access"):
    def __init__(self, *, public_network_access: str | None = None, **kwargs: Any):
        super().__init__(public_network_access=public_network_access, **kwargs)


class KubernetesOnlineEndpoint(OnlineEndpoint, fields="compute"):
    def __init__(self, *, compute: str | None = None, **kwargs: Any):
        super().__init__(compute=compute, **kwargs)


def endpoint_from_record(record: Any) -> OnlineEndpoint:
    cls = KubernetesOnlineEndpoint if record.kind == "kubernetes" else ManagedOnlineEndpoint
    extra = {"compute": record.compute} if record.kind == "kubernetes" else {}
    endpoint = cls(
        name=record.name,
        auth_mode=record.auth_mode,
        description=record.description,
        tags=record.tags,
        traffic=record.traffic,
        mirror_traffic=record.mirror_traffic,
        identity=record.details.get("identity"),
        **extra,
    )
    endpoint.scoring_uri = record.scoring_uri
    endpoint.provisioning_state = record.provisioning_state
    return endpoint


class OnlineDeployment(
    _Entity,
    fields="name endpoint_name type description tags model code_configuration environment instance_type "
    "instance_count request_settings environment_variables liveness_probe readiness_probe "
    "app_insights_enabled scale_settings",
):
    _type: str | None = None

    def __init__(
        self,
        name: str | None = None,
        *,
        endpoint_name: str | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        model: Any = None,
        code_configuration: CodeConfiguration | None = None,
        environment: Any = None,
        instance_type: str | None = None,
        instance_count: int | None = None,
        request_settings: OnlineRequestSettings | None = None,
        environment_variables: dict[str, str] | None = None,
        liveness_probe: dict[str, Any] | None = None,
        readiness_probe: dict[str, Any] | None = None,
        app_insights_enabled: bool | None = None,
        scale_settings: dict[str, Any] | None = None,
        code_path: str | PurePath | None = None,
        scoring_script: str | PurePath | None = None,
        **fields: Any,
    ):
        if code_configuration is None and (code_path or scoring_script):
            code_configuration = CodeConfiguration(code=code_path, scoring_script=scoring_script)
        self._fields = {
            "name": name,
            "endpoint_name": endpoint_name,
            "type": self._type,
            "description": description,
            "tags": dict(tags or {}),
            "model": model,
            "code_configuration": code_configuration,
            "environment": environment,
            "instance_type": instance_type,
            "instance_count": instance_count,
            "request_settings": request_settings,
            "environment_variables": dict(environment_variables or {}),
            "liveness_probe": liveness_probe,
            "readiness_probe": readiness_probe,
            "app_insights_enabled": app_insights_enabled,
            "scale_settings": scale_settings,
            **fields,
        }
        self._base_path = Path.cwd()
        self.provisioning_state: str | None = None

    def _to_dict(self) -> dict[str, Any]:
        data = super()._to_dict()
        model = data.get("model")
        if (
            isinstance(model, str)
            and not model.startswith("azureml:")
            and Path(self._base_path, model).exists()
        ):
            data["model"] = {"path": model}  # a local path, as the cloud's SDK takes one
        return {k: v for k, v in data.items() if v != {}}


class ManagedOnlineDeployment(OnlineDeployment):
    _type = None  # the cloud's default kind


class KubernetesOnlineDeployment(OnlineDeployment, fields="resources"):
    _type = "kubernetes"

    def __init__(self, name: str | None = None, *, resources: dict[str, Any] | None = None, **kwargs: Any):
        super().__init__(name, resources=resources, **kwargs)


def deployment_from_record(record: Any) -> OnlineDeployment:
    cls = KubernetesOnlineDeployment if record.kind == "kubernetes" else ManagedOnlineDeployment
    spec = record.spec
    code = spec.get("code_configuration")
    deployment = cls(
        record.name,
        endpoint_name=record.endpoint_name,
        description=record.description,
        tags=record.tags,
        model=record.model,
        code_configuration=CodeConfiguration(**code) if code else None,
        environment=record.environment.get("reference"),
        instance_type=record.instance_type,
        instance_count=record.instance_count,
        request_settings=OnlineRequestSettings(**record.request_settings),
        environment_variables=record.environment_variables,
        liveness_probe=spec.get("liveness_probe"),
        readiness_probe=spec.get("readiness_probe"),
        app_insights_enabled=spec.get("app_insights_enabled"),
        scale_settings=spec.get("scale_settings"),
    )
    deployment.provisioning_state = record.provisioning_state
    return deployment


class EndpointAuthKeys:
    """``get_keys`` of a key endpoint, as the cloud's SDK names the fields."""

    def __init__(self, *, primary_key: str, secondary_key: str):
        self.primary_key = primary_key
        self.secondary_key = secondary_key

    def __repr__(self) -> str:
        return "EndpointAuthKeys(primary_key=***, secondary_key=***)"


class EndpointAuthToken:
    """``get_keys`` of an aml_token endpoint."""

    def __init__(
        self, *, access_token: str, expiry_time_utc: int, refresh_after_time_utc: int, token_type: str
    ):
        self.access_token = access_token
        self.expiry_time_utc = expiry_time_utc
        self.refresh_after_time_utc = refresh_after_time_utc
        self.token_type = token_type

    def __repr__(self) -> str:
        return f"EndpointAuthToken(access_token=***, expiry_time_utc={self.expiry_time_utc})"


__all__ = [
    "CodeConfiguration",
    "EndpointAuthKeys",
    "EndpointAuthToken",
    "KubernetesOnlineDeployment",
    "KubernetesOnlineEndpoint",
    "ManagedOnlineDeployment",
    "ManagedOnlineEndpoint",
    "OnlineDeployment",
    "OnlineEndpoint",
    "OnlineRequestSettings",
    "deployment_from_record",
    "endpoint_from_record",
]
