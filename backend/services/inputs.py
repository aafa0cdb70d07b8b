"""Job inputs: literals, or data/model references resolved to a storage URI at submission.

A command job's data must be there when it is submitted. A pipeline step's may be written by an earlier
step, so a pipeline resolves its references at submission without asking whether the data exists
(``check_exists=False``), and each step asks ``check_data_available`` when it starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import Session

from backend.errors import NotFoundError, ValidationError
from backend.specs.job import DATA_TYPES, MODEL_TYPES, InputSpec
from backend.storage import uris

LITERAL_TYPES = ("string", "integer", "number", "boolean")


def literal(value: Any) -> dict[str, Any]:
    return {"kind": "literal", "value": value}


def resolve_input(
    *, session: Session, workspace: str, name: str, value: Any, base_dir: Path | None
) -> dict[str, Any] | None:
    """A resolved input: ``{"kind": "literal", "value": v}`` or ``{"kind": "data", "type", "uri", "mode",
    "asset"}``; ``None`` for an optional input that was not given."""
    field = f"inputs.{name}"
    if value is None:
        return None
    if not isinstance(value, InputSpec):
        return literal(value)
    if value.type in LITERAL_TYPES:
        given = value.value if value.value is not None else value.default
        if given is None and value.optional:
            return None
        if given is None:
            raise ValidationError(f"{field}: a value is required")
        return literal(given)
    if value.path is None:
        if value.optional:
            return None
        raise ValidationError(f"{field}.path: a path is required for a {value.type} input")
    mode = value.mode or "ro_mount"
    if mode.startswith("eval_"):
        mode = mode.removeprefix("eval_").replace("mount", "ro_mount")
    resolved = resolve_data_reference(
        session=session,
        workspace=workspace,
        path=value.path,
        kind=value.type,
        base_dir=base_dir,
        field=f"{field}.path",
    )
    return {"kind": "data", "type": value.type, "mode": mode, **resolved}


def resolve_data_reference(
    *,
    session: Session,
    workspace: str,
    path: str,
    kind: str,
    base_dir: Path | None,
    field: str,
    check_exists: bool = True,
) -> dict[str, Any]:
    """Where the data of an input lives: ``{"uri", "asset"}``; local data is uploaded (content-addressed).

    The reference's form, a registered asset, a local path and the datastore are always checked; with
    ``check_exists=False`` a datastore path is not asked for (a pipeline step checks it when it starts)."""
    from backend.services import data_assets, datastores

    ref = uris.parse_reference(path, base_dir=base_dir, field=field)
    asset = None
    if isinstance(ref, uris.AssetRef):
        if kind in MODEL_TYPES:  # a registered model: its files, uploaded once (content-addressed)
            from backend.services import models

            try:
                model = models.resolve_model_reference(session=session, workspace=workspace, reference=path)
            except NotFoundError as exc:
                raise ValidationError(f"{field}: {path!r}: {exc}") from None
            ref = uris.LocalPath(Path(model.local_path))
            upload = data_assets.upload_local(
                session=session, workspace=workspace, local=ref.path, field=field
            )
            return {"uri": upload.uri, "asset": f"{model.name}:{model.version}"}
        try:
            found = data_assets.resolve_asset_reference(session=session, workspace=workspace, ref=ref)
        except NotFoundError as exc:
            raise ValidationError(f"{field}: {path!r}: {exc}") from None
        if kind in DATA_TYPES and found.type != kind:
            raise ValidationError(
                f"{field}: {path!r} is a {found.type} asset, but the input is declared {kind}"
            )
        asset = f"{found.name}:{found.version}"
        ref = uris.parse_reference(found.path, field=field)
    if isinstance(ref, uris.LocalPath):
        if not ref.path.exists():
            raise ValidationError(f"{field}: local path {str(ref.path)!r} does not exist")
        _check_kind(kind, ref.path.is_dir(), repr(str(ref.path)), field)
        ref = data_assets.upload_local(session=session, workspace=workspace, local=ref.path, field=field)
    if isinstance(ref, uris.DatastorePath):
        try:
            store = datastores.get_filesystem(session=session, workspace=workspace, name=ref.datastore)
        except NotFoundError as exc:
            raise ValidationError(f"{field}: {path!r}: {exc}") from None
        if not check_exists:
            return {"uri": ref.uri, "asset": asset}
        if not store.exists(ref.path):
            raise ValidationError(f"{field}: {ref.uri!r} does not exist on datastore {ref.datastore!r}")
        _check_kind(kind, store.is_dir(ref.path), repr(ref.uri), field)
        return {"uri": ref.uri, "asset": asset}
    if isinstance(ref, uris.JobOutput):
        return {"uri": _job_output_uri(session, workspace, ref, field), "asset": asset}
    if isinstance(ref, uris.WebUrl | uris.RunArtifact | uris.FsspecUrl):
        return {"uri": getattr(ref, "url", None) or f"runs:/{ref.run_id}/{ref.path}", "asset": asset}
    raise ValidationError(f"{field}: {path!r} cannot be used as input data")


def check_data_available(*, workspace: str, uri: str, kind: str, field: str) -> None:
    """The data at ``uri`` is there now, a file or a folder as ``kind`` says (a pipeline step's start).

    Only datastore paths are asked: other references were checked (or uploaded) at submission, or are
    read by the job itself. The datastore is looked up in a session of its own, closed before storage is
    asked, so no database transaction waits on the storage (which may be a remote service)."""
    from backend.db import session_scope
    from backend.services import datastores

    ref = uris.parse_reference(uri, field=field)
    if not isinstance(ref, uris.DatastorePath):
        return
    with session_scope() as session:
        try:
            store = datastores.get_filesystem(session=session, workspace=workspace, name=ref.datastore)
        except NotFoundError as exc:
            raise ValidationError(f"{field}: {uri!r}: {exc}") from None
    if not store.exists(ref.path):
        raise ValidationError(f"{field}: {ref.uri} does not exist on datastore {ref.datastore!r}")
    _check_kind(kind, store.is_dir(ref.path), ref.uri, field)


def _check_kind(kind: str, is_dir: bool, where: str, field: str) -> None:
    if kind == "uri_file" and is_dir:
        raise ValidationError(f"{field}: {where} is a folder, but the input is declared uri_file")
    if kind in ("uri_folder", "mltable") and not is_dir:
        raise ValidationError(f"{field}: {where} is a file, but the input is declared {kind}")


def _job_output_uri(session: Session, workspace: str, ref: uris.JobOutput, field: str) -> str:
    from backend.services.lookup import get_job_row

    try:
        outputs = (get_job_row(session=session, workspace=workspace, name=ref.job).spec or {}).get(
            "outputs", {}
        )
    except NotFoundError as exc:
        raise ValidationError(f"{field}: {exc}") from None
    output = outputs.get(ref.output)
    if output is None:
        raise ValidationError(
            f"{field}: job {ref.job!r} has no output {ref.output!r} (outputs: {', '.join(outputs) or 'none'})"
        )
    base = output["uri"].rstrip("/")
    return f"{base}/{ref.path}" if ref.path else output["uri"]
