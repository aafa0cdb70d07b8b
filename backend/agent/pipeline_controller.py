"""The pipeline controller: one ``step`` per agent pass for every active pipeline.

Each pass starts every step whose dependencies completed (as a child job: command, sweep or a nested
pipeline), reuses an identical earlier step instead of running it, skips steps behind a failure, and
settles the pipeline when nothing is left. Everything it knows is in the database, so a restarted agent
carries on where the last one stopped.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import col, select

from backend.db import session_scope
from backend.db.models import Job, Workspace, utcnow
from backend.errors import StudioError
from backend.services import jobs, pipelines
from backend.statuses import ACTIVE, TERMINAL, JobStatus

log = logging.getLogger("studio.agent.pipeline")


def step(agent) -> None:
    with session_scope() as s:
        ids = s.exec(select(Job.id).where(Job.type == "pipeline", col(Job.status).in_(ACTIVE))).all()
    for pipeline_id in ids:
        try:
            _advance(pipeline_id)
        except Exception:
            log.exception("pipeline step failed", extra={"job": pipeline_id})


def _advance(pipeline_id: int) -> None:
    from backend.agent import tracking

    with session_scope() as s:
        pipeline = s.get(Job, pipeline_id)
        workspace = s.get(Workspace, pipeline.workspace_id).name
        if pipeline.status == JobStatus.QUEUED:
            run_id, exp_id = tracking.create_run(
                experiment=pipeline.experiment_name,
                run_name=pipeline.display_name or pipeline.name,
                tags={"studio.job": pipeline.name, "studio.workspace": workspace, "studio.type": "pipeline"},
            )
            jobs.transition(
                s,
                pipeline_id,
                (JobStatus.QUEUED,),
                JobStatus.RUNNING,
                start_time=utcnow(),
                mlflow_run_id=run_id,
                mlflow_experiment_id=exp_id,
            )
            return
        plan, state = pipeline.spec, dict(pipeline.state or {})
        state.setdefault("steps", {})
        state.setdefault("skipped", {})
        rows = s.exec(select(Job).where(Job.parent_id == pipeline_id)).all()
        by_name = {r.name: r for r in rows}
        children = {step: by_name[name] for step, name in state["steps"].items() if name in by_name}
        active = [c for c in children.values() if c.status not in TERMINAL]

        if pipeline.status == JobStatus.CANCEL_REQUESTED:
            for child in active:
                jobs.cancel_job(session=s, workspace=workspace, name=child.name)
            if not active:
                _finish(s, pipeline, state, JobStatus.CANCELED, "canceled by the user")
            return

        failed = [step for step, c in children.items() if c.status in (JobStatus.FAILED, JobStatus.CANCELED)]
        stop_new = bool(failed) and not plan["settings"].get("continue_on_step_failure")
        for step_name in plan["order"]:
            if step_name in children or step_name in state["skipped"]:
                continue
            step_plan = plan["steps"][step_name]
            deps = step_plan["deps"]
            blocked = [
                d
                for d in deps
                if d in state["skipped"]
                or (d in children and children[d].status in (JobStatus.FAILED, JobStatus.CANCELED))
            ]
            if blocked:
                state["skipped"][step_name] = f"skipped: step {blocked[0]!r} did not complete"
                continue
            if stop_new or not all(d in children and children[d].status == JobStatus.COMPLETED for d in deps):
                continue
            try:
                children[step_name] = _start_step(s, workspace, pipeline, step_name, step_plan, children)
                state["steps"][step_name] = children[step_name].name
            except StudioError as exc:
                state["skipped"][step_name] = f"could not start: {exc}"
                state.setdefault("errors", {})[step_name] = str(exc)

        _publish_outputs(s, pipeline, plan, state, children)
        pipeline.state = state
        flag_modified(pipeline, "state")
        s.add(pipeline)
        s.flush()
        pending = [n for n in plan["order"] if n not in children and n not in state["skipped"]]
        running = [c for c in children.values() if c.status not in TERMINAL]
        if running or (pending and not stop_new):
            return
        bad = sorted(set(failed) | set(state.get("errors", {})))
        if bad or state["skipped"]:
            reason = "; ".join(
                [
                    f"step {b!r} {children[b].status.lower() if b in children else 'failed to start'}"
                    for b in bad
                ]
                + [f"{k}: {v}" for k, v in state["skipped"].items() if k not in bad]
            )
            _finish(s, pipeline, state, JobStatus.FAILED, reason or "a step did not complete")
        else:
            _finish(s, pipeline, state, JobStatus.COMPLETED, None)


def _start_step(
    s, workspace: str, pipeline: Job, step_name: str, plan: dict, children: dict[str, Job]
) -> Job:
    name = f"{pipeline.name}_{step_name}"[:250]
    inputs = pipelines.bind_inputs(s, pipeline, plan, children)
    tags = {**(plan.get("tags") or {}), "studio.pipeline": pipeline.name, "studio.step": step_name}
    if plan["kind"] == "sweep":
        return _start_sweep(s, workspace, pipeline, name, step_name, plan, inputs)
    if plan["kind"] == "pipeline":
        return _start_nested(s, workspace, pipeline, name, plan, inputs)
    from backend.services import datastores

    store = pipeline.spec["settings"].get("default_datastore") or datastores.default_datastore_name(
        session=s, workspace=workspace
    )
    outputs = {}
    for out_name, out in plan["outputs"].items():
        uri = out.get("path") or f"azureml://datastores/{store}/paths/azureml/{name}/{out_name}/"
        outputs[out_name] = {
            "type": out["type"],
            "mode": out["mode"],
            "uri": uri,
            "asset_name": out.get("asset_name"),
            "asset_version": out.get("asset_version"),
        }
    spec = {**plan["template"], "inputs": inputs, "outputs": outputs}
    if pipeline.mlflow_run_id:
        spec["mlflow_tags"] = {"mlflow.parentRunId": pipeline.mlflow_run_id}
    force = pipeline.spec["settings"].get("force_rerun")
    key = pipelines.reuse_key({**plan, "outputs": plan["outputs"]}, inputs, workspace, s)
    original = (
        None
        if force or not plan.get("deterministic")
        else pipelines.find_reusable(s, pipeline.workspace_id, key)
    )
    if original is not None:
        spec["outputs"] = original.spec["outputs"]
        row = jobs.insert_job(
            s,
            workspace_id=pipeline.workspace_id,
            name=name,
            type_="command",
            spec=spec,
            compute=plan["compute"],
            display_name=plan["display_name"],
            experiment_name=pipeline.experiment_name,
            tags=tags,
            parent_id=pipeline.id,
            state={"reuse_key": key, "reused_from": original.name},
        )
        now = utcnow()
        jobs.transition(
            s,
            row.id,
            (JobStatus.QUEUED,),
            JobStatus.COMPLETED,
            start_time=now,
            end_time=now,
            exit_code=0,
            mlflow_run_id=original.mlflow_run_id,
            mlflow_experiment_id=original.mlflow_experiment_id,
        )
        s.refresh(row)
        return row
    return jobs.insert_job(
        s,
        workspace_id=pipeline.workspace_id,
        name=name,
        type_="command",
        spec=spec,
        compute=plan["compute"],
        display_name=plan["display_name"],
        experiment_name=pipeline.experiment_name,
        tags=tags,
        parent_id=pipeline.id,
        instance_count=plan.get("instance_count", 1),
        state={"reuse_key": key},
    )


def _start_sweep(s, workspace, pipeline, name, step_name, plan, inputs) -> Job:
    from pathlib import Path

    from backend.services import sweeps
    from backend.specs.job import InputSpec
    from backend.specs.sweep import SweepJobSpec

    sweep = plan["sweep"]
    given = {}
    for key, value in inputs.items():
        if value is None:
            continue
        given[key] = (
            value["value"]
            if value["kind"] == "literal"
            else InputSpec(type=value["type"], path=value["uri"], mode=value.get("mode"))
        )
    outputs = {
        k: ({"type": v["type"], "path": v["path"]} if v.get("path") else {"type": v["type"]})
        for k, v in plan["outputs"].items()
    }
    spec = SweepJobSpec.model_validate(
        {
            "type": "sweep",
            "trial": sweep["trial"],
            "inputs": {},
            "outputs": outputs,
            "compute": plan["compute"],
            "sampling_algorithm": sweep["sampling_algorithm"],
            "search_space": sweep["search_space"],
            "objective": sweep["objective"],
            "limits": sweep["limits"],
            "early_termination": sweep["early_termination"],
            "display_name": plan["display_name"],
            "experiment_name": pipeline.experiment_name,
        }
    )
    spec.inputs = given
    base = Path(plan["base_dir"]) if plan.get("base_dir") else None
    job = sweeps.submit_sweep(
        session=s, workspace=workspace, spec=spec, base_dir=base, parent_id=pipeline.id, name=name
    )
    return s.exec(select(Job).where(Job.workspace_id == pipeline.workspace_id, Job.name == job.name)).one()


def _start_nested(s, workspace, pipeline, name, plan, inputs) -> Job:
    from pathlib import Path

    from backend.specs import parse_spec, read_yaml
    from backend.specs.pipeline import PipelineJobSpec

    path = Path(plan["component_file"])
    sub = parse_spec(PipelineJobSpec, read_yaml(path), source=str(path))
    resolved = {n: inputs.get(n) for n in sub.inputs}
    for n, value in sub.inputs.items():  # defaults for inputs the step did not bind
        if resolved[n] is None and value is not None:
            resolved[n] = pipelines._resolve_parent_input(s, workspace, n, value, path.parent)
    job = pipelines.submit_pipeline(
        session=s,
        workspace=workspace,
        spec=sub,
        base_dir=path.parent,
        parent_id=pipeline.id,
        name=name,
        parent_inputs=resolved,
        source=str(path),
    )
    return s.exec(select(Job).where(Job.workspace_id == pipeline.workspace_id, Job.name == job.name)).one()


def _publish_outputs(s, pipeline: Job, plan: dict, state: dict, children: dict[str, Job]) -> None:
    """The pipeline's own outputs are its steps' outputs bound to ``${{parent.outputs.x}}``."""
    outputs = state.setdefault("outputs", {})
    for step_name, step_plan in plan["steps"].items():
        child = children.get(step_name)
        if child is None or child.status != JobStatus.COMPLETED:
            continue
        produced = pipelines.step_outputs(s, child)
        for out_name, out in step_plan["outputs"].items():
            if out.get("parent_output") and out_name in produced:
                outputs[out["parent_output"]] = produced[out_name]


def _finish(s, pipeline: Job, state: dict, status: str, reason: str | None) -> None:
    from backend.agent import tracking

    if pipeline.mlflow_run_id:
        try:
            tracking.end_run(pipeline.mlflow_run_id, status)
        except Exception as exc:
            log.warning("cannot end the pipeline's MLflow run: %s", exc)
    jobs.transition(
        s,
        pipeline.id,
        (JobStatus.RUNNING, JobStatus.CANCEL_REQUESTED),
        status,
        end_time=utcnow(),
        state=state,
        failure_reason=reason,
    )
