"""``studio rai create|list|show|mitigate|register-mitigated|scorecard|review``: Responsible AI insights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from studio.commands import _common as common
from studio.commands.job import follow

app = typer.Typer(
    help="Responsible AI: insights (fairness, errors, explanations, ...), mitigation, scorecards, reviews.",
    no_args_is_help=True,
)
NameOpt = Annotated[str, common.name_option("Insights name (the job that computed them).")]
StreamOpt = Annotated[bool, typer.Option("--stream", "-s", help="Print the job's log until it ends.")]
ComputeOpt = Annotated[
    str | None, typer.Option("--compute", "-c", help="Compute to run on (default: local).")
]


def _names(text: str | None) -> list[str]:
    return [n.strip() for n in (text or "").split(",") if n.strip()]


_FILTER = r"^\s*([^\s=!<>]+)\s*(==|!=|>=|<=|>|<)\s*(.+?)\s*$"


def _filter(text: str) -> dict[str, Any]:
    """``--where 'debt_ratio > 0.45'`` as a cohort filter ``{column, op, value}`` (a number when it reads as
    one, else text; quotes around text are dropped)."""
    import re

    found = re.match(_FILTER, text)
    if not found:
        common.fail(
            f"--where: {text!r} is not COLUMN OP VALUE (OP one of == != > >= < <=), e.g. 'debt_ratio > 0.45'"
        )
    column, op, raw = found.groups()
    try:
        value: Any = int(raw)
    except ValueError:
        try:
            value = float(raw)
        except ValueError:
            value = raw.strip("'\"")
    return {"column": column, "op": op, "value": value}


def _request(model_cls, **fields):
    """The service's request model, or one line naming the option that was wrong."""
    from pydantic import ValidationError

    try:
        return model_cls(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "request"
        common.fail(f"{where}: {first['msg']} (got {first.get('input')!r})")


def _list_item(found) -> dict:
    return {
        "name": found.name,
        "kind": found.kind,
        "model": found.model,
        "data": found.data,
        "status": found.status,
        "created": found.created.isoformat(),
    }


def _submitted(workspace: str, found, stream: bool, output: common.OutputFormat) -> None:
    if stream:
        typer.echo(f"submitted job {found.job} ({found.kind} {found.name})", err=True)
        raise typer.Exit(follow(workspace, found.job))
    common.emit(_list_item(found), output)


ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Model version: NAME:VERSION or NAME@latest.")]
TestDataOpt = Annotated[str, typer.Option("--data", help="Test data asset: NAME:VERSION.")]
TargetOpt = Annotated[str, typer.Option("--target", help="The target (label) column.")]
NewNameOpt = Annotated[str | None, common.name_option("A name for it (and its job; default: generated).")]


def _names_option(flag: str, help: str) -> Any:
    return Annotated[str | None, typer.Option(flag, help=f"{help}, comma-separated.")]


def _analysis(
    model: str, data: str, train_data: str | None, target: str, name: str | None, compute: str | None
):
    """What insights and mitigations both ask for."""
    return {"model": model, "test_data": data, "train_data": train_data, "target_column": target, "name": name,
            "compute": compute}  # fmt: skip


@common.command(app)
def create(
    model: ModelOpt,
    data: TestDataOpt,
    target: TargetOpt,
    task: Annotated[str, typer.Option("--task", help="classification or regression.")],
    train_data: Annotated[str | None, typer.Option("--train-data", help="Training data asset.")] = None,
    categorical: _names_option("--categorical", "Categorical columns") = None,
    sensitive: _names_option("--sensitive", "Sensitive features") = None,
    treatment: _names_option("--treatment", "Treatment features for causal analysis") = None,
    title: Annotated[str | None, typer.Option("--title")] = None,
    name: NewNameOpt = None,
    compute: ComputeOpt = None,
    stream: StreamOpt = False,
    *,
    output: common.OutputFormat,
    workspace: str,
) -> None:
    """Compute insights for a model version on test data, as a job."""
    from backend.services import rai

    request = _request(
        rai.InsightRequest,
        **_analysis(model, data, train_data, target, name, compute),
        task_type=task,
        categorical_features=_names(categorical),
        sensitive_features=_names(sensitive),
        causal=rai.CausalSettings(treatment_features=_names(treatment)),
        title=title or "",
    )
    found = common.in_workspace(workspace, rai.create_insights, request=request)
    _submitted(workspace, found, stream, output)


@common.command(app, "list")
def list_(
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Only for this model (NAME[:VERSION]).")
    ] = None,
    *,
    output: common.OutputFormat,
    workspace: str,
) -> None:
    """Insights and mitigations, newest first."""
    from backend.services import rai

    rows = common.in_workspace(workspace, rai.list_insights, model=model)
    common.emit(
        [_list_item(r) for r in rows], output, columns=["name", "kind", "model", "data", "status", "created"]
    )


@common.command(app)
def show(
    name: NameOpt,
    where: Annotated[
        list[str] | None,
        typer.Option(
            "--where",
            help="A cohort filter COLUMN OP VALUE (OP one of == != > >= < <=), e.g. 'debt_ratio > 0.45'; "
            "repeat to AND them: the overview, fairness, error analysis and data analysis of those rows.",
        ),
    ] = None,
    *,
    output: common.OutputFormat,
    workspace: str,
) -> None:
    """The insights as JSON (model_overview, fairness, error_analysis, feature_importance, ...)."""
    from backend.errors import NotFoundError
    from backend.services import rai

    if where:
        filters = [_filter(text) for text in where]
        view = common.in_workspace(workspace, rai.cohort_view, name=name, filters=filters)
        if output == common.OutputFormat.json:
            typer.echo(json.dumps(view, indent=2, default=str))
            return
        overall = (view.get("model_overview") or {}).get("overall") or {}
        common.emit(
            {
                "cohort": view["description"],
                "rows": view["rows"],
                **{k: v for k, v in overall.items() if k != "confusion_matrix"},
            },
            output,
        )
        return
    found = common.in_workspace(workspace, rai.get_insight, name=name)
    shown = {**_list_item(found), "job": found.job, "train_data": found.train_data, "cohorts": found.cohorts}
    try:  # the record's model and data (name:version) stay as list shows them
        shown = {**common.in_workspace(workspace, rai.read_insights, name=name), **shown}
    except NotFoundError:  # not ready yet: the status says why
        pass
    if output == common.OutputFormat.json:
        typer.echo(json.dumps(shown, indent=2, default=str))
        return
    overall = (shown.get("model_overview") or {}).get("overall") or {}
    common.emit(
        {
            **_list_item(found),
            "job": found.job,
            **{k: v for k, v in overall.items() if k != "confusion_matrix"},
        },
        output,
    )


@common.command(app)
def mitigate(
    model: ModelOpt,
    data: TestDataOpt,
    train_data: Annotated[
        str, typer.Option("--train-data", help="Training data asset (mitigations fit on it).")
    ],
    target: TargetOpt,
    sensitive: Annotated[str, typer.Option("--sensitive", help="The sensitive feature to mitigate for.")],
    name: NewNameOpt = None,
    compute: ComputeOpt = None,
    stream: StreamOpt = False,
    method: Annotated[
        str, typer.Option("--method", help="threshold_optimizer or exponentiated_gradient.")
    ] = "threshold_optimizer",
    constraint: Annotated[
        str,
        typer.Option(
            "--constraint",
            help="demographic_parity, equalized_odds, true_positive_rate_parity, false_positive_rate_parity "
            "or error_rate_parity.",
        ),
    ] = "demographic_parity",
    *,
    output: common.OutputFormat,
    workspace: str,
) -> None:
    """Fit Fairlearn mitigations of a model as a job; their accuracy/disparity trade-off is kept."""
    from backend.services import rai_review

    analysis = _analysis(model, data, train_data, target, name, compute)
    request = _request(
        rai_review.MitigationRequest,
        **analysis,
        sensitive_feature=sensitive,
        method=method,
        constraint=constraint,
    )
    found = common.in_workspace(workspace, rai_review.create_mitigation, request=request)
    _submitted(workspace, found, stream, output)


@common.command(app, "register-mitigated")
def register_mitigated(
    name: NameOpt,
    candidate: Annotated[int, typer.Option("--candidate", help="The candidate's number in the trade-off.")],
    model_name: Annotated[
        str | None, typer.Option("--model-name", help="Register as (default: the original's name).")
    ] = None,
    *,
    output: common.OutputFormat,
    workspace: str,
) -> None:
    """Register a mitigation candidate as a new model version, with its lineage."""
    from backend.services import rai_review

    model = common.in_workspace(
        workspace, rai_review.register_mitigated, name=name, candidate=candidate, model_name=model_name
    )
    common.emit({"name": model.name, "version": model.version, "tags": model.tags}, output)


@common.command(app)
def scorecard(
    name: NameOpt,
    config: Annotated[
        Path | None, typer.Option("--config", help="The cloud's pdf_generation_config JSON file.")
    ] = None,
    stream: StreamOpt = False,
    *,
    output: common.OutputFormat,
    workspace: str,
) -> None:
    """Render the PDF and HTML scorecard of insights, as a job."""
    from backend.services import rai_review

    settings: dict = {}
    if config is not None:
        try:
            settings = json.loads(config.read_text())
        except (OSError, ValueError) as exc:
            common.fail(f"{config}: not a readable JSON file ({exc})")
    found = common.in_workspace(workspace, rai_review.create_scorecard, name=name, config=settings)
    _submitted(workspace, found, stream, output)


@common.command(app)
def review(
    model: Annotated[str, typer.Option("--model", "-m", help="Model version: NAME:VERSION.")],
    reviewer: Annotated[str, typer.Option("--reviewer", help="Who reviewed.")],
    decision: Annotated[
        str, typer.Option("--decision", help="approved, approved_with_conditions, needs_work or rejected.")
    ],
    notes: Annotated[str, typer.Option("--notes")] = "",
    insight: Annotated[str | None, typer.Option("--insight", help="The insights reviewed.")] = None,
    *,
    output: common.OutputFormat,
    workspace: str,
) -> None:
    """Record a review of a model version (shown on the model's page and in its scorecard)."""
    from backend.services import rai_review

    fields = dict(model=model, reviewer=reviewer, decision=decision, notes=notes, insight=insight)
    common.emit(common.in_workspace(workspace, rai_review.add_review, **fields), output)
