"""Responsible AI insights: requested here, computed by a job, read back for the dashboard.

``create_insights`` checks the request (the model version, the data assets, the columns) and queues a
command job that runs ``python -m rai insights`` (``backend/runtime/rai``) in the curated environment,
inside the sandbox like any job: the model is user code, so it is only ever loaded there. The job writes
the artifact (``rai_insights.json`` and ``rows.parquet``) to its output ``insights``; the row here links
it to the model version, the data and the job, and keeps the cohorts people save. Views for a cohort are
recomputed from the stored rows with the same functions the job used (no model needed), and the what-if
panel asks a short sandboxed process for predictions (``rai_whatif``).

Insights made by the cloud's RAI pipeline components (``rai_components``) are recorded when the pipeline's
gather step completes (``record_job_output``).
"""

from __future__ import annotations

import io
import json
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, field_validator
from sqlmodel import Session, select

from backend.db.models import RaiInsight
from backend.errors import NotFoundError, ValidationError
from backend.runtime.rai import PARTS
from backend.runtime.rai import cohorts as cohort_rules
from backend.services import data_assets, datastores, jobs, models
from backend.services.lookup import get_named_row, get_workspace_row
from backend.specs import parse_spec
from backend.specs.job import CommandJobSpec
from backend.statuses import JobStatus
from backend.storage import uris

if TYPE_CHECKING:
    import pandas as pd

# The cloud's RAI components run in this registry environment; every such name resolves to the curated one.
ENVIRONMENT = "azureml://registries/azureml/environments/responsibleai-ubuntu20.04-py38-cpu/labels/latest"
EXPERIMENT = "responsible-ai"
INSIGHTS_FILE = "rai_insights.json"
ROWS_FILE = "rows.parquet"
TABULAR_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq", ".jsonl", ".json")


class ErrorAnalysisSettings(BaseModel):
    max_depth: int = Field(3, ge=1, le=10)
    num_leaves: int = Field(31, ge=2, le=255)
    min_child_samples: int = Field(20, ge=1)
    filter_features: list[str] = Field(default_factory=list)
    heatmap_features: list[str] = Field(default_factory=list, max_length=2)


class ImportanceSettings(BaseModel):
    n_repeats: int = Field(5, ge=1, le=50)
    random_state: int = 11
    local_rows: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])


class CounterfactualSettings(BaseModel):
    total_CFs: int = Field(10, ge=1, le=100)
    desired_class: str | int = "opposite"
    desired_range: list[float] | None = None
    features_to_vary: list[str] | Literal["all"] = "all"
    permitted_range: dict[str, list[Any]] = Field(default_factory=dict)
    rows: list[int] = Field(default_factory=list)  # empty: the first few rows not yet in the desired outcome


class CausalSettings(BaseModel):
    treatment_features: list[str] = Field(default_factory=list)
    heterogeneity_features: list[str] = Field(default_factory=list)
    nuisance_model: Literal["linear", "automl"] = "linear"
    alpha: float = Field(0.05, gt=0, lt=1)

    @field_validator("nuisance_model", mode="before")
    @classmethod
    def _any_case(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


class InsightRequest(BaseModel):
    """What ``studio rai create`` and the page's form ask for."""

    model: str
    test_data: str
    train_data: str | None = None
    target_column: str
    task_type: Literal["classification", "regression"]
    categorical_features: list[str] = Field(default_factory=list)
    sensitive_features: list[str] = Field(default_factory=list)
    classes: list[Any] = Field(default_factory=list)
    title: str = ""
    name: str | None = None
    compute: str | None = None
    parts: list[str] = Field(default_factory=lambda: list(PARTS))
    error_analysis: ErrorAnalysisSettings = Field(default_factory=ErrorAnalysisSettings)
    feature_importance: ImportanceSettings = Field(default_factory=ImportanceSettings)
    counterfactuals: CounterfactualSettings = Field(default_factory=CounterfactualSettings)
    causal: CausalSettings = Field(default_factory=CausalSettings)

    @field_validator("parts")
    @classmethod
    def _known_parts(cls, value: list[str]) -> list[str]:
        unknown = [p for p in value if p not in PARTS]
        if unknown:
            raise ValueError(f"unknown part {unknown[0]!r} (parts: {', '.join(PARTS)})")
        return value


class InsightPublic(BaseModel):
    name: str
    kind: str
    title: str
    model: str  # name:version
    data: str  # the test data
    train_data: str | None
    task_type: str
    target_column: str
    job: str
    status: str
    artifact: str
    config: dict[str, Any]
    cohorts: list[dict[str, Any]]
    created: datetime

    @property
    def model_name(self) -> str:
        return self.model.rsplit(":", 1)[0]

    @property
    def model_version(self) -> str:
        return self.model.rsplit(":", 1)[1]


def _public(row: RaiInsight, status: str) -> InsightPublic:
    return InsightPublic(
        name=row.name,
        kind=row.kind,
        title=row.title,
        model=f"{row.model_name}:{row.model_version}",
        data=row.test_data,
        train_data=row.train_data,
        task_type=row.task_type,
        target_column=row.target_column,
        job=row.job_name,
        status=status,
        artifact=row.artifact,
        config=row.config,
        cohorts=list(row.cohorts or []),
        created=row.created_at,
    )


def _status(session: Session, workspace: str, job_name: str) -> str:
    try:
        return str(jobs.get_job(session=session, workspace=workspace, name=job_name).status)
    except NotFoundError:
        return "Unknown"


def as_reference(text: str, field: str) -> str:
    """``name:version``, ``azureml:name:version`` or ``name@latest`` as the ``azureml:`` form."""
    text = (text or "").strip()
    if not text:
        raise ValidationError(f"{field}: a registered asset is required (name:version or name@latest)")
    if "://" in text or text.startswith("azureml:"):
        return text
    return f"azureml:{text}"


# ------------------------------------------------------------------------------------ checking a request


def _data_asset(session: Session, workspace: str, reference: str, field: str) -> data_assets.DataAssetPublic:
    ref = uris.parse_reference(as_reference(reference, field), field=field)
    if not isinstance(ref, uris.AssetRef):
        raise ValidationError(f"{field}: {reference!r} is not a data asset (use name:version or name@latest)")
    try:
        return data_assets.resolve_asset_reference(session=session, workspace=workspace, ref=ref)
    except NotFoundError as exc:
        raise ValidationError(f"{field}: {exc}") from None


def _columns(session: Session, workspace: str, asset: data_assets.DataAssetPublic) -> list[str] | None:
    """The columns of a file asset (read from its first rows); None when they are only known in the job."""
    import pandas as pd

    if asset.type != "uri_file" or not asset.path.lower().endswith(TABULAR_SUFFIXES):
        return None
    try:
        local = data_assets.local_copy(session=session, workspace=workspace, uri=asset.path)
        suffix = local.suffix.lower()
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return list(pq.read_schema(local).names)
        if suffix in (".jsonl", ".json"):
            return list(pd.read_json(local, lines=True, nrows=5).columns)
        return list(
            pd.read_csv(local, nrows=5, sep=None if suffix == ".tsv" else ",", engine="python").columns
        )
    except Exception:  # unreadable here: the job reads it and says why
        return None


def _check_columns(request: InsightRequest, columns: list[str] | None, features: list[str] | None) -> None:
    if columns is None:
        return
    where = f"test data {request.test_data}"
    if request.target_column not in columns:
        raise ValidationError(
            f"target_column: {request.target_column!r} is not a column of the {where} "
            f"(columns: {', '.join(columns)})"
        )
    named = {
        "sensitive_features": request.sensitive_features,
        "categorical_features": request.categorical_features,
        "error_analysis.filter_features": request.error_analysis.filter_features,
        "error_analysis.heatmap_features": request.error_analysis.heatmap_features,
        "causal.treatment_features": request.causal.treatment_features,
        "causal.heterogeneity_features": request.causal.heterogeneity_features,
    }
    for field, names in named.items():
        for name in names:
            if name not in columns:
                raise ValidationError(f"{field}: {name!r} is not a column of the {where}")
    missing = [f for f in features or [] if f not in columns]
    if missing:
        raise ValidationError(
            f"test_data: the model takes {', '.join(missing)}, which the {where} does not have"
        )


def _model_features(model: models.ModelPublic) -> list[str] | None:
    """The input columns of an MLflow model's signature, when it has one."""
    import yaml

    mlmodel = Path(model.local_path or "") / "MLmodel"
    if not mlmodel.is_file():
        return None
    inputs = ((yaml.safe_load(mlmodel.read_text()) or {}).get("signature") or {}).get("inputs")
    try:
        return [c["name"] for c in json.loads(inputs) if "name" in c] or None
    except (TypeError, ValueError):
        return None


def _model(session: Session, workspace: str, reference: str) -> models.ModelPublic:
    try:
        return models.resolve_model_reference(
            session=session, workspace=workspace, reference=as_reference(reference, "model")
        )
    except NotFoundError as exc:
        raise ValidationError(f"model: {exc}") from None


# ------------------------------------------------------------------------------------ queueing the job


# kind -> (the ``python -m rai`` command its job runs, the job's output holding the artifact)
JOBS = {
    "insights": ("insights", "insights"),
    "mitigation": ("mitigate", "mitigation"),
    "scorecard": ("scorecard", "scorecard"),
}
REQUEST_ONLY = {"model", "test_data", "train_data", "name", "compute"}  # resolved, not passed to the job


@dataclass
class Subject:
    """The model version and the data assets an analysis is about, checked and resolved."""

    model: models.ModelPublic
    test: data_assets.DataAssetPublic
    train: data_assets.DataAssetPublic | None

    @classmethod
    def resolve(cls, session: Session, workspace: str, request: Any) -> Subject:
        model = _model(session, workspace, request.model)
        test = _data_asset(session, workspace, request.test_data, "test_data")
        train = (
            _data_asset(session, workspace, request.train_data, "train_data") if request.train_data else None
        )
        return cls(model, test, train)

    def ids(self) -> dict[str, str | None]:
        train = f"{self.train.name}:{self.train.version}" if self.train else None
        return {
            "model_id": f"{self.model.name}:{self.model.version}",
            "test_data_id": f"{self.test.name}:{self.test.version}",
            "train_data_id": train,
        }

    def inputs(self) -> dict[str, dict[str, str]]:
        found = {"model": self.model, "test_data": self.test, "train_data": self.train}
        return {port: {"type": a.type, "path": a.reference} for port, a in found.items() if a is not None}


def queue(
    *,
    session: Session,
    workspace: str,
    kind: str,
    config: dict[str, Any],
    inputs: dict[str, dict[str, str]],
    row: dict[str, Any],
    request: Any = None,
) -> InsightPublic:
    """Queue ``python -m rai <command>`` (``config`` is a file of its code snapshot) and record the row
    (``row``: title, model, data, task and target)."""
    command, output = JOBS[kind]
    args = " ".join(
        f"$[[--{n.replace('_', '-')} ${{{{inputs.{n}}}}}]]" if n == "train_data" else f"--{n.replace('_', '-')} ${{{{inputs.{n}}}}}"
        for n in inputs
    )  # fmt: skip
    spec = parse_spec(
        CommandJobSpec,
        {
            "name": getattr(request, "name", None),
            "display_name": f"RAI {kind}: {row['model_name']}:{row['model_version']}",
            "experiment_name": EXPERIMENT,
            "command": f"python -m rai {command} --config rai_config.json {args} --output ${{{{outputs.{output}}}}}",
            "code": ".",
            "environment": ENVIRONMENT,
            "compute": getattr(request, "compute", None),
            "inputs": inputs,
            "outputs": {output: {"type": "uri_folder"}},
            "tags": {"studio.rai": kind},
        },
        source="responsible AI request",
    )
    with tempfile.TemporaryDirectory(prefix="studio-rai-") as tmp:
        (Path(tmp) / "rai_config.json").write_text(json.dumps(config, indent=2, default=str))
        job = jobs.submit_command_job(session=session, workspace=workspace, spec=spec, base_dir=Path(tmp))
    ws = get_workspace_row(session=session, name=workspace)
    record = RaiInsight(
        workspace_id=ws.id,
        name=job.name,
        kind=kind,
        job_name=job.name,
        artifact=job.outputs[output]["uri"],
        config=config,
        **row,
    )
    session.add(record)
    session.flush()
    return _public(record, str(job.status))


def queue_subject(
    session: Session,
    workspace: str,
    kind: str,
    subject: Subject,
    request: Any,
    title: str,
    extra: dict[str, Any],
) -> InsightPublic:
    """``queue`` an analysis of ``subject``: the request's settings and the subject's ids are its config."""
    ids = subject.ids()
    row = {
        "title": title,
        "model_name": subject.model.name,
        "model_version": subject.model.version,
        "test_data": ids["test_data_id"],
        "train_data": ids["train_data_id"],
        "task_type": getattr(request, "task_type", "classification"),
        "target_column": request.target_column,
    }
    config = {**request.model_dump(mode="json", exclude=REQUEST_ONLY), **ids, **extra}
    return queue(
        session=session,
        workspace=workspace,
        kind=kind,
        config=config,
        inputs=subject.inputs(),
        row=row,
        request=request,
    )


def create_insights(*, session: Session, workspace: str, request: InsightRequest) -> InsightPublic:
    """Check the request and queue the insight job; nothing is created when a check fails."""
    subject = Subject.resolve(session, workspace, request)
    _check_columns(request, _columns(session, workspace, subject.test), _model_features(subject.model))
    if "causal" in request.parts and not request.causal.treatment_features:
        request = request.model_copy(update={"parts": [p for p in request.parts if p != "causal"]})
    ids = subject.ids()
    title = request.title or f"{ids['model_id']} on {ids['test_data_id']}"
    return queue_subject(session, workspace, "insights", subject, request, title, {"title": title})


# ------------------------------------------------------------------------------------ reading


def _row(session: Session, workspace: str, name: str) -> RaiInsight:
    return get_named_row(
        session=session, table=RaiInsight, workspace=workspace, name=name, what="Responsible AI insights"
    )


def get_insight(*, session: Session, workspace: str, name: str) -> InsightPublic:
    row = _row(session, workspace, name)
    return _public(row, _status(session, workspace, row.job_name))


def list_insights(
    *,
    session: Session,
    workspace: str,
    model: str | None = None,
    kind: str | None = None,
) -> list[InsightPublic]:
    """Newest first; ``model`` is a name or ``name:version``."""
    ws = get_workspace_row(session=session, name=workspace)
    query = select(RaiInsight).where(RaiInsight.workspace_id == ws.id)
    if model:
        name, _, version = model.removeprefix("azureml:").partition(":")
        query = query.where(RaiInsight.model_name == name)
        if version:
            query = query.where(RaiInsight.model_version == version)
    if kind:
        query = query.where(RaiInsight.kind == kind)
    rows = session.exec(query.order_by(RaiInsight.created_at.desc(), RaiInsight.id.desc())).all()
    return [_public(r, _status(session, workspace, r.job_name)) for r in rows]


def _open(session: Session, workspace: str, uri: str, file: str) -> bytes:
    ref = uris.parse_reference(uri.rstrip("/") + "/" + file)
    if not isinstance(ref, uris.DatastorePath):
        raise NotFoundError(f"{uri} is not a datastore location")
    try:
        return datastores.read_bytes(session=session, workspace=workspace, name=ref.datastore, path=ref.path)
    except NotFoundError:
        raise NotFoundError(f"{file} is not in {uri} (has the job completed?)") from None


def read_insights(*, session: Session, workspace: str, name: str) -> dict[str, Any]:
    """The artifact's ``rai_insights.json`` (once the job has completed)."""
    row = _row(session, workspace, name)
    status = _status(session, workspace, row.job_name)
    if status != JobStatus.COMPLETED:
        raise NotFoundError(f"insights {name!r} are not ready: job {row.job_name} is {status}")
    return json.loads(_open(session, workspace, row.artifact, INSIGHTS_FILE))


def read_rows(*, session: Session, workspace: str, name: str) -> pd.DataFrame:
    """The test rows with predictions and errors (``rows.parquet``)."""
    import pandas as pd

    row = _row(session, workspace, name)
    return pd.read_parquet(io.BytesIO(_open(session, workspace, row.artifact, ROWS_FILE)))


def read_artifact_file(*, session: Session, workspace: str, name: str, file: str) -> bytes:
    """Another file of the artifact (a scorecard, the mitigation's trade-off)."""
    row = _row(session, workspace, name)
    return _open(session, workspace, row.artifact, file)


# ------------------------------------------------------------------------------------ cohorts


def save_cohort(
    *, session: Session, workspace: str, name: str, cohort: str, filters: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Save (or replace) a named cohort of the insights; returns all its cohorts."""
    row = _row(session, workspace, name)
    cohort = (cohort or "").strip()
    if not cohort:
        raise ValidationError("cohort: a name is required")
    columns = list(read_rows(session=session, workspace=workspace, name=name).columns)
    try:
        checked = cohort_rules.validate(filters, columns)
    except ValueError as exc:
        raise ValidationError(f"cohort {cohort!r}: {exc}") from None
    kept = [c for c in row.cohorts or [] if c["name"] != cohort]
    row.cohorts = [*kept, {"name": cohort, "filters": checked}]
    session.add(row)
    session.flush()
    return list(row.cohorts)


def delete_cohort(*, session: Session, workspace: str, name: str, cohort: str) -> list[dict[str, Any]]:
    row = _row(session, workspace, name)
    kept = [c for c in row.cohorts or [] if c["name"] != cohort]
    if len(kept) == len(row.cohorts or []):
        raise NotFoundError(f"insights {name!r} have no cohort {cohort!r}")
    row.cohorts = kept
    session.add(row)
    session.flush()
    return kept


COHORT_PARTS = ("model_overview", "fairness", "error_analysis", "data_analysis")


def cohort_view(
    *, session: Session, workspace: str, name: str, filters: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The parts that need only predictions, recomputed for the rows a cohort's filters select (all rows
    without filters): ``{"rows", "description", "filters", "model_overview", "fairness", ...}``."""
    from backend.runtime.rai import insights

    found = read_insights(session=session, workspace=workspace, name=name)
    rows = read_rows(session=session, workspace=workspace, name=name)
    try:
        checked = cohort_rules.validate(filters or [], list(rows.columns))
    except ValueError as exc:
        raise ValidationError(f"cohort: {exc}") from None
    selected = rows[cohort_rules.mask(rows, checked)] if checked else rows
    view: dict[str, Any] = {
        "rows": len(selected),
        "filters": checked,
        "description": cohort_rules.describe(checked),
    }
    if len(selected) == 0:
        return view
    analysis = insights.from_rows(found, selected)
    for part in COHORT_PARTS:
        if part in found.get("parts", []):
            view[part] = insights.COMPUTE[part](analysis)
    return view


def record_job_output(*, session: Session, workspace: str, job: str, output: str, uri: str) -> str | None:
    """Record insights a pipeline's gather step wrote (called when a job completes); None when the output
    holds none or they are recorded already."""
    ws = get_workspace_row(session=session, name=workspace)
    if session.exec(
        select(RaiInsight).where(RaiInsight.workspace_id == ws.id, RaiInsight.name == job)
    ).first():
        return None
    try:
        found = json.loads(_open(session, workspace, uri, INSIGHTS_FILE))
    except (NotFoundError, ValueError):
        return None
    if not found.get("dashboard"):
        return None
    model_name, _, model_version = str((found.get("model") or {}).get("id") or "unknown:0").rpartition(":")
    data = {
        **_constructor_data(session, ws.id, job),
        **{k: v for k, v in (found.get("data") or {}).items() if v},
    }
    session.add(
        RaiInsight(
            workspace_id=ws.id,
            name=job,
            kind="insights",
            title=found.get("title") or job,
            model_name=model_name or "unknown",
            model_version=model_version,
            test_data=str(data.get("test") or ""),
            train_data=data.get("train"),
            task_type=found.get("task_type") or "classification",
            target_column=found.get("target_column") or "",
            config={k: found.get(k) for k in ("features", "categorical_features", "sensitive_features")},
            job_name=job,
            artifact=uri,
        )
    )
    session.flush()
    return job


def _constructor_data(session: Session, workspace_id: int, job: str) -> dict[str, str]:
    """The data assets the pipeline's constructor step read (a job knows paths, Studio knows assets)."""
    from backend.db.models import Job

    row = session.exec(select(Job).where(Job.workspace_id == workspace_id, Job.name == job)).first()
    if row is None or row.parent_id is None:
        return {}
    for sibling in session.exec(select(Job).where(Job.parent_id == row.parent_id)).all():
        if "rai_tabular_insight_constructor" in (sibling.spec or {}).get("command", ""):
            inputs = sibling.spec.get("inputs") or {}
            return {
                key: str((inputs.get(port) or {}).get("asset") or (inputs.get(port) or {}).get("uri") or "")
                for key, port in (("test", "test_dataset"), ("train", "train_dataset"))
            }
    return {}
