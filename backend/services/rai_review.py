"""Acting on Responsible AI insights: mitigation, the scorecard, what-if predictions and review records.

Mitigations and scorecards are jobs (``python -m rai mitigate`` / ``scorecard``) recorded beside insights
(``RaiInsight.kind``); a chosen mitigation candidate becomes a new version of the model, with its lineage
in the version's tags. What-if predictions come from a short sandboxed process in the curated environment
(the model is user code). Reviews are rows of their own, per model version.
"""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field
from sqlmodel import Session, select

from backend import sandbox
from backend.db.models import ModelReview
from backend.errors import UnavailableError, ValidationError
from backend.services import base_environment, models
from backend.services.lookup import get_workspace_row
from backend.services.model_registry import ModelCreate, ModelPublic
from backend.services.rai import (
    InsightPublic,
    Subject,
    _model,
    _row,
    as_reference,
    queue,
    queue_subject,
    read_artifact_file,
)

RUNTIME = Path(__file__).resolve().parents[1] / "runtime"
DECISIONS = ("approved", "approved_with_conditions", "needs_work", "rejected")
CONSTRAINTS = (
    "demographic_parity",
    "equalized_odds",
    "true_positive_rate_parity",
    "false_positive_rate_parity",
    "error_rate_parity",
)
WHAT_IF_TIMEOUT_S = 120
MITIGATED_FROM = "rai.mitigated_from"  # a property of a mitigated version: its lineage


class MitigationRequest(BaseModel):
    model: str
    test_data: str
    train_data: str
    target_column: str
    sensitive_feature: str
    method: Literal["threshold_optimizer", "exponentiated_gradient"] = "threshold_optimizer"
    constraint: Literal[CONSTRAINTS] = "demographic_parity"  # type: ignore[valid-type]
    objective: str = "accuracy_score"
    grid_size: int = Field(1000, ge=10, le=100_000)
    random_state: int = 13
    name: str | None = None
    compute: str | None = None


def create_mitigation(*, session: Session, workspace: str, request: MitigationRequest) -> InsightPublic:
    """Queue a Fairlearn mitigation of a classifier; the job keeps every candidate and the trade-off."""
    subject = Subject.resolve(session, workspace, request)
    title = f"{request.method} for {request.constraint} by {request.sensitive_feature}"
    return queue_subject(session, workspace, "mitigation", subject, request, title, {})


def read_tradeoff(*, session: Session, workspace: str, name: str) -> dict[str, Any]:
    """The candidates of a completed mitigation: ``{"original": {...}, "candidates": [...]}``."""
    return json.loads(
        read_artifact_file(session=session, workspace=workspace, name=name, file="tradeoff.json")
    )


def register_mitigated(
    *, session: Session, workspace: str, name: str, candidate: int, model_name: str | None = None
) -> ModelPublic:
    """Register candidate ``candidate`` of mitigation ``name`` as a new model version with its lineage."""
    row = _row(session, workspace, name)
    if row.kind != "mitigation":
        raise ValidationError(f"name: {name!r} is {row.kind}, not a mitigation")
    tradeoff = read_tradeoff(session=session, workspace=workspace, name=name)
    found = {c["index"]: c for c in tradeoff.get("candidates", []) if c.get("path")}
    if candidate not in found:
        raise ValidationError(
            f"candidate: {candidate} is not a registrable candidate of {name!r} (candidates: {sorted(found)})"
        )
    chosen = found[candidate]
    original = f"{row.model_name}:{row.model_version}"
    data = ModelCreate(
        name=model_name or row.model_name,
        type="mlflow_model",
        path=f"azureml://jobs/{row.job_name}/outputs/mitigation/paths/{chosen['path']}",
        description=f"{chosen.get('name', 'mitigated')} of {original} (Responsible AI mitigation {name})",
        properties={
            MITIGATED_FROM: original,
            "rai.mitigation": name,
            "rai.candidate": chosen.get("name", str(candidate)),
            "rai.method": str(row.config.get("method")),
            "rai.constraint": str(row.config.get("constraint")),
            "rai.sensitive_feature": str(row.config.get("sensitive_feature")),
        },
    )
    return models.create_model(session=session, workspace=workspace, data=data)


def create_scorecard(*, session: Session, workspace: str, name: str, config: dict[str, Any]) -> InsightPublic:
    """Queue the PDF/HTML scorecard of completed insights, following the cloud's ``pdf_generation_config``."""
    source = _row(session, workspace, name)
    if source.kind != "insights":
        raise ValidationError(f"name: {name!r} is {source.kind}; a scorecard is made from insights")
    if not isinstance(config, dict):
        raise ValidationError("config: the pdf_generation_config must be a JSON object")
    reviews = list_reviews(
        session=session, workspace=workspace, model=f"{source.model_name}:{source.model_version}"
    )
    copied = ("model_name", "model_version", "test_data", "train_data", "task_type", "target_column")
    return queue(
        session=session,
        workspace=workspace,
        kind="scorecard",
        config={**config, "insights": name, "_review": _review_for_card(reviews[0]) if reviews else None},
        inputs={"insights": {"type": "uri_folder", "path": source.artifact}},
        row={"title": f"Scorecard of {name}", **{k: getattr(source, k) for k in copied}},
    )


def _review_for_card(review: ReviewPublic) -> dict[str, str]:
    return {**review.model_dump(mode="json"), "created": review.created_at.isoformat(timespec="seconds")}


# ------------------------------------------------------------------------------------ what-if


def what_if(*, session: Session, workspace: str, name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Predictions (and probabilities) of the insights' model for edited rows, from a sandboxed process."""
    insight = _row(session, workspace, name)
    model = _model(session, workspace, f"{insight.model_name}:{insight.model_version}")
    python = str(base_environment.ensure())
    columns = list(dict.fromkeys(k for r in rows for k in r))
    request = {"columns": columns, "data": [[r.get(c) for c in columns] for r in rows]}
    argv = sandbox.wrap(
        [python, "-I", "-c", f"import sys; sys.path.append({str(RUNTIME)!r}); import runpy; "
         "runpy.run_module('rai', run_name='__main__')", "predict", "--model", model.local_path or ""],
        readonly=[base_environment.venv(), model.local_path or ""],
    )  # fmt: skip
    try:
        done = subprocess.run(
            argv,
            input=json.dumps(request, default=str),
            capture_output=True,
            text=True,
            timeout=WHAT_IF_TIMEOUT_S,
            env=sandbox.inherited_environment(),
        )
    except subprocess.TimeoutExpired:
        raise UnavailableError(f"the model did not answer within {WHAT_IF_TIMEOUT_S} s") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ValidationError(f"the model could not predict these rows: {tail[0]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------ reviews


class ReviewPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    model_name: str
    model_version: str
    reviewer: str
    decision: str
    notes: str
    insight: str | None
    created_at: datetime

    @computed_field
    @property
    def model(self) -> str:
        return f"{self.model_name}:{self.model_version}"


def add_review(
    *,
    session: Session,
    workspace: str,
    model: str,
    reviewer: str,
    decision: str,
    notes: str = "",
    insight: str | None = None,
) -> ReviewPublic:
    """Record a review of a model version (the newest one is the version's standing decision)."""
    ws = get_workspace_row(session=session, name=workspace)
    found = models.resolve_model_reference(
        session=session, workspace=workspace, reference=as_reference(model, "model")
    )
    if not reviewer.strip():
        raise ValidationError("reviewer: who reviewed is required")
    if decision not in DECISIONS:
        raise ValidationError(f"decision: {decision!r} is not one of {', '.join(DECISIONS)}")
    if insight:
        _row(session, workspace, insight)
    row = ModelReview(
        workspace_id=ws.id,
        model_name=found.name,
        model_version=found.version,
        reviewer=reviewer.strip(),
        decision=decision,
        notes=notes,
        insight=insight,
    )
    session.add(row)
    session.flush()
    return ReviewPublic.model_validate(row)


def list_reviews(*, session: Session, workspace: str, model: str) -> list[ReviewPublic]:
    """Reviews of ``name:version`` (or of every version of ``name``), newest first."""
    ws = get_workspace_row(session=session, name=workspace)
    name, _, version = model.removeprefix("azureml:").partition(":")
    query = select(ModelReview).where(ModelReview.workspace_id == ws.id, ModelReview.model_name == name)
    if version:
        query = query.where(ModelReview.model_version == version)
    rows = session.exec(query.order_by(ModelReview.created_at.desc(), ModelReview.id.desc())).all()
    return [ReviewPublic.model_validate(r) for r in rows]


def lineage_of(model: ModelPublic) -> dict[str, str] | None:
    """Where a mitigated version came from (its properties), for the model's page."""
    if MITIGATED_FROM not in model.properties:
        return None
    return {k.removeprefix("rai."): v for k, v in model.properties.items() if k.startswith("rai.")}
