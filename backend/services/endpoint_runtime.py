"""Running endpoints as users see them: where a deployment's scoring processes write their logs, their
logs, sending a request through the router, and the router's per-deployment metrics.

The router runs inside the agent on ``settings.endpoint_port``; these functions reach it over loopback
HTTP (never by importing it). Keys are fetched here to send a request and go nowhere else: not into a
log, an error message or a result.
"""

from __future__ import annotations

import http.client
import json
import re
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

from pydantic import BaseModel
from sqlmodel import Session

from backend.errors import UnavailableError, ValidationError
from backend.services import endpoint_access, endpoints
from backend.settings import get_settings

DEPLOYMENT_HEADER = "azureml-model-deployment"
METRICS_PATH = "/-/metrics"
NOT_RUNNING = (
    "the endpoint router at {where} is not running: start Studio with `studio up` (it serves the online "
    "endpoints)"
)
TAIL_CHUNK = 64 * 1024
MAX_LINES = 10_000


class InvokeResult(BaseModel):
    """The answer to one scoring request: status, body as text, round-trip latency, and the deployment
    that answered (the router's ``azureml-model-deployment`` header; None when the router picked none)."""

    status: int
    body: str
    latency_ms: float
    deployment: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def deployment_dir(*, endpoint: str, deployment: str) -> Path:
    """A deployment's folder under ``STUDIO_HOME/endpoints``: its instances' logs (``instance-<i>.log``)
    and the model and code as its scoring processes see them."""
    return get_settings().home / "endpoints" / endpoint / deployment


def instance_log(*, endpoint: str, deployment: str, index: int) -> Path:
    return deployment_dir(endpoint=endpoint, deployment=deployment) / f"instance-{index}.log"


# --- logs --------------------------------------------------------------------------------------------------


def _tail(path: Path, lines: int) -> list[str]:
    """The last ``lines`` lines of a file, read from its end (a long log is not read whole)."""
    if lines <= 0:
        return []
    with path.open("rb") as file:
        file.seek(0, 2)
        end = file.tell()
        data = b""
        while end > 0 and data.count(b"\n") <= lines:
            step = min(TAIL_CHUNK, end)
            end -= step
            file.seek(end)
            data = file.read(step) + data
    text = data.decode("utf-8", errors="replace")
    return text.splitlines()[-lines:]


def _instance_index(path: Path) -> int:
    found = re.fullmatch(r"instance-(\d+)\.log", path.name)
    return int(found.group(1)) if found else -1


def read_deployment_logs(
    *, session: Session, workspace: str, endpoint_name: str, name: str, lines: int = 100
) -> str:
    """The last ``lines`` lines of each of the deployment's instance logs, each under a ``== instance <i>
    (<file>) ==`` header; a sentence when no instance has written a log yet."""
    if lines < 0 or lines > MAX_LINES:
        raise ValidationError(f"lines {lines} is not between 0 and {MAX_LINES}")
    deployment = endpoints.get_deployment(
        session=session, workspace=workspace, endpoint_name=endpoint_name, name=name
    )
    folder = deployment_dir(endpoint=endpoint_name, deployment=name)
    logs = sorted((p for p in folder.glob("instance-*.log") if _instance_index(p) >= 0), key=_instance_index)
    if not logs:
        return (
            f"No logs yet for deployment {name!r} of endpoint {endpoint_name!r} "
            f"(provisioning state {deployment.provisioning_state}): its instances write them once they start.\n"
        )
    parts = []
    for path in logs:
        tail = _tail(path, lines)
        parts.append(f"== instance {_instance_index(path)} ({path.name}) ==")
        parts.extend(tail or ["(empty)"])
    return "\n".join(parts) + "\n"


# --- invoking ----------------------------------------------------------------------------------------------


def _router_address() -> tuple[str, int]:
    """(host, port) of the router, as the scoring URIs name it."""
    parts = urlsplit(endpoints.scoring_uri("x"))
    return parts.hostname or "127.0.0.1", parts.port or get_settings().endpoint_port


def _credential(session: Session, workspace: str, endpoint: endpoints.EndpointPublic) -> str:
    if endpoint.auth_mode == "aml_token":
        return endpoint_access.get_token(session=session, workspace=workspace, name=endpoint.name).accessToken
    return endpoint_access.get_keys(session=session, workspace=workspace, name=endpoint.name).primaryKey


def invoke_endpoint(
    *,
    session: Session,
    workspace: str,
    name: str,
    body: str,
    deployment: str | None = None,
    timeout_s: float = 60,
) -> InvokeResult:
    """POST ``body`` to the endpoint's scoring URI with its primary key (or a fresh token for an
    ``aml_token`` endpoint), to ``deployment`` only when given; any HTTP status comes back as a result.
    A router that is not running raises UnavailableError."""
    endpoint = endpoints.get_endpoint(session=session, workspace=workspace, name=name)
    if deployment:
        endpoints.get_deployment(session=session, workspace=workspace, endpoint_name=name, name=deployment)
    credential = _credential(session, workspace, endpoint)
    host, port = _router_address()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {credential}"}
    if deployment:
        headers[DEPLOYMENT_HEADER] = deployment
    conn = http.client.HTTPConnection(host, port, timeout=timeout_s)
    started = time.perf_counter()
    try:
        conn.request("POST", urlsplit(endpoint.scoring_uri).path, body=body.encode(), headers=headers)
        response = conn.getresponse()
        data = response.read()
    except (ConnectionRefusedError, ConnectionResetError) as exc:
        raise UnavailableError(NOT_RUNNING.format(where=f"{host}:{port}")) from exc
    except TimeoutError as exc:
        raise UnavailableError(
            f"online endpoint {name!r} did not answer within {timeout_s:g} s (router at {host}:{port})"
        ) from exc
    except OSError as exc:
        raise UnavailableError(
            f"cannot reach the endpoint router at {host}:{port}: {exc.strerror or type(exc).__name__}"
        ) from exc
    finally:
        conn.close()
    return InvokeResult(
        status=response.status,
        body=data.decode("utf-8", errors="replace"),
        latency_ms=(time.perf_counter() - started) * 1000,
        deployment=response.getheader(DEPLOYMENT_HEADER),
    )


# --- deploying a registered model (the Models page's wizard) -----------------------------------------------


def deploy_model(
    *,
    session: Session,
    workspace: str,
    model: str,
    version: str,
    endpoint_name: str,
    deployment_name: str,
    new_endpoint: bool = False,
    auth_mode: str = "key",
    instance_count: int = 1,
    instance_type: str | None = None,
    scoring_script: tuple[str, bytes] | None = None,
    environment: str | None = None,
) -> endpoints.DeploymentPublic:
    """Deploy version ``version`` of registered model ``model`` as ``deployment_name`` of endpoint
    ``endpoint_name`` (created first when ``new_endpoint``). A ``custom_model`` needs ``scoring_script``
    (file name and content; snapshotted like a YAML's ``code`` folder) and ``environment``; an
    ``mlflow_model`` needs neither. The endpoint's first deployment gets all its traffic."""
    import tempfile

    from backend.errors import ConflictError, NotFoundError
    from backend.services import models
    from backend.specs import parse_spec

    found = models.get_model(session=session, workspace=workspace, name=model, version=version)
    source = f"deploy {model}:{found.version}"
    if new_endpoint:
        problem = endpoints.endpoint_name_problem(endpoint_name)
        if problem:
            raise ValidationError(problem)
        try:
            endpoints.get_endpoint_by_name(session=session, name=endpoint_name)
        except NotFoundError:
            pass
        else:
            raise ConflictError(
                f"online endpoint {endpoint_name!r} already exists: pick it as an existing one"
            )
        spec = endpoints.parse_endpoint({"name": endpoint_name, "auth_mode": auth_mode}, source=source)
        endpoints.create_or_update_endpoint(session=session, workspace=workspace, spec=spec, source=source)
    existing = endpoints.list_deployments(session=session, workspace=workspace, endpoint_name=endpoint_name)
    if any(d.name == deployment_name for d in existing):
        raise ConflictError(
            f"endpoint {endpoint_name!r} already has a deployment {deployment_name!r}: choose another name "
            "(update a deployment from its YAML: studio online-deployment update --file ...)"
        )
    data: dict = {
        "name": deployment_name,
        "endpoint_name": endpoint_name,
        "model": f"azureml:{found.name}:{found.version}",
        "instance_count": instance_count,
    }
    if instance_type:
        data["instance_type"] = instance_type
    needs_script = found.type != "mlflow_model"
    if needs_script and scoring_script is None:
        raise ValidationError(
            f"{source}: a {found.type} needs a scoring script (init() and run(raw_data)) and an environment"
        )
    with tempfile.TemporaryDirectory(prefix="studio-deploy-") as tmp:
        if scoring_script is not None:
            script_name = Path(scoring_script[0]).name
            if not script_name.endswith(".py"):
                raise ValidationError(f"{source}: the scoring script {script_name!r} must be a .py file")
            (Path(tmp) / script_name).write_bytes(scoring_script[1])
            data["code_configuration"] = {"code": tmp, "scoring_script": script_name}
        if environment:
            data["environment"] = environment
        spec = parse_spec(endpoints.OnlineDeploymentSpec, data, source=source)
        return endpoints.create_or_update_deployment(
            session=session,
            workspace=workspace,
            spec=spec,
            base_dir=tmp,
            all_traffic=not existing,
            source=source,
        )


# --- metrics -----------------------------------------------------------------------------------------------


def router_metrics(*, endpoint: str | None = None, timeout_s: float = 5) -> dict:
    """The router's ``GET /-/metrics`` document (totals, time series, bucket width); UnavailableError when
    the router is not running."""
    host, port = _router_address()
    path = METRICS_PATH + (f"?endpoint={quote(endpoint, safe='')}" if endpoint else "")
    conn = http.client.HTTPConnection(host, port, timeout=timeout_s)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        data = response.read()
    except OSError as exc:
        raise UnavailableError(NOT_RUNNING.format(where=f"{host}:{port}")) from exc
    finally:
        conn.close()
    if response.status != 200:
        raise UnavailableError(f"the endpoint router at {host}:{port} answered {response.status} for metrics")
    try:
        return json.loads(data)
    except ValueError as exc:
        raise UnavailableError(
            f"the endpoint router at {host}:{port} sent metrics that are not JSON"
        ) from exc


def endpoint_metrics(*, name: str) -> dict:
    """One endpoint's metrics for charts: ``{"available": True, "bucket_s", "totals": {deployment: {requests,
    errors, mirrored, in_flight, p50_ms, p99_ms}}, "series": {deployment: [{t, requests, errors, p50_ms,
    p99_ms}]}}``; with the router not running ``available`` is False, ``error`` says why, the rest is empty."""
    try:
        document = router_metrics(endpoint=name)
    except UnavailableError as exc:
        return {"available": False, "error": str(exc), "bucket_s": 10, "totals": {}, "series": {}}
    return {
        "available": True,
        "error": None,
        "bucket_s": document.get("bucket_s", 10),
        "totals": document.get("totals", {}).get(name, {}),
        "series": document.get("series", {}).get(name, {}),
    }


__all__ = [
    "InvokeResult",
    "deploy_model",
    "deployment_dir",
    "endpoint_metrics",
    "instance_log",
    "invoke_endpoint",
    "read_deployment_logs",
    "router_metrics",
]
