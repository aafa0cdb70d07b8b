"""The pipeline controller: one ``step`` per agent pass for every active pipeline.

Each pass starts every step whose dependencies completed (as a child job: command, sweep or a nested
pipeline), reuses an identical earlier step instead of running it, skips steps behind a failure, and
settles the pipeline when nothing is left. Everything it knows is in the database, so a restarted agent
carries on where the last one stopped.

It never holds the database while it works. A pass reads what it needs in one short transaction, does
the slow part with no transaction open (MLflow calls, checking that a step's input data is there,
hashing it for reuse, resolving a sweep's trial), and writes each result in a short transaction of its
own whose update is conditional on the pipeline still running. A pipeline whose status and steps'
statuses did not change since its last pass is not looked at again, so one that waits (for a stopped
compute, for a long step) costs one small query per agent pass and writes nothing.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from backend.agent import parent_jobs
from backend.agent.parent_jobs import ParentSnapshot
from backend.db import session_scope
from backend.db.models import Job, Workspace, utcnow
from backend.errors import ConflictError, StudioError
from backend.services import jobs, pipeline_plans, pipelines
from backend.statuses import ACTIVE, TERMINAL, JobStatus

log = logging.getLogger("studio.agent.pipeline")

RETRY_AFTER_S = 5.0  # a pipeline whose pass raised (MLflow unreachable, ...) is tried again after this
_ENDED_BADLY = (JobStatus.FAILED, JobStatus.CANCELED)

Fingerprint = tuple[str, tuple[tuple[int, str], ...]]


@dataclass
class _Memory:
    """What one agent saw of each pipeline when it last acted on it."""

    seen: dict[int, Fingerprint] = field(default_factory=dict)
    retry_at: dict[int, float] = field(default_factory=dict)


_memories: WeakKeyDictionary[Any, _Memory] = WeakKeyDictionary()
_shared_memory = _Memory()  # for a caller without an agent object


def _memory(agent) -> _Memory:
    try:
        return _memories.setdefault(agent, _Memory())
    except TypeError:  # None, or an object that cannot be weakly referenced
        return _shared_memory


def step(agent) -> None:
    """One pass over every active pipeline whose status or steps changed since this agent last looked."""
    memory = _memory(agent)
    with session_scope() as s:
        current = _fingerprints(s, getattr(agent, "id", None))
    for gone in [pid for pid in (*memory.seen, *memory.retry_at) if pid not in current]:
        memory.seen.pop(gone, None)
        memory.retry_at.pop(gone, None)
    for pipeline_id, fingerprint in current.items():
        if memory.seen.get(pipeline_id) == fingerprint:
            continue
        if memory.retry_at.get(pipeline_id, 0.0) > time.monotonic():
            continue
        # A pass may hash large inputs: in the agent's pool it never delays other jobs' launch (one
        # task per pipeline at a time); called without an agent (tests), it runs here.
        submit = getattr(agent, "_submit", None)
        if submit is None:
            _pass(memory, pipeline_id)
        else:
            submit(pipeline_id, _pass, memory, pipeline_id)


def _pass(memory: _Memory, pipeline_id: int) -> None:
    try:
        acted_on = _advance(pipeline_id)
    except Exception:
        log.exception("pipeline step failed", extra={"job": pipeline_id})
        memory.seen.pop(pipeline_id, None)
        memory.retry_at[pipeline_id] = time.monotonic() + RETRY_AFTER_S
        return
    memory.retry_at.pop(pipeline_id, None)
    # What the pass read, not what it left: its own writes change the fingerprint, so the next pass
    # looks once more (and finds nothing to do); a change made by anyone meanwhile is never missed.
    if acted_on is None:
        memory.seen.pop(pipeline_id, None)
    else:
        memory.seen[pipeline_id] = acted_on


def _fingerprints(s: Session, owner: str | None = None) -> dict[int, Fingerprint]:
    """Active pipelines (those ``owner`` has claimed; None: all) with their steps' statuses."""
    query = select(Job.id, Job.status).where(Job.type == "pipeline", col(Job.status).in_(ACTIVE))
    if owner is not None:
        query = query.where(Job.agent_id == owner)
    pipelines_ = s.exec(query).all()
    children: dict[int, list[tuple[int, str]]] = {pid: [] for pid, _ in pipelines_}
    if children:
        for parent_id, child_id, status in s.exec(
            select(Job.parent_id, Job.id, Job.status).where(col(Job.parent_id).in_(list(children)))
        ).all():
            children[parent_id].append((child_id, str(status)))
    return {pid: (str(status), tuple(sorted(children[pid]))) for pid, status in pipelines_}


# --- what one pass knows ------------------------------------------------------------------------------------


@dataclass
class _Child:
    name: str
    type: str
    status: str
    failure_reason: str | None
    produced: dict[str, dict[str, Any]]  # outputs of a completed step


@dataclass
class _Pipeline(ParentSnapshot):
    workspace_id: int
    plan: dict[str, Any]
    experiment_name: str
    display_name: str
    mlflow_run_id: str | None
    children: dict[str, _Child]  # by step name
    fingerprint: Fingerprint


def child_name(pipeline: str, step_name: str) -> str:
    return f"{pipeline}_{step_name}"[:250]


def _read(pipeline_id: int) -> _Pipeline | None:
    """Everything a pass decides on, read in one short transaction (plain data, no live rows)."""
    with session_scope() as s:
        row = s.get(Job, pipeline_id)
        if row is None:
            return None
        workspace = s.get(Workspace, row.workspace_id).name
        kids = s.exec(select(Job).where(Job.parent_id == pipeline_id)).all()
        plan = copy.deepcopy(row.spec or {})
        state = copy.deepcopy(row.state or {})
        for key in ("steps", "skipped", "errors", "outputs"):
            state.setdefault(key, {})
        # A step's child is the one state names, or (should that write have been lost) its own name.
        by_name = {child_name(row.name, step): step for step in plan.get("steps", {})}
        by_name.update({name: step for step, name in state["steps"].items()})
        children = {}
        for kid in kids:
            step_name = by_name.get(kid.name)
            if step_name is None:
                continue
            state["steps"][step_name] = kid.name
            children[step_name] = _Child(
                name=kid.name,
                type=kid.type,
                status=str(kid.status),
                failure_reason=kid.failure_reason,
                produced=pipelines.step_outputs(s, child=kid) if kid.status == JobStatus.COMPLETED else {},
            )
        return _Pipeline(
            id=row.id,
            name=row.name,
            workspace_id=row.workspace_id,
            workspace=workspace,
            status=str(row.status),
            plan=plan,
            state=state,
            experiment_name=row.experiment_name,
            display_name=row.display_name or row.name,
            mlflow_run_id=row.mlflow_run_id,
            children=children,
            fingerprint=(str(row.status), tuple(sorted((k.id, str(k.status)) for k in kids))),
        )


def _save_state(s: Session, pipeline_id: int, state: dict) -> bool:
    """Write the pipeline's state only while it is running (a cancel or another agent may have won)."""
    result = s.exec(
        update(Job)
        .where(col(Job.id) == pipeline_id, col(Job.status) == JobStatus.RUNNING)
        .values(state=state)
    )
    return result.rowcount == 1


# --- one pass -----------------------------------------------------------------------------------------------


def _advance(pipeline_id: int) -> Fingerprint | None:
    """One pass over one pipeline; returns the fingerprint it acted on (None: look again next pass)."""
    pipeline = _read(pipeline_id)
    if pipeline is None or pipeline.status not in ACTIVE:
        return None
    if pipeline.status == JobStatus.QUEUED:
        if not _begin(pipeline):
            return None
        pipeline = _read(pipeline_id)  # carry on in this pass: its first steps start now
        if pipeline is None:
            return None
    if pipeline.status == JobStatus.CANCEL_REQUESTED:
        _cancel(pipeline)
    elif pipeline.status == JobStatus.RUNNING:
        _run(pipeline)
    return pipeline.fingerprint


def _begin(pipeline: _Pipeline) -> bool:
    tags = {"studio.job": pipeline.name, "studio.workspace": pipeline.workspace, "studio.type": "pipeline"}
    return parent_jobs.start(
        pipeline.id, experiment=pipeline.experiment_name, run_name=pipeline.display_name, tags=tags
    )


def _cancel(pipeline: _Pipeline) -> None:
    active = [c for c in pipeline.children.values() if c.status not in TERMINAL]
    for child in active:
        if child.status == JobStatus.CANCEL_REQUESTED:
            continue
        with session_scope() as s:  # one short transaction per step
            try:
                jobs.cancel_job(session=s, workspace=pipeline.workspace, name=child.name)
            except ConflictError:  # it ended meanwhile
                pass
    if not active:
        _finish(pipeline, JobStatus.CANCELED, "canceled by the user")


def _run(pipeline: _Pipeline) -> None:
    plan, state, children = pipeline.plan, pipeline.state, pipeline.children
    saved = copy.deepcopy(state)
    keep_going = plan["settings"].get("continue_on_step_failure")
    for step_name in plan["order"]:
        if step_name in children or step_name in state["skipped"] or step_name in state["errors"]:
            continue
        failed = _failed(children, state)
        deps = plan["steps"][step_name]["deps"]
        blocked = [d for d in deps if d in state["skipped"] or d in failed]
        if blocked:
            state["skipped"][step_name] = f"skipped: step {blocked[0]!r} did not complete"
            continue
        if (failed and not keep_going) or not all(
            d in children and children[d].status == JobStatus.COMPLETED for d in deps
        ):
            continue
        try:
            started = _start_step(pipeline, step_name)
        except _NotRunning:
            return  # canceled (or settled by another agent) meanwhile: the next pass sees it
        if started is not None:
            children[step_name] = started
            saved = copy.deepcopy(state)  # written with the child

    _publish_outputs(plan, state, children)
    failed = _failed(children, state)
    pending = [
        n
        for n in plan["order"]
        if n not in children and n not in state["skipped"] and n not in state["errors"]
    ]
    running = [c for c in children.values() if c.status not in TERMINAL]
    if running or (pending and not (failed and not keep_going)):
        if state != saved:
            with session_scope() as s:
                _save_state(s, pipeline.id, state)
        return
    if failed or state["skipped"]:
        reasons = []
        for name in plan["order"]:
            if name in state["errors"]:
                reasons.append(f"step {name!r} failed to start: {state['errors'][name]}")
            elif name in failed:
                child = children[name]
                why = (child.failure_reason or "").strip().splitlines()
                reasons.append(f"step {name!r} {child.status.lower()}" + (f": {why[0]}" if why else ""))
        reasons += [f"{k}: {v}" for k, v in state["skipped"].items() if k not in failed]
        _finish(pipeline, JobStatus.FAILED, "; ".join(reasons) or "a step did not complete", state)
    else:
        _finish(pipeline, JobStatus.COMPLETED, None, state)


def _failed(children: dict[str, _Child], state: dict) -> set[str]:
    """Steps that ended without completing, or could not start (a missing input path, ...)."""
    return {n for n, c in children.items() if c.status in _ENDED_BADLY} | set(state["errors"])


# --- starting a step ----------------------------------------------------------------------------------------


def _start_step(pipeline: _Pipeline, step_name: str) -> _Child | None:
    """Start one step: the slow part first with no transaction open, then one short write.

    Returns the new child; None when the step could not start (recorded in ``state["errors"]``, which
    fails the step as a failed job would) or another pass started it. Raises ``_NotRunning`` when the
    pipeline stopped running meanwhile (nothing is written then)."""
    plan = pipeline.plan["steps"][step_name]
    name = child_name(pipeline.name, step_name)
    try:
        inputs = pipelines.bind_inputs(
            plan,
            pipeline.plan.get("inputs") or {},
            {n: c.produced for n, c in pipeline.children.items()},
        )
        if plan["kind"] == "pipeline":
            # Its inner steps check the data they read when they start; the marks travel with it.
            make, status = _nested(pipeline, name, step_name, plan, inputs), JobStatus.QUEUED
        else:
            inputs = pipelines.check_step_inputs(
                workspace=pipeline.workspace, plan=pipeline.plan, step=step_name, inputs=inputs
            )
            if plan["kind"] == "sweep":
                make, status = _sweep(pipeline, name, step_name, plan, inputs), JobStatus.QUEUED
            else:
                make, status = _command(pipeline, name, step_name, plan, inputs)
    except StudioError as exc:
        log.info("pipeline step cannot start: %s", exc, extra={"job": pipeline.name, "step": step_name})
        pipeline.state["errors"][step_name] = str(exc)
        return None
    return _insert(pipeline, step_name, name, make, status)


def _insert(pipeline: _Pipeline, step_name: str, name: str, make, status: str) -> _Child | None:
    """The step's child row and the pipeline's state, in one short transaction."""
    state = copy.deepcopy(pipeline.state)
    state["steps"][step_name] = name
    try:
        with session_scope() as s:
            row, produced = make(s)
            if not _save_state(s, pipeline.id, state):
                raise _NotRunning
            child = _Child(
                name=row.name, type=row.type, status=status, failure_reason=None, produced=produced
            )
    except (IntegrityError, ConflictError):  # its name is taken: another pass started it
        return None
    except StudioError as exc:
        pipeline.state["errors"][step_name] = str(exc)
        return None
    pipeline.state.clear()
    pipeline.state.update(state)
    return child


class _NotRunning(Exception):
    """The pipeline stopped running between the pass's read and its write."""


Maker = Callable[[Session], tuple[Job, dict[str, dict[str, Any]]]]


def _command(pipeline: _Pipeline, name: str, step_name: str, plan: dict, inputs: dict) -> tuple[Maker, str]:
    """A command step: outputs placed, reuse looked for (hashing its input data), all before writing."""
    from backend.services import datastores

    with session_scope() as s:
        store = pipeline.plan["settings"].get("default_datastore") or datastores.default_datastore_name(
            session=s, workspace=pipeline.workspace
        )
    outputs = {
        out_name: {
            "type": out["type"],
            "mode": out["mode"],
            "uri": pipelines.output_uri(out, name, out_name, store),
            "asset_name": out.get("asset_name"),
            "asset_version": out.get("asset_version"),
        }
        for out_name, out in plan["outputs"].items()
    }
    spec = {**plan["template"], "inputs": inputs, "outputs": outputs}
    if pipeline.mlflow_run_id:
        spec["mlflow_tags"] = {"mlflow.parentRunId": pipeline.mlflow_run_id}
    tags = {**(plan.get("tags") or {}), "studio.pipeline": pipeline.name, "studio.step": step_name}
    family = {**jobs.child_fields(pipeline), "tags": tags}
    # A deterministic step's key is kept even under force_rerun, so later runs can reuse this one; a
    # non-deterministic step is never reused, so its data is not hashed at all.
    key = pipelines.reuse_key(plan, inputs, pipeline.workspace) if plan.get("deterministic") else None
    original = None
    if key and not pipeline.plan["settings"].get("force_rerun"):
        with session_scope() as s:
            found = pipelines.find_reusable(s, workspace_id=pipeline.workspace_id, key=key)
            if found is not None:
                original = (
                    found.name,
                    found.spec["outputs"],
                    found.mlflow_run_id,
                    found.mlflow_experiment_id,
                )

    def row(s: Session, spec: dict, state: dict) -> Job:
        return jobs.insert_job(
            session=s, name=name, type_="command", spec=spec, compute=plan["compute"], state=state,
            display_name=plan["display_name"], instance_count=plan.get("instance_count", 1), **family,
        )  # fmt: skip

    if original is None:
        return (lambda s: (row(s, spec, {"reuse_key": key} if key else {}), {})), JobStatus.QUEUED

    original_name, original_outputs, run_id, experiment_id = original

    def reuse(s: Session):
        child = row(
            s, {**spec, "outputs": original_outputs}, {"reuse_key": key, "reused_from": original_name}
        )
        now = utcnow()
        jobs.transition(
            session=s,
            job_id=child.id,
            from_statuses=(JobStatus.QUEUED,),
            to_status=JobStatus.COMPLETED,
            start_time=now,
            end_time=now,
            exit_code=0,
            mlflow_run_id=run_id,
            mlflow_experiment_id=experiment_id,
        )
        produced = {k: {"type": v["type"], "uri": v["uri"]} for k, v in original_outputs.items()}
        return child, produced

    return reuse, JobStatus.COMPLETED


def _sweep(pipeline: _Pipeline, name: str, step_name: str, plan: dict, inputs: dict) -> Maker:
    from pathlib import Path

    from backend.services import sweeps

    spec = pipeline_plans.sweep_spec(
        plan,
        inputs,
        experiment_name=pipeline.experiment_name,
        field=f"jobs.{step_name}",
        tags={**(plan.get("tags") or {}), "studio.pipeline": pipeline.name, "studio.step": step_name},
    )
    base = Path(plan["base_dir"]) if plan.get("base_dir") else None

    def make(s: Session):
        # Reads (the pinned trial component, its environment) come first; the one write, its row, last.
        job = sweeps.submit_sweep(
            session=s,
            workspace=pipeline.workspace,
            spec=spec,
            base_dir=base,
            parent_id=pipeline.id,
            name=name,
        )
        return s.exec(
            select(Job).where(Job.workspace_id == pipeline.workspace_id, Job.name == job.name)
        ).one(), {}

    return make


def _nested(pipeline: _Pipeline, name: str, step_name: str, plan: dict, inputs: dict) -> Maker:
    from backend.errors import ValidationError

    nested = plan.get("pipeline")
    if nested is None:
        raise ValidationError(
            f"step {step_name!r} was planned by an older Studio, which kept no plan of its pipeline "
            "component; submit the pipeline again"
        )
    sub_plan = copy.deepcopy(nested["plan"])
    sub_plan["inputs"] = {n: inputs.get(n) for n in sub_plan.get("inputs") or {}}
    tags = {
        **nested.get("tags", {}),
        **(plan.get("tags") or {}),
        "studio.pipeline": pipeline.name,
        "studio.step": step_name,
    }

    def make(s: Session):
        state = {"steps": {}, "skipped": {}, "errors": {}, "outputs": {}}
        row = jobs.insert_job(
            session=s, name=name, type_="pipeline", spec=sub_plan, state=state,
            compute=sub_plan["settings"]["default_compute"], display_name=plan["display_name"],
            description=nested.get("description") or "", **{**jobs.child_fields(pipeline), "tags": tags},
        )  # fmt: skip
        return row, {}

    return make


# --- ending -------------------------------------------------------------------------------------------------


def _publish_outputs(plan: dict, state: dict, children: dict[str, _Child]) -> None:
    """The pipeline's own outputs are its steps' outputs bound to ``${{parent.outputs.x}}``."""
    outputs = state.setdefault("outputs", {})
    for step_name, step_plan in plan["steps"].items():
        child = children.get(step_name)
        if child is None or child.status != JobStatus.COMPLETED:
            continue
        for out_name, out in step_plan["outputs"].items():
            if out.get("parent_output") and out_name in child.produced:
                outputs[out["parent_output"]] = child.produced[out_name]


def _finish(pipeline: _Pipeline, status: str, reason: str | None, state: dict | None = None) -> None:
    parent_jobs.end_run(
        pipeline.mlflow_run_id, status
    )  # over HTTP: before the transaction that settles the row
    fields: dict[str, Any] = {"failure_reason": reason}
    if state is not None:
        fields["state"] = state
    parent_jobs.settle(pipeline.id, status, **fields)
