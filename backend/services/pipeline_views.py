"""Read models of pipeline jobs for the Pipelines page: ``list_pipelines`` / ``get_pipeline_view`` show a
pipeline job as its steps (status, child job, kind, dependencies, reuse, skip reasons, inputs and outputs),
built from the plan that ``backend.services.pipelines`` stored and the child jobs the pipeline controller
started. The composer is ``pipeline_composer``; a component's forms are ``component_forms``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, col, select

from backend.db.models import Component, Job
from backend.errors import NotFoundError, ValidationError
from backend.services import jobs
from backend.services.lookup import get_workspace_row
from backend.statuses import ACTIVE, JobStatus

SKIPPED = "Skipped"  # a step the controller will not run (shown like a status)


# ============================================================================================ read model


class PortView(BaseModel):
    """One input or output of a step or of the pipeline, as a table row."""

    name: str
    type: str | None = None
    binding: str = ""  # where the value comes from, in words
    source_step: str | None = None  # the upstream step, for a step output binding
    value: str = ""  # the literal, the data reference or the URI


class StepView(BaseModel):
    name: str
    display_name: str
    kind: str  # command | sweep | pipeline
    status: str  # the child job's status; NotStarted before it exists; Skipped when it never will
    job: str | None  # the child job's name
    component: str | None  # name:version of a registered component (None for an inline command)
    deps: list[str]
    depth: int  # longest path from a step without dependencies (0 for those)
    reused_from: str | None
    skipped_reason: str | None
    failure_reason: str | None
    compute: str
    start_time: datetime | None
    end_time: datetime | None
    mlflow_run_id: str | None
    mlflow_experiment_id: str | None
    inputs: list[PortView]
    outputs: list[PortView]

    @property
    def duration_s(self) -> float | None:
        if not self.start_time:
            return None
        return ((self.end_time or datetime.now(UTC)) - self.start_time).total_seconds()


class PipelineView(BaseModel):
    job: jobs.JobPublic
    steps: list[StepView]  # in the plan's (topological) order
    edges: list[tuple[str, str]]  # (upstream step, downstream step)
    inputs: list[PortView]
    outputs: list[PortView]
    settings: dict[str, Any]
    steps_done: int
    steps_total: int

    @property
    def is_active(self) -> bool:
        return self.job.status in ACTIVE

    def step(self, name: str) -> StepView:
        for step in self.steps:
            if step.name == name:
                return step
        raise NotFoundError(f"pipeline {self.job.name!r} has no step {name!r}")


class PipelineSummary(BaseModel):
    name: str
    display_name: str
    experiment_name: str
    status: str
    steps_done: int
    steps_failed: int
    steps_total: int
    created_at: datetime
    start_time: datetime | None
    end_time: datetime | None
    archived: bool

    @property
    def duration_s(self) -> float | None:
        if not self.start_time:
            return None
        return ((self.end_time or datetime.now(UTC)) - self.start_time).total_seconds()


def list_pipelines(
    *, session: Session, workspace: str, include_archived: bool = False
) -> list[PipelineSummary]:
    """Top-level pipeline jobs, newest first, with how many of their steps completed."""
    ws = get_workspace_row(session=session, name=workspace)
    query = select(Job).where(Job.workspace_id == ws.id, Job.type == "pipeline", col(Job.parent_id).is_(None))
    if not include_archived:
        query = query.where(col(Job.archived).is_(False))
    rows = session.exec(query.order_by(col(Job.created_at).desc(), col(Job.id).desc())).all()
    counts: dict[int, dict[str, int]] = {}
    if rows:
        children = session.exec(
            select(Job.parent_id, Job.status).where(col(Job.parent_id).in_([r.id for r in rows]))
        ).all()
        for parent_id, status in children:
            counts.setdefault(parent_id, {}).setdefault(status, 0)
            counts[parent_id][status] += 1
    out = []
    for row in rows:
        by_status = counts.get(row.id, {})
        out.append(
            PipelineSummary(
                name=row.name,
                display_name=row.display_name or row.name,
                experiment_name=row.experiment_name,
                status=row.status,
                steps_done=by_status.get(JobStatus.COMPLETED, 0),
                steps_failed=by_status.get(JobStatus.FAILED, 0)
                + by_status.get(JobStatus.CANCELED, 0)
                + len((row.state or {}).get("errors") or {}),  # steps that could not start
                steps_total=len((row.spec or {}).get("steps") or {}),
                created_at=row.created_at,
                start_time=row.start_time,
                end_time=row.end_time,
                archived=row.archived,
            )
        )
    return out


def _depths(steps: dict[str, Any]) -> dict[str, int]:
    depth: dict[str, int] = {}

    def visit(name: str, seen: tuple[str, ...]) -> int:
        if name in depth:
            return depth[name]
        deps = [d for d in steps[name].get("deps", []) if d in steps and d not in seen]
        depth[name] = 1 + max((visit(d, (*seen, name)) for d in deps), default=-1)
        return depth[name]

    for name in steps:
        visit(name, ())
    return depth


def _value_text(value: Any) -> str:
    """A resolved input (``{"kind": "literal" | "data", ...}``) as one line."""
    if value is None:
        return ""
    if isinstance(value, dict):
        if value.get("kind") == "literal":
            return literal_text(value.get("value"))
        if value.get("asset"):
            return f"azureml:{value['asset']}"
        if value.get("uri"):
            return str(value["uri"])
    return literal_text(value)


def literal_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _binding_port(name: str, binding: dict | None, parent_inputs: dict, resolved: Any) -> PortView:
    if binding is None:
        return PortView(name=name, binding="not set", value=_value_text(resolved))
    bind = binding.get("bind")
    if bind == "literal":
        return PortView(
            name=name, binding="value", value=_value_text(resolved) or literal_text(binding["value"])
        )
    if bind == "parent_input":
        given = parent_inputs.get(binding["name"])
        return PortView(
            name=name,
            type=(given or {}).get("type") if isinstance(given, dict) else None,
            binding=f"pipeline input {binding['name']}",
            value=_value_text(resolved) or _value_text(given),
        )
    if bind == "step_output":
        return PortView(
            name=name,
            type=binding.get("expect"),
            binding=f"{binding['step']}.outputs.{binding['output']}",
            source_step=binding["step"],
            value=_value_text(resolved),
        )
    data = binding.get("value") or {}
    return PortView(
        name=name, type=data.get("type"), binding="data", value=_value_text(resolved) or _value_text(data)
    )


def _component_names(session: Session, workspace_id: int, hashes: set[str]) -> dict[str, str]:
    """``content_hash -> name:version`` of the registered versions with that content (versions that differ
    only in their number share it, so all are named), else the anonymous one a local file registered."""
    if not hashes:
        return {}
    rows = session.exec(
        select(Component).where(
            Component.workspace_id == workspace_id, col(Component.content_hash).in_(hashes)
        )
    ).all()
    registered: dict[str, list[str]] = {}
    anonymous: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: r.id or 0):
        if row.anonymous:
            anonymous[row.content_hash] = f"{row.name} (anonymous {row.version[:8]})"
        else:
            registered.setdefault(row.content_hash, []).append(f"{row.name}:{row.version}")
    return {**anonymous, **{k: " = ".join(v) for k, v in registered.items()}}


def get_pipeline_view(*, session: Session, workspace: str, name: str) -> PipelineView:
    """A pipeline job as steps with status, child job, reuse and skip reasons, and its inputs/outputs."""
    row = jobs.get_job_row(session=session, workspace=workspace, name=name)
    if row.type != "pipeline":
        raise ValidationError(f"job {name!r} is a {row.type} job, not a pipeline (open it on the Jobs page)")
    job = jobs.get_job(session=session, workspace=workspace, name=name)
    plan = dict(row.spec or {})
    state = dict(row.state or {})
    planned: dict[str, Any] = plan.get("steps") or {}
    order = [s for s in plan.get("order") or planned if s in planned]
    children = {c.name: c for c in session.exec(select(Job).where(Job.parent_id == row.id)).all()}
    step_jobs: dict[str, str] = state.get("steps") or {}
    skipped: dict[str, str] = state.get("skipped") or {}
    errors: dict[str, str] = state.get("errors") or {}
    parent_inputs = plan.get("inputs") or {}
    depths = _depths(planned)
    components = _component_names(
        session, row.workspace_id, {p["content_hash"] for p in planned.values() if p.get("content_hash")}
    )
    steps = []
    for step_name in order:
        step_plan = planned[step_name]
        child = children.get(step_jobs.get(step_name, ""))
        child_spec = (child.spec or {}) if child else {}
        resolved_inputs = child_spec.get("inputs") or {}
        inputs = [
            _binding_port(port, binding, parent_inputs, resolved_inputs.get(port))
            for port, binding in (step_plan.get("inputs") or {}).items()
        ]
        interface = step_plan.get("interface") or {}
        for port in inputs:
            port.type = port.type or (interface.get(port.name) or {}).get("type")
        produced = child_spec.get("outputs") or {} if child and child.type == "command" else {}
        if child and child.type != "command" and child.status == JobStatus.COMPLETED:
            from backend.services.pipelines import step_outputs

            produced = step_outputs(session, child=child)
        outputs = []
        for out_name, out in (step_plan.get("outputs") or {}).items():
            target = out.get("parent_output")
            outputs.append(
                PortView(
                    name=out_name,
                    type=out.get("type"),
                    binding=f"pipeline output {target}" if target else "",
                    value=str((produced.get(out_name) or {}).get("uri") or ""),
                )
            )
        if child is not None:
            status = child.status
        elif step_name in errors:  # it could not start (an input path missing, ...): a failed step
            status = JobStatus.FAILED
        elif step_name in skipped:
            status = SKIPPED
        else:
            status = JobStatus.NOT_STARTED
        steps.append(
            StepView(
                name=step_name,
                display_name=step_plan.get("display_name") or step_name,
                kind=step_plan.get("kind", "command"),
                status=status,
                job=child.name if child else None,
                component=components.get(step_plan.get("content_hash", "")),
                deps=list(step_plan.get("deps") or []),
                depth=depths.get(step_name, 0),
                reused_from=((child.state or {}).get("reused_from") if child else None),
                skipped_reason=None if step_name in errors else skipped.get(step_name),
                failure_reason=child.failure_reason if child else errors.get(step_name),
                compute=step_plan.get("compute") or "",
                start_time=child.start_time if child else None,
                end_time=child.end_time if child else None,
                mlflow_run_id=child.mlflow_run_id if child else None,
                mlflow_experiment_id=child.mlflow_experiment_id if child else None,
                inputs=inputs,
                outputs=outputs,
            )
        )
    edges = [(dep, s.name) for s in steps for dep in s.deps]
    pipeline_inputs = [
        PortView(
            name=key,
            type=(value or {}).get("type")
            if isinstance(value, dict) and value.get("kind") == "data"
            else None,
            binding="data" if isinstance(value, dict) and value.get("kind") == "data" else "value",
            value=_value_text(value),
        )
        for key, value in parent_inputs.items()
    ]
    published = state.get("outputs") or {}
    feeders = {
        out.get("parent_output"): f"{step_name}.outputs.{out_name}"
        for step_name, step_plan in planned.items()
        for out_name, out in (step_plan.get("outputs") or {}).items()
        if out.get("parent_output")
    }
    pipeline_outputs = [
        PortView(
            name=key,
            type=(published.get(key) or declared or {}).get("type") or "uri_folder",
            binding=feeders.get(key, ""),
            source_step=feeders.get(key, "").split(".")[0] or None,
            value=str((published.get(key) or {}).get("uri") or ""),
        )
        for key, declared in (plan.get("outputs") or {}).items()
    ]
    return PipelineView(
        job=job,
        steps=steps,
        edges=edges,
        inputs=pipeline_inputs,
        outputs=pipeline_outputs,
        settings=dict(plan.get("settings") or {}),
        steps_done=sum(1 for s in steps if s.status == JobStatus.COMPLETED),
        steps_total=len(steps),
    )
