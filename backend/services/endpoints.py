"""Online endpoints and their deployments (SPEC section 12): definitions, traffic, keys.

Creating or updating only validates, snapshots local code and inline models, and writes rows; the agent's
supervisor starts ``instance_count`` scoring processes per deployment and moves its
``provisioning_state`` from Creating / Updating to Succeeded or Failed (``set_deployment_state``); the
router reads traffic and checks keys (``verify_key``, ``verify_token``).

Endpoint names are unique in the studio, not only in a workspace: the scoring URL
``http://127.0.0.1:<endpoint_port>/endpoints/<name>/score`` carries no workspace (as a cloud region's do not).

Keys are secrets: stored encrypted (``backend.storage.secrets``), never logged, never part of a public
model; only ``get_keys`` returns them.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, select

from backend.db.models import OnlineDeployment, OnlineEndpoint, Workspace, utcnow
from backend.errors import ConflictError, NotFoundError, ValidationError
from backend.services.lookup import get_workspace_row
from backend.settings import get_settings
from backend.specs import load_spec, parse_spec
from backend.specs.online import (
    NAME_RULE,
    OnlineDeploymentSpec,
    OnlineEndpointSpec,
    RequestSettingsSpec,
    mirror_problem,
    name_problem,
    traffic_problem,
)
from backend.storage import secrets as secret_store

log = logging.getLogger("studio.endpoints")

KEY_BYTES = 32  # a key is 43 URL-safe characters
TOKEN_TTL_S = 3600  # an aml_token is good for one hour (the cloud's are refreshed well before expiry)
KEY_TYPES = ("primary", "secondary")


class ProvisioningState(StrEnum):
    creating = "Creating"
    updating = "Updating"
    succeeded = "Succeeded"
    failed = "Failed"
    deleting = "Deleting"


class EndpointPublic(BaseModel):
    name: str
    workspace: str
    kind: str
    auth_mode: str
    description: str
    tags: dict[str, str]
    traffic: dict[str, int]
    mirror_traffic: dict[str, int]
    compute: str | None
    details: dict[str, Any]
    scoring_uri: str
    provisioning_state: str
    created_at: datetime
    updated_at: datetime


class DeploymentPublic(BaseModel):
    name: str
    endpoint_name: str
    workspace: str
    kind: str
    description: str
    tags: dict[str, str]
    model: str | None
    model_type: str | None
    code_uri: str | None
    scoring_script: str | None
    environment: dict[str, Any]
    instance_type: str | None
    instance_count: int
    # The settings the router applies: the given ones and the cloud's defaults for the rest.
    request_settings: dict[str, int]
    environment_variables: dict[str, str]
    spec: dict[str, Any]
    provisioning_state: str
    error: str | None
    generation: int
    created_at: datetime
    updated_at: datetime


# --- helpers -----------------------------------------------------------------------------------------------


def scoring_uri(name: str) -> str:
    settings = get_settings()
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{host}:{settings.endpoint_port}/endpoints/{name}/score"


def parse_traffic(text: str, *, option: str = "--traffic") -> dict[str, int]:
    """``"blue=90 green=10"`` (spaces or commas between pairs) as ``{"blue": 90, "green": 10}``."""
    traffic: dict[str, int] = {}
    for pair in text.replace(",", " ").split():
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValidationError(
                f"{option}: expected deployment=percent pairs like 'blue=90 green=10', got {pair!r}"
            )
        try:
            percent = int(value)
        except ValueError:
            raise ValidationError(
                f"{option}: {name}: the percent must be a whole number, got {value!r}"
            ) from None
        if not 0 <= percent <= 100:
            raise ValidationError(f"{option}: {name}: the percent must be from 0 to 100, got {percent}")
        traffic[name] = percent
    return traffic


def new_key() -> str:
    return secrets.token_urlsafe(KEY_BYTES)


def workspace_names(session: Session) -> dict[int, str]:
    return {w.id: w.name for w in session.exec(select(Workspace)).all() if w.id is not None}


def endpoint_public(row: OnlineEndpoint, workspace: str) -> EndpointPublic:
    return EndpointPublic(
        name=row.name,
        workspace=workspace,
        kind=row.kind,
        auth_mode=row.auth_mode,
        description=row.description,
        tags=dict(row.tags),
        traffic=dict(row.traffic),
        mirror_traffic=dict(row.mirror_traffic),
        compute=row.compute,
        details=dict(row.details),
        scoring_uri=scoring_uri(row.name),
        provisioning_state=row.provisioning_state,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def deployment_public(row: OnlineDeployment, endpoint: OnlineEndpoint, workspace: str) -> DeploymentPublic:
    return DeploymentPublic(
        name=row.name,
        endpoint_name=endpoint.name,
        workspace=workspace,
        kind=row.kind,
        description=row.description,
        tags=dict(row.tags),
        model=row.model,
        model_type=row.model_type,
        code_uri=row.code_uri,
        scoring_script=row.scoring_script,
        environment=dict(row.environment),
        instance_type=row.instance_type,
        instance_count=row.instance_count,
        request_settings=RequestSettingsSpec.model_validate(row.request_settings).effective(),
        environment_variables=dict(row.environment_variables),
        spec=dict(row.spec),
        provisioning_state=row.provisioning_state,
        error=row.error,
        generation=row.generation,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def endpoint_row(session: Session, workspace: str, name: str) -> tuple[Workspace, OnlineEndpoint]:
    ws = get_workspace_row(session=session, name=workspace)
    row = session.exec(
        select(OnlineEndpoint).where(OnlineEndpoint.workspace_id == ws.id, OnlineEndpoint.name == name)
    ).first()
    if row is None:
        known = session.exec(
            select(OnlineEndpoint.name)
            .where(OnlineEndpoint.workspace_id == ws.id)
            .order_by(OnlineEndpoint.name)
        ).all()
        raise NotFoundError(
            f"online endpoint {name!r} does not exist in workspace {workspace!r} "
            f"(endpoints: {', '.join(known) or 'none'})"
        )
    return ws, row


def deployment_rows(session: Session, endpoint: OnlineEndpoint) -> list[OnlineDeployment]:
    return list(
        session.exec(
            select(OnlineDeployment)
            .where(OnlineDeployment.endpoint_id == endpoint.id)
            .order_by(OnlineDeployment.name)
        ).all()
    )


def _deployment_row(session: Session, endpoint: OnlineEndpoint, name: str) -> OnlineDeployment:
    rows = deployment_rows(session, endpoint)
    for row in rows:
        if row.name == name:
            return row
    raise NotFoundError(
        f"deployment {name!r} does not exist in online endpoint {endpoint.name!r} "
        f"(deployments: {', '.join(r.name for r in rows) or 'none'})"
    )


def _check_splits(
    endpoint: str, deployments: list[str], traffic: dict[str, int], mirror: dict[str, int], *, source: str
) -> None:
    """Traffic and mirror name only existing deployments, sum to 100 (or 0), mirror one, not a live one."""
    for field, split in (("traffic", traffic), ("mirror_traffic", mirror)):
        for name in split:
            problem = name_problem(name, "deployment")
            if problem:
                raise ValidationError(f"{source}: field {field!r}: {problem}")
            if name not in deployments:
                raise ValidationError(
                    f"{source}: field {field!r}: endpoint {endpoint!r} has no deployment {name!r} "
                    f"(deployments: {', '.join(deployments) or 'none yet: create one, then set its traffic'})"
                )
    problem = traffic_problem(traffic)
    if problem:
        raise ValidationError(f"{source}: field 'traffic': {problem}")
    for name, percent in mirror.items():
        if percent > 50:
            raise ValidationError(
                f"{source}: field 'mirror_traffic': {name}: at most 50% may be copied (got {percent})"
            )
    problem = mirror_problem(mirror, traffic)
    if problem:
        raise ValidationError(f"{source}: field 'mirror_traffic': {problem}")


# --- endpoints ---------------------------------------------------------------------------------------------


def load_endpoint_file(path: str | Path, overrides: list[str] | None = None) -> OnlineEndpointSpec:
    return load_spec(OnlineEndpointSpec, path, overrides)


def parse_endpoint(data: dict[str, Any], *, source: str) -> OnlineEndpointSpec:
    return parse_spec(OnlineEndpointSpec, data, source=source)


def create_or_update_endpoint(
    *, session: Session, workspace: str, spec: OnlineEndpointSpec, source: str = "endpoint"
) -> EndpointPublic:
    """Create an endpoint with two new keys, or update one (description, tags, auth mode, traffic)."""
    ws = get_workspace_row(session=session, name=workspace)
    row = session.exec(select(OnlineEndpoint).where(OnlineEndpoint.name == spec.name)).first()
    if row is not None and row.workspace_id != ws.id:
        other = workspace_names(session).get(row.workspace_id, "?")
        raise ConflictError(
            f"{source}: online endpoint name {spec.name!r} is taken by workspace {other!r}; endpoint names are "
            "unique in a studio (the scoring URL carries only the name): choose another"
        )
    details = spec.model_dump(
        mode="json",
        include={"identity", "public_network_access", "properties", "location"},
        exclude_none=True,
    )
    if row is None:
        if spec.traffic or spec.mirror_traffic:
            _check_splits(spec.name, [], spec.traffic, spec.mirror_traffic, source=source)
        row = OnlineEndpoint(
            workspace_id=ws.id,
            name=spec.name,
            kind=spec.kind,
            auth_mode=spec.auth_mode,
            description=spec.description or "",
            tags=dict(spec.tags),
            traffic={},
            mirror_traffic={},
            compute=spec.compute,
            details=details,
            primary_key=secret_store.encrypt(new_key()),
            secondary_key=secret_store.encrypt(new_key()),
            # Nothing runs for an endpoint itself: the router serves it as soon as the row exists.
            provisioning_state=ProvisioningState.succeeded,
        )
        session.add(row)
        session.flush()
        log.info("online endpoint created", extra={"action": "endpoint_create", "endpoint": spec.name})
        return endpoint_public(row, workspace)
    if spec.kind != row.kind:
        raise ValidationError(
            f"{source}: field 'compute': endpoint {spec.name!r} is a {row.kind} endpoint; its kind cannot change "
            f"(delete it and create a {spec.kind} one)"
        )
    names = [d.name for d in deployment_rows(session, row)]
    _check_splits(spec.name, names, spec.traffic, spec.mirror_traffic, source=source)
    row.auth_mode = spec.auth_mode
    row.description = spec.description or ""
    row.tags = dict(spec.tags)
    row.traffic = dict(spec.traffic)
    row.mirror_traffic = dict(spec.mirror_traffic)
    row.compute = spec.compute
    row.details = details
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    log.info("online endpoint updated", extra={"action": "endpoint_update", "endpoint": spec.name})
    return endpoint_public(row, workspace)


def create_endpoint_from_file(
    *, session: Session, workspace: str, path: str | Path, overrides: list[str] | None = None
) -> EndpointPublic:
    spec = load_endpoint_file(path, overrides)
    return create_or_update_endpoint(session=session, workspace=workspace, spec=spec, source=str(path))


def get_endpoint(*, session: Session, workspace: str, name: str) -> EndpointPublic:
    _, row = endpoint_row(session, workspace, name)
    return endpoint_public(row, workspace)


def get_endpoint_by_name(*, session: Session, name: str) -> EndpointPublic:
    """An endpoint by its studio-wide name (what the router sees in a URL)."""
    row = session.exec(select(OnlineEndpoint).where(OnlineEndpoint.name == name)).first()
    if row is None:
        raise NotFoundError(f"online endpoint {name!r} does not exist")
    return endpoint_public(row, workspace_names(session).get(row.workspace_id, "?"))


def list_endpoints(*, session: Session, workspace: str) -> list[EndpointPublic]:
    ws = get_workspace_row(session=session, name=workspace)
    rows = session.exec(
        select(OnlineEndpoint).where(OnlineEndpoint.workspace_id == ws.id).order_by(OnlineEndpoint.name)
    ).all()
    return [endpoint_public(r, workspace) for r in rows]


def delete_endpoint(*, session: Session, workspace: str, name: str) -> None:
    """Delete an endpoint and all its deployments (the supervisor stops processes whose rows are gone)."""
    _, row = endpoint_row(session, workspace, name)
    for deployment in deployment_rows(session, row):
        session.delete(deployment)
    session.delete(row)
    session.flush()
    log.info("online endpoint deleted", extra={"action": "endpoint_delete", "endpoint": name})


def update_traffic(
    *,
    session: Session,
    workspace: str,
    name: str,
    traffic: dict[str, int] | None = None,
    mirror_traffic: dict[str, int] | None = None,
) -> EndpointPublic:
    """Replace the traffic split and/or the mirror split (None: unchanged); both are checked together."""
    _, row = endpoint_row(session, workspace, name)
    new_traffic = dict(row.traffic) if traffic is None else dict(traffic)
    new_mirror = dict(row.mirror_traffic) if mirror_traffic is None else dict(mirror_traffic)
    names = [d.name for d in deployment_rows(session, row)]
    _check_splits(name, names, new_traffic, new_mirror, source=f"endpoint {name!r}")
    row.traffic = {k: v for k, v in new_traffic.items()}
    row.mirror_traffic = {k: v for k, v in new_mirror.items() if v}
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    log.info("online endpoint traffic changed", extra={"action": "endpoint_traffic", "endpoint": name})
    return endpoint_public(row, workspace)


# --- deployments -------------------------------------------------------------------------------------------


def load_deployment_file(path: str | Path, overrides: list[str] | None = None) -> OnlineDeploymentSpec:
    return load_spec(OnlineDeploymentSpec, path, overrides)


def _upload(session: Session, workspace: str, source: Path) -> str:
    """Upload a local file or folder once per content to workspaceartifactstore; its azureml:// URI."""
    from backend.services.data_assets import content_hash
    from backend.services.datastores import get_filesystem
    from backend.storage import uris

    store = get_filesystem(session=session, workspace=workspace, name="workspaceartifactstore")
    dest = f"LocalUpload/{content_hash(source)}/{source.name}"
    from backend.services.uploads import put_once

    put_once(session, store, source, dest)
    return uris.DatastorePath("workspaceartifactstore", dest).uri


def _snapshot_code(
    session: Session, workspace: str, spec: OnlineDeploymentSpec, base_dir: Path, source: str
) -> str | None:
    from backend.storage import uris

    config = spec.code_configuration
    if config is None:
        return None
    if config.code is None:
        raise ValidationError(
            f"{source}: field 'code_configuration.code' is required: the folder with {config.scoring_script}"
        )
    ref = uris.parse_reference(config.code, base_dir=base_dir, field="code_configuration.code")
    if isinstance(ref, uris.DatastorePath):
        return ref.uri
    if not isinstance(ref, uris.LocalPath):
        raise ValidationError(
            f"{source}: field 'code_configuration.code': {config.code!r} must be a local folder or an "
            "azureml://datastores/ path"
        )
    folder = ref.path.resolve()
    if not folder.exists():
        raise ValidationError(
            f"{source}: field 'code_configuration.code': local path {str(folder)!r} does not exist"
        )
    script = folder / config.scoring_script if folder.is_dir() else folder
    if folder.is_dir() and not script.is_file():
        raise ValidationError(
            f"{source}: field 'code_configuration.scoring_script': {config.scoring_script!r} is not a file in "
            f"{str(folder)!r}"
        )
    return _upload(session, workspace, folder)


def _model(
    session: Session, workspace: str, spec: OnlineDeploymentSpec, base_dir: Path, source: str
) -> tuple[str | None, str | None]:
    """(model as stored, its type when known): a reference as given; an inline local path uploaded."""
    from backend.storage import uris

    model = spec.model
    if isinstance(model, str):
        from backend.services.models import check_reference

        check_reference(session, workspace, model, f"{source}: field 'model'")
    if model is None or isinstance(model, str):
        return model, None
    ref = uris.parse_reference(model.path, base_dir=base_dir, field="model.path")
    if isinstance(ref, uris.LocalPath):
        if not ref.path.exists():
            raise ValidationError(
                f"{source}: field 'model.path': local path {str(ref.path)!r} does not exist"
            )
        return _upload(session, workspace, ref.path.resolve()), model.type
    return model.path, model.type


def _environment(
    session: Session, workspace: str, spec: OnlineDeploymentSpec, base_dir: Path, source: str
) -> dict[str, Any]:
    from backend.services import environments

    if spec.environment is None:
        return {}
    given: Any = spec.environment
    if not isinstance(given, str):
        given = given.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"schema_"})
    try:
        env = environments.resolve_environment(
            session=session, workspace=workspace, reference=given, base_dir=base_dir
        )
    except ValidationError as exc:
        raise ValidationError(f"{source}: field 'environment': {exc}") from None
    image = spec.environment.image if not isinstance(spec.environment, str) else None
    return {
        "reference": f"azureml:{env.name}:{env.version}" if env.version else env.name,
        "python": env.python,
        "spec_hash": env.spec_hash,
        "reason": env.reason,
        "image": image,
    }


def create_or_update_deployment(
    *,
    session: Session,
    workspace: str,
    spec: OnlineDeploymentSpec,
    base_dir: str | Path | None = None,
    all_traffic: bool = False,
    source: str = "deployment",
) -> DeploymentPublic:
    """Create a deployment (Creating) or update one (Updating, its generation bumped); ``all_traffic``
    then sends it 100% of the endpoint's traffic."""
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    try:
        _, endpoint = endpoint_row(session, workspace, spec.endpoint_name)
    except NotFoundError as exc:
        raise NotFoundError(f"{source}: field 'endpoint_name': {exc}") from None
    if spec.kind != endpoint.kind:
        raise ValidationError(
            f"{source}: field 'type': a {spec.kind} deployment cannot join {endpoint.kind} endpoint "
            f"{endpoint.name!r} ({'type: kubernetes' if endpoint.kind == 'kubernetes' else 'leave type out or use managed'})"
        )
    code_uri = _snapshot_code(session, workspace, spec, base, source)
    model, model_type = _model(session, workspace, spec, base, source)
    environment = _environment(session, workspace, spec, base, source)
    stored_spec = spec.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"schema_"})
    if code_uri:
        stored_spec["code_configuration"]["code"] = code_uri
    if model is not None and isinstance(stored_spec.get("model"), dict):
        stored_spec["model"]["path"] = model
    if environment:  # an inline one is registered (anonymous): its reference, not paths relative to a file
        stored_spec["environment"] = environment["reference"]
    values = {
        "kind": spec.kind,
        "description": spec.description or "",
        "tags": dict(spec.tags),
        "model": model,
        "model_type": model_type,
        "code_uri": code_uri,
        "scoring_script": spec.code_configuration.scoring_script if spec.code_configuration else None,
        "environment": environment,
        "instance_type": spec.instance_type,
        "instance_count": spec.instance_count,
        "request_settings": spec.request_settings.model_dump(exclude_none=True),
        "environment_variables": dict(spec.environment_variables),
        "spec": stored_spec,
        "error": None,
        "updated_at": utcnow(),
    }
    row = session.exec(
        select(OnlineDeployment).where(
            OnlineDeployment.endpoint_id == endpoint.id, OnlineDeployment.name == spec.name
        )
    ).first()
    if row is None:
        row = OnlineDeployment(
            endpoint_id=endpoint.id, name=spec.name, provisioning_state=ProvisioningState.creating
        )
        action = "deployment_create"
    else:
        row.generation += 1
        row.provisioning_state = ProvisioningState.updating
        action = "deployment_update"
    for key, value in values.items():
        setattr(row, key, value)
    session.add(row)
    if all_traffic:
        endpoint.traffic = {spec.name: 100}
        endpoint.mirror_traffic = {k: v for k, v in endpoint.mirror_traffic.items() if k != spec.name}
        endpoint.updated_at = utcnow()
        session.add(endpoint)
    session.flush()
    log.info(
        "online deployment saved",
        extra={"action": action, "endpoint": endpoint.name, "deployment": spec.name},
    )
    return deployment_public(row, endpoint, workspace)


def create_deployment_from_file(
    *,
    session: Session,
    workspace: str,
    path: str | Path,
    overrides: list[str] | None = None,
    all_traffic: bool = False,
) -> DeploymentPublic:
    spec = load_deployment_file(path, overrides)
    return create_or_update_deployment(
        session=session,
        workspace=workspace,
        spec=spec,
        base_dir=Path(path).resolve().parent,
        all_traffic=all_traffic,
        source=str(path),
    )


def get_deployment(*, session: Session, workspace: str, endpoint_name: str, name: str) -> DeploymentPublic:
    _, endpoint = endpoint_row(session, workspace, endpoint_name)
    return deployment_public(_deployment_row(session, endpoint, name), endpoint, workspace)


def list_deployments(*, session: Session, workspace: str, endpoint_name: str) -> list[DeploymentPublic]:
    _, endpoint = endpoint_row(session, workspace, endpoint_name)
    return [deployment_public(r, endpoint, workspace) for r in deployment_rows(session, endpoint)]


def list_all_deployments(*, session: Session) -> list[DeploymentPublic]:
    """Every deployment of every endpoint in the studio (what the supervisor keeps running)."""
    names = workspace_names(session)
    endpoints = {e.id: e for e in session.exec(select(OnlineEndpoint)).all()}
    rows = session.exec(select(OnlineDeployment).order_by(OnlineDeployment.id)).all()
    return [
        deployment_public(r, endpoints[r.endpoint_id], names.get(endpoints[r.endpoint_id].workspace_id, "?"))
        for r in rows
    ]


def delete_deployment(*, session: Session, workspace: str, endpoint_name: str, name: str) -> None:
    """Delete a deployment that gets no traffic (live or mirrored); one that does is refused."""
    _, endpoint = endpoint_row(session, workspace, endpoint_name)
    row = _deployment_row(session, endpoint, name)
    live, mirrored = endpoint.traffic.get(name, 0), endpoint.mirror_traffic.get(name, 0)
    if live or mirrored:
        share = f"{live}% of the traffic" if live else f"{mirrored}% of the mirrored traffic"
        raise ConflictError(
            f"deployment {name!r} of endpoint {endpoint_name!r} gets {share}; move it to other deployments "
            f"first (studio online-endpoint update --name {endpoint_name} --traffic ...), then delete it"
        )
    if name in endpoint.traffic or name in endpoint.mirror_traffic:
        endpoint.traffic = {k: v for k, v in endpoint.traffic.items() if k != name}
        endpoint.mirror_traffic = {k: v for k, v in endpoint.mirror_traffic.items() if k != name}
        session.add(endpoint)
    session.delete(row)
    session.flush()
    log.info(
        "online deployment deleted",
        extra={"action": "deployment_delete", "endpoint": endpoint_name, "deployment": name},
    )


def set_deployment_state(
    *,
    session: Session,
    endpoint_name: str,
    name: str,
    state: str,
    error: str | None = None,
    generation: int | None = None,
) -> bool:
    """The supervisor's report: ``state`` (a ProvisioningState) and, on failure, why. With ``generation``
    the report applies only if the deployment was not updated since (returns False otherwise)."""
    if state not in {s.value for s in ProvisioningState}:
        raise ValidationError(
            f"provisioning state {state!r} is not one of {', '.join(s.value for s in ProvisioningState)}"
        )
    endpoint = session.exec(select(OnlineEndpoint).where(OnlineEndpoint.name == endpoint_name)).first()
    if endpoint is None:
        raise NotFoundError(f"online endpoint {endpoint_name!r} does not exist")
    row = _deployment_row(session, endpoint, name)
    if generation is not None and row.generation != generation:
        return False
    row.provisioning_state = state
    row.error = error
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return True


def endpoint_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name an endpoint (for forms), or None."""
    return name_problem(name, "endpoint")


__all__ = [
    "KEY_TYPES",
    "NAME_RULE",
    "TOKEN_TTL_S",
    "DeploymentPublic",
    "EndpointPublic",
    "OnlineDeploymentSpec",
    "OnlineEndpointSpec",
    "ProvisioningState",
    "create_deployment_from_file",
    "create_endpoint_from_file",
    "create_or_update_deployment",
    "create_or_update_endpoint",
    "delete_deployment",
    "delete_endpoint",
    "endpoint_name_problem",
    "get_deployment",
    "get_endpoint",
    "get_endpoint_by_name",
    "list_all_deployments",
    "list_deployments",
    "list_endpoints",
    "load_deployment_file",
    "load_endpoint_file",
    "parse_endpoint",
    "parse_traffic",
    "scoring_uri",
    "set_deployment_state",
    "update_traffic",
]
