"""``ml_client.online_endpoints`` and ``ml_client.online_deployments``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from studio.ml.entities import (
    EndpointAuthKeys,
    EndpointAuthToken,
    OnlineDeployment,
    OnlineEndpoint,
    deployment_from_record,
    endpoint_from_record,
)
from studio.ml.operations._base import _Operations


class DonePoller:
    """What a ``begin_*`` call returns, like the cloud's LROPoller: the work is done when it returns (the
    agent's supervisor then starts the processes; ``provisioning_state`` says how far it got)."""

    def __init__(self, value: Any = None):
        self._value = value

    def done(self) -> bool:
        return True

    def status(self) -> str:
        return "Succeeded"

    def result(self, timeout: float | None = None) -> Any:
        return self._value

    wait = result


def _call(fn: Any, **kwargs: Any) -> Any:
    from backend.services import open_session

    with open_session() as s:
        return fn(session=s, **kwargs)


class OnlineEndpointOperations(_Operations):
    def begin_create_or_update(self, endpoint: OnlineEndpoint, **kwargs: Any) -> DonePoller:
        """Create or update an endpoint (a new one gets two keys)."""
        from backend.services import endpoints

        source = f"{type(endpoint).__name__}(name={endpoint.name!r})"
        spec = endpoints.parse_endpoint(endpoint._to_dict(), source=source)
        record = _call(
            endpoints.create_or_update_endpoint, workspace=self._workspace, spec=spec, source=source
        )
        return DonePoller(endpoint_from_record(record))

    def get(self, name: str, **kwargs: Any) -> OnlineEndpoint:
        from backend.services import endpoints

        return endpoint_from_record(_call(endpoints.get_endpoint, workspace=self._workspace, name=name))

    def list(self, **kwargs: Any) -> list[OnlineEndpoint]:
        from backend.services import endpoints

        return [endpoint_from_record(r) for r in _call(endpoints.list_endpoints, workspace=self._workspace)]

    def get_keys(self, name: str) -> EndpointAuthKeys | EndpointAuthToken:
        from backend.services import endpoint_access

        if self.get(name).auth_mode == "aml_token":
            token = _call(endpoint_access.get_token, workspace=self._workspace, name=name)
            return EndpointAuthToken(
                access_token=token.accessToken,
                expiry_time_utc=token.expiryTimeUtc,
                refresh_after_time_utc=token.refreshAfterTimeUtc,
                token_type=token.tokenType,
            )
        keys = _call(endpoint_access.get_keys, workspace=self._workspace, name=name)
        return EndpointAuthKeys(primary_key=keys.primaryKey, secondary_key=keys.secondaryKey)

    def begin_delete(self, name: str, **kwargs: Any) -> DonePoller:
        from backend.services import endpoints

        _call(endpoints.delete_endpoint, workspace=self._workspace, name=name)
        return DonePoller()

    def invoke(
        self,
        endpoint_name: str,
        request_file: str | os.PathLike | None = None,
        deployment_name: str | None = None,
        **kwargs: Any,
    ) -> str:
        """Send the JSON in ``request_file`` to the endpoint (to ``deployment_name`` only when given) with
        its key or a token; the answer's body as text, as the cloud's SDK returns it. A status that is not
        2xx raises HttpResponseError; the router not running, UnavailableError."""
        from backend.errors import ValidationError
        from backend.services import endpoint_runtime
        from studio.ml.exceptions import HttpResponseError

        if request_file is None:
            raise ValidationError("invoke needs request_file: a file holding the JSON request body")
        try:
            body = Path(request_file).read_text()
        except OSError as exc:
            raise ValidationError(f"cannot read request_file {request_file}: {exc.strerror or exc}") from None
        result = _call(
            endpoint_runtime.invoke_endpoint,
            workspace=self._workspace,
            name=endpoint_name,
            body=body,
            deployment=deployment_name,
        )
        if not result.ok:
            raise HttpResponseError(
                f"online endpoint {endpoint_name!r} answered {result.status}: {result.body[:500]}",
                status_code=result.status,
                body=result.body,
            )
        return result.body

    def begin_regenerate_keys(self, name: str, *, key_type: str = "primary") -> DonePoller:
        from backend.services import endpoint_access

        _call(endpoint_access.regenerate_keys, workspace=self._workspace, name=name, key_type=key_type)
        return DonePoller()


class OnlineDeploymentOperations(_Operations):
    def begin_create_or_update(
        self, deployment: OnlineDeployment, *, all_traffic: bool = False, **kwargs: Any
    ) -> DonePoller:
        """Create or update a deployment; code and an inline model's local path are snapshotted."""
        from backend.errors import ValidationError
        from backend.services import endpoints
        from backend.specs import parse_spec
        from backend.specs.online import OnlineDeploymentSpec

        source = f"{type(deployment).__name__}(name={deployment.name!r})"
        spec = parse_spec(OnlineDeploymentSpec, deployment._to_dict(), source=source)
        try:
            record = _call(
                endpoints.create_or_update_deployment,
                workspace=self._workspace,
                spec=spec,
                base_dir=deployment._base_path,
                all_traffic=all_traffic,
                source=source,
            )
        except ValidationError as exc:
            raise ValidationError(str(exc)) from None
        return DonePoller(deployment_from_record(record))

    def get(self, name: str, endpoint_name: str, **kwargs: Any) -> OnlineDeployment:
        from backend.services import endpoints

        return deployment_from_record(
            _call(endpoints.get_deployment, workspace=self._workspace, endpoint_name=endpoint_name, name=name)
        )

    def list(self, endpoint_name: str, **kwargs: Any) -> list[OnlineDeployment]:
        from backend.services import endpoints

        rows = _call(endpoints.list_deployments, workspace=self._workspace, endpoint_name=endpoint_name)
        return [deployment_from_record(r) for r in rows]

    def get_logs(self, name: str, endpoint_name: str, lines: int = 100, **kwargs: Any) -> str:
        """The last ``lines`` lines of each of the deployment's instance logs, labelled by instance."""
        from backend.services import endpoint_runtime

        return _call(
            endpoint_runtime.read_deployment_logs,
            workspace=self._workspace,
            endpoint_name=endpoint_name,
            name=name,
            lines=lines,
        )

    def begin_delete(self, name: str, endpoint_name: str, **kwargs: Any) -> DonePoller:
        from backend.services import endpoints

        _call(endpoints.delete_deployment, workspace=self._workspace, endpoint_name=endpoint_name, name=name)
        return DonePoller()


__all__ = ["DonePoller", "OnlineDeploymentOperations", "OnlineEndpointOperations"]
