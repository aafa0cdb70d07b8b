"""The sweep controller: one ``step`` per agent pass for every active sweep.

It starts the sweep's MLflow run, reads each trial's primary metric as it is logged, applies the
early-termination policy, keeps ``max_concurrent_trials`` trials going until ``max_total_trials``, the
sweep's ``timeout`` or the end of a grid, and settles the sweep. All it knows is in the database
(the sweep row's spec and state, the trial rows), so a restarted agent resumes where the last one was.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import col, select

from backend.db import session_scope
from backend.db.models import Job, Workspace, utcnow
from backend.services import jobs, sweeps
from backend.statuses import TERMINAL, JobStatus
from backend.sweep.policies import TrialCurve, make_policy
from backend.sweep.samplers import Finished, make_sampler
from backend.sweep.space import parse_space

log = logging.getLogger("studio.agent.sweep")
METRIC_POLL_S = 1.0  # how often running trials' metrics are read from MLflow
_last_poll: dict[int, float] = {}


def step(agent) -> None:
    with session_scope() as s:
        ids = [r.id for r in sweeps.running_sweeps(s)]
    for sweep_id in ids:
        try:
            _advance(sweep_id)
        except Exception:
            log.exception("sweep step failed", extra={"job": sweep_id})


def _metric_history(run_id: str, metric: str) -> list[float]:
    from backend.agent import tracking

    history = tracking.client().get_metric_history(run_id, metric)
    return [m.value for m in sorted(history, key=lambda m: (m.step, m.timestamp))]


def _advance(sweep_id: int) -> None:
    from backend.agent import tracking

    with session_scope() as s:
        sweep = s.get(Job, sweep_id)
        workspace = s.get(Workspace, sweep.workspace_id).name
        if sweep.status == JobStatus.QUEUED:
            run_id, exp_id = tracking.create_run(
                experiment=sweep.experiment_name,
                run_name=sweep.display_name or sweep.name,
                tags={
                    "studio.job": sweep.name,
                    "studio.workspace": workspace,
                    "studio.type": "sweep",
                    **{k: str(v) for k, v in (sweep.tags or {}).items()},
                },
            )
            jobs.transition(
                s,
                sweep_id,
                (JobStatus.QUEUED,),
                JobStatus.RUNNING,
                start_time=utcnow(),
                mlflow_run_id=run_id,
                mlflow_experiment_id=exp_id,
            )
            return
        children = s.exec(select(Job).where(Job.parent_id == sweep_id).order_by(col(Job.id))).all()
        spec, state = sweep.spec, dict(sweep.state or {})
        active = [c for c in children if c.status not in TERMINAL]

        if sweep.status == JobStatus.CANCEL_REQUESTED:
            for child in active:
                jobs.cancel_job(session=s, workspace=workspace, name=child.name)
            if not active:
                _finish(s, sweep, JobStatus.CANCELED, "canceled by the user")
            return

        _read_curves(state, children, spec["objective"]["primary_metric"], sweep_id)
        _apply_policy(s, workspace, sweep, state, children)

        limits = spec["limits"]
        if (
            limits.get("timeout")
            and sweep.start_time
            and utcnow() - sweep.start_time > timedelta(seconds=limits["timeout"])
            and not state.get("stopped")
        ):
            state["stopped"] = f"the sweep reached its timeout ({limits['timeout']} s)"
            for child in active:
                jobs.cancel_job(session=s, workspace=workspace, name=child.name)

        if not state.get("stopped"):
            _start_trials(s, workspace, sweep, state, children)

        sweep.state = state
        flag_modified(sweep, "state")
        s.add(sweep)
        s.flush()
        children = s.exec(select(Job).where(Job.parent_id == sweep_id)).all()
        if not [c for c in children if c.status not in TERMINAL] and (
            state.get("stopped") or state.get("exhausted") or len(children) >= limits["max_total_trials"]
        ):
            completed = [c for c in children if c.status == JobStatus.COMPLETED]
            if completed or not children:
                _finish(s, sweep, JobStatus.COMPLETED, state.get("stopped"))
            else:
                _finish(s, sweep, JobStatus.FAILED, "no trial completed")


def _read_curves(state: dict, children: list[Job], metric: str, sweep_id: int) -> None:
    """Primary-metric values per trial; finished trials are read once more after they end, then kept."""
    curves = state.setdefault("curves", {})
    final = state.setdefault("final", [])
    now = time.monotonic()
    poll_running = now - _last_poll.get(sweep_id, 0) >= METRIC_POLL_S
    if poll_running:
        _last_poll[sweep_id] = now
    for child in children:
        if not child.mlflow_run_id or child.name in final:
            continue
        ended = child.status in TERMINAL
        if ended or (poll_running and child.status in (JobStatus.RUNNING, JobStatus.FINALIZING)):
            try:
                curves[child.name] = _metric_history(child.mlflow_run_id, metric)
            except Exception as exc:  # MLflow briefly unreachable: try again next pass
                log.warning("cannot read metrics of %s: %s", child.name, exc)
                continue
            if ended:
                final.append(child.name)


def _apply_policy(s, workspace: str, sweep: Job, state: dict, children: list[Job]) -> None:
    policy = make_policy(sweep.spec.get("early_termination"))
    if policy is None:
        return
    order = {t["name"]: t["index"] for t in state.get("trials", [])}
    curves = [
        TrialCurve(
            c.name,
            state["curves"].get(c.name, []),
            running=c.status not in TERMINAL,
            order=order.get(c.name, 0),
        )
        for c in children
    ]
    for decision in policy.decide(curves, sweep.spec["objective"]["goal"]):
        child = next(c for c in children if c.name == decision.trial)
        if child.status in TERMINAL or child.cancel_requested:
            continue
        record = {
            "policy": decision.policy,
            "interval": decision.interval,
            "reason": decision.reason,
            "numbers": decision.numbers,
        }
        child.state = {**(child.state or {}), "canceled_by": record}
        child.failure_reason = f"Canceled by the {decision.reason}"
        s.add(child)
        s.flush()
        jobs.cancel_job(session=s, workspace=workspace, name=child.name)
        state.setdefault("decisions", []).append({"trial": child.name, **record})
        log.info("trial canceled by policy", extra={"action": "policy_cancel", "job": child.name})


def _start_trials(s, workspace: str, sweep: Job, state: dict, children: list[Job]) -> None:
    spec = sweep.spec
    limits = spec["limits"]
    running = sum(1 for c in children if c.status not in TERMINAL)
    space = parse_space(spec["search_space"], algorithm=spec["algorithm"])
    sampler = make_sampler(
        spec["algorithm"],
        space,
        seed=spec["seed"],
        goal=spec["objective"]["goal"],
        rule=spec.get("rule", "random"),
    )
    trials = state.setdefault("trials", [])
    history = None
    if spec["algorithm"] == "bayesian":
        by_name = {c.name: c for c in children}
        history = [
            Finished(t["params"], (state["curves"].get(t["name"]) or [None])[-1])
            for t in trials
            if by_name.get(t["name"]) is not None and by_name[t["name"]].status == JobStatus.COMPLETED
        ]
    while running < limits["max_concurrent_trials"] and len(trials) < limits["max_total_trials"]:
        index = len(trials)
        params = sampler.ask(index, history)
        if params is None:
            state["exhausted"] = True
            break
        child = sweeps.create_trial(s, sweep, index, params, workspace)
        trials.append({"name": child.name, "index": index, "params": params})
        running += 1


def _finish(s, sweep: Job, status: str, note: str | None) -> None:
    from backend.agent import tracking

    view = sweeps.get_sweep(session=s, workspace=s.get(Workspace, sweep.workspace_id).name, name=sweep.name)
    state = dict(sweep.state or {})
    state.update(
        {
            "best_trial": view.best_trial,
            "compute_used_s": view.compute_used_s,
            "compute_saved_s": view.compute_saved_s,
        }
    )
    if sweep.mlflow_run_id:
        try:
            best = next((t for t in view.trials if t.name == view.best_trial), None)
            if best is not None:
                tracking.log_params(sweep.mlflow_run_id, {f"best.{k}": v for k, v in best.params.items()})
                tracking.client().log_metric(sweep.mlflow_run_id, f"best_{view.primary_metric}", best.metric)
            tracking.end_run(sweep.mlflow_run_id, status)
        except Exception as exc:
            log.warning("cannot update the sweep's MLflow run: %s", exc)
    jobs.transition(
        s,
        sweep.id,
        (JobStatus.RUNNING, JobStatus.CANCEL_REQUESTED),
        status,
        end_time=utcnow(),
        state=state,
        failure_reason=note if status != JobStatus.COMPLETED else None,
    )
