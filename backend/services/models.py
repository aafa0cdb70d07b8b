"""Models: MLflow's Model Registry seen through Studio (SPEC section 11, DESIGN "Models are MLflow's registry").

There is no model table: a Studio model version is an MLflow model version, and Studio's own metadata
are tags on it (``studio.type``, ``studio.workspace``, ``studio.job``, ``studio.archived``, ...). So a
model that user code registers with plain MLflow is a Studio model at once (in the default workspace
when untagged; ``mlflow_model`` when its files hold an MLmodel file, else ``custom_model``, recorded as
a tag the first time Studio reads it), and a model Studio registers shows in the MLflow UI.

Files registered from a local path or a job output are uploaded as an MLflow logged model (in the job's
experiment, linked to its run, for a job output); a ``runs:/<run>/<path>`` source is registered as it is.
MLflow numbers a model's versions 1, 2, 3, ...: a version given in YAML must be the next one. MLflow's
model names are one namespace for the whole server, so a name belongs to one workspace.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Unpack

from sqlmodel import Session, select

from backend.db import record_change
from backend.errors import ConflictError, NotFoundError, ValidationError
from backend.identity import require
from backend.services import runs
from backend.services.asset_pages import AssetPage, page_of
from backend.services.assets import MetadataChange, pick_version, summarize
from backend.services.lookup import get_job_row, get_workspace_row
from backend.services.model_registry import (
    ARCHIVED_TAG,
    FLAVORS_TAG,
    JOB_STATES_WITH_OUTPUTS,
    JOB_TAG,
    NAME_RULE,
    OUTPUT_TAG,
    PROPERTIES_TAG,
    SOURCE_TAG,
    STAGE_TAG,
    TAG,
    TYPE_TAG,
    UPLOAD_EXPERIMENT,
    WORKSPACE_TAG,
    ModelCreate,
    ModelPublic,
    ModelSummary,
    download_uri,
    list_artifacts,
    mlflow_errors,
    registry_client,
    search_versions,
    to_public,
    versions_of,
    when,
    workspace_of,
)
from backend.settings import get_settings
from backend.specs.job import MODEL_TYPES, check_tags
from backend.specs.model import ModelSpec
from backend.storage import uris

# --- creating ----------------------------------------------------------------------------------------------


def check_name(name: str) -> str:
    if not re.match(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$", name or ""):
        raise ValidationError(f"name: model name {name!r} is not valid: use {NAME_RULE}")
    return name


RESERVED_TAGS = (TAG, "mlflow.")  # tag name prefixes of Studio's and MLflow's own metadata


def _check_version(name: str, version: str | None, existing: list[Any]) -> str:
    """The version MLflow will give: the next integer; a version given must be that one."""
    highest = max((int(v.version) for v in existing), default=0)
    following = str(highest + 1)
    if version is not None and str(version).strip() != following:
        taken = f"its highest version is {highest}" if existing else "it has no versions yet"
        raise ValidationError(
            f"version: {version!r} cannot be given to model {name!r}: MLflow numbers a model's versions "
            f"1, 2, 3, ... and {taken}, so the only version allowed is {following} (or leave version out)"
        )
    return following


def _check_files(kind: str, local: Path, field: str) -> None:
    if kind == "mlflow_model" and not (local.is_dir() and (local / "MLmodel").is_file()):
        raise ValidationError(
            f"{field}: {str(local)!r} has no MLmodel file, but type mlflow_model needs a folder saved by "
            "MLflow (use custom_model for other files)"
        )
    if kind == "triton_model" and not local.is_dir():
        raise ValidationError(
            f"{field}: {str(local)!r} is a file, but type triton_model needs a model repository folder"
        )


def _upload(
    local: Path, *, name: str, kind: str, experiment_id: str | None = None, run_id: str | None = None
) -> tuple[str, str]:
    """Upload a local file or folder as an MLflow logged model; returns (its artifact location, its id)."""
    import os

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    client = registry_client()
    with mlflow_errors(f"uploading the files of model {name!r}"):
        experiment_id = experiment_id or runs.experiment_id(client, UPLOAD_EXPERIMENT)
        logged = client.create_logged_model(
            experiment_id, name=name, source_run_id=run_id, model_type=kind, tags={TYPE_TAG: kind}
        )
        if local.is_dir():
            client.log_model_artifacts(logged.model_id, str(local))
        else:
            with tempfile.TemporaryDirectory(prefix="studio-model-") as tmp:
                shutil.copy2(local, Path(tmp) / local.name)
                client.log_model_artifacts(logged.model_id, tmp)
        with contextlib.suppress(Exception):
            client.finalize_logged_model(logged.model_id, "READY")
        return logged.artifact_location, logged.model_id


def job_by_run(session: Session, workspace: str, run_id: str) -> Any | None:
    from backend.db.models import Job

    ws = get_workspace_row(session=session, name=workspace)
    return session.exec(select(Job).where(Job.workspace_id == ws.id, Job.mlflow_run_id == run_id)).first()


def _source_files(
    session: Session, workspace: str, data: ModelCreate, base_dir: Path | None
) -> dict[str, Any]:
    """Where the files come from: the version's source, run, tags and (for an upload) the local copy."""
    field = "path"
    ref = uris.parse_reference(data.path, base_dir=base_dir, field=field)
    if isinstance(ref, uris.LocalPath):
        local = ref.path.resolve()
        if not local.exists():
            raise ValidationError(f"{field}: local path {str(ref.path)!r} does not exist")
        _check_files(data.type, local, field)
        return {"local": local, "tags": {SOURCE_TAG: str(local)}}
    if isinstance(ref, uris.RunArtifact):
        return _run_source(session, workspace, data, ref, field)
    if isinstance(ref, uris.JobOutput):
        return _job_output_source(session, workspace, data, ref, field)
    if isinstance(ref, uris.DatastorePath):
        from backend.services.data_assets import local_copy

        try:
            local = local_copy(session=session, workspace=workspace, uri=ref.uri)
        except NotFoundError as exc:
            raise ValidationError(f"{field}: {exc}") from None
        _check_files(data.type, local, field)
        return {"local": local, "tags": {SOURCE_TAG: ref.uri}}
    raise ValidationError(
        f"{field}: {data.path!r} cannot be registered as a model (use a local file or folder, "
        "azureml://jobs/<job>/outputs/<output>, runs:/<run-id>/<path> or azureml://datastores/<ds>/paths/<path>)"
    )


def _run_source(
    session: Session, workspace: str, data: ModelCreate, ref: uris.RunArtifact, field: str
) -> dict[str, Any]:
    from backend.services import runs

    try:
        runs.get_run(run_id=ref.run_id)
    except NotFoundError:
        raise ValidationError(f"{field}: MLflow has no run {ref.run_id!r}") from None
    uri = f"runs:/{ref.run_id}/{ref.path}".rstrip("/")
    entries = list_artifacts(uri) if ref.path else runs.list_artifacts(run_id=ref.run_id)
    if not entries:
        raise ValidationError(f"{field}: run {ref.run_id!r} has no artifacts under {ref.path or '/'!r}")
    if data.type == "mlflow_model" and not any(e.path.rsplit("/", 1)[-1] == "MLmodel" for e in entries):
        raise ValidationError(
            f"{field}: {uri} has no MLmodel file, but type mlflow_model needs a model saved by MLflow "
            "(use custom_model for other files)"
        )
    tags = {SOURCE_TAG: uri}
    job = job_by_run(session, workspace, ref.run_id)
    if job is not None:
        tags[JOB_TAG] = job.name
    return {"source": uri, "run_id": ref.run_id, "tags": tags}


def _job_output_source(
    session: Session, workspace: str, data: ModelCreate, ref: uris.JobOutput, field: str
) -> dict[str, Any]:
    from backend.services.data_assets import local_copy

    try:
        job = get_job_row(session=session, workspace=workspace, name=ref.job)
    except NotFoundError as exc:
        raise ValidationError(f"{field}: {exc}") from None
    outputs = (job.spec or {}).get("outputs") or {}
    if ref.output not in outputs:
        raise ValidationError(
            f"{field}: job {ref.job!r} has no output {ref.output!r} (outputs: {', '.join(outputs) or 'none'})"
        )
    if job.status not in JOB_STATES_WITH_OUTPUTS:
        raise ValidationError(
            f"{field}: job {ref.job!r} is {job.status}; its outputs can be registered once it has completed"
        )
    uri = outputs[ref.output]["uri"].rstrip("/") + (f"/{ref.path}" if ref.path else "")
    try:
        local = local_copy(session=session, workspace=workspace, uri=uri)
    except (NotFoundError, ValidationError) as exc:
        raise ValidationError(f"{field}: output {ref.output!r} of job {ref.job!r}: {exc}") from None
    if not local.exists() or (local.is_dir() and not any(local.iterdir())):
        raise ValidationError(f"{field}: output {ref.output!r} of job {ref.job!r} is empty")
    _check_files(data.type, local, field)
    tags = {
        SOURCE_TAG: f"azureml://jobs/{ref.job}/outputs/{ref.output}"
        + (f"/paths/{ref.path}" if ref.path else ""),
        JOB_TAG: ref.job,
        OUTPUT_TAG: ref.output,
    }
    return {
        "local": local,
        "run_id": job.mlflow_run_id,
        "experiment_id": job.mlflow_experiment_id,
        "tags": tags,
    }


def create_model(
    *, session: Session, workspace: str, data: ModelCreate, base_dir: Path | None = None
) -> ModelPublic:
    """Register a new version from a local file or folder, a job output or an MLflow run."""
    require("model")  # the registry is MLflow's: no database row records this change
    ws = get_workspace_row(session=session, name=workspace)
    check_name(data.name)
    check_tags(data.tags, reserved=RESERVED_TAGS)
    existing = versions_of(data.name)
    owners = {workspace_of(v) for v in existing}
    if existing and workspace not in owners:
        raise ConflictError(
            f"name: model {data.name!r} belongs to workspace {sorted(owners)[0]!r} (MLflow's model names are "
            "one namespace for the whole server); choose another name"
        )
    expected = _check_version(data.name, data.version, existing)
    found = _source_files(session, workspace, data, base_dir)
    client = registry_client()
    with mlflow_errors(f"model {data.name!r}"):
        try:
            client.create_registered_model(data.name, tags={WORKSPACE_TAG: workspace})
        except Exception as exc:
            from mlflow.exceptions import MlflowException

            if not (isinstance(exc, MlflowException) and exc.error_code == "RESOURCE_ALREADY_EXISTS"):
                raise
    source, model_id = found.get("source"), None
    if "local" in found:
        source, model_id = _upload(
            found["local"],
            name=data.name,
            kind=data.type,
            experiment_id=found.get("experiment_id"),
            run_id=found.get("run_id"),
        )
    tags = {**data.tags, **found["tags"], WORKSPACE_TAG: workspace, TYPE_TAG: data.type}
    if data.properties:
        tags[PROPERTIES_TAG] = json.dumps(data.properties, sort_keys=True)
    if data.flavors:
        tags[FLAVORS_TAG] = json.dumps(data.flavors, sort_keys=True, default=str)
    if data.stage:
        tags[STAGE_TAG] = data.stage
    with mlflow_errors(f"model {data.name!r}"):
        mv = client.create_model_version(
            data.name,
            source=source,
            run_id=found.get("run_id") or None,
            tags=tags,
            description=data.description or None,
            model_id=model_id,
        )
    if str(mv.version) != expected:  # another registration took the number meanwhile
        with contextlib.suppress(Exception):
            client.delete_model_version(data.name, mv.version)
        raise ConflictError(
            f"version: model {data.name!r} got a new version while this one was registered; try again"
        )
    record_change(
        session, action="created", kind="model", name=f"{data.name}:{mv.version}", workspace_id=ws.id
    )
    return to_public(mv)


def create_model_from_file(
    *, session: Session, workspace: str, file: Path, overrides: list[str] | None = None
) -> ModelPublic:
    """Register from the cloud's model YAML; relative paths are relative to the YAML file."""
    from backend.specs import load_spec

    file = Path(file)
    spec = load_spec(ModelSpec, file, overrides)
    return create_model_from_spec(
        session=session, workspace=workspace, spec=spec, base_dir=file.parent, source=str(file)
    )


def create_model_from_spec(
    *, session: Session, workspace: str, spec: ModelSpec, base_dir: Path | None = None, source: str = "model"
) -> ModelPublic:
    data = ModelCreate(**spec.model_dump(include=set(ModelCreate.model_fields)))
    try:
        return create_model(
            session=session, workspace=workspace, data=data, base_dir=base_dir.resolve() if base_dir else None
        )
    except ValidationError as exc:
        raise ValidationError(f"{source}: {exc}") from None


def create_model_from_upload(
    *, session: Session, workspace: str, files: list[tuple[str, bytes]], data: ModelCreate
) -> ModelPublic:
    """Register files uploaded through the browser: one file, or a folder of them (``MLmodel`` among them
    for an mlflow_model)."""
    from pathlib import PurePosixPath

    if not files:
        raise ValidationError("files: choose at least one file to upload")
    with tempfile.TemporaryDirectory(prefix="studio-upload-") as tmp:
        root = Path(tmp) / data.name
        root.mkdir()
        for name, content in files:
            (root / PurePosixPath(name).name).write_bytes(content)
        local = (
            root / PurePosixPath(files[0][0]).name
            if len(files) == 1 and data.type == "custom_model"
            else root
        )
        model = create_model(
            session=session, workspace=workspace, data=data.model_copy(update={"path": str(local)})
        )
    uploaded = "upload: " + ", ".join(PurePosixPath(n).name for n, _ in files)
    with mlflow_errors(f"model {model.name}:{model.version}"):
        registry_client().set_model_version_tag(model.name, model.version, SOURCE_TAG, uploaded[:5000])
    return model.model_copy(update={"source": uploaded[:5000]})


def register_job_output(
    *,
    session: Session,
    workspace: str,
    job: str,
    output: str,
    name: str,
    version: str | None = None,
    type: str = "custom_model",
    description: str | None = None,
) -> ModelPublic:
    """Register a job's output as a model version (the Register model button; the agent at completion)."""
    if type not in MODEL_TYPES:
        raise ValidationError(f"type: {type!r} is not a model type (use {', '.join(MODEL_TYPES)})")
    if description is None:
        description = f"Output {output} of job {job}"
    path = f"azureml://jobs/{job}/outputs/{output}"
    data = ModelCreate(name=name, version=version, type=type, path=path, description=description)
    return create_model(session=session, workspace=workspace, data=data)


# --- reading -----------------------------------------------------------------------------------------------


def _in_workspace(session: Session, workspace: str, name: str) -> list[Any]:
    get_workspace_row(session=session, name=workspace)
    versions = [v for v in versions_of(name) if workspace_of(v) == workspace]
    if not versions:
        raise NotFoundError(f"model {name!r} does not exist in workspace {workspace!r}")
    return versions


def find_version(session: Session, workspace: str, name: str, version: str | None, label: str | None) -> Any:
    versions = _in_workspace(session, workspace, name)
    return pick_version(
        versions,
        kind="model",
        name=name,
        version=version,
        label=label,
        version_of=lambda v: str(v.version),
        archived=lambda v: (v.tags or {}).get(ARCHIVED_TAG) == "true",
    )


def get_model(
    *, session: Session, workspace: str, name: str, version: str | None = None, label: str | None = None
) -> ModelPublic:
    """A version; without ``version`` the highest one that is not archived (``@latest``)."""
    return to_public(find_version(session, workspace, name, version, label))


def list_model_versions(*, session: Session, workspace: str, name: str) -> list[ModelPublic]:
    """Every version of one model, newest first (archived ones too)."""
    return [to_public(v) for v in reversed(_in_workspace(session, workspace, name))]


def list_models(*, session: Session, workspace: str, include_archived: bool = False) -> list[ModelSummary]:
    """One line per model name, describing its latest version."""
    get_workspace_row(session=session, name=workspace)
    by_name: dict[str, list[Any]] = {}
    for mv in search_versions():
        if workspace_of(mv) == workspace:
            by_name.setdefault(mv.name, []).append(mv)
    for versions in by_name.values():
        versions.sort(key=lambda v: int(v.version))
    return summarize(
        by_name,
        include_archived=include_archived,
        archived=lambda v: (v.tags or {}).get(ARCHIVED_TAG) == "true",
        public=to_public,
        updated=lambda v: when(v.last_updated_timestamp or v.creation_timestamp),
    )


def page_models(
    *,
    session: Session,
    workspace: str,
    search: str | None = None,
    sort: str = "name",
    include_archived: bool = False,
    offset: int = 0,
    limit: int = 50,
) -> AssetPage:
    """One page of ``list_models`` with the true total: MLflow's registry is the source, read once; the
    search (name or description), the sort and the page are applied here, never by the page."""
    summaries = list_models(session=session, workspace=workspace, include_archived=include_archived)
    return page_of(summaries, search=search, sort=sort, offset=offset, limit=limit)


def update_model(
    *, session: Session, workspace: str, name: str, version: str, **changes: Unpack[MetadataChange]
) -> ModelPublic:
    """Change a version's description and (the user's) tags; the files never change."""
    require("model")  # the registry is MLflow's: no database row records this change
    mv = find_version(session, workspace, name, version, None)
    client = registry_client()
    description, tags = changes.get("description"), changes.get("tags")
    with mlflow_errors(f"model {name}:{version}"):
        if description is not None:
            client.update_model_version(name, mv.version, description=description)
        if tags is not None:
            check_tags(tags, reserved=RESERVED_TAGS)
            for key in mv.tags or {}:
                if not key.startswith((TAG, "mlflow.")) and key not in tags:
                    client.delete_model_version_tag(name, mv.version, key)
            for key, value in tags.items():
                client.set_model_version_tag(name, mv.version, key, value)
        return to_public(client.get_model_version(name, mv.version))


def _set_archived(
    session: Session, workspace: str, name: str, version: str | None, archived: bool
) -> list[str]:
    require("model")  # the registry is MLflow's: no database row records this change
    versions = (
        [find_version(session, workspace, name, version, None)]
        if version
        else _in_workspace(session, workspace, name)
    )
    client = registry_client()
    with mlflow_errors(f"model {name!r}"):
        for mv in versions:
            if archived:
                client.set_model_version_tag(name, mv.version, ARCHIVED_TAG, "true")
            elif (mv.tags or {}).get(ARCHIVED_TAG):
                client.delete_model_version_tag(name, mv.version, ARCHIVED_TAG)
    return [str(mv.version) for mv in versions]


def archive_model(*, session: Session, workspace: str, name: str, version: str | None = None) -> list[str]:
    """Archive one version, or every version when none is given; returns the versions archived."""
    return _set_archived(session, workspace, name, version, True)


def restore_model(*, session: Session, workspace: str, name: str, version: str | None = None) -> list[str]:
    return _set_archived(session, workspace, name, version, False)


# --- files -------------------------------------------------------------------------------------------------


def _fetch(mv: Any, target: Path) -> None:
    """Download a version's files into the folder ``target`` (created; its content is the model's)."""
    import os

    import mlflow.artifacts

    from backend.services.runs import tracking_uri

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = download_uri(mv)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="studio-model-", dir=target.parent) as tmp:
        with mlflow_errors(f"downloading model {mv.name}:{mv.version}"):
            got = Path(
                mlflow.artifacts.download_artifacts(
                    artifact_uri=uri, dst_path=tmp, tracking_uri=tracking_uri()
                )
            )
        staged = Path(tmp) / "staged"
        if got.is_dir():
            got.rename(staged)
        else:
            staged.mkdir()
            got.rename(staged / got.name)
        if target.exists():
            shutil.rmtree(target)
        staged.rename(target)


def local_files(mv: Any) -> Path:
    """A local folder with the version's files, downloaded once (versions are immutable)."""
    key = hashlib.sha256(f"{mv.name}\0{mv.version}\0{mv.source}".encode()).hexdigest()[:24]
    folder = get_settings().home / "cache" / "models" / key
    if not folder.is_dir():
        _fetch(mv, folder)
    return folder


def download_model(
    *,
    session: Session,
    workspace: str,
    name: str,
    version: str | None = None,
    label: str | None = None,
    download_path: Path = Path("."),
) -> Path:
    """Download a version's files to ``download_path/<name>/`` (as the cloud's CLI does); returns that folder."""
    mv = find_version(session, workspace, name, version, label)
    target = Path(download_path).expanduser().resolve() / name
    if target.exists() and any(target.iterdir()):
        raise ConflictError(f"download-path: {str(target)!r} exists and is not empty; choose another path")
    _fetch(mv, target)
    return target


def resolve_model_reference(*, session: Session, workspace: str, reference: str) -> ModelPublic:
    """``azureml:<name>:<version>``, ``<name>:<version>`` or ``<name>@latest`` as a model with
    ``local_path``: a local folder holding its files (downloaded once, kept under STUDIO_HOME/cache)."""
    ref = uris.parse_reference(reference, field="model")
    if not isinstance(ref, uris.AssetRef):
        raise ValidationError(
            f"model: {reference!r} is not a model reference (use azureml:<name>:<version> or <name>@latest)"
        )
    mv = find_version(session, workspace, ref.name, ref.version, ref.label)
    model = to_public(mv)
    model.local_path = str(local_files(mv))
    return model


def check_reference(session: Session, workspace: str, reference: str, where: str) -> None:
    """A workspace model reference (``azureml:name:version``, ``name@latest``) names a registered version;
    a registry URI is taken as given. ``where`` begins the message (file and field)."""
    ref = uris.parse_reference(reference, field="model")
    if not isinstance(ref, uris.AssetRef):
        return
    try:
        find_version(session, workspace, ref.name, ref.version, ref.label)
    except NotFoundError as exc:
        raise ValidationError(f"{where}: {exc}") from None
