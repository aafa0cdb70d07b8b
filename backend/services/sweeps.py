"""Sweep jobs: validation and submission, trial creation, and the read model of a sweep (SPEC section 8).

A sweep is a parent job; each trial is a child command job named ``<sweep>_<index>``. The agent's sweep
controller (``backend.agent.sweep_controller``) samples, starts trials and applies the policy; the sweep
row's ``state`` records the trials' parameters, their primary-metric curves and every policy decision.
"""

from __future__ import annotations

import copy
import random
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, col, select

from backend.db.models import Job
from backend.errors import ValidationError
from backend.services import jobs
from backend.services.inputs import literal
from backend.services.lookup import get_workspace_row
from backend.specs.bounds import MAX_TOTAL_TRIALS
from backend.specs.job import CommandJobSpec, LimitsSpec, ResourcesSpec, check_expressions
from backend.specs.sweep import SweepJobSpec
from backend.statuses import ACTIVE
from backend.sweep.policies import make_policy
from backend.sweep.samplers import make_sampler
from backend.sweep.space import parse_space


def _component_trial(session: Session, workspace: str, ref: str, base_dir: Path | None):
    from backend.services import components

    return components.load_for_use(
        session=session, workspace=workspace, reference=ref, base_dir=base_dir, field="trial"
    )


def submit_sweep(
    *,
    session: Session,
    workspace: str,
    spec: SweepJobSpec,
    base_dir: Path | None = None,
    source: str = "",
    parent_id: int | None = None,
    name: str | None = None,
) -> jobs.JobPublic:
    """Validate the sweep (space, sampler, policy, trial) and queue its parent job."""
    from backend.services import datastores

    ws = get_workspace_row(session=session, name=workspace)
    sweep_name = jobs.check_new_name(session, ws.id, workspace, name or spec.name or jobs.generate_name())
    sampling = spec.sampling
    space = parse_space(spec.search_space, algorithm=sampling.type)
    policy = make_policy(spec.early_termination)
    if policy is not None and sampling.type == "bayesian":
        raise ValidationError(
            "early_termination: the bayesian sampling algorithm does not support early termination"
        )
    seed = sampling.seed if sampling.seed is not None else random.randrange(2**31)
    sampler = make_sampler(sampling.type, space, seed=seed, goal=spec.objective.goal, rule=sampling.rule)
    limits = spec.limits
    max_total = limits.max_total_trials or sampler.total
    if max_total is None:
        raise ValidationError("limits.max_total_trials: required for random and bayesian sampling")
    if max_total > MAX_TOTAL_TRIALS:
        raise ValidationError(
            f"limits.max_total_trials: the grid has {max_total} combinations, more than the "
            f"{MAX_TOTAL_TRIALS} trials a sweep may run; set limits.max_total_trials (1 to "
            f"{MAX_TOTAL_TRIALS}) to run the first ones"
        )
    max_concurrent = limits.max_concurrent_trials or max_total

    component = None
    if isinstance(spec.trial, str):
        component, _ = _component_trial(session, workspace, spec.trial, base_dir)
        comp_dir = None  # its code is a snapshot already
        unknown = [p.name for p in space if p.name not in component.inputs]
        if unknown:
            raise ValidationError(
                f"search_space.{unknown[0]}: the trial component has no input {unknown[0]!r} "
                f"(inputs: {', '.join(component.inputs)})"
            )
        trial_body = {
            "command": component.command,
            "code": component.code,
            "environment": component.environment,
            "environment_variables": component.environment_variables,
            "resources": component.resources,
            "distribution": component.distribution,
        }
        trial_dir = comp_dir
        inputs = _component_inputs(component, spec.inputs, {p.name for p in space})
    else:
        trial_body = spec.trial.model_dump(exclude={"schema_", "type"})
        trial_dir = base_dir
        inputs = dict(spec.inputs)
        try:
            check_expressions(
                spec.trial.command,
                inputs=set(spec.inputs),
                outputs=set(spec.outputs),
                search_space={p.name for p in space},
                field="trial.command",
            )
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
    trial_resources = trial_body.get("resources") or spec.resources
    if isinstance(trial_resources, dict):
        trial_resources = ResourcesSpec.model_validate(trial_resources)
    compute = jobs.check_compute(
        session,
        workspace,
        spec.compute,
        trial_resources.instance_count if trial_resources else 1,
        field="trial.resources.instance_count",
    )
    template_spec = CommandJobSpec.model_construct(
        **{k: v for k, v in trial_body.items() if v is not None},
        inputs=inputs,
        outputs={},
        limits=LimitsSpec(timeout=limits.trial_timeout),
    )
    # Inputs and code are resolved against the YAML that named them: the sweep's for its inputs.
    template = jobs.resolve_command(
        session=session,
        workspace=workspace,
        spec=template_spec.model_copy(update={"inputs": {}}),
        base_dir=trial_dir,
        name=sweep_name,
        source=source,
    )
    template["inputs"] = jobs._resolve_inputs(session, workspace, template_spec, base_dir)
    store = datastores.default_datastore_name(session=session, workspace=workspace)
    jobs.resolve_outputs(spec.outputs, sweep_name, store, base_dir)  # validates paths now
    state = {"trials": [], "curves": {}, "decisions": [], "seed": seed}
    experiment = jobs.default_experiment(trial_body.get("code"), trial_dir)
    plan = {
        "trial": template,
        "component_inputs": {k: v.model_dump(mode="json") for k, v in component.inputs.items()}
        if component
        else None,
        "trial_outputs": {
            k: (v.model_dump(mode="json", exclude={"schema_"}) if v else None)
            for k, v in spec.outputs.items()
        },
        "search_space": spec.search_space,
        "algorithm": sampling.type,
        "rule": sampling.rule,
        "seed": seed,
        "objective": spec.objective.model_dump(),
        "limits": {
            "max_total_trials": max_total,
            "max_concurrent_trials": max_concurrent,
            "timeout": limits.timeout,
            "trial_timeout": limits.trial_timeout,
        },
        "early_termination": spec.early_termination,
        "source": source,
    }
    row = jobs.insert_job(
        session=session, workspace_id=ws.id, name=sweep_name, type_="sweep", spec=plan, state=state,
        compute=compute, parent_id=parent_id, **jobs.spec_fields(spec, experiment),
    )  # fmt: skip
    return jobs._public(row)


def _component_inputs(component, given: dict, swept: set[str]) -> dict:
    """A component trial's inputs: the sweep's values, then defaults; swept inputs come per trial."""
    from backend.specs.component import check_value
    from backend.specs.job import InputSpec

    out: dict[str, Any] = {}
    for name, value in given.items():
        if name not in component.inputs:
            raise ValidationError(
                f"inputs.{name}: the trial component has no such input "
                f"(inputs: {', '.join(component.inputs)})"
            )
        port = component.inputs[name]
        out[name] = (
            value
            if isinstance(value, InputSpec) or port.is_data
            else check_value(name, port, value, field="inputs")
        )
    for name, port in component.inputs.items():
        if name in out or name in swept:
            continue
        if port.default is not None:
            out[name] = (
                port.default if not port.is_data else InputSpec(type=port.type, path=str(port.default))
            )
        elif not port.optional:
            raise ValidationError(f"inputs.{name}: the trial component needs this input (type {port.type})")
    return out


# --- trials (called by the controller) -----------------------------------------------------------------------


def create_trial(
    *, session: Session, sweep: Job, index: int, params: dict[str, Any], workspace: str, standby: bool = False
) -> Job:
    """Queue trial ``index`` of a sweep with its sampled values; a ``standby`` trial is made ready ahead and
    starts when the sweep releases it into a free slot (``backend.agent.standby``)."""
    from backend.services import datastores
    from backend.specs.component import ComponentInput, check_value

    name = f"{sweep.name}_{index}"
    spec = copy.deepcopy(sweep.spec["trial"])
    spec["search_space"] = params
    spec["params"] = params
    if sweep.spec.get("component_inputs"):
        for key, value in params.items():
            port = ComponentInput.model_validate(sweep.spec["component_inputs"][key])
            spec["inputs"][key] = literal(check_value(key, port, value, field="search_space"))
    store = datastores.default_datastore_name(session=session, workspace=workspace)
    spec["outputs"] = jobs.resolve_outputs(sweep.spec.get("trial_outputs") or {}, name, store, None)
    if sweep.mlflow_run_id:
        spec["mlflow_tags"] = {"mlflow.parentRunId": sweep.mlflow_run_id}
    row = jobs.insert_job(
        session=session, name=name, type_="command", spec=spec, compute=sweep.compute,
        display_name=f"{sweep.display_name}_{index}",
        **jobs.child_fields(sweep, **{"studio.sweep": sweep.name, "studio.trial": str(index)}),
    )  # fmt: skip
    row.standby = standby
    return row


# --- reading ------------------------------------------------------------------------------------------------


class TrialView(BaseModel):
    name: str
    index: int
    status: str
    params: dict[str, Any]
    metric: float | None  # the last value of the primary metric
    best_value: float | None  # the best value it ever logged
    intervals: int
    runtime_s: float | None
    is_best: bool = False
    canceled_by: dict[str, Any] | None = None
    failure_reason: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None


class SweepView(BaseModel):
    job: jobs.JobPublic
    primary_metric: str
    goal: str
    algorithm: str
    policy: dict[str, Any] | None
    search_space: dict[str, Any]
    limits: dict[str, Any]
    trials: list[TrialView]
    curves: dict[str, list[float]]
    best_trial: str | None
    compute_used_s: float
    compute_saved_s: float


def trial_runtime(row: Job) -> float | None:
    if not row.start_time:
        return None
    from backend.db.models import utcnow

    end = row.end_time or utcnow()
    start = row.start_time if row.start_time.tzinfo else row.start_time.replace(tzinfo=end.tzinfo)
    end = end if end.tzinfo else end.replace(tzinfo=start.tzinfo)
    return max(0.0, (end - start).total_seconds())


def get_sweep(*, session: Session, workspace: str, name: str) -> SweepView:
    from backend.sweep.policies import compute_saved

    row = jobs.get_job_row(session=session, workspace=workspace, name=name)
    if row.type != "sweep":
        raise ValidationError(f"job {name!r} is a {row.type} job, not a sweep")
    spec, state = row.spec, row.state or {}
    goal, metric = spec["objective"]["goal"], spec["objective"]["primary_metric"]
    curves: dict[str, list[float]] = state.get("curves", {})
    params_by_trial = {t["name"]: t for t in state.get("trials", [])}
    children = session.exec(select(Job).where(Job.parent_id == row.id).order_by(col(Job.id))).all()
    trials = []
    for child in children:
        values = curves.get(child.name, [])
        info = params_by_trial.get(child.name, {})
        best = (max(values) if goal == "maximize" else min(values)) if values else None
        trials.append(
            TrialView(
                name=child.name,
                index=info.get("index", 0),
                status=child.status,
                params=info.get("params", {}),
                metric=values[-1] if values else None,
                best_value=best,
                intervals=len(values),
                runtime_s=trial_runtime(child),
                canceled_by=(child.state or {}).get("canceled_by"),
                failure_reason=child.failure_reason,
                start_time=child.start_time,
                end_time=child.end_time,
            )
        )
    scored = [t for t in trials if t.metric is not None and t.status in ("Completed", "Canceled", "Running")]
    best_trial = None
    if scored:
        pick = max if goal == "maximize" else min
        best_trial = pick(scored, key=lambda t: t.metric).name
        for t in trials:
            t.is_best = t.name == best_trial
    completed = [t.intervals for t in trials if t.status == "Completed" and t.intervals]
    canceled = [(t.runtime_s or 0.0, t.intervals) for t in trials if t.canceled_by]
    return SweepView(
        job=jobs._public(row),
        primary_metric=metric,
        goal=goal,
        algorithm=spec["algorithm"],
        policy=spec.get("early_termination"),
        search_space=spec["search_space"],
        limits=spec["limits"],
        trials=trials,
        curves=curves,
        best_trial=best_trial,
        compute_used_s=sum(t.runtime_s or 0.0 for t in trials),
        compute_saved_s=compute_saved(canceled, completed),
    )


class WhatIf(BaseModel):
    """A policy replayed on a finished sweep's logged curves."""

    stopped: dict[str, dict[str, Any]]  # trial -> {interval, reason}
    compute_saved_s: float
    best_trial: str | None
    best_survives: bool


def replay_policy(view: SweepView, policy_spec: dict[str, Any]) -> WhatIf:
    """Which trials ``policy_spec`` would have stopped, replaying the curves in logged order.

    Each trial's values are revealed interval by interval in the order the trials logged them (by start
    time and pace), and the policy is asked after every new value, as the controller would have.
    """
    from backend.sweep.policies import TrialCurve

    policy = make_policy(policy_spec)
    if policy is None:
        return WhatIf(stopped={}, compute_saved_s=0.0, best_trial=view.best_trial, best_survives=True)
    # Events: (time of the value, trial, n). Without timestamps, a trial's pace is its run time / intervals.
    events = []
    for t in view.trials:
        values = view.curves.get(t.name, [])
        if not values or not t.start_time:
            continue
        pace = (t.runtime_s or 0.0) / len(values)
        start = t.start_time.timestamp()
        events += [(start + pace * (n + 1), t.name, n + 1) for n in range(len(values))]
    events.sort()
    reached: dict[str, int] = {}
    stopped: dict[str, dict[str, Any]] = {}
    order = {t.name: t.index for t in view.trials}
    for _, trial, n in events:
        if trial in stopped:
            continue
        reached[trial] = n
        full = {t.name: len(view.curves.get(t.name, [])) for t in view.trials}
        curves = [
            TrialCurve(
                name, view.curves[name][:k], running=name not in stopped and k < full[name], order=order[name]
            )
            for name, k in reached.items()
        ]
        for decision in policy.decide(curves, view.goal):
            if decision.trial not in stopped:
                stopped[decision.trial] = {"interval": decision.interval, "reason": decision.reason}
    runtimes = {t.name: t.runtime_s or 0.0 for t in view.trials}
    lengths = {t.name: len(view.curves.get(t.name, [])) for t in view.trials}
    saved = 0.0
    for name, info in stopped.items():
        if lengths[name]:
            saved += runtimes[name] / lengths[name] * (lengths[name] - info["interval"])
    return WhatIf(
        stopped=stopped,
        compute_saved_s=saved,
        best_trial=view.best_trial,
        best_survives=view.best_trial not in stopped,
    )


def running_sweeps(session: Session) -> list[Job]:
    return list(session.exec(select(Job).where(Job.type == "sweep", col(Job.status).in_(ACTIVE))).all())
