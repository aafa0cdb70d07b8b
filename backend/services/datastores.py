"""Datastores: named connections to storage. Four built-ins per workspace, plus user ones.

User datastores are ``local`` folders, ``azure_blob`` containers and ``azure_data_lake_gen2`` file
systems. Their credential is stored encrypted (``backend.storage.secrets``); services only ever say
whether one is set (``secret_set``), never what it is.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlmodel import Session, select

from backend.db.models import DataAsset, Datastore, Workspace, utcnow
from backend.errors import ConflictError, NotFoundError, ValidationError
from backend.identity import require
from backend.services.assets import update_metadata
from backend.specs import parse_spec
from backend.specs.datastore import (
    AZURE_TYPES,
    CREDENTIAL_KINDS,
    DATASTORE_TYPES,
    NAME_RULE,
    AzureBlobDatastoreSpec,
    AzureDataLakeGen2DatastoreSpec,
    DatastoreCredentials,
    DatastoreSpec,
    LocalDatastoreSpec,
    account_problem,
    container_problem,
    endpoint_problem,
    load_datastore,
    name_problem,
    parse_datastore,
    parse_datastore_text,
)
from backend.specs.job import check_tags

if TYPE_CHECKING:
    import pandas as pd

    from backend.storage.filesystems import DatastoreFS

__all__ = [
    "AZURE_TYPES",
    "BUILTIN_DATASTORES",
    "CREDENTIAL_KINDS",
    "DATASTORE_TYPES",
    "DEFAULT_DATASTORE",
    "NAME_RULE",
    "AzureBlobDatastoreSpec",
    "AzureDataLakeGen2DatastoreSpec",
    "DatastoreCredentials",
    "DatastorePublic",
    "DatastoreSpec",
    "DatastoreUpdate",
    "FileInfo",
    "FileListing",
    "LocalDatastoreSpec",
    "account_problem",
    "builtin_folder",
    "container_problem",
    "create_builtin_datastores",
    "create_datastore",
    "default_datastore_name",
    "delete_datastore",
    "delete_file",
    "delete_refusal",
    "download",
    "endpoint_problem",
    "get_datastore",
    "get_datastore_row",
    "get_filesystem",
    "list_datastores",
    "list_files",
    "load_datastore",
    "name_problem",
    "parse_credentials",
    "parse_datastore",
    "parse_datastore_text",
    "preview_file",
    "public",
    "read_bytes",
    "referencing_assets",
    "resolve_uri",
    "set_default_datastore",
    "update_datastore",
    "upload",
    "upload_bytes",
]

BUILTIN_DATASTORES: dict[str, str] = {
    "workspaceblobstore": "default datastore: uploads, data assets and job outputs",
    "workspaceartifactstore": "job logs, code snapshots, MLflow artifacts",
    "workspaceworkingdirectory": "your notebooks and files",
    "workspacefilestore": "a general file share",
}
DEFAULT_DATASTORE = "workspaceblobstore"
LIST_LIMIT = 1000  # entries a folder listing returns; the rest are counted, not listed
PREVIEW_ROWS = 100
READ_LIMIT_BYTES = 200 * 1024 * 1024  # what read_bytes hands to a page for a download


class DatastorePublic(BaseModel):
    name: str
    type: str
    description: str
    tags: dict[str, str]
    is_default: bool
    built_in: bool
    config: dict[str, Any]
    credential_type: str
    secret_set: bool
    created_at: datetime


def builtin_folder(workspace_name: str, datastore_name: str) -> Path:
    from backend.services.lookup import workspace_root

    return workspace_root(workspace_name) / "datastores" / datastore_name


class DatastoreUpdate(BaseModel):
    """What can change: description, tags and (for cloud datastores) the credential.

    ``credentials`` replaces the stored credential; an empty ``DatastoreCredentials()`` means anonymous.
    """

    description: str | None = None
    tags: dict[str, str] | None = None
    credentials: DatastoreCredentials | None = None


class FileInfo(BaseModel):
    name: str
    path: str  # relative to the datastore root
    is_dir: bool
    size: int | None
    modified: datetime | None


class FileListing(BaseModel):
    datastore: str
    path: str
    entries: list[FileInfo]
    total: int  # entries in the folder; more than ``len(entries)`` when the listing was capped

    @property
    def truncated(self) -> bool:
        return self.total > len(self.entries)


def public(row: Datastore, workspace_name: str) -> DatastorePublic:
    config = dict(row.config or {})
    if row.built_in and row.type == "local":
        config["path"] = str(builtin_folder(workspace_name, row.name))
    elif row.type in AZURE_TYPES and config.get("account_name"):
        from backend.storage.filesystems import account_url, container_of

        prefix = f"/{config['root_prefix']}" if config.get("root_prefix") else ""
        config["url"] = f"{account_url(config)}/{container_of(config)}{prefix}"
    return DatastorePublic(
        name=row.name,
        type=row.type,
        description=row.description,
        tags=dict(row.tags or {}),
        is_default=row.is_default,
        built_in=row.built_in,
        config=config,
        credential_type=row.credential_type,
        secret_set=row.secret is not None,
        created_at=row.created_at,
    )


def create_builtin_datastores(*, session: Session, workspace: Workspace) -> None:
    """The four built-ins: local folders, or folders of the shared storage when the studio has one
    (``backend.storage.shared``: agents and workers on other machines then see the same files)."""
    from backend.storage import shared

    storage = shared.configured()
    for name, description in BUILTIN_DATASTORES.items():
        if storage is None:
            builtin_folder(workspace.name, name).mkdir(parents=True, exist_ok=True)
        session.add(
            Datastore(
                workspace_id=workspace.id,
                name=name,
                type="local" if storage is None else "azure_blob",
                config={}
                if storage is None
                else storage.datastore_config("workspaces", workspace.name, name),
                credential_type="none" if storage is None else "account_key",
                description=description,
                built_in=True,
                is_default=name == DEFAULT_DATASTORE,
            )
        )
    session.flush()


def list_datastores(*, session: Session, workspace: str) -> list[DatastorePublic]:
    from backend.services.lookup import get_workspace_row

    ws = get_workspace_row(session=session, name=workspace)
    rows = session.exec(
        select(Datastore).where(Datastore.workspace_id == ws.id).order_by(Datastore.name)
    ).all()
    return [public(r, ws.name) for r in rows]


def get_datastore_row(*, session: Session, workspace: str, name: str) -> tuple[Workspace, Datastore]:
    from backend.errors import NotFoundError
    from backend.services.lookup import get_workspace_row

    ws = get_workspace_row(session=session, name=workspace)
    row = session.exec(
        select(Datastore).where(Datastore.workspace_id == ws.id, Datastore.name == name)
    ).first()
    if row is None:
        known = ", ".join(
            session.exec(
                select(Datastore.name).where(Datastore.workspace_id == ws.id).order_by(Datastore.name)
            )
        )
        raise NotFoundError(
            f"datastore {name!r} does not exist in workspace {workspace!r} (datastores: {known})"
        )
    return ws, row


def get_datastore(*, session: Session, workspace: str, name: str) -> DatastorePublic:
    ws, row = get_datastore_row(session=session, workspace=workspace, name=name)
    return public(row, ws.name)


def default_datastore_name(*, session: Session, workspace: str) -> str:
    from backend.services.lookup import get_workspace_row

    ws = get_workspace_row(session=session, name=workspace)
    row = session.exec(select(Datastore).where(Datastore.workspace_id == ws.id, Datastore.is_default)).first()
    return row.name if row else DEFAULT_DATASTORE


def get_filesystem(*, session: Session, workspace: str, name: str):
    """The datastore as a ``DatastoreFS`` (paths relative to its root)."""
    from backend.storage import filesystems

    ws, row = get_datastore_row(session=session, workspace=workspace, name=name)
    if row.built_in and row.type == "local":
        return filesystems.local_datastore(row.name, builtin_folder(ws.name, row.name))
    if (row.config or {}).get("shared"):  # a built-in on the shared storage: its key is the studio's
        from backend.storage import shared

        storage = shared.configured()
        if storage is None:
            raise ValidationError(
                f"datastore {name!r} is on the studio's shared storage, but STUDIO_STORAGE_URL is not set "
                "for this process"
            )
        return filesystems.azure_datastore(row.name, dict(row.config), {"account_key": storage.key})
    return filesystems.for_datastore(row)


def parse_credentials(fields: dict[str, str], *, source: str = "credential") -> DatastoreCredentials:
    """A credential from form or command-line fields (no fields: anonymous access)."""
    return parse_spec(DatastoreCredentials, {k: v for k, v in fields.items() if v}, source=source)


def _encrypted(credentials: DatastoreCredentials | None) -> str | None:
    from backend.storage.secrets import encrypt

    plain = credentials.plain() if credentials else {}
    return encrypt(json.dumps(plain)) if plain else None


def _azure_config(spec: AzureBlobDatastoreSpec | AzureDataLakeGen2DatastoreSpec) -> dict[str, Any]:
    config: dict[str, Any] = {"account_name": spec.account_name}
    if isinstance(spec, AzureBlobDatastoreSpec):
        config["container_name"] = spec.container_name
    else:
        config["filesystem"] = spec.filesystem
    config["endpoint"] = spec.endpoint
    config["protocol"] = spec.protocol
    return config


def _local_folder(name: str, path: str) -> Path:
    """A local datastore names a folder that exists: a typo must not quietly make an empty one."""
    folder = Path(path)
    if not folder.exists():
        raise ValidationError(
            f"datastore {name!r}: path {folder} does not exist; create the folder first, or give an existing one"
        )
    if not folder.is_dir():
        raise ValidationError(f"datastore {name!r}: path {folder} is a file; give a folder")
    return folder


def create_datastore(*, session: Session, workspace: str, spec: DatastoreSpec) -> DatastorePublic:
    """Register a datastore after checking that it answers; on any failure nothing is created."""
    require("datastore")  # before any storage is probed
    from backend.services.lookup import get_workspace_row
    from backend.storage import filesystems

    ws = get_workspace_row(session=session, name=workspace)
    if problem := name_problem(spec.name):
        raise ValidationError(problem)
    check_tags(spec.tags)
    taken = session.exec(
        select(Datastore).where(Datastore.workspace_id == ws.id, Datastore.name == spec.name)
    )
    if taken.first():
        raise ConflictError(f"datastore {spec.name!r} already exists in workspace {workspace!r}")
    if isinstance(spec, LocalDatastoreSpec):
        folder = _local_folder(spec.name, spec.path)
        config: dict[str, Any] = {"path": str(folder)}
        credential_type, secret = "none", None
        filesystems.check_connection(filesystems.local_datastore(spec.name, folder))
    else:
        config = _azure_config(spec)
        credential_type = spec.credential_kind
        plain = spec.credentials.plain() if spec.credentials else {}
        filesystems.check_connection(filesystems.azure_datastore(spec.name, config, plain))
        secret = _encrypted(spec.credentials)
    row = Datastore(
        workspace_id=ws.id,
        name=spec.name,
        type=spec.type,
        description=spec.description,
        tags=dict(spec.tags),
        config=config,
        credential_type=credential_type,
        secret=secret,
    )
    session.add(row)
    session.flush()
    return public(row, ws.name)


def update_datastore(
    *, session: Session, workspace: str, name: str, data: DatastoreUpdate
) -> DatastorePublic:
    """Change the description or tags, or replace the credential (checked before it is stored)."""
    from backend.storage import filesystems

    ws, row = get_datastore_row(session=session, workspace=workspace, name=name)
    if data.credentials is not None:
        if row.type not in AZURE_TYPES:
            raise ValidationError(f"datastore {name!r} is a {row.type} folder and takes no credential")
        plain = data.credentials.plain()
        filesystems.check_connection(filesystems.azure_datastore(row.name, dict(row.config), plain))
        row.secret = _encrypted(data.credentials)
        row.credential_type = data.credentials.kind
    update_metadata(session, row, description=data.description, tags=data.tags)
    return public(row, ws.name)


def set_default_datastore(*, session: Session, workspace: str, name: str) -> DatastorePublic:
    """Make ``name`` the workspace's one default datastore."""
    ws, row = get_datastore_row(session=session, workspace=workspace, name=name)
    for other in session.exec(select(Datastore).where(Datastore.workspace_id == ws.id, Datastore.is_default)):
        if other.id != row.id:
            other.is_default = False
            other.updated_at = utcnow()
            session.add(other)
    session.flush()  # clear the old default before marking the new one
    row.is_default = True
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return public(row, ws.name)


def referencing_assets(*, session: Session, workspace_id: int, name: str) -> list[str]:
    """``name:version`` of the data assets whose path is on datastore ``name``."""
    rows = session.exec(
        select(DataAsset.name, DataAsset.version)
        .where(
            DataAsset.workspace_id == workspace_id,
            DataAsset.path.contains(f"/datastores/{name}/", autoescape=True),  # type: ignore[union-attr]
        )
        .order_by(DataAsset.name, DataAsset.version)
    ).all()
    return [f"{n}:{v}" for n, v in rows]


def delete_refusal(*, session: Session, workspace: str, name: str) -> str | None:
    """Why ``name`` cannot be deleted now, or None when it can."""
    ws, row = get_datastore_row(session=session, workspace=workspace, name=name)
    if row.built_in:
        return f"datastore {name!r} is built in and cannot be deleted"
    if row.is_default:
        return f"datastore {name!r} is the default datastore; make another datastore the default first"
    assets = referencing_assets(session=session, workspace_id=ws.id, name=name)
    if assets:
        shown = ", ".join(assets[:5]) + (f" and {len(assets) - 5} more" if len(assets) > 5 else "")
        return f"datastore {name!r} is used by data assets ({shown}); delete or archive them first"
    return None


def delete_datastore(*, session: Session, workspace: str, name: str) -> None:
    """Unregister a user datastore. Its files stay where they are."""
    reason = delete_refusal(session=session, workspace=workspace, name=name)
    if reason:
        raise ConflictError(reason)
    _, row = get_datastore_row(session=session, workspace=workspace, name=name)
    session.delete(row)
    session.flush()


def _info(entry) -> FileInfo:
    return FileInfo(
        name=entry.name, path=entry.path, is_dir=entry.is_dir, size=entry.size, modified=entry.modified
    )


def list_files(
    *, session: Session, workspace: str, name: str, path: str = "", limit: int = LIST_LIMIT
) -> FileListing:
    """A folder's entries (folders first), at most ``limit`` of them; ``total`` counts them all."""
    from backend.storage.filesystems import clean_relative

    store = get_filesystem(session=session, workspace=workspace, name=name)
    rel = clean_relative(path)
    if rel and store.exists(rel) and not store.is_dir(rel):
        raise ValidationError(f"{rel} on datastore {name!r} is a file, not a folder")
    entries = store.ls(rel)
    return FileListing(
        datastore=name, path=rel, entries=[_info(e) for e in entries[:limit]], total=len(entries)
    )


def _destination(store: DatastoreFS, src: Path, dest: str) -> str:
    from backend.storage.filesystems import clean_relative

    rel = clean_relative(dest)
    if src.is_file() and (not rel or dest.endswith("/") or store.is_dir(rel)):
        return f"{rel}/{src.name}" if rel else src.name
    return rel


def upload(*, session: Session, workspace: str, name: str, src: str | Path, dest: str = "") -> list[str]:
    """Copy a local file or folder to ``dest`` on a datastore; the datastore paths written.

    A file goes to ``dest`` (or into it, when ``dest`` is a folder or ends with '/'); a folder's
    contents go under ``dest``.
    """
    src = Path(src).expanduser()
    if not src.exists():
        raise NotFoundError(f"{src} does not exist")
    store = get_filesystem(session=session, workspace=workspace, name=name)
    target = _destination(store, src, dest)
    if src.is_dir():
        files = sorted(p.relative_to(src).as_posix() for p in src.rglob("*") if p.is_file())
        written = [f"{target}/{f}" if target else f for f in files]
    else:
        if not target:
            raise ValidationError("give a destination path for the file")
        written = [target]
    store.put(src, target)
    return written


def upload_bytes(*, session: Session, workspace: str, name: str, path: str, data: bytes) -> FileInfo:
    """Write ``data`` as the file ``path`` on a datastore (a browser upload)."""
    from backend.storage.filesystems import clean_relative

    rel = clean_relative(path)
    if not rel:
        raise ValidationError("give the file a name")
    store = get_filesystem(session=session, workspace=workspace, name=name)
    if store.exists(rel) and store.is_dir(rel):
        raise ConflictError(f"{rel} is a folder on datastore {name!r}")
    with store.errors(f"writing {rel}"), store.open(rel, "wb") as handle:
        handle.write(data)
    return FileInfo(name=Path(rel).name, path=rel, is_dir=False, size=len(data), modified=utcnow())


def download(*, session: Session, workspace: str, name: str, src: str, dest: str | Path) -> Path:
    """Copy a file or folder from a datastore to a local path; into ``dest`` when it is a folder."""
    from backend.storage.filesystems import clean_relative

    store = get_filesystem(session=session, workspace=workspace, name=name)
    rel = clean_relative(src)
    if not store.exists(rel):
        raise NotFoundError(f"{rel or '/'} does not exist on datastore {name!r}")
    dest = Path(dest).expanduser()
    if not store.is_dir(rel) and dest.is_dir():
        dest = dest / Path(rel).name
    store.get(rel, dest)
    return dest


def read_bytes(
    *, session: Session, workspace: str, name: str, path: str, max_bytes: int = READ_LIMIT_BYTES
) -> bytes:
    """A file's content (for a browser download); larger files than ``max_bytes`` are refused."""
    from backend.storage.filesystems import clean_relative

    store = get_filesystem(session=session, workspace=workspace, name=name)
    rel = clean_relative(path)
    if not rel or not store.exists(rel) or store.is_dir(rel):
        raise NotFoundError(f"file {rel or '/'} does not exist on datastore {name!r}")
    size = store.size(rel)
    if size > max_bytes:
        raise ValidationError(
            f"{rel} is {size / 1e6:.0f} MB, more than the {max_bytes / 1e6:.0f} MB a page downloads; "
            f"use `studio datastore download --name {name} --src {rel} --dest .`"
        )
    with store.errors(f"reading {rel}"), store.open(rel, "rb") as handle:
        return handle.read()


def preview_file(
    *, session: Session, workspace: str, name: str, path: str, rows: int = PREVIEW_ROWS
) -> pd.DataFrame:
    """The first ``rows`` rows of a csv, tsv, parquet or json-lines file on a datastore."""
    from backend.storage.filesystems import clean_relative, read_table_head

    store = get_filesystem(session=session, workspace=workspace, name=name)
    return read_table_head(store, clean_relative(path), rows)


def delete_file(*, session: Session, workspace: str, name: str, path: str) -> None:
    """Delete a file or folder (with its contents) on a datastore."""
    from backend.storage.filesystems import clean_relative

    rel = clean_relative(path)
    if not rel:
        raise ValidationError(f"give a path to delete; the root of datastore {name!r} cannot be deleted")
    store = get_filesystem(session=session, workspace=workspace, name=name)
    if not store.exists(rel):
        raise NotFoundError(f"{rel} does not exist on datastore {name!r}")
    store.delete(rel)


def resolve_uri(*, session: Session, workspace: str, uri: str) -> tuple[DatastoreFS, str]:
    """The datastore and datastore-relative path of ``azureml://datastores/<ds>/paths/<path>``."""
    from backend.storage.filesystems import clean_relative
    from backend.storage.uris import DatastorePath, parse_reference

    ref = parse_reference(uri, field="uri")
    if not isinstance(ref, DatastorePath):
        raise ValidationError(
            f"{uri!r} is not a datastore path: use azureml://datastores/<datastore>/paths/<path>"
        )
    store = get_filesystem(session=session, workspace=workspace, name=ref.datastore)
    return store, clean_relative(ref.path)
