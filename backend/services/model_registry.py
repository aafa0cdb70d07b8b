"""Models in MLflow's registry: the tags Studio keeps on a model version, and reading versions back as
Studio's models (the leaf that ``models`` and ``model_cards`` share)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from backend.errors import ConflictError, NotFoundError, StudioError, UnavailableError, ValidationError
from backend.services.assets import AssetCreate, AssetSummary
from backend.services.lookup import DEFAULT_WORKSPACE
from backend.specs.job import MODEL_TYPES
from backend.specs.model import ModelType

TAG = "studio."
TYPE_TAG = "studio.type"
WORKSPACE_TAG = "studio.workspace"
JOB_TAG = "studio.job"
OUTPUT_TAG = "studio.output"
SOURCE_TAG = "studio.source"
ARCHIVED_TAG = "studio.archived"
PROPERTIES_TAG = "studio.properties"
FLAVORS_TAG = "studio.flavors"
STAGE_TAG = "studio.stage"
UPLOAD_EXPERIMENT = "studio-models"  # where files registered from a local path are logged
NAME_RULE = "letters, digits, '-', '_' and '.', starting with a letter, digit or '_' (at most 255)"
SEARCH_PAGE = 1000  # model versions per search request
INPUT_EXAMPLE_LIMIT = 256 * 1024  # bytes of an input example a model card shows
JOB_STATES_WITH_OUTPUTS = ("Completed", "Finalizing")  # Finalizing: the agent registers outputs then


class ModelCreate(AssetCreate):
    type: ModelType = "custom_model"
    properties: dict[str, str] = Field(default_factory=dict)
    flavors: dict[str, Any] | None = None
    stage: str | None = None


class ModelPublic(BaseModel):
    name: str
    version: str
    type: str
    workspace: str
    path: str  # where MLflow keeps the files (the version's source)
    source: str  # what it was registered from: a local path, a job output, a run, or "mlflow"
    description: str
    tags: dict[str, str]  # the user's tags (Studio's own are the fields here)
    properties: dict[str, str]
    flavors: dict[str, Any] | None
    stage: str | None
    job: str | None  # the job that produced it
    output: str | None  # the job output it came from
    run_id: str | None  # the MLflow run that produced it
    archived: bool
    created_at: datetime
    local_path: str | None = None  # set by resolve_model_reference: a local folder holding the files

    @property
    def reference(self) -> str:
        return f"azureml:{self.name}:{self.version}"


ModelSummary = AssetSummary


class ModelFile(BaseModel):
    path: str
    size: int


class ModelLineage(BaseModel):
    model: ModelPublic
    job: dict[str, Any] | None  # name, display_name, status, experiment, output, created_at
    run_id: str | None
    metrics: dict[str, float]
    params: dict[str, str]
    inputs: list[dict[str, Any]]  # the producing job's data inputs: name, type, uri, asset


class ModelCard(BaseModel):
    model: ModelPublic
    metrics: dict[str, float]  # of the producing run
    flavors: dict[str, Any]
    signature: dict[str, Any] | None  # {"inputs": [...], "outputs": [...], "params": [...]}
    input_example: Any | None
    files: list[ModelFile]


# --- MLflow ------------------------------------------------------------------------------------------------


def registry_client():
    from backend.services import runs

    return runs.mlflow_client()


@contextlib.contextmanager
def mlflow_errors(what: str) -> Iterator[None]:
    """MLflow's exceptions as Studio's errors, naming ``what`` was asked for."""
    try:
        yield
    except StudioError:
        raise
    except Exception as exc:
        if isinstance(exc, RestError):
            code, first = exc.error_code, exc.message.splitlines()
        else:
            from mlflow.exceptions import MlflowException

            code = exc.error_code if isinstance(exc, MlflowException) else None
            first = (exc.message if isinstance(exc, MlflowException) else str(exc)).splitlines()
        text = first[0] if first else type(exc).__name__
        if code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
            raise NotFoundError(f"{what} does not exist in MLflow's model registry") from None
        if code == "RESOURCE_ALREADY_EXISTS":
            raise ConflictError(f"{what}: {text}") from None
        if code == "INVALID_PARAMETER_VALUE":
            raise ValidationError(f"{what}: {text}") from None
        raise UnavailableError(f"{what}: MLflow failed: {text}") from None


class RestError(Exception):
    """An error the tracking server answered with (``error_code`` as MLflow names it)."""

    def __init__(self, error_code: str | None, message: str) -> None:
        super().__init__(message)
        self.error_code, self.message = error_code, message


def search_versions(filter_string: str | None = None) -> list[Any]:
    """Every model version ``filter_string`` matches, as MLflow's ``ModelVersion`` (the same attributes,
    ``tags`` a dict), read through the tracking server's REST API: listing and showing models does not
    import MLflow (about a second on every call)."""
    from backend.services.runs import tracking_uri

    uri = tracking_uri()
    if not uri.startswith(("http://", "https://")):  # a local store: only MLflow's client reads it
        return _search_with_client(filter_string)
    found, token = [], None
    with mlflow_errors("searching model versions"):
        while True:
            query: dict[str, Any] = {"max_results": SEARCH_PAGE}
            query.update({"filter": filter_string} if filter_string else {})
            query.update({"page_token": token} if token else {})
            page = _rest_get(uri, "model-versions/search", query)
            found += [_version(v) for v in page.get("model_versions", [])]
            token = page.get("next_page_token")
            if not token:
                return found


def _search_with_client(filter_string: str | None) -> list[Any]:
    client = registry_client()
    found, token = [], None
    with mlflow_errors("searching model versions"):
        while True:
            page = client.search_model_versions(filter_string, max_results=SEARCH_PAGE, page_token=token)
            found += list(page)
            token = page.token
            if not token:
                return found


REST_TIMEOUT_S = 60


def _rest_get(uri: str, endpoint: str, query: dict[str, Any]) -> dict[str, Any]:
    import urllib.error
    import urllib.parse
    import urllib.request

    url = f"{uri}/api/2.0/mlflow/{endpoint}?{urllib.parse.urlencode(query)}"
    try:
        with urllib.request.urlopen(url, timeout=REST_TIMEOUT_S) as answer:
            return json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read() or b"{}")
        except ValueError:
            body = {}
        raise RestError(body.get("error_code"), body.get("message") or f"HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UnavailableError(
            f"the MLflow tracking server at {uri} is not answering ({reason}); is `studio up` running?"
        ) from None


def _version(found: dict[str, Any]) -> Any:
    """A model version of the REST API as MLflow's client gives it: attributes, tags as a dict."""
    from types import SimpleNamespace

    fields = {key: None for key in VERSION_FIELDS}
    fields.update(found)
    fields["tags"] = {t["key"]: t.get("value", "") for t in found.get("tags", [])}
    fields["aliases"] = list(found.get("aliases", []))
    for key in ("creation_timestamp", "last_updated_timestamp"):
        fields[key] = int(fields[key]) if fields[key] is not None else None
    return SimpleNamespace(**fields)


VERSION_FIELDS = (
    "name",
    "version",
    "creation_timestamp",
    "last_updated_timestamp",
    "description",
    "user_id",
    "current_stage",
    "source",
    "run_id",
    "status",
    "status_message",
    "run_link",
    "model_id",
)


def versions_of(name: str) -> list[Any]:
    """Every MLflow version of ``name``, oldest first."""
    return sorted(search_versions(f"name = '{quoted(name)}'"), key=lambda v: int(v.version))


def quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def workspace_of(mv: Any) -> str:
    return (mv.tags or {}).get(WORKSPACE_TAG) or DEFAULT_WORKSPACE


def when(ms: int | None) -> datetime:
    return datetime.fromtimestamp((ms or 0) / 1000, tz=UTC)


def download_uri(mv: Any) -> str:
    with mlflow_errors(f"model {mv.name}:{mv.version}"):
        return registry_client().get_model_version_download_uri(mv.name, mv.version)


def list_artifacts(uri: str) -> list[Any]:
    import mlflow.artifacts

    from backend.services.runs import tracking_uri

    with mlflow_errors(f"files of {uri}"):
        return mlflow.artifacts.list_artifacts(artifact_uri=uri, tracking_uri=tracking_uri())


def has_mlmodel(uri: str) -> bool:
    return any(e.path.rsplit("/", 1)[-1] == "MLmodel" and not e.is_dir for e in list_artifacts(uri))


def type_of(mv: Any) -> str:
    """Studio's type of a version; for one registered with plain MLflow, found once and kept as a tag."""
    kind = (mv.tags or {}).get(TYPE_TAG)
    if kind in MODEL_TYPES:
        return kind
    try:
        kind = "mlflow_model" if has_mlmodel(download_uri(mv)) else "custom_model"
    except StudioError:  # files that cannot be listed now: say custom_model, and ask again next time
        return "custom_model"
    with contextlib.suppress(Exception):
        registry_client().set_model_version_tag(mv.name, mv.version, TYPE_TAG, kind)
    return kind


def json_tag(tags: dict[str, str], key: str) -> Any:
    try:
        return json.loads(tags[key]) if key in tags else None
    except ValueError:
        return None


def to_public(mv: Any) -> ModelPublic:
    tags = dict(mv.tags or {})
    return ModelPublic(
        name=mv.name,
        version=str(mv.version),
        type=type_of(mv),
        workspace=workspace_of(mv),
        path=mv.source or "",
        source=tags.get(SOURCE_TAG) or (f"runs:/{mv.run_id}" if mv.run_id else "mlflow"),
        description=mv.description or "",
        tags={k: v for k, v in tags.items() if not k.startswith((TAG, "mlflow."))},
        properties=json_tag(tags, PROPERTIES_TAG) or {},
        flavors=json_tag(tags, FLAVORS_TAG),
        stage=tags.get(STAGE_TAG),
        job=tags.get(JOB_TAG),
        output=tags.get(OUTPUT_TAG),
        run_id=mv.run_id or None,
        archived=tags.get(ARCHIVED_TAG) == "true",
        created_at=when(mv.creation_timestamp),
    )
