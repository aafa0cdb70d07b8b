"""Data assets: versioned ``uri_file``, ``uri_folder`` and ``mltable`` (SPEC section 4).

A local file or folder is uploaded once, content-addressed, to the default datastore under
``LocalUpload/<hash>/``; a datastore path or a web URL is recorded as it is. Versions are immutable.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Unpack

from pydantic import BaseModel
from sqlmodel import Session, col, select

if TYPE_CHECKING:  # pandas is imported where tables are read: the CLI and the agent start faster without it
    import pandas as pd

    from backend.storage.filesystems import DatastoreFS  # fsspec: imported where files are read or written

from backend.db.models import DataAsset
from backend.errors import ConflictError, NotFoundError, ValidationError
from backend.services import datastores
from backend.services.asset_pages import AssetPage, check_page
from backend.services.assets import (
    AssetCreate,
    AssetSummary,
    MetadataChange,
    check_version,
    next_version,
    pick_version,
    set_archived,
    summarize,
    update_metadata,
    version_sort_key,
)
from backend.services.lookup import get_workspace_row
from backend.settings import get_settings
from backend.specs.data import DataSpec, DataType
from backend.storage import uris

NAME_RULE = "letters, digits, '-', '_' and '.', starting with a letter, digit or '_' (at most 255)"
TABULAR_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": None}
PARQUET_SUFFIXES = {".parquet", ".pq"}
JSON_SUFFIXES = {".jsonl", ".json"}
PROFILE_ROW_LIMIT = 100_000
WEB_TIMEOUT_S = 20


class DataAssetCreate(AssetCreate):
    type: DataType = "uri_folder"


class DataAssetPublic(BaseModel):
    name: str
    version: str
    type: str
    path: str
    source: str
    description: str
    tags: dict[str, str]
    size_bytes: int | None
    archived: bool
    created_at: datetime

    @property
    def reference(self) -> str:
        return f"azureml:{self.name}:{self.version}"


DataAssetSummary = AssetSummary


@dataclass
class TablePreview:
    frame: pd.DataFrame
    source: str  # which file or MLTable was read
    truncated: bool


class ColumnProfile(BaseModel):
    name: str
    dtype: str
    count: int
    missing: int
    distinct: int
    mean: float | None = None
    std: float | None = None
    min: str | None = None
    max: str | None = None
    top: str | None = None


class DataProfile(BaseModel):
    rows: int
    rows_profiled: int
    columns: list[ColumnProfile]


def _public(row: DataAsset) -> DataAssetPublic:
    return DataAssetPublic.model_validate(row, from_attributes=True)


def check_name(name: str) -> str:
    import re

    if not re.match(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$", name or ""):
        raise ValidationError(f"data asset name {name!r} is not valid: use {NAME_RULE}")
    return name


# --- creating -------------------------------------------------------------------------------------------


def content_hash(local: Path) -> str:
    """SHA-256 of a file's bytes, or of a folder's relative paths and bytes (stable across machines)."""
    digest = hashlib.sha256()
    files = [local] if local.is_file() else sorted(p for p in local.rglob("*") if p.is_file())
    for file in files:
        if local.is_dir():
            digest.update(file.relative_to(local).as_posix().encode() + b"\0")
        with open(file, "rb") as handle:
            for block in iter(lambda h=handle: h.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:32]


def upload_local(*, session: Session, workspace: str, local: Path, field: str = "path") -> uris.DatastorePath:
    """Copy a local file or folder into the default datastore, once per content (LocalUpload/<hash>/<name>)."""
    local = Path(local)
    if not local.exists():
        raise ValidationError(f"{field}: local path {str(local)!r} does not exist")
    store_name = datastores.default_datastore_name(session=session, workspace=workspace)
    store = datastores.get_filesystem(session=session, workspace=workspace, name=store_name)
    dest = f"LocalUpload/{content_hash(local)}/{local.name}"
    from backend.services.uploads import put_once

    put_once(session, store, local, dest)
    return uris.DatastorePath(store_name, dest)


def _datastore_location(session: Session, workspace: str, ref: uris.DatastorePath, field: str) -> DatastoreFS:
    try:
        return datastores.get_filesystem(session=session, workspace=workspace, name=ref.datastore)
    except NotFoundError as exc:
        raise ValidationError(f"{field}: {ref.uri!r}: {exc}") from None


def _check_kind(kind: str, is_dir: bool, where: str, field: str) -> None:
    if kind == "uri_file" and is_dir:
        raise ValidationError(
            f"{field}: {where} is a folder, but type uri_file needs a file (use uri_folder)"
        )
    if kind in ("uri_folder", "mltable") and not is_dir:
        raise ValidationError(f"{field}: {where} is a file, but type {kind} needs a folder")


def _resolve_for_create(
    session: Session, workspace: str, data: DataAssetCreate, base_dir: Path | None
) -> tuple[str, int | None]:
    """Validate the path, upload local data, and return (stored path, size in bytes)."""
    field = "path"
    ref = uris.parse_reference(data.path, base_dir=base_dir, field=field)
    if isinstance(ref, uris.LocalPath):
        data.path = str(ref.path.resolve())  # the source, as lineage shows it
        if not ref.path.exists():
            raise ValidationError(f"{field}: local path {str(ref.path)!r} does not exist")
        _check_kind(data.type, ref.path.is_dir(), repr(str(ref.path)), field)
        if data.type == "mltable":
            _check_mltable(ref.path, field)
        ref = upload_local(session=session, workspace=workspace, local=ref.path, field=field)
    if isinstance(ref, uris.DatastorePath):
        store = _datastore_location(session, workspace, ref, field)
        if not store.exists(ref.path):
            raise ValidationError(f"{field}: {ref.uri!r} does not exist on datastore {ref.datastore!r}")
        _check_kind(data.type, store.is_dir(ref.path), repr(ref.uri), field)
        if data.type == "mltable" and not store.exists(f"{ref.path}/MLTable"):
            raise ValidationError(f"{field}: {ref.uri!r} has no MLTable file")
        return ref.uri, store.size(ref.path)
    if isinstance(ref, uris.WebUrl):
        if data.type != "uri_file":
            raise ValidationError(f"{field}: a web URL can only be a uri_file (got type {data.type})")
        return ref.url, _web_size(ref.url, field)
    if isinstance(ref, uris.AssetRef):
        raise ValidationError(f"{field}: {data.path!r} names an asset; a data asset needs a path to data")
    raise ValidationError(
        f"{field}: {data.path!r} cannot be registered here (use a local path, "
        "azureml://datastores/<ds>/paths/<path> or an https:// URL)"
    )


def _check_mltable(folder: Path, field: str) -> None:
    from backend.storage.mltable import load_mltable

    if not (folder / "MLTable").is_file():
        raise ValidationError(f"{field}: {str(folder)!r} has no MLTable file")
    load_mltable(folder)  # parses and validates; errors name the file and the field


def _web_size(url: str, field: str) -> int | None:
    import requests

    try:
        response = requests.head(url, timeout=WEB_TIMEOUT_S, allow_redirects=True)
        if response.status_code == 405:
            response = requests.get(url, timeout=WEB_TIMEOUT_S, stream=True)
            response.close()
    except requests.RequestException as exc:
        raise ValidationError(f"{field}: {url!r} cannot be reached ({type(exc).__name__})") from None
    if not response.ok:
        raise ValidationError(f"{field}: {url!r} answered HTTP {response.status_code}")
    length = response.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


def create_data_asset(
    *,
    session: Session,
    workspace: str,
    data: DataAssetCreate,
    base_dir: Path | None = None,
    source: str | None = None,
) -> DataAssetPublic:
    """Register a new version (explicit, or the next integer); ``source`` says where it came from."""
    ws = get_workspace_row(session=session, name=workspace)
    check_name(data.name)
    existing = session.exec(
        select(DataAsset.version).where(DataAsset.workspace_id == ws.id, DataAsset.name == data.name)
    ).all()
    if data.version is not None:
        version = check_version(data.version)
        if version in existing:
            raise ConflictError(f"data asset {data.name}:{version} already exists (versions are immutable)")
    else:
        version = next_version(existing)
    path, size = _resolve_for_create(session, workspace, data, base_dir)
    row = DataAsset(
        workspace_id=ws.id,
        name=data.name,
        version=version,
        type=data.type,
        path=path,
        source=source or data.path,
        description=data.description,
        tags=dict(data.tags),
        size_bytes=size,
    )
    session.add(row)
    session.flush()
    return _public(row)


def create_data_asset_from_file(
    *, session: Session, workspace: str, file: Path, overrides: list[str] | None = None
) -> DataAssetPublic:
    """Register from the cloud's data YAML; relative paths are relative to the YAML file."""
    from backend.specs import load_spec

    file = Path(file)
    spec = load_spec(DataSpec, file, overrides)
    data = DataAssetCreate(**spec.model_dump(include=set(DataAssetCreate.model_fields)))
    try:
        return create_data_asset(
            session=session, workspace=workspace, data=data, base_dir=file.parent.resolve()
        )
    except ValidationError as exc:
        raise ValidationError(f"{file}: {exc}") from None


# --- reading --------------------------------------------------------------------------------------------


def _rows(session: Session, workspace: str, name: str) -> list[DataAsset]:
    ws = get_workspace_row(session=session, name=workspace)
    rows = session.exec(
        select(DataAsset).where(DataAsset.workspace_id == ws.id, DataAsset.name == name)
    ).all()
    return sorted(rows, key=lambda r: version_sort_key(r.version))


def _get_row(
    session: Session, workspace: str, name: str, version: str | None, label: str | None
) -> DataAsset:
    rows = _rows(session, workspace, name)
    if not rows:
        raise NotFoundError(f"data asset {name!r} does not exist in workspace {workspace!r}")
    return pick_version(
        rows,
        kind="data asset",
        name=name,
        version=version,
        label=label,
        version_of=lambda r: r.version,
        archived=lambda r: r.archived,
    )


def get_data_asset(
    *, session: Session, workspace: str, name: str, version: str | None = None, label: str | None = None
) -> DataAssetPublic:
    """A version; without ``version`` the latest one that is not archived (``@latest``)."""
    return _public(_get_row(session, workspace, name, version, label))


def resolve_asset_reference(*, session: Session, workspace: str, ref: uris.AssetRef) -> DataAssetPublic:
    return get_data_asset(
        session=session, workspace=workspace, name=ref.name, version=ref.version, label=ref.label
    )


def list_data_asset_versions(*, session: Session, workspace: str, name: str) -> list[DataAssetPublic]:
    rows = _rows(session, workspace, name)
    if not rows:
        raise NotFoundError(f"data asset {name!r} does not exist in workspace {workspace!r}")
    return [_public(r) for r in reversed(rows)]


def list_data_assets(
    *, session: Session, workspace: str, include_archived: bool = False
) -> list[DataAssetSummary]:
    """One line per asset name, describing its latest version."""
    ws = get_workspace_row(session=session, name=workspace)
    by_name: dict[str, list[DataAsset]] = {}
    for row in session.exec(select(DataAsset).where(DataAsset.workspace_id == ws.id)).all():
        by_name.setdefault(row.name, []).append(row)
    for rows in by_name.values():
        rows.sort(key=lambda r: version_sort_key(r.version))
    return summarize(
        by_name,
        include_archived=include_archived,
        archived=lambda r: r.archived,
        public=lambda r: r,
        updated=lambda r: r.created_at,
    )


def page_data_assets(
    *,
    session: Session,
    workspace: str,
    search: str | None = None,
    sort: str = "name",
    include_archived: bool = False,
    offset: int = 0,
    limit: int = 50,
) -> AssetPage:
    """One page of ``list_data_assets``, done by the database: names that match ``search`` (in the name or
    a description), sorted by name or by their last update, the page's names' versions, and the total."""
    from sqlalchemy import distinct, func

    check_page(sort, offset, limit)
    ws = get_workspace_row(session=session, name=workspace)
    where = [col(DataAsset.workspace_id) == ws.id]
    if not include_archived:
        where.append(col(DataAsset.archived).is_(False))
    text = (search or "").strip()
    if text:
        where.append(
            col(DataAsset.name).icontains(text, autoescape=True)
            | col(DataAsset.description).icontains(text, autoescape=True)
        )
    total = session.exec(select(func.count(distinct(DataAsset.name))).where(*where)).one()
    updated = func.max(DataAsset.created_at)
    order = (updated.desc(), col(DataAsset.name)) if sort == "updated" else (col(DataAsset.name),)
    names = list(
        session.exec(
            select(DataAsset.name)
            .where(*where)
            .group_by(DataAsset.name)
            .order_by(*order)
            .offset(offset)
            .limit(limit)
        ).all()
    )
    by_name: dict[str, list[DataAsset]] = {n: [] for n in names}
    if names:
        query = select(DataAsset).where(col(DataAsset.workspace_id) == ws.id, col(DataAsset.name).in_(names))
        for row in session.exec(query).all():
            by_name[row.name].append(row)
    for rows in by_name.values():
        rows.sort(key=lambda r: version_sort_key(r.version))
    found = {
        s.name: s
        for s in summarize(
            by_name,
            include_archived=True,  # the query above already left out names with no live version
            archived=lambda r: r.archived,
            public=lambda r: r,
            updated=lambda r: r.created_at,
        )
    }
    return AssetPage(items=[found[n] for n in names], total=int(total), offset=offset, limit=limit)


def update_data_asset(
    *, session: Session, workspace: str, name: str, version: str, **changes: Unpack[MetadataChange]
) -> DataAssetPublic:
    row = _get_row(session, workspace, name, version, None)
    update_metadata(session, row, **changes)
    return _public(row)


def _set_archived(
    session: Session, workspace: str, name: str, version: str | None, archived: bool
) -> list[str]:
    rows = [_get_row(session, workspace, name, version, None)] if version else _rows(session, workspace, name)
    if not rows:
        raise NotFoundError(f"data asset {name!r} does not exist in workspace {workspace!r}")
    return set_archived(session, rows, archived)


def archive_data_asset(
    *, session: Session, workspace: str, name: str, version: str | None = None
) -> list[str]:
    """Archive one version, or every version when none is given; returns the versions archived."""
    return _set_archived(session, workspace, name, version, True)


def restore_data_asset(
    *, session: Session, workspace: str, name: str, version: str | None = None
) -> list[str]:
    return _set_archived(session, workspace, name, version, False)


# --- previews and profiles -------------------------------------------------------------------------------


def _cache_dir(kind: str, key: str) -> Path:
    folder = get_settings().home / "cache" / kind / hashlib.sha256(key.encode()).hexdigest()[:24]
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def local_copy(*, session: Session, workspace: str, uri: str, into: Path | None = None) -> Path:
    """A local path holding the data at ``uri``: the file itself on a local datastore, else a download."""
    ref = uris.parse_reference(uri)
    if isinstance(ref, uris.DatastorePath):
        store = _datastore_location(session, workspace, ref, "path")
        if store.is_local and into is None:
            path = store.local_path(ref.path)
            if not path.exists():
                raise NotFoundError(f"{uri} does not exist")
            return path
        # Asset versions are immutable, so a download made once can be read again.
        target = (into or _cache_dir("datastores", uri)) / (PurePosixPath(ref.path).name or ref.datastore)
        if into is not None or not target.exists():
            store.get(ref.path, target)
        return target
    if isinstance(ref, uris.WebUrl):
        return _download(ref.url, into)
    if isinstance(ref, uris.LocalPath):
        return ref.path
    raise ValidationError(f"{uri!r} cannot be read as local data")


def _download(url: str, into: Path | None) -> Path:
    import requests

    name = PurePosixPath(url.split("?", 1)[0]).name or "download"
    target = (into or _cache_dir("web", url)) / name
    if target.exists() and into is None:
        return target
    try:
        with requests.get(url, timeout=WEB_TIMEOUT_S, stream=True) as response:
            response.raise_for_status()
            tmp = target.with_suffix(target.suffix + ".part")
            with open(tmp, "wb") as handle:
                shutil.copyfileobj(response.raw, handle)
            tmp.replace(target)
    except requests.RequestException as exc:
        raise ValidationError(f"{url!r} cannot be downloaded ({type(exc).__name__})") from None
    return target


def read_table(path: Path, *, rows: int | None = None) -> pd.DataFrame:
    """Read a tabular file (csv, tsv, parquet, json lines) or an MLTable folder."""
    import pandas as pd

    from backend.storage.mltable import read_mltable

    if path.is_dir() or path.name == "MLTable":
        frame = read_mltable(path)
        return frame if rows is None else frame.head(rows)
    suffix = path.suffix.lower()
    try:
        if suffix in TABULAR_SUFFIXES:
            sep = TABULAR_SUFFIXES[suffix]
            return pd.read_csv(path, sep=sep, nrows=rows, engine="python" if sep is None else "c")
        if suffix in PARQUET_SUFFIXES:
            frame = pd.read_parquet(path)
            return frame if rows is None else frame.head(rows)
        if suffix in JSON_SUFFIXES:
            return pd.read_json(path, lines=True, nrows=rows) if rows else pd.read_json(path, lines=True)
    except (ValueError, pd.errors.ParserError, OSError) as exc:
        raise ValidationError(f"{path.name} cannot be read as a table: {str(exc).splitlines()[0]}") from None
    raise ValidationError(
        f"{path.name}: previews read csv, tsv, txt, parquet and json lines files and MLTable folders "
        f"(got {suffix or 'no extension'})"
    )


def _first_table_in(folder: Path) -> Path | None:
    if (folder / "MLTable").is_file():
        return folder
    known = set(TABULAR_SUFFIXES) | PARQUET_SUFFIXES | JSON_SUFFIXES
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        if file.suffix.lower() in known:
            return file
    return None


def preview_data(
    *, session: Session, workspace: str, name: str, version: str | None = None, rows: int | None = 100
) -> TablePreview:
    """The table as Studio reads it: the first ``rows`` rows, or all of it when ``rows`` is None."""
    asset = get_data_asset(session=session, workspace=workspace, name=name, version=version)
    local = local_copy(session=session, workspace=workspace, uri=asset.path)
    target = local
    if asset.type == "uri_folder":
        found = _first_table_in(local)
        if found is None:
            raise ValidationError(f"data asset {name}:{asset.version} holds no tabular file to preview")
        target = found
    frame = read_table(target, rows=None if rows is None else rows + 1)
    truncated = rows is not None and len(frame) > rows
    label = (
        "MLTable" if target.is_dir() else str(target.relative_to(local)) if local.is_dir() else target.name
    )
    return TablePreview(
        frame=frame.head(rows) if rows is not None else frame, source=label, truncated=truncated
    )


def profile_frame(frame: pd.DataFrame, *, total_rows: int | None = None) -> DataProfile:
    import pandas as pd

    columns = []
    for name in frame.columns:
        col = frame[name]
        numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        non_null = col.dropna()
        info = ColumnProfile(
            name=str(name),
            dtype=str(col.dtype),
            count=int(non_null.size),
            missing=int(col.isna().sum()),
            distinct=int(non_null.astype(str).nunique()) if non_null.size else 0,
        )
        if numeric and non_null.size:
            info.mean, info.std = float(non_null.mean()), float(non_null.std()) if non_null.size > 1 else 0.0
            info.min, info.max = str(non_null.min()), str(non_null.max())
        elif non_null.size:
            counts = non_null.astype(str).value_counts()
            info.top = f"{counts.index[0]} ({int(counts.iloc[0])})"
            if pd.api.types.is_datetime64_any_dtype(col):
                info.min, info.max = str(non_null.min()), str(non_null.max())
        columns.append(info)
    return DataProfile(
        rows=total_rows if total_rows is not None else len(frame), rows_profiled=len(frame), columns=columns
    )


def profile_data(
    *, session: Session, workspace: str, name: str, version: str | None = None
) -> tuple[DataProfile, pd.DataFrame]:
    """Column types, missing values and summary statistics of (up to PROFILE_ROW_LIMIT rows of) the table."""
    preview = preview_data(
        session=session, workspace=workspace, name=name, version=version, rows=PROFILE_ROW_LIMIT
    )
    return profile_frame(preview.frame), preview.frame


def create_data_asset_from_upload(
    *, session: Session, workspace: str, files: list[tuple[str, bytes]], data: DataAssetCreate
) -> DataAssetPublic:
    """Register files uploaded through the browser: one file (uri_file) or a folder of them."""
    import tempfile

    if not files:
        raise ValidationError("choose at least one file to upload")
    if data.type == "uri_file" and len(files) != 1:
        raise ValidationError(f"type uri_file takes exactly one file (got {len(files)}); use uri_folder")
    if data.type == "mltable" and not any(PurePosixPath(n).name == "MLTable" for n, _ in files):
        raise ValidationError("type mltable needs an MLTable file among the uploaded files")
    with tempfile.TemporaryDirectory(prefix="studio-upload-") as tmp:
        root = Path(tmp) / data.name
        root.mkdir()
        for name, content in files:
            target = root / PurePosixPath(name).name
            target.write_bytes(content)
        local = root / PurePosixPath(files[0][0]).name if data.type == "uri_file" else root
        payload = data.model_copy(update={"path": str(local)})
        asset = create_data_asset(session=session, workspace=workspace, data=payload)
    row = _get_row(session, workspace, asset.name, asset.version, None)
    row.source = "upload: " + ", ".join(PurePosixPath(n).name for n, _ in files)
    session.add(row)
    session.flush()
    return _public(row)
